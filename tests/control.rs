//! The closed loop against the embedded cluster: the HPA scales a Deployment up under CPU
//! stress and back down after it; observe mode never scales; a failing or empty metric source
//! holds replicas; `ctl control` writes a parseable control.csv with the expected header; and
//! metrics.k8s.io, a direct scrape and (when installed) a real Prometheus lead to the same
//! decisions within one step. CPU load is applied through the live handle (no traffic).

#[allow(dead_code)]
mod util;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ctl::cluster::{self, Connection};
use ctl::control::{
    ControlConfig, Controller, IntervalRecord, Mode, PolicyKind, PolicySettings, Sources, Targets,
};
use ctl::emulator::{EmbeddedCluster, ServeOptions, topology};
use ctl::observe::metrics::{
    MetricSource, MetricTarget, MetricsError, MetricsSample, MetricsServerSource, PrometheusSource,
    QueryTemplates, ScrapeSource,
};
use ctl::policy::hpa::model::{
    PolicyKind as HpaPolicyKind, ScalingPolicy, ScalingRules, SelectPolicy,
};
use ctl::policy::hpa::{Behavior, HpaSpec};

/// Seed 004's HPA made fast for tests: CPU 60 % only, 1..6 replicas, double per second,
/// scale down (all at once) after a 2 s window.
fn fast_hpa() -> HpaSpec {
    let mut spec = PolicySettings::seed_defaults().hpa;
    assert_eq!((spec.min_replicas, spec.metrics.len()), (1, 2), "seed 004: CPU then memory");
    spec.max_replicas = 6;
    spec.metrics.truncate(1);
    let fast = |window| ScalingRules {
        stabilization_window_seconds: Some(window),
        select_policy: SelectPolicy::Max,
        policies: vec![ScalingPolicy {
            kind: HpaPolicyKind::Percent,
            value: 100,
            period_seconds: 1,
        }],
        tolerance: None,
    };
    spec.behavior = Some(Behavior { scale_up: fast(0), scale_down: fast(2) });
    spec
}

