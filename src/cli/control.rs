//! `ctl control`: the closed loop from the command line. Parses the flags into a
//! `ControlConfig` and `Sources`, connects (a kubeconfig, or the embedded cluster started
//! in-process with its URLs printed), and runs `Controller::run` until the duration ends or
//! Ctrl-C / SIGTERM, after which every file is flushed. All logic is in `control`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::{EXIT_OK, UsageError, parse_duration};
use crate::anomaly::{Model, SpanMap};
use crate::cluster::{self, Connection};
use crate::control::status::status_line;
use crate::control::{ControlConfig, ControlError, Controller, Mode, PolicyKind, Sources, Targets};
use crate::emulator::server::{EmbeddedCluster, ServeOptions};
use crate::model::LinearModel;
use crate::observe::jaeger_api::JaegerApi;
use crate::observe::metrics::{
    MetricSource, MetricsServerSource, PrometheusSource, QueryTemplates, ScrapeSource,
};
use crate::policy::guard::Guard;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    Hpa,
    Kpa,
    Predictive,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Observe,
    Act,
    Compare,
}

#[derive(Debug, Args)]
#[command(after_help = "Writes control.csv (seed 004's columns plus ctl's), anomalies.jsonl and \
    events.jsonl to --out.\n\nExamples:\n  ctl control --mode act --interval 5s --duration 2m\n  \
    ctl control --kubeconfig ~/.kube/config -n shop --deployment web --metrics prometheus:http://localhost:9090 --mode observe\n  \
    ctl control --selector tier=backend --mode compare --policy hpa --traces jaeger:http://localhost:16686")]
pub struct ControlArgs {
    /// A Deployment to control (repeatable). Default: every Deployment in the namespace.
    #[arg(long = "deployment", value_name = "NAME", conflicts_with = "selector")]
    pub deployments: Vec<String>,
    /// Control the Deployments matching this label selector (e.g. `tier=web`).
    #[arg(long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Namespace (default: the kubeconfig context's, or the embedded topology's).
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Kubeconfig of the cluster. Default: start the embedded cluster in-process.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current one).
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    pub context: Option<String>,
    /// The embedded cluster's topology (without --kubeconfig).
    #[arg(long, value_name = "NAME|FILE", default_value = "webapp", conflicts_with = "kubeconfig")]
    pub topology: String,
    /// The policy that decides (and acts, outside observe mode).
    #[arg(long, value_enum, default_value = "hpa")]
    pub policy: PolicyArg,
    /// observe: log what every policy would do; act: the policy scales; compare: every
    /// policy in shadow, the chosen one scales.
    #[arg(long, value_enum, default_value = "observe")]
    pub mode: ModeArg,
    /// Time between decisions.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Guard constraints (default: knowledge/constraints.yaml if it exists).
    #[arg(long, value_name = "FILE")]
    pub knowledge: Option<PathBuf>,
    /// Metric source: prometheus:URL, metrics-server, or scrape:URL of a /metrics endpoint.
    /// Default: a scrape of the embedded cluster's /metrics (CPU, memory, requests, latency),
    /// or metrics-server (CPU and memory only) with --kubeconfig.
    #[arg(long, value_name = "SOURCE")]
    pub metrics: Option<String>,
    /// Trace source for --anomaly-model: jaeger:URL or none. Default: the embedded cluster's
    /// Jaeger API, or none.
    #[arg(long, value_name = "SOURCE")]
    pub traces: Option<String>,
    /// A trace anomaly model (`ctl anomaly train`) to score each window's traces.
    #[arg(long, value_name = "FILE")]
    pub anomaly_model: Option<PathBuf>,
    /// Operation -> service map for anomaly attribution (`spans: {op: service}`).
    #[arg(long, value_name = "FILE")]
    pub span_map: Option<PathBuf>,
    /// The HPA as an autoscaling/v2 manifest (default: seed 004's hpa.yaml: CPU 60 %,
    /// memory 80 %, 1..10, scale-down window 60 s).
    #[arg(long, value_name = "HPA.yaml")]
    pub hpa: Option<PathBuf>,
    /// Knative `config-autoscaler` ConfigMap for the KPA (default: Knative's defaults).
    #[arg(long, value_name = "FILE")]
    pub kpa_config: Option<PathBuf>,
    /// A Knative Service (or Revision) whose autoscaling annotations the KPA uses.
    #[arg(long, value_name = "FILE")]
    pub kpa_service: Option<PathBuf>,
    /// CPU ~ load model (`ctl model train`) for the predictive policy.
    #[arg(long, value_name = "FILE")]
    pub cpu_model: Option<PathBuf>,
    /// PromQL templates (YAML; keys window, cpu_millicores, memory_bytes, request_rate,
    /// error_rate, latency_ms, concurrency, restarts, oom_killed) for --metrics prometheus.
    #[arg(long, value_name = "FILE")]
    pub promql: Option<PathBuf>,
    /// Output directory (default: runs/control-<time>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No status line per interval on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

fn read(path: &Path, flag: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| UsageError::boxed(format!("{flag} {}: cannot read: {e}", path.display())))
}

