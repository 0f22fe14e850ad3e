//! One campaign, end to end: start the target (the embedded cluster, or connect with a
//! kubeconfig), create the run folder, build the controller configuration (every input file
//! is read before anything starts), run the load on this thread with the Locust CSV writer,
//! the recorder sink and the progress display as sinks, and the [`Orchestra`] (phases,
//! stress, controller) on a tokio runtime on the same clock. When the load ends (its
//! duration, or a stop request) the orchestrator stops every stressor; then `seconds.csv`,
//! `summary.json` and `report.html` are written, with status `interrupted` after a stop.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::folder;
use super::orchestrate::Orchestra;
use super::record::Recording;
use super::report::{self, ReportInput};
use super::resolve::Campaign;
use super::sinks::{CampaignProgress, CampaignSink};
use super::summary::CampaignSummary;
use super::unix_now;
use crate::cluster::{self, Connection};
use crate::emulator::{EmbeddedCluster, ServeOptions, topology};
use crate::load::output::LocustCsvWriter;
use crate::load::stats::{RunTotals, SecondStats};
use crate::load::{self, LoadPlan, SecondSink};

/// How to run.
pub struct RunOptions {
    /// Where run folders go (`runs`).
    pub runs_dir: PathBuf,
    pub quiet: bool,
    /// Set by Ctrl-C / SIGTERM: stop the load and the stressors, write everything.
    pub stop: Arc<AtomicBool>,
}

