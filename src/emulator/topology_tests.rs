//! Tests of topology parsing and validation (beside `topology.rs`).

use super::*;

const MINIMAL: &str = "\
name: t
entry: a
routes:
  - {method: GET, path: /}
services:
  - name: a
    cpu: {request: 100m, limit: 1}
    memory: {request: 64Mi, limit: 128Mi}
    service_time: exp:1ms
    calls:
      - {service: b, probability: 0.5}
  - name: b
    cpu: {request: 100m, limit: 500m}
    memory: {request: 64Mi, limit: 128Mi}
    service_time: const:2ms
";

fn error(text: &str) -> String {
    parse(text, "t.yaml").expect_err("should be rejected").to_string()
}

#[test]
fn the_shipped_topologies_load_by_bare_name() {
    for name in shipped() {
        let topology = load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(topology.name, name);
        assert!(!topology.routes.is_empty());
    }
    let hotel = load("hotel.yaml").unwrap();
    for path in ["/hotels", "/recommendations"] {
        assert!(hotel.route("GET", path).is_some(), "{path}");
    }
    for path in ["/reservation", "/user"] {
        assert!(hotel.route("POST", &format!("{path}?username=x")).is_some(), "{path}");
    }
    assert_eq!(hotel.services.len(), 17);
    let tasks = load("tasks").unwrap();
    let task1 = &tasks.services[tasks.service("task1").unwrap()];
    assert_eq!((task1.cpu_request_millis, task1.cpu_limit_millis), (1000.0, 3000.0));
    assert_eq!(task1.memory_limit_bytes, 1536 << 20);
    assert_eq!(task1.operations[0].service_time.mean(), 0.5);
    assert_eq!(task1.operations[0].calls.len(), 2);
    let webapp = load("webapp").unwrap();
    let nginx = &webapp.services[0];
    assert_eq!(
        (nginx.replicas, nginx.cpu_request_millis, nginx.cpu_limit_millis),
        (3, 100.0, 200.0)
    );
    assert_eq!((nginx.memory_request_bytes, nginx.memory_limit_bytes), (64 << 20, 128 << 20));
}

#[test]
fn the_hotel_routes_match_the_hotel_workload() {
    let text = include_str!("../../workloads/hotel-reservation.yaml");
    let hotel = load("hotel").unwrap();
    let workload: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
    let requests = workload["requests"].as_sequence().unwrap();
    for request in requests {
        let (name, method) =
            (request["name"].as_str().unwrap(), request["method"].as_str().unwrap());
        assert!(hotel.route(method, name).is_some(), "{method} {name}");
    }
}

#[test]
fn a_minimal_topology_resolves_names_to_indices() {
    let topology = parse(MINIMAL, "t.yaml").unwrap();
    assert_eq!(topology.namespace, "default");
    let call = topology.services[0].operations[0].calls[0];
    assert_eq!((call.service, call.operation, call.probability, call.sync), (1, 0, 0.5, true));
    assert_eq!(topology.services[1].startup_delay, Duration::from_secs(5));
}

#[test]
fn syntax_and_value_errors_name_line_and_column() {
    let unknown_field = MINIMAL
        .replace("    service_time: const:2ms", "    service_time: const:2ms\n    colour: red");
    let message = error(&unknown_field);
    assert!(message.starts_with("t.yaml:16:5: services[1]: unknown field `colour`"), "{message}");
    assert!(!message.contains("at line"), "location given twice: {message}");

    let bad_cpu = MINIMAL.replace("limit: 500m", "limit: 5x");
    let message = error(&bad_cpu);
    assert!(message.starts_with("t.yaml:13:"), "{message}");
    assert!(message.contains("invalid CPU `5x`"), "{message}");

    // serde_yaml places errors raised inside a value at the enclosing mapping (here the
    // service starting on line 12), with the path and the offending text in the message.
    let message = error(&MINIMAL.replace("const:2ms", "gamma:2ms"));
    assert!(
        message.starts_with("t.yaml:12:5: services[1]: unknown service-time kind `gamma`"),
        "{message}"
    );
}

#[test]
fn semantic_errors_name_the_field_path() {
    let message = error(&MINIMAL.replace("service: b", "service: c"));
    // Located at the call (a flow mapping: one line), the deepest the scanner follows.
    assert_eq!(message, "t.yaml:11:9: services[0].calls[0].service: unknown service `c`");
    let message = error(&MINIMAL.replace("probability: 0.5", "probability: 1.5"));
    assert!(message.contains("services[0].calls[0].probability"), "{message}");
    let message = error(&MINIMAL.replace("request: 100m, limit: 500m", "request: 1, limit: 500m"));
    assert!(message.contains("services[1].cpu.request"), "{message}");
    let message = error(&MINIMAL.replace("entry: a", "entry: z"));
    assert_eq!(message, "t.yaml:2:1: entry: unknown service `z`");
    let message = error(&MINIMAL.replace("path: /}", "path: /, operation: nope}"));
    assert!(message.contains("routes[0].operation"), "{message}");
}

#[test]
fn a_call_cycle_is_rejected() {
    let cyclic = MINIMAL.replace(
        "    service_time: const:2ms",
        "    service_time: const:2ms\n    calls: [{service: a}]",
    );
    let message = error(&cyclic);
    assert!(message.contains("cycle: a/a -> b/b -> a/a"), "{message}");
}

#[test]
fn an_unknown_name_is_an_error_not_a_panic() {
    let message = load("no-such-topology").unwrap_err().to_string();
    assert!(message.contains("unknown topology `no-such-topology`"), "{message}");
}
