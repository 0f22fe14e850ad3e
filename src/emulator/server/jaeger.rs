//! The Jaeger query API on the Jaeger port, over the traces the emulation retains
//! (`LiveState::traces`, bounded by `TRACE_RETENTION`): `GET /api/services`,
//! `/api/services/{service}/operations`, `/api/operations?service=`, `/api/traces?...` (search,
//! newest first by start time) and `/api/traces/{traceID}`, answering the envelope Jaeger's UI
//! API uses (`{"data", "total", "limit", "offset", "errors"}`), errors included. A `/jaeger`
//! prefix (as behind Istio's ingress) is accepted. Services and operations are the topology's,
//! known before any trace arrives (every emulated service traces its calls). The JSON model is
//! in `jaeger/json.rs`, the search parameters in `jaeger/query.rs`.

mod json;
mod query;

use std::collections::HashSet;
use std::sync::Arc;

use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use super::http::{self, Handler};
use crate::emulator::TraceRecord;
use crate::emulator::live::LiveCluster;
pub use json::{Context, request_of, run_id, span_id, trace_id};
pub use query::{DEFAULT_LIMIT, QueryError, TraceQuery};

/// What the topology fixes for the life of the server.
struct Catalog {
    /// (service, its operations), sorted by service.
    services: Vec<(String, Vec<String>)>,
    context: Context,
}

pub fn handler(live: LiveCluster) -> Handler {
    let catalog = {
        let state = live.lock();
        let topology = state.cluster.topology();
        let mut services: Vec<(String, Vec<String>)> = topology
            .services
            .iter()
            .map(|s| {
                (s.name.to_string(), s.operations.iter().map(|o| o.name.to_string()).collect())
            })
            .collect();
        services.sort();
        let routes = topology.routes.iter().map(|r| (r.method.clone(), r.path.clone())).collect();
        let epoch = live.unix_time(0.0);
        let context =
            Context { epoch_us: (epoch * 1e6).round() as i64, run_id: run_id(epoch), routes };
        Arc::new(Catalog { services, context })
    };
    Arc::new(move |req| {
        let live = live.clone();
        let catalog = catalog.clone();
        Box::pin(async move {
            if req.method() != Method::GET {
                return error(StatusCode::METHOD_NOT_ALLOWED, "the Jaeger query API answers GET");
            }
            let path = req.uri().path();
            let path = path.strip_prefix("/jaeger").filter(|p| p.starts_with('/')).unwrap_or(path);
            let raw_query = req.uri().query().unwrap_or("");
            let segments: Vec<String> =
                path.trim_matches('/').split('/').map(http::percent_decode).collect();
            let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
            match segments[..] {
                ["api", "services"] => {
                    let names: Vec<&str> =
                        catalog.services.iter().map(|(s, _)| s.as_str()).collect();
                    list(json!(names), names.len())
                }
                ["api", "services", service, "operations"] => {
                    let operations = operations(&catalog, service);
                    list(json!(operations), operations.len())
                }
                ["api", "operations"] => {
                    let pairs = query::form_pairs(raw_query);
                    let Some((_, service)) = pairs.iter().find(|(k, _)| k == "service") else {
                        return error(StatusCode::BAD_REQUEST, "parameter 'service' is required");
                    };
                    let operations: Vec<Value> = operations(&catalog, service)
                        .iter()
                        .map(|name| json!({"name": name, "spanKind": "server"}))
                        .collect();
                    let n = operations.len();
                    list(Value::Array(operations), n)
                }
                ["api", "traces"] => {
                    let now_us = (live.unix_time(live.now()) * 1e6).round() as i64;
                    match TraceQuery::parse(raw_query, now_us) {
                        Ok(query) => {
                            let found = search(&live, &catalog.context, &query);
                            traces(&catalog.context, &found)
                        }
                        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
                    }
                }
                ["api", "traces", id] => {
                    if !query::is_trace_id(id) {
                        return error(
                            StatusCode::BAD_REQUEST,
                            &format!("cannot parse traceID `{id}`: expected 1 to 32 hex digits"),
                        );
                    }
                    let found = by_ids(&live, &catalog.context, &[id.to_ascii_lowercase()]);
                    if found.is_empty() {
                        return error(StatusCode::NOT_FOUND, "trace not found");
                    }
                    traces(&catalog.context, &found)
                }
                _ => error(StatusCode::NOT_FOUND, "404 page not found"),
            }
        })
    })
}

fn operations<'a>(catalog: &'a Catalog, service: &str) -> &'a [String] {
    // Jaeger answers an unknown service with an empty list, not an error.
    catalog.services.iter().find(|(s, _)| s == service).map_or(&[], |(_, ops)| ops.as_slice())
}

/// The matching traces, newest first, at most `query.limit`, copied out under one short lock.
fn search(live: &LiveCluster, ctx: &Context, query: &TraceQuery) -> Vec<TraceRecord> {
    if !query.trace_ids.is_empty() {
        return by_ids(live, ctx, &query.trace_ids);
    }
    let state = live.lock();
    // Traces are retained in completion order; a slow one may end after a later one started.
    let mut matching: Vec<&TraceRecord> =
        state.traces.iter().filter(|record| json::matches(ctx, record, query)).collect();
    let start = |r: &TraceRecord| r.trace.spans.first().map_or(0.0, |s| s.start);
    matching.sort_by(|a, b| start(b).total_cmp(&start(a)));
    matching.truncate(query.limit.unwrap_or(usize::MAX));
    matching.into_iter().cloned().collect()
}

/// The retained traces with these IDs, newest first: one pass over the retention under the
/// lock however many IDs the query repeats.
fn by_ids(live: &LiveCluster, ctx: &Context, ids: &[String]) -> Vec<TraceRecord> {
    let requests: HashSet<u64> = ids.iter().filter_map(|id| request_of(id, ctx.run_id)).collect();
    if requests.is_empty() {
        return Vec::new();
    }
    let state = live.lock();
    state.traces.iter().rev().filter(|r| requests.contains(&r.trace.request)).cloned().collect()
}

fn traces(ctx: &Context, found: &[TraceRecord]) -> hyper::Response<http::Body> {
    let data: Vec<Value> = found.iter().map(|record| json::trace_json(ctx, record)).collect();
    // Jaeger's search answers total 0 (it does not count), as its UI expects.
    http::json(
        StatusCode::OK,
        &json!({"data": data, "total": 0, "limit": 0, "offset": 0, "errors": null}),
    )
}

fn list(data: Value, total: usize) -> hyper::Response<http::Body> {
    http::json(
        StatusCode::OK,
        &json!({"data": data, "total": total, "limit": 0, "offset": 0, "errors": null}),
    )
}

fn error(status: StatusCode, message: &str) -> hyper::Response<http::Body> {
    let body = json!({
        "data": null, "total": 0, "limit": 0, "offset": 0,
        "errors": [{"code": status.as_u16(), "msg": message}],
    });
    http::json(status, &body)
}
