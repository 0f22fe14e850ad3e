//! `ctl stress` against the embedded cluster (its exec emulation of the stressor contract):
//! CPU stress reaches the requested share (pod metrics and /metrics), memory stress raises the
//! working set by N MiB, memory over the limit OOM-kills, a replica scaled up mid-run gets
//! stressed within one refresh, and SIGINT to the binary leaves no stressor running.

#[allow(dead_code)] // the shared harness has more than this file uses
mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ctl::cluster::exec;
use ctl::cluster::pods::{self, Target};
use ctl::cluster::{Connection, connect_url};
use ctl::emulator::server::{EmbeddedCluster, ServeOptions};
use ctl::emulator::topology;
use ctl::stress::script;
use ctl::stress::{MemoryMode, Outcome, RunnerOptions, StressEvent, StressRunner, StressSpec};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use tokio::sync::mpsc::UnboundedReceiver;

const SELECTOR: &str = "app=webapp";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn cluster() -> EmbeddedCluster {
    EmbeddedCluster::start(ServeOptions::new(topology::load("webapp").unwrap())).unwrap()
}

fn connection(cluster: &EmbeddedCluster) -> Connection {
    connect_url(&cluster.kubernetes_url(), cluster.live.namespace()).unwrap()
}

/// Polls the async `probe` every 200 ms until it returns `Some` or `limit` passes.
async fn eventually<T, F: Future<Output = Option<T>>>(
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

async fn running_pods(conn: &Connection) -> Vec<String> {
    pods::running(&conn.client, &conn.namespace, SELECTOR, None)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect()
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

/// Per pod (name, CPU cores, working-set bytes) from metrics.k8s.io.
async fn pod_metrics(conn: &Connection) -> Vec<(String, f64, f64)> {
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
            (m.metadata.name.clone().unwrap(), cpu, mem)
        })
        .collect()
}