fn start_cluster() -> EmbeddedCluster {
    EmbeddedCluster::start(ServeOptions::new(topology::load("webapp").unwrap())).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn connect(c: &EmbeddedCluster) -> Connection {
    cluster::connect_url(&c.kubernetes_url(), c.live.namespace()).unwrap()
}

fn config(mode: Mode) -> ControlConfig {
    let mut c = ControlConfig::new("default");
    c.targets = Targets::Names(vec!["webapp".into()]);
    c.policy = PolicyKind::Hpa;
    c.mode = mode;
    c.interval = Duration::from_secs(1);
    c.policies.hpa = fast_hpa();
    c
}

fn controller(
    c: &EmbeddedCluster,
    config: ControlConfig,
    metrics: Box<dyn MetricSource>,
) -> Controller {
    Controller::new(config, connect(c), Sources { metrics, traces: None }).unwrap()
}

/// The webapp Deployment's pods now.
fn webapp_pods(c: &EmbeddedCluster) -> Vec<String> {
    let snapshot = c.live.snapshot();
    snapshot
        .pods
        .iter()
        .filter(|p| &*p.deployment == "webapp")
        .map(|p| p.name.to_string())
        .collect()
}

/// Every webapp pod burns `millicores` of CPU (0 stops it).
fn stress(c: &EmbeddedCluster, millicores: f64) {
    let now = c.live.now();
    let pods = webapp_pods(c);
    let mut state = c.live.lock();
    for pod in pods {
        state.cluster.set_stress(&pod, millicores, now).unwrap();
    }
    c.live.changed(&mut state);
}

fn spec_replicas(c: &EmbeddedCluster) -> u32 {
    c.live.snapshot().deployments.iter().find(|d| &*d.name == "webapp").unwrap().spec_replicas
}

fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

/// Steps once a second until `done` holds for a record, or panics at the deadline.
async fn step_until(
    controller: &mut Controller,
    deadline: Instant,
    what: &str,
    mut done: impl FnMut(&IntervalRecord) -> bool,
) -> IntervalRecord {
    loop {
        let record = controller.step(unix_now()).await.unwrap();
        if done(&record) {
            return record;
        }
        assert!(Instant::now() < deadline, "{what}: not reached; last record {record:#?}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[test]
fn hpa_in_act_mode_scales_up_under_cpu_stress_and_down_after_it() {
    let c = start_cluster();
    let rt = runtime();
    let _entered = rt.enter();
    let dir = util::Dir::new("control-act");
    let mut cfg = config(Mode::Act);
    cfg.out = Some(dir.path.clone());
    let mut ctl = controller(&c, cfg, Box::new(ScrapeSource::new(&c.metrics_url()).unwrap()));
    rt.block_on(async {
        assert_eq!(spec_replicas(&c), 3);
        stress(&c, 180.0); // 180 % of the 100m request
        let deadline = Instant::now() + Duration::from_secs(20);
        let up =
            step_until(&mut ctl, deadline, "scale up", |r| r.deployments[0].applied_replicas > 3)
                .await;
        let row = &up.deployments[0];
        assert_eq!(row.applied_by, "hpa");
        assert!(row.cpu_millicores.unwrap() > 150.0, "{row:?}");
        assert!(spec_replicas(&c) > 3);
        assert!(up.events.iter().any(|e| e.kind == "scale" && e.to == Some(row.applied_replicas)));
        let peak = spec_replicas(&c);
        stress(&c, 0.0);
        let deadline = Instant::now() + Duration::from_secs(20);
        step_until(&mut ctl, deadline, "scale down", |r| r.deployments[0].applied_replicas < peak)
            .await;
        step_until(&mut ctl, deadline, "back to the minimum", |_| spec_replicas(&c) == 1).await;
    });
    let text = dir.read("control.csv");
    let (header, rows) = util::csv_quoted(&text);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert!(
        rows.iter()
            .any(|r| r[col("applied_by")] == "hpa" && r[col("hpa_sim_action")] == "scale_up")
    );
    assert!(rows.iter().any(|r| r[col("hpa_sim_action")] == "scale_down"));
    let events = dir.read("events.jsonl");
    let scales = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "scale")
        .count();
    assert!(scales >= 2, "{events}");
}

/// The webapp Deployment as a metric target, with its current pods.
fn webapp_target(c: &EmbeddedCluster) -> MetricTarget {
    MetricTarget { namespace: "default".into(), deployment: "webapp".into(), pods: webapp_pods(c) }
}

/// The rate window of the webapp pods in `sample` (all equal: one pair of scrapes).
fn window(sample: &MetricsSample) -> f64 {
    let pods = &sample["webapp"].pods;
    assert!(!pods.is_empty(), "{sample:?}");
    pods.values().next().unwrap().window_secs.unwrap()
}

#[test]
fn a_scrape_source_primes_itself_so_its_first_rate_covers_the_time_since_creation() {
    let c = start_cluster();
    let targets = [webapp_target(&c)];
    let rt = runtime();
    {
        let _entered = rt.enter();
        let mut source = ScrapeSource::new(&c.metrics_url()).unwrap();
        rt.block_on(async {
            // Time passes before the first interval (a campaign's stabilisation, say).
            tokio::time::sleep(Duration::from_secs(2)).await;
            let w = window(&source.sample(&targets, unix_now()).await.unwrap());
            // Without the priming scrape the first window would be min_gap (1 s).
            assert!(w >= 1.6, "first window {w} s");
            let w = window(&source.sample(&targets, unix_now()).await.unwrap());
            assert!(w < 1.0, "second window {w} s: since the previous sample");
        });
    }
    // Created outside a runtime: no priming; the first sample still has a rate, over min_gap.
    let mut source = ScrapeSource::new(&c.metrics_url()).unwrap();
    let w = rt.block_on(source.sample(&targets, unix_now())).map(|s| window(&s)).unwrap();
    assert!(w >= 0.99, "first window {w} s");
}

#[test]
fn observe_mode_never_scales() {
    let c = start_cluster();
    let rt = runtime();
    let _entered = rt.enter();
    let mut ctl = controller(
        &c,
        config(Mode::Observe),
        Box::new(ScrapeSource::new(&c.metrics_url()).unwrap()),
    );
    rt.block_on(async {
        stress(&c, 180.0);
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut rows = Vec::new();
        step_until(&mut ctl, deadline, "the HPA wants more", |r| {
            rows.push(r.deployments[0].clone());
            rows.len() >= 3 && r.deployments[0].desired_by_policy.is_some_and(|d| d > 3)
        })
        .await;
        for row in &rows {
            assert_eq!((row.current_replicas, row.applied_replicas), (3, 3), "{row:?}");
            assert_eq!(row.applied_by, "observation_only");
        }
        assert_eq!(spec_replicas(&c), 3);
    });
}

/// A source that answers, but with no data for any pod.
struct Empty;

impl MetricSource for Empty {
    fn name(&self) -> &'static str {
        "empty"
    }

    fn sample<'a>(
        &'a mut self,
        _targets: &'a [MetricTarget],
        _now: f64,
    ) -> futures::future::BoxFuture<'a, Result<MetricsSample, MetricsError>> {
        Box::pin(async { Ok(MetricsSample::new()) })
    }
}

