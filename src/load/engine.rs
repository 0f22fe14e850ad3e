//! The run loop: starts goose on its own runtime thread (and the pacer in the rate model),
//! waits for the user pool, then owns the run's clock. Every 50 ms it applies the shape
//! (users model); at every second boundary it takes the recorder's window, publishes a
//! [`SecondStats`] to the sinks and folds it into the run totals. On the end of the run or a
//! stop request it stops the load, lets in-flight requests finish and publishes the last,
//! partial second.

use super::driver::{self, Mode, Shared};
use super::pacer::{self, PacerCounters, Ticket};
use super::recorder::Recorder;
use super::stats::{RequestKey, RunTotals, SecondStats, new_histogram};
use super::think::ThinkTime;
use crate::shape::{ArrivalProcess, ArrivalSchedule, Shape};
use crate::workload::Workload;
use hdrhistogram::Histogram;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The load model.
#[derive(Debug, Clone)]
pub enum Model {
    /// Closed: the shape is the number of active users.
    Users { think: ThinkTime },
    /// Open: the shape is the arrival rate in requests per second.
    Rate { arrivals: ArrivalProcess, max_in_flight: usize },
}

impl Model {
    pub fn name(&self) -> &'static str {
        match self {
            Model::Users { .. } => "users",
            Model::Rate { .. } => "rate",
        }
    }
}

/// Everything a run needs; built by the CLI (or a scenario) and consumed by [`run`].
pub struct LoadPlan {
    pub shape: Shape,
    pub model: Model,
    pub workload: Workload,
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub host: String,
    /// Run length in seconds; None = until stopped.
    pub duration: Option<f64>,
    pub timeout: Duration,
    /// Seed of the arrival process.
    pub seed: u64,
}

/// Receives each second's statistics as it is published.
pub trait SecondSink {
    fn on_second(&mut self, second: &SecondStats, totals: &RunTotals);
}

/// The result of a run.
pub struct RunOutcome {
    pub totals: RunTotals,
    /// How late sends were against their intended times (rate model), µs.
    pub send_lag: Histogram<u64>,
    /// True when the run was stopped before its end.
    pub interrupted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("load engine: {0}")]
    Goose(String),
    #[error("invalid target: {0}")]
    Target(String),
    #[error("load engine: cannot start: {0}")]
    Start(#[from] std::io::Error),
}

/// How far ahead a run without its own end plans (arrivals, pool size): one day.
const OPEN_ENDED_HORIZON_SECS: f64 = 86_400.0;

/// The span a run plans for: its duration, else the shape's own length, else one day.
pub fn run_horizon(shape: &Shape, duration: Option<f64>) -> f64 {
    duration.or(shape.natural_duration()).unwrap_or(OPEN_ENDED_HORIZON_SECS)
}

