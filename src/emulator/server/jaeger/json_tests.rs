use super::*;
use crate::emulator::{Event, topology};
use std::sync::Arc;

const EPOCH_US: i64 = 1_700_000_000_000_000;

fn hotel_traces(n: usize) -> (Context, Vec<TraceRecord>) {
    let topology = topology::load("hotel").unwrap();
    let routes = topology.routes.iter().map(|r| (r.method.clone(), r.path.clone())).collect();
    let mut cluster = topology.build(4);
    for i in 0..n {
        cluster.submit(i % topology.routes.len(), i as f64 * 0.01).unwrap();
    }
    let records = cluster
        .advance_to(60.0)
        .into_iter()
        .filter_map(|e| match e {
            Event::TraceCompleted { trace, .. } => {
                let root_service = trace.spans[0].service.clone();
                Some(TraceRecord { trace, root_service })
            }
            _ => None,
        })
        .collect();
    (Context { epoch_us: EPOCH_US, run_id: 0xabc, routes }, records)
}

#[test]
fn a_trace_has_jaegers_ui_shape() {
    let (ctx, records) = hotel_traces(1);
    let record = &records[0];
    let t = trace_json(&ctx, record);
    assert_eq!(t["traceID"], format!("{:016x}{:016x}", 0xabc, record.trace.request));
    assert!(t["warnings"].is_null());
    let spans = t["spans"].as_array().unwrap();
    assert_eq!(spans.len(), record.trace.spans.len());
    let root = &spans[0];
    assert_eq!(root["operationName"], "HTTP GET /hotels");
    assert_eq!(root["references"], json!([]));
    assert_eq!(root["flags"], 1);
    assert_eq!(root["logs"], json!([]));
    let root_span_id = root["spanID"].as_str().unwrap();
    assert_eq!(root_span_id.len(), 16);
    // The root starts when the request arrived (virtual 0), on the wall clock.
    assert_eq!(root["startTime"], EPOCH_US);
    let expected = (record.trace.spans[0].duration() * 1e6).round() as i64;
    assert_eq!(root["duration"], expected);
    let tag = |span: &Value, key: &str| {
        let tags = span["tags"].as_array().unwrap();
        tags.iter().find(|t| t["key"] == key).cloned().unwrap_or(Value::Null)
    };
    assert_eq!(
        tag(root, "http.status_code"),
        json!({"key": "http.status_code", "type": "int64", "value": 200})
    );
    assert_eq!(tag(root, "http.method")["value"], "GET");
    assert_eq!(tag(root, "http.route")["value"], "/hotels");
    assert_eq!(tag(root, "cpu.ms")["type"], "float64");
    assert_eq!(tag(root, "cpu.ms")["value"], json!(record.trace.spans[0].cpu_ms));
    assert_eq!(tag(root, "peak_mem.kb")["type"], "int64");
    assert!(tag(root, "error").is_null());
    let process = &t["processes"][root["processID"].as_str().unwrap()];
    assert_eq!(process["serviceName"], "frontend");
    assert_eq!(process["tags"][0]["key"], "hostname");
    assert_eq!(process["tags"][0]["value"], tag(root, "pod")["value"]);
    let mut ids: Vec<&str> = spans.iter().map(|s| s["spanID"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), spans.len(), "span ids are unique");
    for (span, model) in spans.iter().zip(&record.trace.spans).skip(1) {
        let parent = &spans[model.parent.unwrap() as usize];
        assert_eq!(span["references"][0]["refType"], "CHILD_OF");
        assert_eq!(span["references"][0]["spanID"], parent["spanID"]);
        assert_eq!(span["references"][0]["traceID"], t["traceID"]);
        let (start, end) =
            (span["startTime"].as_i64().unwrap(), span["duration"].as_i64().unwrap());
        let (p_start, p_dur) =
            (parent["startTime"].as_i64().unwrap(), parent["duration"].as_i64().unwrap());
        assert!(start >= p_start && start + end <= p_start + p_dur, "{span} outside {parent}");
        assert_eq!(
            t["processes"][span["processID"].as_str().unwrap()]["serviceName"],
            &*model.service
        );
    }
    // The same trace converts to the same ids.
    assert_eq!(trace_json(&ctx, record), t);
}

