//! A real Prometheus scrapes the embedded cluster's `/metrics` every second and PromQL over it
//! gives the CPU the emulation was told to burn. Runs when `prometheus` is on PATH (Debian
//! package `prometheus`); with `CTL_REQUIRE_PROMETHEUS=1` (as CI sets) a missing binary fails.
//! Prometheus runs on loopback with its own scratch TSDB, is bounded by a deadline and killed
//! by a drop guard whatever happens.

#[allow(dead_code)]
mod util;

use std::time::{Duration, Instant};

use ctl::emulator::{EmbeddedCluster, ServeOptions, topology};
use serde_json::Value;
use util::prometheus::{self, Prometheus};

/// The whole test, Prometheus start-up included.
const DEADLINE: Duration = Duration::from_secs(45);

/// Percent-encodes a PromQL expression for a query string.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An instant query: the result vector as (labels, value).
fn query(prometheus: &Prometheus, promql: &str) -> Vec<(Value, f64)> {
    let url = format!("{}/api/v1/query?query={}", prometheus.url, encode(promql));
    let body = ctl::observe::jaeger::fetch(&url)
        .unwrap_or_else(|e| panic!("{promql}: {e}\n{}", prometheus.log()));
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["status"], "success", "{promql}: {answer}");
    answer["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["metric"].clone(), r["value"][1].as_str().unwrap().parse().unwrap()))
        .collect()
}

/// For a range selector: per series, seconds between its oldest and newest sample.
fn scraped_span(prometheus: &Prometheus, selector: &str) -> Vec<f64> {
    let url = format!("{}/api/v1/query?query={}", prometheus.url, encode(selector));
    let body = ctl::observe::jaeger::fetch(&url)
        .unwrap_or_else(|e| panic!("{selector}: {e}\n{}", prometheus.log()));
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["data"]["resultType"], "matrix", "{answer}");
    let time = |v: &Value| v[0].as_f64().unwrap();
    answer["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|series| {
            let values = series["values"].as_array().unwrap();
            values.last().map_or(0.0, time) - values.first().map_or(0.0, time)
        })
        .collect()
}

#[test]
fn promql_over_the_scraped_metrics_gives_the_emulated_cpu() {
    if !prometheus::on_path() {
        eprintln!("skipped: `prometheus` is not on PATH");
        return;
    }
    let deadline = Instant::now() + DEADLINE;
    // webapp: 3 nginx replicas with a 200m limit.
    let cluster =
        EmbeddedCluster::start(ServeOptions::new(topology::load("webapp").unwrap())).unwrap();
    // Some requests first, so the Istio series exist (their CPU, 20 × 0.2 ms, is negligible).
    let pending: Vec<_> = (0..20).map(|_| cluster.live.submit(0).unwrap()).collect();
    for rx in pending {
        assert_eq!(rx.blocking_recv().unwrap().status, 200);
    }
    // A CPU stressor of 150m in every pod, below the 200m limit, so each burns exactly 150m:
    // 0.45 cores in all. It runs before Prometheus starts, so every scrape sees the same slope.
    let expected_cores = 3.0 * 0.150;
    {
        let now = cluster.live.now();
        let mut state = cluster.live.lock();
        let pods: Vec<String> =
            state.cluster.snapshot().pods.iter().map(|p| p.name.to_string()).collect();
        assert_eq!(pods.len(), 3);
        for pod in &pods {
            state.cluster.set_stress(pod, 150.0, now).unwrap();
        }
        cluster.live.changed(&mut state);
    }

    let dir = util::Dir::new("prometheus");
    let prometheus = prometheus::start(&dir, &cluster.metrics.to_string(), deadline);
    // rate() divides the increase over the samples it has by the whole 15 s range (it
    // extrapolates at most half an interval past them), so it is only the true rate once the
    // scrapes cover the range: wait (bounded) until every pod's oldest sample is 15 s older
    // than the newest.
    loop {
        let covered = scraped_span(&prometheus, "container_cpu_usage_seconds_total[1m]");
        if covered.len() == 3 && covered.iter().all(|&span| span >= 15.0) {
            break;
        }
        assert!(Instant::now() < deadline, "scrapes cover {covered:?} s\n{}", prometheus.log());
        std::thread::sleep(Duration::from_millis(500));
    }

    let cpu = query(
        &prometheus,
        "sum(rate(container_cpu_usage_seconds_total{namespace=\"default\"}[15s]))",
    );
    let cores = cpu.first().map(|(_, v)| *v).expect("a CPU rate");
    eprintln!("PromQL: {cores:.4} cores, expected {expected_cores}");
    assert!((cores / expected_cores - 1.0).abs() < 0.10, "{cores} vs {expected_cores}");

    let per_pod =
        query(&prometheus, "rate(container_cpu_usage_seconds_total{pod=~\"webapp-.*\"}[15s])");
    assert_eq!(per_pod.len(), 3);
    for (labels, _) in &per_pod {
        assert_eq!(labels["container"], "nginx", "{labels}");
        assert_eq!(labels["namespace"], "default", "{labels}");
    }
    let replicas = query(&prometheus, "kube_deployment_spec_replicas{deployment=\"webapp\"}");
    assert_eq!(replicas.iter().map(|(_, v)| *v).collect::<Vec<_>>(), [3.0]);
    let requests = query(
        &prometheus,
        "sum(istio_requests_total{destination_workload=\"webapp\",response_code=\"200\"})",
    );
    assert_eq!(requests.iter().map(|(_, v)| *v).collect::<Vec<_>>(), [20.0]);
    let observed = query(
        &prometheus,
        "istio_request_duration_milliseconds_bucket{destination_workload=\"webapp\",le=\"+Inf\"}",
    );
    assert_eq!(observed.iter().map(|(_, v)| *v).collect::<Vec<_>>(), [20.0]);
    // Every scrape parsed (a malformed exposition fails the whole scrape: up = 0).
    let up = query(&prometheus, "min_over_time(up{job=\"ctl\"}[1m])");
    assert_eq!(up.iter().map(|(_, v)| *v).collect::<Vec<_>>(), [1.0]);
    let limits = query(
        &prometheus,
        "sum(kube_pod_container_resource_limits{resource=\"cpu\",namespace=\"default\"})",
    );
    // 3 × 200m, summed in floating point.
    assert!(matches!(limits[..], [(_, v)] if (v - 0.6).abs() < 1e-9), "{limits:?}");
    drop(prometheus);
    cluster.stop();
}
