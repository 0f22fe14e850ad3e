//! Shared by tests/stress.rs and tests/stress_cli.rs: the webapp on an embedded cluster, pod
//! metrics as numbers, polling with a deadline, and the check that no stressor is left.

use std::time::{Duration, Instant};

use ctl::cluster::pods::{self, Target};
use ctl::cluster::{Connection, connect_url, exec};
use ctl::emulator::server::{EmbeddedCluster, ServeOptions};
use ctl::emulator::topology;
use ctl::stress::{RunnerOptions, StressEvent, StressHandle, StressRunner, StressSpec, script};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use tokio::sync::mpsc::UnboundedReceiver;

pub const SELECTOR: &str = "app=webapp";

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// The webapp topology on an embedded cluster, a connection to it and its 3 Running pods.
pub struct Webapp {
    pub cluster: EmbeddedCluster,
    pub conn: Connection,
    pub pods: Vec<String>,
}

/// Runs `test` against a fresh [`Webapp`] once its 3 pods run. The cluster is dropped outside
/// the runtime (its shutdown joins a thread).
pub fn with_webapp(test: impl AsyncFnOnce(&Webapp)) {
    let runtime = runtime();
    let cluster =
        EmbeddedCluster::start(ServeOptions::new(topology::load("webapp").unwrap())).unwrap();
    let (conn, pods) = runtime.block_on(async {
        let conn = connect_url(&cluster.kubernetes_url(), cluster.live.namespace()).unwrap();
        let pods = eventually(Duration::from_secs(10), || async {
            let p = running_pods(&conn).await;
            (p.len() == 3).then_some(p)
        })
        .await
        .expect("3 running webapp pods");
        (conn, pods)
    });
    let webapp = Webapp { cluster, conn, pods };
    runtime.block_on(test(&webapp));
}

/// Polls the async `probe` every 200 ms until it returns `Some` or `limit` passes.
pub async fn eventually<T, F: Future<Output = Option<T>>>(
    limit: Duration,
    mut probe: impl FnMut() -> F,
) -> Option<T> {
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = probe().await {
            return Some(v);
        }
        if Instant::now() > end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn running_pods(conn: &Connection) -> Vec<String> {
    pods::running(&conn.client, &conn.namespace, SELECTOR, None)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect()
}

/// A run of `duration` with a 1 s refresh.
pub fn options(duration: Duration) -> RunnerOptions {
    RunnerOptions {
        duration: Some(duration),
        refresh: Duration::from_secs(1),
        ..RunnerOptions::default()
    }
}

/// Starts `spec` on `target` and takes the run's event stream.
pub async fn start(
    conn: &Connection,
    spec: StressSpec,
    target: &str,
    options: RunnerOptions,
) -> (StressHandle, UnboundedReceiver<StressEvent>) {
    let target = Target::parse(target).unwrap();
    let mut handle = StressRunner::start(conn, spec, &target, options).await.unwrap();
    let events = handle.events().unwrap();
    (handle, events)
}

/// Receives events until `pred` matches one, within `limit`; returns every event seen.
pub async fn until_event(
    rx: &mut UnboundedReceiver<StressEvent>,
    limit: Duration,
    mut pred: impl FnMut(&StressEvent) -> bool,
) -> (bool, Vec<StressEvent>) {
    let mut seen = Vec::new();
    let end = tokio::time::Instant::now() + limit;
    while let Ok(Some(e)) = tokio::time::timeout_at(end, rx.recv()).await {
        let hit = pred(&e);
        seen.push(e);
        if hit {
            return (true, seen);
        }
    }
    (false, seen)
}

/// Waits (10 s at most) until `n` stressors have started; panics with the events otherwise.
pub async fn until_started(rx: &mut UnboundedReceiver<StressEvent>, n: usize) {
    let mut started = 0;
    let (all, seen) = until_event(rx, Duration::from_secs(10), |e| {
        started += usize::from(matches!(e, StressEvent::Started { .. }));
        started == n
    })
    .await;
    assert!(all, "{started} of {n} stressors started: {seen:#?}");
}

/// Parses a CPU quantity (`123n`, `5u`, `100m`, `1`) to cores.
fn cores(q: &str) -> f64 {
    let (num, scale) = match q.chars().last() {
        Some('n') => (&q[..q.len() - 1], 1e-9),
        Some('u') => (&q[..q.len() - 1], 1e-6),
        Some('m') => (&q[..q.len() - 1], 1e-3),
        _ => (q, 1.0),
    };
    num.parse::<f64>().unwrap() * scale
}

/// Parses a memory quantity (`123Ki`, `5Mi`, bytes) to bytes.
fn bytes(q: &str) -> f64 {
    for (suffix, scale) in
        [("Ki", 1024.0), ("Mi", 1024.0 * 1024.0), ("Gi", 1024.0 * 1024.0 * 1024.0)]
    {
        if let Some(n) = q.strip_suffix(suffix) {
            return n.parse::<f64>().unwrap() * scale;
        }
    }
    q.parse().unwrap()
}

/// One pod's usage from metrics.k8s.io.
#[derive(Debug, Clone)]
pub struct Usage {
    pub pod: String,
    pub cores: f64,
    pub mib: f64,
}

pub async fn pod_metrics(conn: &Connection) -> Vec<Usage> {
    let ar =
        ApiResource::from_gvk(&GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", "PodMetrics"));
    let api: Api<DynamicObject> = Api::namespaced_with(conn.client.clone(), &conn.namespace, &ar);
    let list = api.list(&ListParams::default().labels(SELECTOR)).await.unwrap();
    list.items
        .iter()
        .map(|m| {
            let (mut cpu, mut mem) = (0.0, 0.0);
            for c in m.data["containers"].as_array().unwrap() {
                cpu += cores(c["usage"]["cpu"].as_str().unwrap());
                mem += bytes(c["usage"]["memory"].as_str().unwrap());
            }
            Usage { pod: m.metadata.name.clone().unwrap(), cores: cpu, mib: mem / 1048576.0 }
        })
        .collect()
}

/// Waits until every one of `pods` shows CPU within 10 % of `target` cores.
pub async fn cpu_reaches(conn: &Connection, pods: &[String], target: f64) {
    let within = eventually(Duration::from_secs(15), || async {
        let m = pod_metrics(conn).await;
        pods.iter()
            .all(|p| m.iter().any(|u| &u.pod == p && (u.cores - target).abs() <= 0.10 * target))
            .then_some(())
    })
    .await;
    assert!(within.is_some(), "target {target} cores, pod metrics {:?}", pod_metrics(conn).await);
}

/// Waits until every pod's CPU is back under 20 millicores (idle).
pub async fn cpu_falls_back(conn: &Connection) {
    let idle = eventually(Duration::from_secs(10), || async {
        pod_metrics(conn).await.iter().all(|u| u.cores < 0.02).then_some(())
    })
    .await;
    assert!(idle.is_some(), "CPU did not fall back: {:?}", pod_metrics(conn).await);
}

/// Asks every pod for a sweep of all ctl stressors: `killed 0` everywhere means none is left.
pub async fn leftover_stressors(conn: &Connection) -> u32 {
    let api: Api<Pod> = Api::namespaced(conn.client.clone(), &conn.namespace);
    let mut total = 0;
    for pod in running_pods(conn).await {
        let sweep = script::command(script::sweep(None));
        let out = exec::run(&api, &pod, None, sweep, Duration::from_secs(10)).await.unwrap();
        let said = out.stdout.trim();
        total += said
            .strip_prefix("killed ")
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or_else(|| panic!("{pod}: sweep said '{said}'"));
    }
    total
}