/// A source whose first sample takes 2.5 s (a slow Prometheus, say).
struct SlowOnce(bool);

impl MetricSource for SlowOnce {
    fn name(&self) -> &'static str {
        "slow-once"
    }

    fn sample<'a>(
        &'a mut self,
        _targets: &'a [MetricTarget],
        _now: f64,
    ) -> futures::future::BoxFuture<'a, Result<MetricsSample, MetricsError>> {
        let first = !std::mem::replace(&mut self.0, true);
        Box::pin(async move {
            if first {
                tokio::time::sleep(Duration::from_millis(2500)).await;
            }
            Ok(MetricsSample::new())
        })
    }
}

#[test]
fn a_step_that_overruns_its_interval_skips_ticks_instead_of_bunching_them() {
    let c = start_cluster();
    let rt = runtime();
    let _entered = rt.enter();
    let mut cfg = config(Mode::Observe);
    cfg.interval = Duration::from_secs(1);
    cfg.duration = Some(Duration::from_millis(4500));
    let mut ctl = controller(&c, cfg, Box::new(SlowOnce(false)));
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut times = Vec::new();
    let steps = rt.block_on(ctl.run(stop_rx, |r| times.push(r.time))).unwrap();
    // Ticks at 0 (2.5 s long), then 3 and 4: the missed ticks 1 and 2 are not run late.
    assert_eq!(steps, 3, "{times:?}");
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= 0.9, "steps bunched: {times:?}");
    }
}

#[test]
fn a_failing_or_empty_metric_source_holds_replicas() {
    let c = start_cluster();
    let rt = runtime();
    let _entered = rt.enter();
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/metrics", l.local_addr().unwrap())
    };
    let sources: Vec<(Box<dyn MetricSource>, &str)> = vec![
        (Box::new(ScrapeSource::new(&closed).unwrap()), "scrape"),
        (Box::new(Empty), "no CPU sample"),
    ];
    rt.block_on(async {
        stress(&c, 190.0);
        for (source, expected) in sources {
            let mut ctl = controller(&c, config(Mode::Act), source);
            for _ in 0..3 {
                let r = ctl.step(unix_now()).await.unwrap();
                let row = &r.deployments[0];
                assert!(!row.valid, "{row:?}");
                assert_eq!((row.current_replicas, row.applied_replicas), (3, 3));
                assert_eq!(row.applied_by, "none");
                let why = row.guard_reason.as_deref().unwrap();
                assert!(why.starts_with("held: metrics: ") && why.contains(expected), "{why}");
                assert!(r.events.iter().any(|e| e.kind == "hold"), "{:?}", r.events);
                assert!(row.desired_by_policy.is_none() && row.hpa_sim_desired.is_none());
            }
        }
        assert_eq!(spec_replicas(&c), 3);
    });
}