#[test]
fn failed_spans_carry_error_and_async_calls_follow_from() {
    let text = "name: a\nentry: a\nroutes: [{method: GET, path: /}]\nservices:\n  \
        - {name: a, cpu: {request: 1, limit: 1}, memory: {request: 1Mi, limit: 1Mi}, service_time: const:1ms, \
           calls: [{service: b, sync: false}, {service: c}]}\n  \
        - {name: b, cpu: {request: 1, limit: 1}, memory: {request: 1Mi, limit: 1Mi}, service_time: const:5ms}\n  \
        - {name: c, replicas: 0, cpu: {request: 1, limit: 1}, memory: {request: 1Mi, limit: 1Mi}, service_time: const:5ms}\n";
    let mut cluster = topology::parse(text, "a.yaml").unwrap().build(1);
    cluster.submit(0, 0.0).unwrap();
    let trace = cluster
        .advance_to(1.0)
        .into_iter()
        .find_map(|e| match e {
            Event::TraceCompleted { trace, .. } => Some(trace),
            _ => None,
        })
        .unwrap();
    let ctx = Context { epoch_us: 0, run_id: 1, routes: vec![("GET".into(), "/".into())] };
    let record = TraceRecord { trace, root_service: Arc::from("a") };
    let t = trace_json(&ctx, &record);
    let by_service = |name: &str| {
        let spans = t["spans"].as_array().unwrap();
        spans
            .iter()
            .find(|s| t["processes"][s["processID"].as_str().unwrap()]["serviceName"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by_service("b")["references"][0]["refType"], "FOLLOWS_FROM");
    let c = by_service("c");
    let has = |span: &Value, key: &str, value: Value| {
        span["tags"].as_array().unwrap().iter().any(|t| t["key"] == key && t["value"] == value)
    };
    assert!(has(&c, "error", json!(true)) && has(&c, "http.status_code", json!(503)));
    // No replica served it: its process has no hostname.
    assert_eq!(t["processes"][c["processID"].as_str().unwrap()]["tags"], json!([]));
    assert!(has(&by_service("a"), "error", json!(true)), "a failed sync callee fails the caller");
}

#[test]
fn search_matches_any_span_of_the_service_in_the_window() {
    let (ctx, records) = hotel_traces(40);
    let query = |q: &str| TraceQuery::parse(q, EPOCH_US + 100_000_000).unwrap();
    let count = |q: &str| records.iter().filter(|r| matches(&ctx, r, &query(q))).count();
    assert_eq!(count("service=frontend"), 40);
    // geo is called by /hotels only (every 4th request, routes cycle).
    assert_eq!(count("service=geo"), 10);
    assert_eq!(count("service=frontend&operation=HTTP+POST+%2Fuser"), 10);
    assert_eq!(count("service=nope"), 0);
    // Requests arrive every 10 ms from EPOCH_US: [100 ms, 195 ms] holds arrivals 10..=19.
    let window =
        format!("service=frontend&start={}&end={}", EPOCH_US + 100_000, EPOCH_US + 195_000);
    assert_eq!(count(&window), 10);
    assert_eq!(count("service=frontend&minDuration=1h"), 0);
    assert_eq!(count("service=frontend&tag=http.status_code:200"), 40);
    assert_eq!(count("service=frontend&tag=error:true"), 0);
    let pod = records[0].trace.spans[0].pod.as_deref().unwrap();
    assert_eq!(count(&format!("service=frontend&tag=hostname:{pod}")), 40);
}

#[test]
fn trace_ids_round_trip() {
    assert_eq!(request_of(&trace_id(77, 5), 77), Some(5));
    assert_eq!(request_of(&trace_id(77, 5), 78), None);
    assert_eq!(request_of("5", 77), Some(5));
    assert_eq!(request_of("zz", 77), None);
    assert_ne!(span_id(1, 0), span_id(0, 1));
}

#[test]
fn the_anomaly_parser_reads_the_output_and_features_have_operation_columns() {
    use crate::anomaly::features::extract;
    use crate::anomaly::{FeatureKind, Schema};
    let (ctx, records) = hotel_traces(8);
    let data: Vec<Value> = records.iter().map(|r| trace_json(&ctx, r)).collect();
    let text =
        json!({"data": data, "total": 0, "limit": 0, "offset": 0, "errors": null}).to_string();
    let traces = crate::observe::jaeger::parse(&text, "api").unwrap();
    assert_eq!(traces.len(), 8);
    let schema = Schema::of(&traces);
    for op in ["HTTP GET /hotels", "/search.Search/Nearby", "/user.User/CheckUser"] {
        assert!(schema.index(op).is_some(), "{op}: {schema:?}");
    }
    let features = extract(&traces[0], &schema, FeatureKind::Inclusive);
    let root = schema.index("HTTP GET /hotels").unwrap();
    assert_eq!(features.values[root], (records[0].trace.spans[0].duration() * 1e6).round());
    assert_eq!(traces[0].spans[1].service.as_deref(), Some(&*records[0].trace.spans[1].service));
}