/// The configuration the flags describe (no cluster needed yet).
fn config(args: &ControlArgs, namespace: &str) -> anyhow::Result<ControlConfig> {
    let mut c = ControlConfig::new(namespace);
    c.targets = if let Some(s) = &args.selector {
        Targets::Selector(s.clone())
    } else if !args.deployments.is_empty() {
        Targets::Names(args.deployments.clone())
    } else {
        Targets::All
    };
    c.policy = match args.policy {
        PolicyArg::Hpa => PolicyKind::Hpa,
        PolicyArg::Kpa => PolicyKind::Kpa,
        PolicyArg::Predictive => PolicyKind::Predictive,
        PolicyArg::None => PolicyKind::None,
    };
    c.mode = match args.mode {
        ModeArg::Observe => Mode::Observe,
        ModeArg::Act => Mode::Act,
        ModeArg::Compare => Mode::Compare,
    };
    // As a campaign's control.interval: the loop must observe something between two steps.
    if args.interval < Duration::from_millis(200) {
        return Err(UsageError::boxed("--interval: expected at least 200ms"));
    }
    if args.duration.is_some_and(|d| d.is_zero()) {
        return Err(UsageError::boxed(
            "--duration: expected above 0 (without --duration: until Ctrl-C)",
        ));
    }
    c.interval = args.interval;
    c.duration = args.duration;
    let usage = |e: crate::control::config::ConfigError| UsageError::boxed(e);
    if let Some(p) = &args.hpa {
        c.policies.hpa = crate::control::PolicySettings::hpa_from_file(
            &p.display().to_string(),
            &read(p, "--hpa")?,
        )
        .map_err(usage)?;
    }
    if args.kpa_config.is_some() || args.kpa_service.is_some() {
        let cfg = args
            .kpa_config
            .as_ref()
            .map(|p| Ok::<_, anyhow::Error>((p.display().to_string(), read(p, "--kpa-config")?)))
            .transpose()?;
        let svc = args
            .kpa_service
            .as_ref()
            .map(|p| Ok::<_, anyhow::Error>((p.display().to_string(), read(p, "--kpa-service")?)))
            .transpose()?;
        c.policies.kpa = crate::control::PolicySettings::kpa_from_files(
            cfg.as_ref().map(|(f, t)| (f.as_str(), t.as_str())),
            svc.as_ref().map(|(f, t)| (f.as_str(), t.as_str())),
        )
        .map_err(usage)?;
    }
    if let Some(p) = &args.cpu_model {
        let model = LinearModel::from_json(&read(p, "--cpu-model")?)
            .map_err(|e| UsageError::boxed(format!("--cpu-model {}: {e}", p.display())))?;
        let predictive = c.policies.predictive_config();
        c.policies.predictive = Some((model, predictive));
    } else if c.policy == PolicyKind::Predictive {
        return Err(UsageError::boxed(
            "--policy predictive needs --cpu-model FILE (a model from `ctl model train`)",
        ));
    }
    let knowledge = match &args.knowledge {
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from("knowledge/constraints.yaml")).filter(|p| p.is_file()),
    };
    if let Some(p) = knowledge {
        let name = p.display().to_string();
        c.guard =
            Guard::from_yaml_str(&name, &read(&p, "--knowledge")?).map_err(UsageError::boxed)?;
        log::info!("guard constraints from {name}");
    }
    if let Some(p) = &args.anomaly_model {
        let model = Model::from_json(&read(p, "--anomaly-model")?)
            .map_err(|e| UsageError::boxed(format!("--anomaly-model {}: {e}", p.display())))?;
        c.anomaly_model = Some(model);
    }
    if let Some(p) = &args.span_map {
        let map = SpanMap::from_yaml_str(&read(p, "--span-map")?)
            .map_err(|e| UsageError::boxed(format!("--span-map {}:{e}", p.display())))?;
        c.span_map = Some(map);
    }
    c.out = Some(args.out.clone().unwrap_or_else(|| {
        let stamp = crate::policy::hpa::history::format_time(
            crate::control::controller::unix_now().floor(),
        )
        .replace([':', '-'], "");
        PathBuf::from("runs").join(format!("control-{stamp}"))
    }));
    Ok(c)
}