/// seed 004's 25 columns, then ctl's: written out here, not taken from the code.
const EXPECTED_HEADER: &str = "timestamp,mode,current_replicas,ready_replicas,cpu_millicores,\
memory_mebibytes,cpu_request_millicores,memory_request_mebibytes,pod_count,hpa_sim_desired,\
hpa_sim_raw_desired,hpa_sim_cpu_desired,hpa_sim_mem_desired,hpa_sim_action,hpa_sim_cpu_ratio,\
hpa_sim_mem_ratio,hpa_current_replicas,hpa_desired_replicas,ai_recommended_replicas,\
ai_predicted_cpu_millicores,ai_predicted_memory_mebibytes,ai_confidence,ai_reasoning,\
applied_replicas,applied_by,deployment,policy,desired_by_policy,guard_reason,anomalies,p95_ms,\
rps,errors,p50_ms,p99_ms,kpa_desired,restarts,oom_killed,valid,unix_time,reason,cpu_total_millicores";

#[test]
fn ctl_control_writes_control_csv_and_events_on_the_embedded_cluster() {
    let dir = util::Dir::new("control-cli");
    let o = util::ctl(
        &dir.path,
        &["control", "--mode", "compare", "--interval", "1s", "--duration", "4s", "--out", "out"],
    );
    util::assert_code(&o, 0);
    let err = util::stderr(&o);
    assert!(err.contains("kubernetes: http://127.0.0.1:"), "{err}");
    let text = dir.read("out/control.csv");
    let header = text.lines().next().unwrap();
    assert_eq!(header, EXPECTED_HEADER);
    let (header, rows) = util::csv_quoted(&text);
    assert!(rows.len() >= 3, "{text}");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for r in &rows {
        assert_eq!(r.len(), header.len(), "{r:?}");
        assert_eq!(r[col("mode")], "compare");
        assert_eq!(r[col("deployment")], "webapp");
        assert!(r[col("current_replicas")].parse::<u32>().is_ok());
        assert!(r[col("unix_time")].parse::<f64>().is_ok());
    }
    // The default source (a scrape) primes itself, so even the first interval has rates.
    assert!(
        rows.iter().all(|r| r[col("valid")] == "true" && !r[col("hpa_sim_desired")].is_empty()),
        "{text}"
    );
    // One status line per interval on stderr: `[00:01] webapp 3 cpu ...`.
    let status: Vec<&str> = err.lines().filter(|l| l.starts_with("[00:0")).collect();
    assert_eq!(status.len(), rows.len(), "{err}");
    assert!(status.iter().all(|l| l.contains("] webapp ") && l.contains(" cpu ")), "{err}");
    assert!(rows.iter().any(|r| !r[col("kpa_desired")].is_empty()), "compare runs the KPA too");
    let kinds: Vec<String> = dir
        .read("out/events.jsonl")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"].to_string())
        .collect();
    assert_eq!(kinds.first().map(String::as_str), Some("\"start\""));
    assert_eq!(kinds.last().map(String::as_str), Some("\"stop\""));
    for line in dir.read("out/anomalies.jsonl").lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
}

#[test]
fn bad_flags_are_usage_errors() {
    let dir = util::Dir::new("control-usage");
    for args in [
        &["control", "--metrics", "graphite:x"][..],
        &["control", "--policy", "predictive"][..],
        &["control", "--interval", "0s"][..],
        &["control", "--interval", "1ms"][..],
        &["control", "--duration", "0"][..],
        &["control", "--deployment", "a", "--selector", "b=c"][..],
        &["control", "--deployment", "nope", "--duration", "5s"][..],
        &["control", "--selector", "a in (", "--duration", "5s"][..],
    ] {
        let o = util::ctl(&dir.path, args);
        util::assert_code(&o, 2);
    }
    dir.write("bad.yaml", "defaults:\n  max_replicas: 3\n  colldown: 5s\n");
    let o = util::ctl(&dir.path, &["control", "--knowledge", "bad.yaml"]);
    util::assert_code(&o, 2);
    assert!(util::stderr(&o).contains("bad.yaml:3:3"), "{}", util::stderr(&o));
}