/// Shape ticks: how often the users model re-reads the shape.
const TICK: Duration = Duration::from_millis(50);
/// How long to wait for the user pool before giving up.
const POOL_START_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the load until the plan's duration has passed or `stop` is set.
pub fn run(
    plan: LoadPlan,
    stop: Arc<AtomicBool>,
    sinks: &mut [&mut dyn SecondSink],
) -> Result<RunOutcome, LoadError> {
    let keys: Vec<RequestKey> = plan
        .workload
        .requests
        .iter()
        .map(|r| RequestKey { method: r.method.clone(), name: r.name.clone() })
        .collect();
    let recorder = Arc::new(Recorder::new(keys.clone()));
    let horizon = run_horizon(&plan.shape, plan.duration);
    let peak = plan.shape.max_value(horizon);

    let (mode, pool, ticket_rx) = match &plan.model {
        Model::Users { think } => {
            let (tx, _) = tokio::sync::watch::channel(0usize);
            let pool = (peak.ceil() as usize).max(1);
            (Mode::Users { active: tx, think: *think }, pool, None)
        }
        Model::Rate { max_in_flight, .. } => {
            let (tx, rx) = flume::bounded::<Ticket>((*max_in_flight).max(pacer::MIN_QUEUE));
            (Mode::Rate { tickets: rx }, *max_in_flight, Some(tx))
        }
    };
    let (base_url, resolved) =
        driver::resolve_requests(&plan.workload, &plan.host).map_err(LoadError::Target)?;
    let shared = Arc::new(Shared {
        workload: plan.workload.clone(),
        base_url,
        resolved,
        recorder: recorder.clone(),
        mode,
        started_users: Default::default(),
        running: AtomicBool::new(false),
    });

    let goose = spawn_goose(shared.clone(), &plan.host, pool, plan.timeout)?;

    // Wait until every user has started, so the clock starts with a full pool.
    let waiting = Instant::now();
    while shared.started_users.load(Ordering::SeqCst) < pool
        && !goose.is_finished()
        && !stop.load(Ordering::Relaxed)
        && waiting.elapsed() < POOL_START_TIMEOUT
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    if goose.is_finished() {
        return Err(join_goose(goose)
            .err()
            .unwrap_or_else(|| LoadError::Goose("goose stopped before the run started".into())));
    }

    let origin = Instant::now();
    let start_unix = driver::unix_now();
    shared.running.store(true, Ordering::SeqCst);

    let pacer_stop = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(PacerCounters::default());
    let pacer = match (&plan.model, ticket_rx) {
        (Model::Rate { arrivals, .. }, Some(tx)) => {
            let schedule = ArrivalSchedule::new(plan.shape.clone(), *arrivals, horizon);
            let (counters, pacer_stop, seed) = (counters.clone(), pacer_stop.clone(), plan.seed);
            Some(std::thread::Builder::new().name("ctl-pacer".into()).spawn(move || {
                pacer::run_pacer(schedule, origin, seed, tx, counters, pacer_stop)
            })?)
        }
        _ => None,
    };

    let mut publisher = Publisher {
        plan: &plan,
        shared: &shared,
        counters: &counters,
        scheduled_before: 0,
        totals: RunTotals::new(keys, start_unix),
        send_lag: new_histogram(),
    };
    let mut second = 0u64;
    let mut interrupted = false;
    loop {
        let elapsed = origin.elapsed().as_secs_f64();
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        if plan.duration.is_some_and(|d| elapsed >= d) || goose.is_finished() {
            break;
        }
        if let Mode::Users { active, .. } = &shared.mode {
            let users = plan.shape.value_at(elapsed).round().max(0.0) as usize;
            active.send_if_modified(|n| std::mem::replace(n, users.min(pool)) != users.min(pool));
        }
        if elapsed >= (second + 1) as f64 {
            publisher.publish(second, None, sinks);
            second += 1;
        }
        let next_second = origin + Duration::from_secs(second + 1);
        let wake = (Instant::now() + TICK).min(next_second);
        std::thread::sleep(wake.saturating_duration_since(Instant::now()));
    }

    let stopped_at = origin.elapsed().as_secs_f64();
    // The last, partial second reports the users that were active, not the stop's zero.
    let users_at_stop = current_users(&shared);
    // Stop: no new arrivals, no active users; in-flight requests finish (bounded by the timeout).
    pacer_stop.store(true, Ordering::SeqCst);
    if let Mode::Users { active, .. } = &shared.mode {
        active.send_replace(0);
    }
    shared.running.store(false, Ordering::SeqCst);
    if let Some(p) = pacer {
        let _ = p.join();
    }
    while !goose.is_finished() {
        // goose resets its killswitch when a run starts, so keep pulling it until it stops.
        goose::trigger_killswitch("ctl: end of run");
        std::thread::sleep(Duration::from_millis(20));
    }
    let goose_result = join_goose(goose);
    // The last, partial second (and requests that finished during the stop).
    publisher.publish(second, Some(users_at_stop), sinks);
    let Publisher { mut totals, send_lag, .. } = publisher;
    // Tickets still queued when the pool stopped were due but never sent.
    let queued = match &shared.mode {
        Mode::Rate { tickets } => tickets.drain().count() as u64,
        Mode::Users { .. } => 0,
    };
    totals.unsent = counters.unsent.load(Ordering::Relaxed) + queued;
    // Rates are per second of load, not of the shutdown that followed it.
    totals.elapsed_secs = stopped_at.max(1e-3);
    goose_result?;
    Ok(RunOutcome { totals, send_lag, interrupted })
}

/// Turns the recorder's windows into published seconds and the run totals.
struct Publisher<'a> {
    plan: &'a LoadPlan,
    shared: &'a Shared,
    counters: &'a PacerCounters,
    scheduled_before: u64,
    totals: RunTotals,
    send_lag: Histogram<u64>,
}

impl Publisher<'_> {
    /// Publishes `second`; `users` overrides the live user count (for the final second).
    fn publish(&mut self, second: u64, users: Option<u64>, sinks: &mut [&mut dyn SecondSink]) {
        let recorder = &self.shared.recorder;
        let window = recorder.take_window();
        let scheduled_now = self.counters.scheduled.load(Ordering::Relaxed);
        let stats = SecondStats {
            second,
            unix_time: (self.totals.start_unix as u64) + second + 1,
            target: self.plan.shape.value_at(second as f64),
            users: users.unwrap_or_else(|| current_users(self.shared)),
            in_flight: recorder.in_flight(),
            scheduled: scheduled_now - self.scheduled_before,
            late: window.late,
            per_request: window.per_request,
            total: window.total,
            failures: window.failures,
        };
        self.scheduled_before = scheduled_now;
        let _ = self.send_lag.add(&window.send_lag);
        self.totals.add_second(&stats);
        for sink in sinks.iter_mut() {
            sink.on_second(&stats, &self.totals);
        }
    }
}

/// Active users (users model) or the busiest in-flight count since the last call (rate model).
fn current_users(shared: &Shared) -> u64 {
    match &shared.mode {
        Mode::Users { active, .. } => *active.borrow() as u64,
        Mode::Rate { .. } => shared.recorder.take_peak_in_flight(),
    }
}

fn spawn_goose(
    shared: Arc<Shared>,
    host: &str,
    pool: usize,
    timeout: Duration,
) -> Result<std::thread::JoinHandle<Result<(), LoadError>>, LoadError> {
    let host = host.to_string();
    let handle = std::thread::Builder::new().name("ctl-goose".into()).spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("ctl-worker")
            .build()
            .map_err(LoadError::Start)?;
        let result = runtime.block_on(async move {
            let attack = driver::build_attack(shared, &host, pool, timeout)
                .map_err(|e| LoadError::Goose(e.to_string()))?;
            attack.execute().await.map(|_| ()).map_err(|e| LoadError::Goose(e.to_string()))
        });
        // Dropping the runtime ends any task goose left behind.
        runtime.shutdown_timeout(Duration::from_millis(200));
        result
    })?;
    Ok(handle)
}

fn join_goose(handle: std::thread::JoinHandle<Result<(), LoadError>>) -> Result<(), LoadError> {
    handle.join().unwrap_or_else(|_| Err(LoadError::Goose("the goose thread panicked".into())))
}
