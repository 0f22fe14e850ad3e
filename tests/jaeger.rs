//! The embedded cluster's Jaeger query API and `/metrics` over HTTP on loopback: the answers a
//! Jaeger client or a Prometheus scraper gets, parsed by ctl's own Jaeger reader and used by
//! `ctl anomaly train --traces URL` end to end.

#[allow(dead_code)]
mod util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ctl::emulator::{EmbeddedCluster, ServeOptions, topology};
use serde_json::Value;

/// A plain HTTP/1.1 GET with `Connection: close`: (status, content type, body).
fn get(base: &str, path: &str) -> (u16, String, String) {
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let host = host.split('/').next().unwrap();
    let mut stream = TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type: ").map(str::to_string))
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

fn get_json(base: &str, path: &str) -> (u16, Value) {
    let (status, content_type, body) = get(base, path);
    assert_eq!(content_type, "application/json", "{path}");
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}")))
}

/// The hotel app with `per_route` requests on each of its 4 routes, all answered.
fn hotel_with_traffic(per_route: usize) -> EmbeddedCluster {
    let cluster =
        EmbeddedCluster::start(ServeOptions::new(topology::load("hotel").unwrap())).unwrap();
    let mut pending = Vec::new();
    for _ in 0..per_route {
        for route in 0..4 {
            pending.push(cluster.live.submit(route).unwrap());
        }
    }
    for rx in pending {
        assert_eq!(rx.blocking_recv().unwrap().status, 200);
    }
    // A trace is recorded when its last span ends, which for synchronous calls is when the
    // response is: wait until all are visible rather than assume it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while cluster.live.lock().traces.len() < per_route * 4 {
        assert!(std::time::Instant::now() < deadline, "traces not recorded");
        std::thread::sleep(Duration::from_millis(5));
    }
    cluster
}

fn root_start(trace: &Value) -> i64 {
    let spans = trace["spans"].as_array().unwrap();
    let root = spans.iter().find(|s| s["references"].as_array().unwrap().is_empty()).unwrap();
    root["startTime"].as_i64().unwrap()
}