#[test]
fn metrics_server_scrape_and_prometheus_agree_within_one_step() {
    let c = start_cluster();
    let rt = runtime();
    let _entered = rt.enter();
    let dir = util::Dir::new("control-agree");
    let prometheus = if util::prometheus::on_path() {
        let deadline = Instant::now() + Duration::from_secs(15);
        Some(util::prometheus::start(&dir, &c.metrics.to_string(), deadline))
    } else {
        eprintln!("notice: prometheus not on PATH: comparing metrics-server and scrape only");
        None
    };
    let interval = Duration::from_secs(3);
    let observe = || {
        let mut cfg = config(Mode::Observe);
        cfg.interval = interval;
        cfg
    };
    let mut controllers: Vec<(&str, Controller)> = vec![
        (
            "metrics-server",
            controller(&c, observe(), Box::new(MetricsServerSource::new(connect(&c).client))),
        ),
        (
            "scrape",
            controller(&c, observe(), Box::new(ScrapeSource::new(&c.metrics_url()).unwrap())),
        ),
    ];
    if let Some(p) = &prometheus {
        let templates = QueryTemplates { window: "5s".into(), ..QueryTemplates::default() };
        controllers.push((
            "prometheus",
            controller(&c, observe(), Box::new(PrometheusSource::new(&p.url, templates).unwrap())),
        ));
    }
    rt.block_on(async {
        // Idle until every source has valid data.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let now = unix_now();
            let mut valid = true;
            for (_, ctl) in &mut controllers {
                valid &= ctl.step(now).await.unwrap().deployments[0].valid;
            }
            if valid {
                break;
            }
            assert!(Instant::now() < deadline, "sources never all valid");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        stress(&c, 150.0); // 150 % of the request: the HPA wants 6 (its max)
        let mut decisions: Vec<Vec<u32>> = vec![Vec::new(); controllers.len()];
        for step in 0..5 {
            tokio::time::sleep(interval).await;
            let now = unix_now();
            for (i, (_, ctl)) in controllers.iter_mut().enumerate() {
                let row = ctl.step(now).await.unwrap().deployments.remove(0);
                decisions[i].push(row.desired_by_policy.unwrap_or(0));
                assert_eq!(row.applied_replicas, 3, "step {step}");
            }
        }
        let first_up: Vec<usize> =
            decisions.iter().map(|d| d.iter().position(|&n| n > 3).unwrap_or(usize::MAX)).collect();
        let names: Vec<&str> = controllers.iter().map(|(n, _)| *n).collect();
        let context = format!("{names:?}: {decisions:?}");
        eprintln!("decisions per step: {context}");
        let earliest = *first_up.iter().min().unwrap();
        for &f in &first_up {
            assert!(f <= earliest + 1, "scale-up decisions more than one step apart: {context}");
        }
        for d in &decisions {
            assert_eq!(d[3..], [6, 6], "steady state: {context}");
        }
        if let Some(p) = &prometheus {
            // A bad template is named with Prometheus's own complaint.
            let source = PrometheusSource::new(&p.url, QueryTemplates::default()).unwrap();
            let e = source.query("sum(", unix_now()).await.unwrap_err().to_string();
            assert!(e.contains("sum(") && e.contains("bad_data"), "{e}");
        }
    });
}

