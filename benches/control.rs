//! Controller overhead per interval with 100 Deployments x 10 pods on the embedded cluster
//! (target: < 50 ms per interval excluding network waits). Runs `Controller::step` in compare
//! mode (HPA, KPA in shadow, guard) with the scrape source and with metrics.k8s.io, and
//! prints per interval: the controller's own time (`compute_secs`: the step minus the awaited
//! API and source calls), then the source-side work those awaits hide and that is not
//! network: parsing the /metrics text and computing 1,000 pods' rates, and decoding the pod
//! lists' JSON.

use std::time::{Duration, Instant};

use ctl::cluster;
use ctl::control::{ControlConfig, Controller, Mode, PolicyKind, Sources, Targets};
use ctl::emulator::{EmbeddedCluster, ServeOptions, topology};
use ctl::observe::metrics::scrape::{Scrape, compute, parse_text};
use ctl::observe::metrics::{MetricSource, MetricTarget, MetricsServerSource, ScrapeSource};

const DEPLOYMENTS: usize = 100;
const PODS: u32 = 10;
const INTERVALS: usize = 10;

fn topology_yaml() -> String {
    let mut s = String::from(
        "name: bench\nentry: svc-000\nroutes:\n  - {method: GET, path: /}\nservices:\n",
    );
    for i in 0..DEPLOYMENTS {
        s.push_str(&format!(
            "  - name: svc-{i:03}\n    replicas: {PODS}\n    cpu: {{request: 100m, limit: 200m}}\n    \
             memory: {{request: 64Mi, limit: 128Mi, baseline: 8Mi}}\n    startup_delay: 0s\n    \
             service_time: exp:200us\n"
        ));
    }
    s
}

fn stats(name: &str, values: &mut [f64]) {
    values.sort_by(f64::total_cmp);
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    println!(
        "{name:<44} mean {:>8.2} ms  p50 {:>8.2} ms  max {:>8.2} ms",
        mean * 1e3,
        values[values.len() / 2] * 1e3,
        values[values.len() - 1] * 1e3
    );
}

fn main() {
    let topo = topology::parse(&topology_yaml(), "bench.yaml").expect("bench topology");
    let cluster = EmbeddedCluster::start(ServeOptions::new(topo)).expect("embedded cluster");
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let _entered = runtime.enter();
    let conn = cluster::connect_url(&cluster.kubernetes_url(), "default").expect("client");
    println!(
        "controller overhead: {DEPLOYMENTS} deployments x {PODS} pods, {INTERVALS} intervals per source"
    );
    let sources: Vec<(&str, Box<dyn MetricSource>)> = vec![
        ("scrape", Box::new(ScrapeSource::new(&cluster.metrics_url()).expect("scrape"))),
        ("metrics-server", Box::new(MetricsServerSource::new(conn.client.clone()))),
    ];
    for (name, source) in sources {
        let mut config = ControlConfig::new("default");
        config.targets = Targets::All;
        config.mode = Mode::Compare;
        config.policy = PolicyKind::Hpa;
        config.interval = Duration::from_secs(1);
        let mut controller =
            Controller::new(config, conn.clone(), Sources { metrics: source, traces: None })
                .expect("controller");
        let (mut compute, mut io) = (Vec::new(), Vec::new());
        runtime.block_on(async {
            controller.step(unix_now()).await.expect("warm-up step");
            for _ in 0..INTERVALS {
                let r = controller.step(unix_now()).await.expect("step");
                assert_eq!(r.deployments.len(), DEPLOYMENTS);
                compute.push(r.compute_secs);
                io.push(r.io_secs);
            }
        });
        stats(&format!("{name}: controller step (excl. awaits)"), &mut compute);
        stats(&format!("{name}: awaited API/source calls"), &mut io);
    }

    // What the awaits hide that is CPU work: the scrape's parse and rates, and pod JSON.
    let text = ctl::observe::jaeger::fetch(&cluster.metrics_url()).expect("scrape");
    let snapshot = cluster.live.snapshot();
    let targets: Vec<MetricTarget> = (0..DEPLOYMENTS)
        .map(|i| {
            let d = format!("svc-{i:03}");
            let pods = snapshot
                .pods
                .iter()
                .filter(|p| *p.deployment == *d)
                .map(|p| p.name.to_string())
                .collect();
            MetricTarget { namespace: "default".into(), deployment: d, pods }
        })
        .collect();
    let mut parse = Vec::new();
    let prev = Scrape::new(0.0, parse_text(&text, "m").expect("parse"));
    for i in 0..INTERVALS {
        let start = Instant::now();
        let cur = Scrape::new(1.0 + i as f64, parse_text(&text, "m").expect("parse"));
        let out = compute(&prev, &cur, &targets);
        assert_eq!(out.len(), DEPLOYMENTS);
        parse.push(start.elapsed().as_secs_f64());
    }
    println!("/metrics: {} bytes, {} lines", text.len(), text.lines().count());
    stats("scrape: parse + rates of 1,000 pods", &mut parse);
    let pods_url = format!("{}/api/v1/namespaces/default/pods", cluster.kubernetes_url());
    let pods_json = ctl::observe::jaeger::fetch(&pods_url).expect("pods");
    let mut decode = Vec::new();
    for _ in 0..INTERVALS {
        let start = Instant::now();
        let list: PodList = serde_json::from_str(&pods_json).expect("pods");
        assert_eq!(list.items.len(), DEPLOYMENTS * PODS as usize);
        decode.push(start.elapsed().as_secs_f64());
    }
    stats("kube: decode 1,000 pods (JSON)", &mut decode);
    cluster.stop();
}

/// A PodList as kube decodes it: straight into typed pods.
#[derive(serde::Deserialize)]
struct PodList {
    items: Vec<k8s_openapi::api::core::v1::Pod>,
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