#[test]
fn services_operations_and_trace_search() {
    let cluster = hotel_with_traffic(10);
    let base = cluster.jaeger_url();

    let (status, services) = get_json(&base, "/api/services");
    assert_eq!(status, 200);
    let names: Vec<&str> =
        services["data"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for name in ["frontend", "search", "geo", "rate", "profile", "reservation", "user"] {
        assert!(names.contains(&name), "{names:?}");
    }
    assert_eq!(services["total"].as_u64(), Some(names.len() as u64));
    assert!(services["errors"].is_null());

    let (_, ops) = get_json(&base, "/api/services/frontend/operations");
    assert!(ops["data"].as_array().unwrap().iter().any(|o| o == "HTTP GET /hotels"), "{ops}");
    let (_, ops) = get_json(&base, "/api/operations?service=frontend");
    assert_eq!(ops["data"][0]["spanKind"], "server");

    let (status, all) = get_json(&base, "/api/traces?service=frontend&limit=1000&lookback=1h");
    assert_eq!(status, 200);
    let traces = all["data"].as_array().unwrap();
    assert_eq!(traces.len(), 40);
    // Newest first, as Jaeger lists search results.
    let starts: Vec<i64> = traces.iter().map(root_start).collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "{starts:?}");
    // On the wall clock: within the last minute.
    let now_us =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros()
            as i64;
    assert!(starts.iter().all(|&s| s <= now_us && s > now_us - 60_000_000), "{starts:?}");

    // The default limit is Jaeger's 100; an explicit one is honoured.
    let (_, five) = get_json(&base, "/api/traces?service=frontend&limit=5");
    let ids = |v: &[Value]| v.iter().map(|t| t["traceID"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(five["data"].as_array().unwrap()), ids(&traces[..5]), "the newest five");
    // geo is only on the /hotels path: a quarter of the requests.
    let (_, geo) = get_json(&base, "/api/traces?service=geo");
    assert_eq!(geo["data"].as_array().unwrap().len(), 10);
    let (_, user) = get_json(&base, "/api/traces?service=frontend&operation=HTTP%20POST%20%2Fuser");
    assert_eq!(user["data"].as_array().unwrap().len(), 10);
    // A window in the future holds nothing.
    let later = format!(
        "/api/traces?service=frontend&start={}&end={}",
        now_us + 3_600_000_000,
        now_us + 7_200_000_000
    );
    let (status, none) = get_json(&base, &later);
    assert_eq!((status, none["data"].as_array().unwrap().len()), (200, 0));

    // By id, with the same content as in the search.
    let first = &traces[0];
    let id = first["traceID"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    let (status, one) = get_json(&base, &format!("/api/traces/{id}"));
    assert_eq!(status, 200);
    assert_eq!(&one["data"][0], first);
    let (_, listed) = get_json(&base, &format!("/api/traces?traceID={id}"));
    assert_eq!(&listed["data"][0], first);
    // Behind an ingress the UI API often sits under /jaeger.
    let (status, prefixed) = get_json(&base, &format!("/jaeger/api/traces/{id}"));
    assert_eq!((status, &prefixed["data"][0]), (200, first));
    let (status, missing) = get_json(&base, "/api/traces/00000000000000000000000000abcdef");
    assert_eq!((status, missing["errors"][0]["code"].as_u64()), (404, Some(404)));
    let (status, bad) = get_json(&base, "/api/traces?limit=3");
    assert_eq!(status, 400);
    assert_eq!(bad["errors"][0]["msg"], "parameter 'service' is required");
    assert!(bad["data"].is_null());
    let (status, _) = get_json(&base, "/api/traces?service=frontend&start=yesterday");
    assert_eq!(status, 400);

    // Every span carries the per-span CPU and memory of seed 003's tracer.
    for span in first["spans"].as_array().unwrap() {
        let tags = span["tags"].as_array().unwrap();
        let tag = |key: &str| {
            tags.iter().find(|t| t["key"] == key).unwrap_or_else(|| panic!("{key}: {span}"))
        };
        assert_eq!(tag("cpu.ms")["type"], "float64");
        assert!(tag("cpu.ms")["value"].as_f64().unwrap() > 0.0);
        assert_eq!(tag("peak_mem.kb")["type"], "int64");
        assert!(tag("peak_mem.kb")["value"].as_i64().unwrap() > 0);
        assert_eq!(tag("http.status_code")["value"], 200);
    }
}

#[test]
fn ctls_trace_reader_and_anomaly_training_accept_the_api() {
    let cluster = hotel_with_traffic(30);
    let url = format!("{}/api/traces?service=frontend&limit=1000", cluster.jaeger_url());
    let traces = match ctl::observe::load(&url, false).unwrap() {
        ctl::observe::TraceInput::Jaeger(traces) => traces,
        other => panic!("{other:?}"),
    };
    assert_eq!(traces.len(), 120);
    let default = format!("{}/api/traces?service=frontend", cluster.jaeger_url());
    match ctl::observe::load(&default, false).unwrap() {
        ctl::observe::TraceInput::Jaeger(traces) => {
            assert_eq!(traces.len(), 100, "Jaeger's default limit")
        }
        other => panic!("{other:?}"),
    }
    let schema = ctl::anomaly::Schema::of(&traces);
    for op in ["HTTP GET /hotels", "HTTP POST /user", "/geo.Geo/Nearby", "/rate.Rate/GetRates"] {
        assert!(schema.index(op).is_some(), "{op} missing from {schema:?}");
    }
    let features =
        ctl::anomaly::features::extract(&traces[0], &schema, ctl::anomaly::FeatureKind::SelfTime);
    assert!(features.values.iter().any(|&v| v > 0.0));

    let dir = util::Dir::new("jaeger-train");
    let out = util::ctl(&dir.path, &["anomaly", "train", "--traces", &url, "--out", "model.json"]);
    util::assert_code(&out, 0);
    let summary: Value = serde_json::from_str(util::stdout(&out).trim()).unwrap();
    assert_eq!(summary["traces"], 120);
    // The distinct span operations, counted from the API's JSON rather than by ctl's reader.
    let base = cluster.jaeger_url();
    let (_, raw) = get_json(&base, "/api/traces?service=frontend&limit=1000");
    let operations: std::collections::BTreeSet<&str> = raw["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["spans"].as_array().unwrap())
        .map(|s| s["operationName"].as_str().unwrap())
        .collect();
    assert_eq!(schema.len(), operations.len(), "{operations:?}");
    assert_eq!(summary["operations"].as_u64(), Some(operations.len() as u64));
}

#[test]
fn metrics_are_served_in_the_text_format() {
    let cluster = hotel_with_traffic(5);
    let (status, content_type, body) = get(&cluster.metrics_url(), "/metrics");
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let line = body
        .lines()
        .find(|l| {
            l.starts_with("istio_requests_total{")
                && l.contains("destination_workload=\"frontend\"")
                && l.contains("response_code=\"200\"")
        })
        .unwrap_or_else(|| panic!("{body}"));
    assert!(line.ends_with(" 20"), "{line}");
    assert!(body.contains("# TYPE container_cpu_usage_seconds_total counter\n"));
    let (status, _, _) = get(&cluster.metrics_url(), "/other");
    assert_eq!(status, 404);
}