/// The metric source a `--metrics` value names.
fn metric_source(
    spec: Option<&str>,
    conn: &Connection,
    promql: Option<&Path>,
    embedded: Option<&EmbeddedCluster>,
) -> anyhow::Result<Box<dyn MetricSource>> {
    let expected = "--metrics: expected prometheus:URL, metrics-server or scrape:URL";
    let runtime = |e: crate::observe::metrics::MetricsError| anyhow::anyhow!("{e}");
    let default =
        embedded.map_or("metrics-server".to_string(), |c| format!("scrape:{}", c.metrics_url()));
    match spec.unwrap_or(&default) {
        "metrics-server" => Ok(Box::new(MetricsServerSource::new(conn.client.clone()))),
        s if s.starts_with("prometheus:") => {
            let url = &s["prometheus:".len()..];
            if !url.starts_with("http") {
                return Err(UsageError::boxed(format!("{expected}, found '{s}'")));
            }
            let templates = match promql {
                Some(p) => {
                    QueryTemplates::from_yaml_str(&p.display().to_string(), &read(p, "--promql")?)
                        .map_err(|e| UsageError::boxed(format!("--promql {e}")))?
                }
                None => QueryTemplates::default(),
            };
            Ok(Box::new(PrometheusSource::new(url, templates).map_err(runtime)?))
        }
        s if s.starts_with("scrape:") => {
            let url = &s["scrape:".len()..];
            if !url.starts_with("http") {
                return Err(UsageError::boxed(format!("{expected}, found '{s}'")));
            }
            Ok(Box::new(ScrapeSource::new(url).map_err(runtime)?))
        }
        s => Err(UsageError::boxed(format!("{expected}, found '{s}'"))),
    }
}

fn trace_source(
    spec: Option<&str>,
    embedded: Option<&EmbeddedCluster>,
) -> anyhow::Result<Option<JaegerApi>> {
    let url = match spec {
        Some("none") => return Ok(None),
        Some(s) => s
            .strip_prefix("jaeger:")
            .filter(|u| u.starts_with("http"))
            .ok_or_else(|| {
                UsageError::boxed(format!("--traces: expected jaeger:URL or none, found '{s}'"))
            })?
            .to_string(),
        None => match embedded {
            Some(c) => c.jaeger_url(),
            None => return Ok(None),
        },
    };
    Ok(Some(JaegerApi::new(&url).map_err(|e| anyhow::anyhow!("{e}"))?))
}

/// The --metrics and --traces values, checked before anything starts.
fn check_specs(args: &ControlArgs) -> anyhow::Result<()> {
    if let Some(m) = args.metrics.as_deref() {
        let url = m.strip_prefix("prometheus:").or_else(|| m.strip_prefix("scrape:"));
        if m != "metrics-server" && !url.is_some_and(|u| u.starts_with("http")) {
            return Err(UsageError::boxed(format!(
                "--metrics: expected prometheus:URL, metrics-server or scrape:URL, found '{m}'"
            )));
        }
    }
    if let Some(t) = args.traces.as_deref()
        && t != "none"
        && !t.strip_prefix("jaeger:").is_some_and(|u| u.starts_with("http"))
    {
        return Err(UsageError::boxed(format!(
            "--traces: expected jaeger:URL or none, found '{t}'"
        )));
    }
    if let Some(p) = &args.promql {
        QueryTemplates::from_yaml_str(&p.display().to_string(), &read(p, "--promql")?)
            .map_err(|e| UsageError::boxed(format!("--promql {e}")))?;
    }
    Ok(())
}

pub fn run(args: ControlArgs) -> anyhow::Result<i32> {
    // Check the flags and files before starting anything.
    config(&args, "default")?;
    check_specs(&args)?;
    let embedded = match &args.kubeconfig {
        Some(_) => None,
        None => {
            let topology = super::serve::load_topology(&args.topology)?;
            let cluster = EmbeddedCluster::start(ServeOptions::new(topology))
                .context("cannot start the embedded cluster")?;
            for (name, url) in super::serve::endpoints(&cluster) {
                eprintln!("{name}: {url}");
            }
            Some(cluster)
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(run_async(&args, embedded.as_ref()));
    drop(embedded);
    result
}

async fn run_async(args: &ControlArgs, embedded: Option<&EmbeddedCluster>) -> anyhow::Result<i32> {
    let conn = match (embedded, &args.kubeconfig) {
        (Some(c), _) => cluster::connect_url(&c.kubernetes_url(), c.live.namespace())?,
        (None, path) => cluster::connect(path.as_deref(), args.context.as_deref()).await?,
    };
    let namespace = args.namespace.clone().unwrap_or_else(|| conn.namespace.clone());
    let config = config(args, &namespace)?;
    let out = config.out.clone().unwrap_or_default();
    let sources = Sources {
        metrics: metric_source(args.metrics.as_deref(), &conn, args.promql.as_deref(), embedded)?,
        traces: trace_source(args.traces.as_deref(), embedded)?,
    };
    let mut controller = Controller::new(config, conn, sources).map_err(control_error)?;
    controller.resolve_targets().await.map_err(control_error)?;
    eprintln!("writing {}", out.display());

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        eprintln!("stopping: flushing files");
        let _ = stop_tx.send(true);
    });
    let quiet = args.quiet;
    let mut first: Option<f64> = None;
    let steps = controller
        .run(stop_rx, |r| {
            if !quiet {
                let elapsed = r.time - *first.get_or_insert(r.time);
                eprintln!("{}", status_line(r, elapsed));
            }
        })
        .await
        .map_err(control_error)?;
    eprintln!("{steps} intervals; files in {}", out.display());
    Ok(EXIT_OK)
}

fn control_error(e: ControlError) -> anyhow::Error {
    match e {
        ControlError::Config(m) => UsageError::boxed(m),
        other => anyhow::Error::new(other),
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