#[test]
fn slow_traces_in_the_window_are_anomalies_attributed_to_their_deployment() {
    use ctl::anomaly::{Model, Schema, TrainOptions, features};
    use ctl::observe::jaeger_api::JaegerApi;
    let c = start_cluster();
    let rt = runtime();
    let _entered = rt.enter();
    let route = c.live.route("GET", "/").unwrap();
    rt.block_on(async {
        // Normal traffic: one request at a time.
        let start = unix_now() - 1.0;
        for _ in 0..150 {
            c.live.submit(route).unwrap().await.unwrap();
        }
        let api = JaegerApi::new(&c.jaeger_url()).unwrap();
        let normal = api.traces(start, unix_now() + 1.0).await.unwrap();
        assert!(normal.len() >= 150, "{} traces", normal.len());
        // Seed 000 at HEAD: contamination 0.01.
        let contamination = ctl::anomaly::Contamination::parse("0.01").unwrap();
        let opts = TrainOptions { contamination, ..TrainOptions::default() };
        let schema = Schema::of(&normal);
        let rows: Vec<_> = normal
            .iter()
            .map(|t| features::extract_with(t, &schema, opts.kind, opts.repeated))
            .collect();
        let model = Model::train(&schema, &rows, &opts).unwrap();
        let flagged = rows.iter().filter(|r| model.score(r, None, false).anomalous).count();
        assert!(flagged * 10 < rows.len(), "{flagged} of {} normal traces flagged", rows.len());

        let mut cfg = config(Mode::Observe);
        cfg.anomaly_model = Some(model);
        let sources = Sources {
            metrics: Box::new(ScrapeSource::new(&c.metrics_url()).unwrap()),
            traces: Some(JaegerApi::new(&c.jaeger_url()).unwrap()),
        };
        let mut ctl = Controller::new(cfg, connect(&c), sources).unwrap();
        // The first window still holds the training traffic; the second is quiet.
        ctl.step(unix_now()).await.unwrap();
        let quiet = ctl.step(unix_now()).await.unwrap();
        assert!(quiet.anomalies.iter().all(|a| a.kind != "trace"), "{:?}", quiet.anomalies);
        // A burst of 300 concurrent requests: each waits behind the others on 3 pods.
        let burst: Vec<_> = (0..300).map(|_| c.live.submit(route).unwrap()).collect();
        for rx in burst {
            rx.await.unwrap();
        }
        let r = ctl.step(unix_now()).await.unwrap();
        let traces: Vec<_> = r.anomalies.iter().filter(|a| a.kind == "trace").collect();
        assert!(r.traces >= 300, "{} traces in the window", r.traces);
        assert!(
            traces.len() * 10 >= r.traces * 9,
            "{} trace anomalies of {}",
            traces.len(),
            r.traces
        );
        assert!(traces.iter().all(|a| a.deployment.as_deref() == Some("webapp")), "{traces:?}");
        assert!(r.deployments[0].anomalies as usize >= traces.len());
    });
}

#[test]
fn sigterm_stops_ctl_control_with_every_file_flushed() {
    let dir = util::Dir::new("control-sigterm");
    // Killed by the guard if the test fails before it stops (it would run forever).
    let mut child = util::Guard(
        Command::new(env!("CARGO_BIN_EXE_ctl"))
            .args(["control", "--interval", "1s", "--out", "out"])
            .current_dir(&dir.path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let csv = dir.join("out/control.csv");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&csv).map_or(0, |t| t.lines().count()) < 3 {
        assert!(Instant::now() < deadline, "no rows in time");
        std::thread::sleep(Duration::from_millis(100));
    }
    let kill = Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let status = child.wait_within(Duration::from_secs(15));
    let mut err = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("stopping"), "{err}");
    let (header, rows) = util::csv_quoted(&dir.read("out/control.csv"));
    assert!(rows.len() >= 2 && rows.iter().all(|r| r.len() == header.len()));
    let events = dir.read("out/events.jsonl");
    let last: serde_json::Value = serde_json::from_str(events.lines().last().unwrap()).unwrap();
    assert_eq!(last["kind"], "stop", "{events}");
    assert!(last["message"].as_str().unwrap().starts_with("stopped"), "{events}");
}

/// A Deployment that does not exist or a selector the API server cannot parse is the user's
/// input (a usage error, exit 2), not a runtime failure.
#[test]
fn unknown_deployments_and_unparsable_selectors_are_usage_errors() {
    let c = start_cluster();
    let rt = runtime();
    let _entered = rt.enter();
    for targets in [
        Targets::Names(vec!["nope".into()]),
        Targets::Selector("a in (".into()),
        Targets::Selector("%%%".into()),
    ] {
        let mut config = config(Mode::Observe);
        config.targets = targets.clone();
        let metrics = Box::new(ScrapeSource::new(&c.metrics_url()).unwrap());
        let mut controller = controller(&c, config, metrics);
        let err = rt.block_on(controller.resolve_targets()).unwrap_err();
        assert!(matches!(err, ctl::control::ControlError::Config(_)), "{targets:?}: {err:?}");
    }
}