/// Waits until every one of `pods` shows CPU within 10 % of `target` cores.
async fn cpu_reaches(conn: &Connection, pods: &[String], target: f64) -> Result<(), String> {
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let m = pod_metrics(conn).await;
        let within = pods.iter().all(|p| {
            m.iter().any(|(name, cpu, _)| name == p && (cpu - target).abs() <= 0.10 * target)
        });
        if within {
            return Ok(());
        }
        if Instant::now() > end {
            return Err(format!("target {target} cores, last pod metrics {m:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `container_cpu_usage_seconds_total` of `pod` from /metrics (a plain HTTP/1.0 GET).
fn scraped_cpu_seconds(metrics_url: &str, pod: &str) -> f64 {
    let addr = metrics_url.trim_start_matches("http://").trim_end_matches("/metrics");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("container_cpu_usage_seconds_total{")
                && l.contains(&format!("pod=\"{pod}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Receives events until `pred` matches one, within `limit`; returns every event seen.
async fn until_event(
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

fn options(duration: Duration) -> RunnerOptions {
    RunnerOptions {
        duration: Some(duration),
        refresh: Duration::from_secs(1),
        ..RunnerOptions::default()
    }
}

/// Asks every pod for a sweep of all ctl stressors: `killed 0` everywhere means none is left.
async fn leftover_stressors(conn: &Connection) -> u32 {
    let api: Api<Pod> = Api::namespaced(conn.client.clone(), &conn.namespace);
    let mut total = 0;
    for pod in running_pods(conn).await {
        let out = exec::run(
            &api,
            &pod,
            None,
            script::command(script::sweep(None)),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        total +=
            out.stdout.trim().strip_prefix("killed ").and_then(|n| n.parse::<u32>().ok()).unwrap();
    }
    total
}

#[test]
fn cpu_stress_reaches_the_requested_share_and_stops_cleanly() {
    let cluster = cluster();
    runtime().block_on(async {
        let conn = connection(&cluster);
        let pods = eventually(Duration::from_secs(10), || async {
            let p = running_pods(&conn).await;
            (p.len() == 3).then_some(p)
        })
        .await
        .expect("3 running webapp pods");
        let spec = StressSpec::Cpu { workers: 1, load: 15 };
        let target = Target::parse(SELECTOR).unwrap();
        let mut handle =
            StressRunner::start(&conn, spec, &target, options(Duration::from_secs(60)))
                .await
                .unwrap();
        let mut events = handle.events().unwrap();
        let mut started = 0;
        let (all, seen) = until_event(&mut events, Duration::from_secs(10), |e| {
            started += matches!(e, StressEvent::Started { .. }) as usize;
            started == 3
        })
        .await;
        assert!(all, "{seen:#?}");
        // 1 worker at 15 % = 150 millicores (under the 200m limit).
        cpu_reaches(&conn, &pods, 0.150).await.unwrap();
        // /metrics counts the same CPU: its counter grows at 0.15 core-seconds per second.
        let rate_from = Instant::now();
        let before: Vec<f64> =
            pods.iter().map(|p| scraped_cpu_seconds(&cluster.metrics_url(), p)).collect();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after: Vec<f64> =
            pods.iter().map(|p| scraped_cpu_seconds(&cluster.metrics_url(), p)).collect();
        let secs = rate_from.elapsed().as_secs_f64();
        for (b, a) in before.iter().zip(&after) {
            let rate = (a - b) / secs;
            assert!(
                (rate - 0.150).abs() <= 0.015,
                "/metrics CPU rate {rate} ({b} -> {a} in {secs}s)"
            );
        }
        let summary = handle.stop().await;
        assert_eq!((summary.pods, summary.stopped, summary.failed), (3, 3, 0), "{summary:?}");
        assert_eq!(leftover_stressors(&conn).await, 0);
        let idle = eventually(Duration::from_secs(10), || async {
            pod_metrics(&conn).await.iter().all(|(_, cpu, _)| *cpu < 0.02).then_some(())
        })
        .await;
        assert!(idle.is_some(), "CPU did not fall back: {:?}", pod_metrics(&conn).await);
    });
}

#[test]
fn memory_stress_raises_the_working_set_by_n_mib() {
    let cluster = cluster();
    runtime().block_on(async {
        let conn = connection(&cluster);
        let pods = eventually(Duration::from_secs(10), || async {
            let p = running_pods(&conn).await;
            (p.len() == 3).then_some(p)
        })
        .await
        .unwrap();
        let before = pod_metrics(&conn).await;
        let spec = StressSpec::Memory { mb: 40, mode: MemoryMode::Shm };
        let target = Target::parse("deployment/webapp").unwrap();
        let handle = StressRunner::start(&conn, spec, &target, options(Duration::from_secs(60)))
            .await
            .unwrap();
        let raised = eventually(Duration::from_secs(10), || async {
            let now = pod_metrics(&conn).await;
            let deltas: Vec<f64> = pods
                .iter()
                .map(|p| {
                    let get = |m: &[(String, f64, f64)]| {
                        m.iter().find(|x| &x.0 == p).map_or(0.0, |x| x.2)
                    };
                    (get(&now) - get(&before)) / (1024.0 * 1024.0)
                })
                .collect();
            deltas.iter().all(|d| (d - 40.0).abs() <= 4.0).then_some(deltas)
        })
        .await;
        assert!(raised.is_some(), "before {before:?}, now {:?}", pod_metrics(&conn).await);
        let summary = handle.stop().await;
        assert_eq!((summary.pods, summary.failed), (3, 0), "{summary:?}");
        // The sweep and the cleanup took the MiB back.
        let freed = eventually(Duration::from_secs(5), || async {
            let now = pod_metrics(&conn).await;
            now.iter()
                .all(|(p, _, m)| {
                    before.iter().any(|b| &b.0 == p && (m - b.2).abs() < 4.0 * 1024.0 * 1024.0)
                })
                .then_some(())
        })
        .await;
        assert!(freed.is_some(), "before {before:?}, after {:?}", pod_metrics(&conn).await);
    });
}

#[test]
fn memory_over_the_limit_is_reported_as_oom_killed() {
    let cluster = cluster();
    runtime().block_on(async {
        let conn = connection(&cluster);
        eventually(Duration::from_secs(10), || async {
            (running_pods(&conn).await.len() == 3).then_some(())
        })
        .await
        .unwrap();
        // The webapp's memory limit is 128Mi.
        let spec = StressSpec::Memory { mb: 200, mode: MemoryMode::Anon };
        let target = Target::parse(SELECTOR).unwrap();
        let options = RunnerOptions { max_pods: Some(1), ..options(Duration::from_secs(30)) };
        let mut handle = StressRunner::start(&conn, spec, &target, options).await.unwrap();
        let mut events = handle.events().unwrap();
        let (hit, seen) = until_event(&mut events, Duration::from_secs(15), |e| {
            matches!(
                e,
                StressEvent::Ended { outcome: Outcome::OomKilled, exit_code: Some(137), .. }
            )
        })
        .await;
        assert!(hit, "{seen:#?}");
        let summary = handle.stop().await;
        assert_eq!(summary.oom_killed, 1, "{summary:?}");
    });
}

#[test]
fn a_replica_scaled_up_mid_run_is_stressed_within_one_refresh() {
    let cluster = cluster();
    runtime().block_on(async {
        let conn = connection(&cluster);
        let pods = eventually(Duration::from_secs(10), || async {
            let p = running_pods(&conn).await;
            (p.len() == 3).then_some(p)
        })
        .await
        .unwrap();
        let spec = StressSpec::Cpu { workers: 1, load: 10 };
        let target = Target::parse(SELECTOR).unwrap();
        let mut handle =
            StressRunner::start(&conn, spec, &target, options(Duration::from_secs(60)))
                .await
                .unwrap();
        let mut events = handle.events().unwrap();
        cluster.live.scale("webapp", 4).unwrap();
        let new = eventually(Duration::from_secs(15), || async {
            running_pods(&conn).await.into_iter().find(|p| !pods.contains(p))
        })
        .await
        .expect("a 4th running pod");
        let running_since = Instant::now();
        // One refresh (1 s) plus the preflight, start sweep and exec round trips.
        let (hit, seen) = until_event(
            &mut events,
            Duration::from_secs(3),
            |e| matches!(e, StressEvent::Started { pod, .. } if pod == &new),
        )
        .await;
        assert!(hit, "{new} not stressed {:?} after it ran: {seen:#?}", running_since.elapsed());
        cpu_reaches(&conn, &[new], 0.100).await.unwrap();
        let summary = handle.stop().await;
        assert_eq!((summary.pods, summary.failed), (4, 0), "{summary:?}");
    });
}

#[test]
fn no_pod_matching_is_exit_2_naming_the_selector() {
    let dir = util::Dir::new("stress-nopod");
    let out = util::ctl(
        &dir.path,
        &["stress", "cpu", "--selector", "app=nothing-here", "--duration", "5s"],
    );
    util::assert_code(&out, 2);
    assert!(util::stderr(&out).contains("app=nothing-here"), "{}", util::stderr(&out));
}

/// A background process, killed (SIGKILL) on drop so a failing test leaves nothing behind.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `ctl serve --topology webapp` in the background and the kubeconfig it wrote.
fn serve(dir: &util::Dir) -> (Reaped, std::path::PathBuf) {
    let kubeconfig = dir.join("kubeconfig.yaml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctl"))
        .args(["serve", "--topology", "webapp", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.any(|l| l.is_ok_and(|l| l.starts_with("kubeconfig:")));
    assert!(ready, "ctl serve did not print its kubeconfig line");
    (Reaped(child), kubeconfig)
}

fn sigint(pid: u32) {
    assert!(Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap().success());
}

#[test]
fn sigint_to_the_binary_leaves_no_stressor_running() {
    let dir = util::Dir::new("stress-sigint");
    let (mut server, kubeconfig) = serve(&dir);
    let events = dir.join("events.jsonl");
    let mut stress = Reaped(
        Command::new(env!("CARGO_BIN_EXE_ctl"))
            .args([
                "stress",
                "cpu",
                "--selector",
                SELECTOR,
                "--load",
                "20",
                "--duration",
                "0",
                "--refresh",
                "1s",
            ])
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--events")
            .arg(&events)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let read_events = || std::fs::read_to_string(&events).unwrap_or_default();
    let end = Instant::now() + Duration::from_secs(20);
    while read_events().matches("\"event\":\"started\"").count() < 3 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(read_events().matches("\"event\":\"started\"").count(), 3, "{}", read_events());
    sigint(stress.0.id());
    let status = stress.0.wait().unwrap();
    let mut stderr = String::new();
    stress.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let text = read_events();
    assert!(text.contains("\"reason\":\"interrupted\""), "{text}");
    assert_eq!(text.matches("\"outcome\":\"stopped\"").count(), 3, "{text}");
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    // From outside: no ctl stressor is left in any pod, and their CPU falls back to idle.
    runtime().block_on(async {
        let conn = ctl::cluster::connect(Some(&kubeconfig), None).await.unwrap();
        assert_eq!(leftover_stressors(&conn).await, 0);
        let idle = eventually(Duration::from_secs(10), || async {
            pod_metrics(&conn).await.iter().all(|(_, cpu, _)| *cpu < 0.02).then_some(())
        })
        .await;
        assert!(idle.is_some(), "{:?}", pod_metrics(&conn).await);
    });
    sigint(server.0.id());
    let _ = server.0.wait();
}

#[test]
fn a_missing_container_is_reported_per_pod_naming_pod_and_container() {
    let cluster = cluster();
    runtime().block_on(async {
        let conn = connection(&cluster);
        eventually(Duration::from_secs(10), || async {
            (running_pods(&conn).await.len() == 3).then_some(())
        })
        .await
        .unwrap();
        let spec = StressSpec::Cpu { workers: 1, load: 10 };
        let target = Target::parse(SELECTOR).unwrap();
        let options =
            RunnerOptions { container: Some("sidecar".into()), ..options(Duration::from_secs(20)) };
        let mut handle = StressRunner::start(&conn, spec, &target, options).await.unwrap();
        let mut events = handle.events().unwrap();
        let mut unsupported = Vec::new();
        let (all, seen) = until_event(&mut events, Duration::from_secs(10), |e| {
            if let StressEvent::Ended {
                outcome: Outcome::Unsupported, pod, message: Some(m), ..
            } = e
            {
                unsupported.push((pod.clone(), m.clone()));
            }
            unsupported.len() == 3
        })
        .await;
        assert!(all, "{seen:#?}");
        for (pod, message) in &unsupported {
            assert!(message.contains(pod.as_str()) && message.contains("sidecar"), "{message}");
        }
        let summary = handle.stop().await;
        assert_eq!((summary.pods, summary.unsupported), (0, 3), "{summary:?}");
    });
}

#[test]
fn a_pod_deleted_mid_run_is_reported_and_the_others_continue() {
    let cluster = cluster();
    runtime().block_on(async {
        let conn = connection(&cluster);
        eventually(Duration::from_secs(10), || async {
            (running_pods(&conn).await.len() == 3).then_some(())
        })
        .await
        .unwrap();
        let spec = StressSpec::Cpu { workers: 1, load: 10 };
        let target = Target::parse(SELECTOR).unwrap();
        let mut handle =
            StressRunner::start(&conn, spec, &target, options(Duration::from_secs(60)))
                .await
                .unwrap();
        let mut events = handle.events().unwrap();
        let mut started = 0;
        let (all, seen) = until_event(&mut events, Duration::from_secs(10), |e| {
            started += matches!(e, StressEvent::Started { .. }) as usize;
            started == 3
        })
        .await;
        assert!(all, "{seen:#?}");
        cluster.live.scale("webapp", 2).unwrap();
        let (gone, seen) = until_event(&mut events, Duration::from_secs(10), |e| {
            matches!(e, StressEvent::PodGone { .. })
        })
        .await;
        assert!(gone, "{seen:#?}");
        let remaining = running_pods(&conn).await;
        assert_eq!(remaining.len(), 2);
        cpu_reaches(&conn, &remaining, 0.100).await.unwrap();
        let summary = handle.stop().await;
        assert_eq!(
            (summary.pods, summary.pod_gone, summary.stopped, summary.failed),
            (3, 1, 2, 0),
            "{summary:?}"
        );
    });
}

#[test]
fn script_prints_the_exact_script_which_runs_under_sh() {
    let dir = util::Dir::new("stress-script");
    let out = util::ctl(
        &dir.path,
        &[
            "stress",
            "script",
            "cpu",
            "--workers",
            "2",
            "--load",
            "40",
            "--ttl",
            "1s",
            "--run",
            "abc",
        ],
    );
    util::assert_code(&out, 0);
    let text = util::stdout(&out);
    let run = ctl::stress::RunId::parse("abc").unwrap();
    let expected =
        script::stressor(&StressSpec::Cpu { workers: 2, load: 40 }, Duration::from_secs(1), &run);
    assert_eq!(text, expected);
    assert!(text.starts_with("# ctl-stressor kind=cpu workers=2 load=40 ttl=1 run=abc\n"));
    let started = Instant::now();
    let ran = Command::new("sh").arg("-c").arg(&text).output().unwrap();
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stderr));
    assert!(started.elapsed() < Duration::from_secs(3));
    let out = util::ctl(&dir.path, &["stress", "script", "memory", "--mb", "8", "--mode", "shm"]);
    util::assert_code(&out, 0);
    assert!(
        util::stdout(&out)
            .starts_with("# ctl-stressor kind=memory mb=8 mode=shm ttl=60 run=manual\n")
    );
    let out = util::ctl(&dir.path, &["stress", "script", "cpu", "--load", "0"]);
    util::assert_code(&out, 2);
    assert!(util::stderr(&out).contains("--load"), "{}", util::stderr(&out));
    let out = util::ctl(&dir.path, &["stress", "script", "sweep", "--run", "bad id"]);
    util::assert_code(&out, 2);
}
