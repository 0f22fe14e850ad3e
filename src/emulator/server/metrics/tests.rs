use super::*;
use crate::emulator::topology;
use std::collections::{HashMap, HashSet};

/// A parsed sample: family-qualified name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// A strict-enough reader of the text format: checks that every sample follows a `# TYPE` of
/// its family, that families are contiguous, and unescapes label values.
fn parse(text: &str) -> Vec<Sample> {
    let mut typed: HashMap<String, String> = HashMap::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut current = String::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(typed.insert(name.into(), kind.into()).is_none(), "TYPE twice: {line}");
            finished.insert(std::mem::replace(&mut current, name.into()));
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.strip_suffix('}').unwrap()),
            None => (series, ""),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| typed.contains_key(*f)))
            .unwrap_or(name);
        assert_eq!(family, current, "sample outside its family: {line}");
        assert!(!finished.contains(family), "family split: {line}");
        samples.push(Sample {
            name: name.into(),
            labels: parse_labels(labels),
            value: value.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        });
    }
    samples
}

fn parse_labels(text: &str) -> HashMap<String, String> {
    let mut labels = HashMap::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        assert_eq!(chars.next(), Some('"'));
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => panic!("dangling escape"),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        if chars.peek() == Some(&',') {
            chars.next();
        }
        labels.insert(key, value);
    }
    labels
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v)))
        .collect()
}

fn one(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    match find(samples, name, labels)[..] {
        [s] => s.value,
        ref other => panic!("{name} {labels:?}: {other:?}"),
    }
}

#[test]
fn every_contract_series_is_exposed_with_kubernetes_labels() {
    // webapp.yaml: 3 replicas of container `nginx`, 100m/64Mi requests, 200m/128Mi limits.
    let mut cluster = topology::load("webapp").unwrap().build(1);
    for i in 0..30 {
        cluster.submit(0, f64::from(i) * 0.01).unwrap();
    }
    cluster.advance_to(1.0);
    let pod = cluster.snapshot().pods[0].name.to_string();
    cluster.set_memory_stress(&pod, 200 << 20, 1.0).unwrap();
    cluster.advance_to(2.0);
    let snapshot = cluster.snapshot();
    let timing = TimingSummary { quantiles: vec![(0.5, 1e-5)], count: 4, sum_seconds: 4e-5 };
    let text = render(&snapshot, &timing);
    let samples = parse(&text);

    for family in [
        "container_cpu_usage_seconds_total counter",
        "container_memory_working_set_bytes gauge",
        "kube_pod_info gauge",
        "kube_pod_labels gauge",
        "kube_pod_container_resource_requests gauge",
        "kube_pod_container_resource_limits gauge",
        "kube_pod_container_status_restarts_total counter",
        "kube_pod_container_status_last_terminated_reason gauge",
        "kube_pod_container_status_ready gauge",
        "kube_pod_status_phase gauge",
        "kube_deployment_spec_replicas gauge",
        "kube_deployment_status_replicas gauge",
        "kube_deployment_status_replicas_ready gauge",
        "istio_requests_total counter",
        "istio_request_duration_milliseconds histogram",
        "ctl_emulator_timing_error_seconds summary",
        "ctl_emulator_requests_in_flight gauge",
    ] {
        assert!(text.contains(&format!("# TYPE {family}\n")), "{family}");
    }

    let ns = ("namespace", "default");
    let at = [ns, ("pod", pod.as_str()), ("container", "nginx")];
    let cpu = [at[0], at[1], at[2], ("resource", "cpu"), ("unit", "core")];
    let mem = [at[0], at[1], at[2], ("resource", "memory"), ("unit", "byte")];
    assert_eq!(one(&samples, "kube_pod_container_resource_requests", &cpu), 0.1);
    assert_eq!(one(&samples, "kube_pod_container_resource_limits", &cpu), 0.2);
    assert_eq!(one(&samples, "kube_pod_container_resource_requests", &mem), 64.0 * 1048576.0);
    assert_eq!(one(&samples, "kube_pod_container_resource_limits", &mem), 128.0 * 1048576.0);
    assert_eq!(one(&samples, "kube_pod_container_status_restarts_total", &at), 1.0);
    let oom = [at[0], at[1], at[2], ("reason", "OOMKilled")];
    assert_eq!(one(&samples, "kube_pod_container_status_last_terminated_reason", &oom), 1.0);
    assert_eq!(find(&samples, "kube_pod_container_status_last_terminated_reason", &[]).len(), 1);
    // Restarting (startup delay 5 s) the pod is Running but not ready.
    assert_eq!(one(&samples, "kube_pod_container_status_ready", &at), 0.0);
    let phase = |p| one(&samples, "kube_pod_status_phase", &[ns, ("pod", &pod), ("phase", p)]);
    assert_eq!((phase("Running"), phase("Pending"), phase("Failed")), (1.0, 0.0, 0.0));
    let rs = pod.rsplit_once('-').unwrap().0;
    assert!(rs.starts_with("webapp-") && rs.len() == "webapp-".len() + 10, "{rs}");
    let info = [ns, ("pod", &pod), ("created_by_kind", "ReplicaSet"), ("created_by_name", rs)];
    assert_eq!(one(&samples, "kube_pod_info", &info), 1.0);
    assert_eq!(one(&samples, "kube_pod_labels", &[("pod", &pod), ("label_app", "webapp")]), 1.0);
    assert_eq!(find(&samples, "container_cpu_usage_seconds_total", &[ns]).len(), 3);
    let dep = [ns, ("deployment", "webapp")];
    assert_eq!(one(&samples, "kube_deployment_spec_replicas", &dep), 3.0);
    assert_eq!(one(&samples, "kube_deployment_status_replicas", &dep), 3.0);
    assert_eq!(one(&samples, "kube_deployment_status_replicas_ready", &dep), 2.0);

    let dest = [
        ("reporter", "destination"),
        ("destination_workload", "webapp"),
        ("destination_workload_namespace", "default"),
        ("destination_service_name", "webapp"),
    ];
    let ok = [dest[0], dest[1], dest[2], dest[3], ("response_code", "200")];
    assert_eq!(one(&samples, "istio_requests_total", &ok), 30.0);
    let buckets = find(&samples, "istio_request_duration_milliseconds_bucket", &dest);
    assert_eq!(buckets.len(), LATENCY_BUCKETS_MS.len() + 1);
    assert_eq!(buckets[0].labels["le"], "0.5");
    assert_eq!(buckets.last().unwrap().labels["le"], "+Inf");
    assert_eq!(buckets.last().unwrap().value, 30.0);
    assert!(buckets.windows(2).all(|w| w[0].value <= w[1].value));
    assert_eq!(one(&samples, "istio_request_duration_milliseconds_count", &dest), 30.0);
    assert!(one(&samples, "istio_request_duration_milliseconds_sum", &dest) > 0.0);

    assert_eq!(one(&samples, "ctl_emulator_timing_error_seconds", &[("quantile", "0.5")]), 1e-5);
    assert_eq!(one(&samples, "ctl_emulator_timing_error_seconds_count", &[]), 4.0);
    assert_eq!(find(&samples, "ctl_emulator_requests_in_flight", &[ns]).len(), 3);
}