/// What a finished (or interrupted) campaign left.
pub struct RunResult {
    pub dir: PathBuf,
    pub summary: CampaignSummary,
    /// Steps that failed without stopping the campaign (a stressor that could not start, ...).
    pub problems: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario cannot run as written (a file it names is invalid): a usage error.
    #[error("{0}")]
    Setup(String),
    #[error("cannot start the embedded cluster: {0}")]
    Cluster(String),
    #[error("cannot connect to the cluster: {0}")]
    Connect(String),
    #[error("cannot write {}: {source}", path.display())]
    Output { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Load(#[from] load::LoadError),
    #[error("cannot start the campaign's runtime: {0}")]
    Runtime(std::io::Error),
}

fn output(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Output { path: path.to_path_buf(), source }
}

/// The target: the cluster connection, the app's URL, and the embedded cluster if any (kept
/// alive for the run).
struct Target {
    conn: Connection,
    host: String,
    endpoints: super::control_setup::Embedded,
    _embedded: Option<EmbeddedCluster>,
}

fn start_target(c: &Campaign, rt: &tokio::runtime::Runtime) -> Result<Target, RunError> {
    let t = &c.scenario.target;
    if let Some(name) = &t.embedded {
        let topology = topology::load(name).map_err(|e| RunError::Setup(e.to_string()))?;
        let mut options = ServeOptions::new(topology);
        options.seed = t.seed.unwrap_or(42);
        let embedded =
            EmbeddedCluster::start(options).map_err(|e| RunError::Cluster(e.to_string()))?;
        let namespace = embedded.live.namespace().to_string();
        // kube's client spawns its buffer task on the current runtime.
        let conn = {
            let _guard = rt.enter();
            cluster::connect_url(&embedded.kubernetes_url(), &namespace)
                .map_err(|e| RunError::Connect(e.to_string()))?
        };
        return Ok(Target {
            conn,
            host: embedded.app_url(),
            endpoints: super::control_setup::Embedded {
                metrics: Some(embedded.metrics_url()),
                jaeger: Some(embedded.jaeger_url()),
            },
            _embedded: Some(embedded),
        });
    }
    let path = t.kubeconfig.as_deref().map(Path::new);
    let mut conn = rt
        .block_on(cluster::connect(path, t.context.as_deref()))
        .map_err(|e| RunError::Connect(e.to_string()))?;
    if let Some(ns) = &t.namespace {
        conn.namespace = ns.clone();
    }
    let host = t.host.clone().unwrap_or_default().trim_end_matches('/').to_string();
    Ok(Target { conn, host, endpoints: Default::default(), _embedded: None })
}

/// Feeds the Locust writer; remembers the first error instead of failing mid-run.
struct CsvSink {
    writer: LocustCsvWriter,
    error: Option<String>,
}

impl SecondSink for CsvSink {
    fn on_second(&mut self, s: &SecondStats, totals: &RunTotals) {
        if self.error.is_none() {
            self.error = self.writer.on_second(s, totals).err().map(|e| e.to_string());
        }
    }
}

/// Runs the campaign; see the module docs.
pub fn run(c: &Campaign, options: RunOptions) -> Result<RunResult, RunError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ctl-campaign")
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    // Every input first: a bad file is an error before anything starts.
    let control = match &c.scenario.control {
        Some(spec) => {
            let ns = c.scenario.target.namespace.clone().unwrap_or_default();
            Some((
                spec.clone(),
                super::control_setup::base_config(spec, &ns)
                    .map_err(|e| RunError::Setup(e.to_string()))?,
            ))
        }
        None => None,
    };
    let target = start_target(c, &rt)?;
    let namespace = target.conn.namespace.clone();
    let control = control.map(|(spec, mut config)| {
        config.namespace = namespace.clone();
        (spec, config)
    });
    let started = unix_now();
    let dir = folder::create(&options.runs_dir, &c.scenario.label, started)
        .map_err(output(&options.runs_dir))?;
    folder::write_resolved(&dir, &c.path, &c.scenario)
        .map_err(output(&dir.join(folder::RESOLVED)))?;
    let prefix = dir.join(folder::LOCUST_PREFIX);
    let writer = LocustCsvWriter::create(&prefix.to_string_lossy(), false)
        .map_err(|e| RunError::Output { path: prefix.clone(), source: std::io::Error::other(e) })?;

    let recording = Arc::new(Mutex::new(Recording::default()));
    let (origin_tx, origin_rx) = watch::channel(None);
    let load_done = Arc::new(AtomicBool::new(false));
    let orchestra = Orchestra {
        timeline: c.timeline.clone(),
        control,
        conn: target.conn.clone(),
        namespace,
        embedded: target.endpoints.clone(),
        dir: dir.clone(),
        recording: recording.clone(),
        stop: options.stop.clone(),
        load_done: load_done.clone(),
        origin: origin_rx,
    };
    let orchestrator = rt.spawn(orchestra.run());

    let plan = LoadPlan {
        shape: c.load.shape.clone(),
        model: c.load.model.clone(),
        workload: c.load.workload.clone(),
        host: target.host.clone(),
        duration: Some(c.timeline.duration()),
        timeout: c.load.timeout,
        seed: c.load.seed,
    };
    let mut csv = CsvSink { writer, error: None };
    let mut sink = CampaignSink {
        recording: recording.clone(),
        timeline: c.timeline.clone(),
        slo_percentile: c.scenario.slo.percentile,
        origin: origin_tx,
    };
    let mut progress = CampaignProgress::new(c.timeline.clone(), recording.clone(), options.quiet);
    let outcome = {
        let mut sinks: Vec<&mut dyn SecondSink> = vec![&mut sink, &mut csv, &mut progress];
        load::run(plan, options.stop.clone(), &mut sinks)
    };
    progress.finish();
    load_done.store(true, Ordering::SeqCst);
    let problems = match rt.block_on(orchestrator) {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => vec![format!("control files: {e}")],
        Err(e) => vec![format!("the orchestrator failed: {e}")],
    };
    let outcome = outcome?;
    let mut problems = problems;
    if let Some(e) = csv.error.take() {
        problems.push(e);
    }
    if let Err(e) = csv.writer.finish(&outcome.totals) {
        problems.push(e.to_string());
    }

    let mut rec = std::mem::take(&mut *recording.lock().unwrap_or_else(|e| e.into_inner()));
    rec.interrupted = outcome.interrupted || options.stop.load(Ordering::Relaxed);
    rec.stopped_at = outcome.totals.elapsed_secs;
    if rec.origin_unix.is_none() {
        rec.origin_unix = Some(outcome.totals.start_unix);
    }
    let slo = &c.scenario.slo;
    let summary = CampaignSummary::compute(&c.scenario.label, &c.path, slo, &c.timeline, &rec);
    let seconds = folder::seconds_csv(&rec.seconds, &c.timeline, slo);
    let path = dir.join(folder::SECONDS);
    std::fs::write(&path, seconds).map_err(output(&path))?;
    let path = dir.join(folder::SUMMARY);
    summary.write(&path).map_err(output(&path))?;
    let input = ReportInput {
        scenario: &c.scenario,
        scenario_path: &c.path,
        timeline: &c.timeline,
        summary: &summary,
        recording: &rec,
        host: &target.host,
        shape: &c.load.shape.describe(),
        model: c.load.model.name(),
    };
    let path = dir.join(folder::REPORT);
    report::write(&path, &input).map_err(output(&path))?;
    drop(target);
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(RunResult { dir, summary, problems })
}
