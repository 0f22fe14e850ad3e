//! `ctl load`: flags (Locust-compatible where they mean the same), the plan they build, and
//! the wiring of the run to its sinks and output files.

use super::shape::TraceArgs;
use super::{EXIT_OK, EXIT_THRESHOLD, UsageError, parse_duration};
use crate::load::output::{
    self, LocustCsvWriter, RunMeta, RunStatus, RunSummary, SecondRow, SendLag, Threshold,
};
use crate::load::progress::Progress;
use crate::load::stats::{RunTotals, SecondStats};
use crate::load::{self, LoadPlan, Model, SecondSink, ThinkTime};
use crate::shape::{ArrivalProcess, ShapeSpec};
use crate::workload::Workload;
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// Closed model: the shape is the number of users (Locust-like).
    Users,
    /// Open model: the shape is the arrival rate in requests per second.
    Rate,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ctl load --shape sin400.csv --amplitude 19 --shift 1 --think-time 0.1 -t 800s --csv out/run\n  ctl load --shape 'sin:min=100,max=2000,period=400s' --model rate -t 10m\n  ctl load -u 50 -r 10 -t 5m --workload workloads/hotel-reservation.yaml --csv out/hotel"
)]
pub struct LoadArgs {
    /// Load shape: a trace CSV (`sin400.csv`, a path) or inline: `const:50`,
    /// `ramp:from=0,to=100,duration=60s`, `steps:10@30s,100@2m,0@30s`,
    /// `sin:min=10,max=80,period=400s`, `weibull:k=1,mean=150,min=100,max=1000,dt=20s,ls_y=500,seed=42`.
    #[arg(long, value_name = "SHAPE")]
    pub shape: Option<String>,
    #[command(flatten)]
    pub trace: TraceArgs,
    /// Load model; default: users for trace files and -u, rate for inline shapes.
    #[arg(long, value_enum)]
    pub model: Option<ModelArg>,
    /// Users model: pause after each request: SECONDS, exp:MEAN or between:MIN,MAX.
    #[arg(long, value_name = "THINK")]
    pub think_time: Option<String>,
    /// Rate model: inter-arrival process: uniform, poisson or weibull:K.
    #[arg(long, default_value = "uniform")]
    pub arrivals: String,
    /// Rate model: size of the worker pool (requests in flight at most).
    #[arg(long)]
    pub max_in_flight: Option<usize>,
    /// Task mix (YAML); default: GET / (the Locust trace script's user).
    #[arg(long, value_name = "FILE")]
    pub workload: Option<String>,
    /// Only requests with one of these tags (comma-separated, repeatable).
    #[arg(short = 'T', long, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Leave out requests with any of these tags (comma-separated, repeatable).
    #[arg(short = 'E', long, value_delimiter = ',')]
    pub exclude_tags: Vec<String>,
    /// Users (Locust's -u): without --shape, ramp to this many users at --spawn-rate, then hold.
    #[arg(short = 'u', long)]
    pub users: Option<u32>,
    /// Users started per second with -u (Locust's -r).
    #[arg(short = 'r', long, default_value_t = 1.0)]
    pub spawn_rate: f64,
    /// Run time (Locust's -t): 90s, 5m, 1h30m; default: the shape's own length, else until Ctrl-C.
    #[arg(short = 't', long, value_parser = parse_duration)]
    pub run_time: Option<Duration>,
    /// Target base URL; default: the embedded cluster, started in-process on 127.0.0.1 (its
    /// URLs, /metrics included, are printed at the start).
    #[arg(short = 'H', long)]
    pub host: Option<String>,
    /// Embedded cluster topology (no --host): hotel, tasks, webapp or a YAML file; default: the
    /// first of webapp, hotel, tasks whose routes answer every request of the workload.
    #[arg(long, value_name = "NAME|FILE")]
    pub topology: Option<String>,
    /// Accepted for Locust compatibility (ctl is always headless).
    #[arg(long)]
    pub headless: bool,
    /// Request timeout; default: the workload's, else 60s.
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Write Locust-compatible PREFIX_stats.csv, _stats_history.csv, _failures.csv, _exceptions.csv.
    #[arg(long, value_name = "PREFIX")]
    pub csv: Option<String>,
    /// Per-request rows in _stats_history.csv, as Locust's --csv-full-history.
    #[arg(long)]
    pub csv_full_history: bool,
    /// Write a JSON summary.
    #[arg(long, value_name = "FILE")]
    pub json: Option<String>,
    /// Write the latency percentile spectrum (wrk2/HdrHistogram format).
    #[arg(long, value_name = "FILE")]
    pub hdr: Option<String>,
    /// Write an HTML report.
    #[arg(long, value_name = "FILE")]
    pub html: Option<String>,
    /// Pass/fail rule, e.g. 'p95<500ms' or 'error_rate<1%' (repeatable); exit 1 if violated.
    #[arg(long = "threshold", value_name = "RULE")]
    pub thresholds: Vec<String>,
    /// Seed of the arrival process (rate model) and of the embedded cluster's emulation.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// No progress display and no end summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// The largest worker pool (rate model) or user count (users model) ctl starts.
const MAX_POOL: usize = 100_000;

/// Collects per-second rows for the HTML report.
#[derive(Default)]
struct History {
    rows: Vec<SecondRow>,
}

impl SecondSink for History {
    fn on_second(&mut self, s: &SecondStats, _: &RunTotals) {
        self.rows.push(SecondRow::from_second(s));
    }
}

/// Feeds the Locust CSV writer; remembers the first error instead of failing mid-run.
struct CsvSink {
    writer: LocustCsvWriter,
    error: Option<output::OutputError>,
}

impl SecondSink for CsvSink {
    fn on_second(&mut self, s: &SecondStats, totals: &RunTotals) {
        if self.error.is_none() {
            self.error = self.writer.on_second(s, totals).err();
        }
    }
}

/// The plan's parts that come from flags alone (no IO beyond reading input files).
struct Resolved {
    plan: LoadPlan,
    thresholds: Vec<Threshold>,
    shape_text: String,
}

/// Validates every input and builds the plan; the host is filled in once the target is known.
fn resolve(args: &LoadArgs) -> anyhow::Result<Resolved> {
    let duration = args.run_time.map(|d| d.as_secs_f64());
    let (spec, default_model) = match (&args.shape, args.users) {
        (Some(text), _) => {
            let spec = ShapeSpec::parse(text, &args.trace.options()).map_err(UsageError::boxed)?;
            let model = if spec.is_trace() || args.users.is_some() {
                ModelArg::Users
            } else {
                ModelArg::Rate
            };
            (spec, model)
        }
        (None, Some(users)) => {
            if !(args.spawn_rate.is_finite() && args.spawn_rate > 0.0) {
                return Err(UsageError::boxed(
                    "--spawn-rate: expected a positive number of users per second",
                ));
            }
            let ramp =
                format!("ramp:from=0,to={users},duration={}s", f64::from(users) / args.spawn_rate);
            (
                ShapeSpec::parse(&ramp, &args.trace.options()).map_err(UsageError::boxed)?,
                ModelArg::Users,
            )
        }
        (None, None) => {
            return Err(UsageError::boxed(
                "give a load shape with --shape (e.g. --shape sin400.csv) or a user count with -u",
            ));
        }
    };
    let shape = spec.build(duration).map_err(UsageError::boxed)?;
    // A ramp from -u holds its users until -t or Ctrl-C, as in Locust.
    let duration = match (duration, args.shape.is_none()) {
        (Some(d), _) => Some(d),
        (None, true) => None,
        (None, false) => shape.natural_duration(),
    };
    if duration.is_some_and(|d| d <= 0.0) {
        return Err(UsageError::boxed("--run-time: expected a positive duration"));
    }

    let mut workload = match &args.workload {
        Some(path) => Workload::load(path).map_err(UsageError::boxed)?,
        None => Workload::get_root(),
    };
    if !args.tags.is_empty() || !args.exclude_tags.is_empty() {
        workload =
            workload.select_tags(&args.tags, &args.exclude_tags).map_err(UsageError::boxed)?;
    }
    let timeout = match (args.timeout, &workload.timeout) {
        (Some(t), _) => t,
        (None, Some(text)) => {
            parse_duration(text).map_err(|e| UsageError::boxed(format!("workload timeout: {e}")))?
        }
        (None, None) => Duration::from_secs(60),
    };

    let horizon = load::engine::run_horizon(&shape, duration);
    let model = match args.model.unwrap_or(default_model) {
        ModelArg::Users => {
            if shape.max_value(horizon) > MAX_POOL as f64 {
                return Err(UsageError::boxed(format!(
                    "users model: the shape asks for more than {MAX_POOL} users"
                )));
            }
            let text = args.think_time.as_deref().or(workload.think_time.as_deref()).unwrap_or("0");
            let think: ThinkTime =
                text.parse().map_err(|e| UsageError::boxed(format!("--think-time {e}")))?;
            Model::Users { think }
        }
        ModelArg::Rate => {
            let arrivals: ArrivalProcess =
                args.arrivals.parse().map_err(|e| UsageError::boxed(format!("--arrivals: {e}")))?;
            // Little's law with a generous 0.5 s per request: idle workers are cheap.
            let default_pool = ((shape.max_value(horizon) * 0.5).ceil() as usize).clamp(64, 10_000);
            let max_in_flight = args.max_in_flight.unwrap_or(default_pool);
            if !(1..=MAX_POOL).contains(&max_in_flight) {
                return Err(UsageError::boxed(format!(
                    "--max-in-flight: expected 1 to {MAX_POOL}"
                )));
            }
            Model::Rate { arrivals, max_in_flight }
        }
    };
    let thresholds = args
        .thresholds
        .iter()
        .map(|t| t.parse::<Threshold>().map_err(UsageError::boxed))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // A scope that names no request of the workload would fail only after the whole run.
    for t in &thresholds {
        if let Some(scope) = &t.scope {
            let matches = workload.requests.iter().any(|r| {
                r.name == scope.name
                    && scope.method.as_ref().is_none_or(|m| m.eq_ignore_ascii_case(&r.method))
            });
            if !matches {
                let names: Vec<String> =
                    workload.requests.iter().map(|r| format!("{} {}", r.method, r.name)).collect();
                return Err(UsageError::boxed(format!(
                    "--threshold '{}': no request of the workload is named that (requests: {})",
                    t.expr,
                    names.join(", ")
                )));
            }
        }
    }
    let shape_text = shape.describe();
    Ok(Resolved {
        plan: LoadPlan {
            shape,
            model,
            workload,
            host: String::new(),
            duration,
            timeout,
            seed: args.seed,
        },
        thresholds,
        shape_text,
    })
}

pub fn run(args: LoadArgs) -> anyhow::Result<i32> {
    // Validate every input before starting anything.
    let Resolved { mut plan, thresholds, shape_text } = resolve(&args)?;
    let stop = Arc::new(AtomicBool::new(false));
    super::install_load_stop_handler(stop.clone())?;

    let host_arg = args.host.as_deref().map(|h| h.trim_end_matches('/'));
    let bad_host = |h: &&str| {
        !(h.starts_with("http://") || h.starts_with("https://")) || reqwest::Url::parse(h).is_err()
    };
    if let Some(h) = host_arg.filter(bad_host) {
        return Err(UsageError::boxed(format!(
            "--host: expected a URL like http://127.0.0.1:8080, found '{h}'"
        )));
    }
    if host_arg.is_some() && args.topology.is_some() {
        return Err(UsageError::boxed(
            "--topology: only for the embedded cluster; leave it out with --host",
        ));
    }
    let embedded = match host_arg {
        Some(_) => None,
        None => Some(super::serve::start_for_load(
            args.topology.as_deref(),
            args.seed,
            &plan.workload,
            args.quiet,
        )?),
    };
    let host = match (host_arg, &embedded) {
        (Some(h), _) => h.to_string(),
        (None, Some(e)) => e.cluster.app_url(),
        (None, None) => unreachable!("an embedded cluster exists when no host is given"),
    };
    if let (Some(e), false) = (&embedded, args.quiet) {
        eprintln!("ctl load: embedded cluster, topology {} (seed {})", e.topology, args.seed);
        for (name, value) in super::serve::endpoints(&e.cluster) {
            eprintln!("  {name}: {value}");
        }
    }
    plan.host = host.clone();
    let model = plan.model.clone();
    let duration = plan.duration;

    for path in [&args.csv, &args.json, &args.hdr, &args.html].into_iter().flatten() {
        create_parent(path)?;
    }
    // Fail on an unwritable output before the run, not after it.
    for path in [&args.json, &args.hdr, &args.html].into_iter().flatten() {
        std::fs::File::create(path)
            .map_err(|e| UsageError::boxed(format!("cannot write {path}: {e}")))?;
    }
    let mut csv = match &args.csv {
        Some(prefix) => Some(CsvSink {
            writer: LocustCsvWriter::create(prefix, args.csv_full_history)
                .map_err(UsageError::boxed)?,
            error: None,
        }),
        None => None,
    };
    if !args.quiet {
        let length = duration.map_or("until Ctrl-C".to_string(), |d| format!("{d}s"));
        let model_text = match &model {
            Model::Users { think } => format!("users (think time {think})"),
            Model::Rate { arrivals, max_in_flight } => {
                format!("rate ({arrivals} arrivals, up to {max_in_flight} in flight)")
            }
        };
        eprintln!("ctl load: {shape_text}; model {model_text}; target {host}; {length}");
    }
    let mut progress = Progress::new(duration, args.quiet);
    let mut history = History::default();
    let outcome = {
        let mut sinks: Vec<&mut dyn SecondSink> = vec![&mut progress, &mut history];
        if let Some(c) = csv.as_mut() {
            sinks.push(c);
        }
        load::run(plan, stop.clone(), &mut sinks)
    };
    progress.finish();
    let outcome = outcome?;
    drop(embedded);

    let results: Vec<_> = thresholds.iter().map(|t| t.evaluate(&outcome.totals)).collect();
    let failed = results.iter().any(|r| !r.passed);
    let status = if outcome.interrupted { RunStatus::Interrupted } else { RunStatus::Completed };
    let meta = RunMeta { status, model: model.name().to_string(), shape: shape_text, host };
    let mut summary = RunSummary::from_totals(&outcome.totals, &meta, &results);
    if let Model::Rate { .. } = model {
        summary.send_lag_us = SendLag::from_histogram(&outcome.send_lag);
    }

    // Every file is written even if an earlier one failed; the first error is reported.
    let mut first_error: Option<anyhow::Error> = None;
    let mut keep = |r: Result<(), output::OutputError>| {
        if let Err(e) = r {
            first_error.get_or_insert(e.into());
        }
    };
    if let Some(c) = csv.as_mut() {
        if let Some(e) = c.error.take() {
            keep(Err(e));
        }
        keep(c.writer.finish(&outcome.totals));
    }
    if let Some(path) = &args.json {
        keep(summary.write_json(path.as_ref()));
    }
    if let Some(path) = &args.hdr {
        keep(output::write_percentile_spectrum(path.as_ref(), &outcome.totals.total.latency));
    }
    if let Some(path) = &args.html {
        keep(output::write_html_report(path.as_ref(), &summary, &history.rows));
    }
    if !args.quiet {
        eprintln!("{}", summary.render_text());
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(if failed { EXIT_THRESHOLD } else { EXIT_OK })
}

/// Output paths may name directories that do not exist yet (`--csv out/run`).
fn create_parent(path: &str) -> anyhow::Result<()> {
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display())),
        _ => Ok(()),
    }
}