#[test]
fn cpu_counters_match_the_work_done_and_never_decrease() {
    // Rounds of 30 requests (about 0.2 ms CPU each, exp:200us) on webapp, an OOM kill in the
    // third: every pod's counter stays monotonic, and their sum lies between the CPU of the
    // spans that finished and that of every span (killed spans got part of their work).
    let mut cluster = topology::load("webapp").unwrap().build(3);
    let mut previous: HashMap<String, f64> = HashMap::new();
    let (mut ok_cpu, mut all_cpu) = (0.0, 0.0);
    let timing = TimingSummary { quantiles: vec![], count: 0, sum_seconds: 0.0 };
    for round in 0..4 {
        let base = f64::from(round);
        for i in 0..30 {
            cluster.submit(0, base + f64::from(i) * 0.01).unwrap();
        }
        if round == 2 {
            // A burst in flight on every pod at the moment of the kill.
            for _ in 0..9 {
                cluster.submit(0, base + 0.15).unwrap();
            }
            let pod = cluster.snapshot().pods[1].name.to_string();
            cluster.set_memory_stress(&pod, 1 << 30, base + 0.15).unwrap();
        }
        for event in cluster.advance_to(base + 0.99) {
            if let crate::emulator::Event::TraceCompleted { trace, .. } = event {
                for span in trace.spans {
                    all_cpu += span.cpu_ms / 1000.0;
                    if span.status == 200 {
                        ok_cpu += span.cpu_ms / 1000.0;
                    }
                }
            }
        }
        let samples = parse(&render(&cluster.snapshot(), &timing));
        for s in find(&samples, "container_cpu_usage_seconds_total", &[]) {
            let pod = s.labels["pod"].clone();
            let before = previous.insert(pod.clone(), s.value).unwrap_or(0.0);
            assert!(s.value >= before, "{pod}: {before} -> {}", s.value);
        }
    }
    let total: f64 = previous.values().sum();
    assert!(ok_cpu > 0.0 && ok_cpu < all_cpu, "{ok_cpu} {all_cpu}");
    assert!(total >= ok_cpu - 1e-9 && total <= all_cpu + 1e-9, "{ok_cpu} <= {total} <= {all_cpu}");
}
