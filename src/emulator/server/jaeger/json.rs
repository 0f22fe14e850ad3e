//! Emulated traces as the Jaeger query API's JSON (the UI model of
//! `cmd/query/app/internal/uimodel`): 32-hex trace ids and 16-hex span ids stable for a trace,
//! µs timestamps on the wall clock, one process per serving pod (`hostname` tag), and span tags
//! that a tracer would record: `span.kind`, `http.status_code`, `error` on 5xx, the serving
//! `pod`, and the per-span `cpu.ms` / `peak_mem.kb` of seed 003's per-request-type tracer.
//! Asynchronous calls reference their caller with `FOLLOWS_FROM` (the caller did not wait),
//! synchronous ones with `CHILD_OF`. Also the search predicate, which needs the same tags.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::query::TraceQuery;
use crate::emulator::{Span, TraceRecord};

/// What the conversion needs besides the trace: where virtual time 0 is on the wall clock,
/// this run's id (the high half of trace ids) and the HTTP routes (method, path) by index.
#[derive(Debug, Clone)]
pub struct Context {
    pub epoch_us: i64,
    pub run_id: u64,
    pub routes: Vec<(String, String)>,
}

/// SplitMix64's finaliser: a bijection on u64, so distinct inputs give distinct ids.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A run id from the wall-clock start, so that traces of two runs do not share ids.
pub fn run_id(epoch_unix: f64) -> u64 {
    mix(epoch_unix.to_bits())
}

pub fn trace_id(run_id: u64, request: u64) -> String {
    format!("{run_id:016x}{request:016x}")
}

/// The request a trace id names if it belongs to this run (a 16-digit id is the low half).
pub fn request_of(trace_id: &str, run_id: u64) -> Option<u64> {
    let id = u128::from_str_radix(trace_id, 16).ok()?;
    let high = (id >> 64) as u64;
    (high == run_id || high == 0).then_some(id as u64)
}

pub fn span_id(request: u64, index: u32) -> String {
    // Request ids stay far below 2^32 in any run, so (request, index) packs without collision.
    format!("{:016x}", mix((request << 32) | u64::from(index)))
}

/// Start and duration in whole µs; the end is rounded too, so a child stays inside its parent.
pub fn times_us(ctx: &Context, span: &Span) -> (i64, i64) {
    let at = |t: f64| ctx.epoch_us + (t * 1e6).round() as i64;
    let start = at(span.start);
    (start, (at(span.end) - start).max(0))
}

/// A tag value with its Jaeger type.
#[derive(Debug, Clone, PartialEq)]
pub enum TagValue {
    Str(String),
    Bool(bool),
    Int(i64),
    Float(f64),
}

impl TagValue {
    fn json(&self) -> (&'static str, Value) {
        match self {
            TagValue::Str(s) => ("string", json!(s)),
            TagValue::Bool(b) => ("bool", json!(b)),
            TagValue::Int(i) => ("int64", json!(i)),
            TagValue::Float(f) => ("float64", json!(f)),
        }
    }

    /// As Jaeger's `KeyValue.AsString` compares it in tag searches.
    fn as_string(&self) -> String {
        match self {
            TagValue::Str(s) => s.clone(),
            TagValue::Bool(b) => b.to_string(),
            TagValue::Int(i) => i.to_string(),
            TagValue::Float(f) => f.to_string(),
        }
    }
}

/// The span's tags; the root span also carries its HTTP route.
pub fn span_tags(
    ctx: &Context,
    record: &TraceRecord,
    span: &Span,
) -> Vec<(&'static str, TagValue)> {
    let mut tags = vec![("span.kind", TagValue::Str("server".into()))];
    if span.parent.is_none()
        && let Some((method, path)) = ctx.routes.get(record.trace.route)
    {
        tags.push(("http.method", TagValue::Str(method.clone())));
        tags.push(("http.route", TagValue::Str(path.clone())));
    }
    tags.push(("http.status_code", TagValue::Int(i64::from(span.status))));
    if span.status >= 500 {
        tags.push(("error", TagValue::Bool(true)));
    }
    if let Some(pod) = &span.pod {
        tags.push(("pod", TagValue::Str(pod.to_string())));
    }
    tags.push(("cpu.ms", TagValue::Float(span.cpu_ms)));
    tags.push(("peak_mem.kb", TagValue::Int(i64::try_from(span.peak_mem_kb).unwrap_or(i64::MAX))));
    tags
}

fn tags_json(tags: &[(&str, TagValue)]) -> Value {
    Value::Array(
        tags.iter()
            .map(|(key, value)| {
                let (kind, value) = value.json();
                json!({"key": key, "type": kind, "value": value})
            })
            .collect(),
    )
}

/// One trace in the UI model.
pub fn trace_json(ctx: &Context, record: &TraceRecord) -> Value {
    let request = record.trace.request;
    let trace_id = trace_id(ctx.run_id, request);
    let mut process_ids: HashMap<(&str, Option<&str>), String> = HashMap::new();
    let mut processes = serde_json::Map::new();
    let mut spans = Vec::with_capacity(record.trace.spans.len());
    for span in &record.trace.spans {
        let key = (&*span.service, span.pod.as_deref());
        let process_id = process_ids
            .entry(key)
            .or_insert_with(|| {
                let id = format!("p{}", processes.len() + 1);
                let tags: Vec<(&str, TagValue)> = span
                    .pod
                    .iter()
                    .map(|pod| ("hostname", TagValue::Str(pod.to_string())))
                    .collect();
                processes.insert(
                    id.clone(),
                    json!({"serviceName": &*span.service, "tags": tags_json(&tags)}),
                );
                id
            })
            .clone();
        let references: Vec<Value> = span
            .parent
            .iter()
            .map(|&parent| {
                let kind = if span.sync { "CHILD_OF" } else { "FOLLOWS_FROM" };
                json!({"refType": kind, "traceID": trace_id, "spanID": span_id(request, parent)})
            })
            .collect();
        let (start, duration) = times_us(ctx, span);
        spans.push(json!({
            "traceID": trace_id,
            "spanID": span_id(request, span.span_id),
            "flags": 1,
            "operationName": &*span.operation,
            "references": references,
            "startTime": start,
            "duration": duration,
            "tags": tags_json(&span_tags(ctx, record, span)),
            "logs": [],
            "processID": process_id,
            "warnings": null,
        }));
    }
    json!({"traceID": trace_id, "spans": spans, "processes": processes, "warnings": null})
}

/// Jaeger's search predicate: some span of the trace is on the service (and operation), starts
/// within the window, has a duration within the bounds and carries every tag asked for.
pub fn matches(ctx: &Context, record: &TraceRecord, query: &TraceQuery) -> bool {
    record.trace.spans.iter().any(|span| {
        if query.service.as_deref().is_some_and(|s| s != &*span.service)
            || query.operation.as_deref().is_some_and(|o| o != &*span.operation)
        {
            return false;
        }
        let (start, duration) = times_us(ctx, span);
        if start < query.start_us
            || start > query.end_us
            || query.min_duration_us.is_some_and(|min| duration < min)
            || query.max_duration_us.is_some_and(|max| duration > max)
        {
            return false;
        }
        if query.tags.is_empty() {
            return true;
        }
        let mut flat: HashMap<&str, String> = span_tags(ctx, record, span)
            .into_iter()
            .map(|(key, value)| (key, value.as_string()))
            .collect();
        if let Some(pod) = &span.pod {
            flat.insert("hostname", pod.to_string());
        }
        query.tags.iter().all(|(key, value)| flat.get(key.as_str()) == Some(value))
    })
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
