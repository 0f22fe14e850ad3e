//! The stress runner: one task per pod (preflight, optional start sweep, the stressor exec,
//! its outcome) and a main loop that rediscovers pods every refresh, forgets deleted ones and,
//! at the end of the duration or on stop, sweeps every pod by run marker and removes the run's
//! /dev/shm files. Every exec is bounded by a timeout; the TTL inside each stressor ends it even
//! if ctl dies.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::StressError;
use super::events::{Outcome, StressEvent, Summary};
use super::pod::{count, pod_task};
use super::script;
use super::spec::{RunId, StressSpec};
use crate::cluster::Connection;
use crate::cluster::exec::{self, ExecError};
use crate::cluster::pods::{self, PodRef, Target};

/// How a run is carried out. [`RunnerOptions::default`] is what `ctl stress` uses.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// Namespace of the pods; default: the connection's.
    pub namespace: Option<String>,
    /// Container to exec into; default: the pod's default-container annotation, else its first.
    pub container: Option<String>,
    /// How long to stress; `None`: until stopped, capped by `max_duration`.
    pub duration: Option<Duration>,
    pub max_duration: Duration,
    /// Stress at most this many pods at a time (the first by name).
    pub max_pods: Option<usize>,
    /// Pod rediscovery period.
    pub refresh: Duration,
    /// Sweep leftovers of every earlier ctl run from each pod before stressing it (turn off
    /// when several runs share pods on purpose, e.g. CPU and memory stress at once).
    pub sweep_at_start: bool,
    /// Bound on opening an exec session and on each short command (preflight, sweep, cleanup).
    pub exec_timeout: Duration,
    /// The run id; default: a fresh one.
    pub run: Option<RunId>,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            namespace: None,
            container: None,
            duration: None,
            max_duration: Duration::from_secs(24 * 3600),
            max_pods: None,
            refresh: Duration::from_secs(15),
            sweep_at_start: true,
            exec_timeout: Duration::from_secs(20),
            run: None,
        }
    }
}

/// The longest run: the CLI's duration bound (366 days).
const LONGEST: Duration = Duration::from_secs(366 * 24 * 3600);

/// Starts stress runs; see the module doc of `ctl::stress`.
pub struct StressRunner;

/// A running stress run: its events, a way to stop it, its summary at the end.
pub struct StressHandle {
    run: RunId,
    stopper: Stopper,
    events: Option<mpsc::UnboundedReceiver<StressEvent>>,
    task: JoinHandle<Summary>,
}

/// Stops a run from anywhere (a signal handler, another task); cloneable.
#[derive(Clone)]
pub struct Stopper(Arc<watch::Sender<Option<String>>>);

impl Stopper {
    /// Asks the run to stop every stressor; `reason` ends up in the `stopping` event. The
    /// first reason wins.
    pub fn stop(&self, reason: &str) {
        self.0.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason.to_owned());
                true
            } else {
                false
            }
        });
    }
}

impl StressHandle {
    pub fn run_id(&self) -> &RunId {
        &self.run
    }

    /// The event stream (once; later calls return `None`). Events are buffered until read;
    /// the stream ends when the run has finished.
    pub fn events(&mut self) -> Option<mpsc::UnboundedReceiver<StressEvent>> {
        self.events.take()
    }

    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Stops every stressor (sweep, cleanup) and returns the summary.
    pub async fn stop(self) -> Summary {
        self.stopper.stop("stopped");
        self.finished().await
    }

    /// Waits until the run ends (its duration passed, or it was stopped) and returns the summary.
    pub async fn finished(self) -> Summary {
        self.task.await.unwrap_or_else(|e| {
            log::error!("stress run {}: the runner task failed: {e}", self.run);
            Summary { run: self.run.to_string(), failed: 1, ..Summary::default() }
        })
    }
}

impl StressRunner {
    /// Resolves the target, finds its Running pods (none is [`StressError::NoPods`]) and starts
    /// the run in the background on the current tokio runtime.
    pub async fn start(
        conn: &Connection,
        spec: StressSpec,
        target: &Target,
        options: RunnerOptions,
    ) -> Result<StressHandle, StressError> {
        spec.validate()?;
        if options.duration.is_some_and(|d| d < Duration::from_secs(1))
            || options.max_duration < Duration::from_secs(1)
        {
            return Err(StressError::Spec(
                "--duration and --max-duration: expected at least 1s (0 for --duration: until \
                 stopped); the stressors' TTL is in whole seconds"
                    .into(),
            ));
        }
        let namespace = options.namespace.clone().unwrap_or_else(|| conn.namespace.clone());
        let client = conn.client.clone();
        let timeout = options.exec_timeout;
        let selector = bounded(timeout, pods::selector(&client, &namespace, target)).await??;
        let found = bounded(
            timeout,
            pods::running(&client, &namespace, &selector, options.container.as_deref()),
        )
        .await??;
        if found.is_empty() {
            let hint = target.hint().map_or(String::new(), |h| format!("; {h}"));
            return Err(StressError::NoPods { selector: target.to_string(), namespace, hint });
        }
        let run = options.run.clone().unwrap_or_else(RunId::generate);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = watch::channel(None);
        // Capped so that the deadline cannot overflow the clock (library callers have no
        // flag parser bounding them).
        let duration = options
            .duration
            .map_or(options.max_duration, |d| d.min(options.max_duration))
            .min(LONGEST);
        let ctx = Arc::new(Ctx {
            pods: Api::namespaced(client.clone(), &namespace),
            client,
            namespace,
            selector,
            spec,
            run: run.clone(),
            options,
            started: Instant::now(),
            deadline: Instant::now() + duration,
            events: events_tx,
            summary: Mutex::new(Summary { run: run.to_string(), ..Summary::default() }),
            stopping: watch::channel(false).0,
        });
        ctx.emit(|t| StressEvent::Run {
            t,
            run: run.to_string(),
            spec: spec.describe(),
            selector: target.to_string(),
            namespace: ctx.namespace.clone(),
            duration_s: ctx.options.duration.map(|_| duration.as_secs_f64()),
        });
        let task = tokio::spawn(main_loop(ctx, found, stop_rx));
        Ok(StressHandle { run, stopper: Stopper(Arc::new(stop_tx)), events: Some(events_rx), task })
    }
}

pub(super) async fn bounded<T>(
    timeout: Duration,
    f: impl Future<Output = T>,
) -> Result<T, StressError> {
    tokio::time::timeout(timeout, f).await.map_err(|_| StressError::Timeout(timeout))
}

/// What every task of a run shares.
pub(super) struct Ctx {
    pub(super) client: kube::Client,
    pub(super) pods: Api<Pod>,
    pub(super) namespace: String,
    pub(super) selector: String,
    pub(super) spec: StressSpec,
    pub(super) run: RunId,
    pub(super) options: RunnerOptions,
    pub(super) started: Instant,
    pub(super) deadline: Instant,
    pub(super) events: mpsc::UnboundedSender<StressEvent>,
    pub(super) summary: Mutex<Summary>,
    /// Set when the stop phase begins: pod tasks start no new stressor after it.
    pub(super) stopping: watch::Sender<bool>,
}

impl Ctx {
    pub(super) fn emit(&self, event: impl FnOnce(f64) -> StressEvent) {
        let t = (self.started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        let event = event(t);
        if let StressEvent::Ended { outcome, .. } = &event
            && let Ok(mut s) = self.summary.lock()
        {
            s.count(*outcome);
        }
        // A dropped receiver only means nobody listens.
        let _ = self.events.send(event);
    }

    pub(super) fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    pub(super) async fn exec_short(
        &self,
        pod: &PodRef,
        script: String,
    ) -> Result<exec::ExecOutput, ExecError> {
        exec::run(
            &self.pods,
            &pod.name,
            Some(&pod.container),
            script::command(script),
            self.options.exec_timeout,
        )
        .await
    }
}

/// Where a pod task is: the stop phase waits for every task to leave `PREPARING`.
pub(super) const PREPARING: u8 = 0;
pub(super) const RUNNING: u8 = 1;
pub(super) const DONE: u8 = 2;
pub(super) const UNSTRESSED: u8 = 3;

struct PodTask {
    pod: PodRef,
    state: Arc<AtomicU8>,
    task: JoinHandle<()>,
}

async fn main_loop(
    ctx: Arc<Ctx>,
    initial: Vec<PodRef>,
    mut stop_rx: watch::Receiver<Option<String>>,
) -> Summary {
    let mut tasks: HashMap<String, PodTask> = HashMap::new();
    adopt(&ctx, &mut tasks, initial);
    let mut next_refresh = Instant::now() + ctx.options.refresh;
    let reason = loop {
        tokio::select! {
            _ = tokio::time::sleep_until(ctx.deadline) => break "duration".to_owned(),
            changed = stop_rx.changed() => {
                let reason = stop_rx.borrow().clone();
                match (changed, reason) {
                    (_, Some(reason)) => break reason,
                    // Every Stopper is gone: nobody can stop the run any more but the clock.
                    (Err(_), None) => { tokio::time::sleep_until(ctx.deadline).await; break "duration".to_owned() }
                    (Ok(()), None) => {}
                }
            }
            _ = tokio::time::sleep_until(next_refresh) => {
                next_refresh = Instant::now() + ctx.options.refresh;
                refresh(&ctx, &mut tasks).await;
            }
        }
    };
    stop_all(&ctx, tasks, &reason).await;
    ctx.summary.lock().map(|s| s.clone()).unwrap_or_default()
}

/// Starts a task for each pod not seen yet, up to `max_pods` known pods.
fn adopt(ctx: &Arc<Ctx>, tasks: &mut HashMap<String, PodTask>, found: Vec<PodRef>) {
    for pod in found {
        if tasks.contains_key(&pod.uid) {
            continue;
        }
        if ctx.options.max_pods.is_some_and(|max| tasks.len() >= max) {
            break;
        }
        ctx.emit(|t| StressEvent::PodFound {
            t,
            pod: pod.name.clone(),
            container: pod.container.clone(),
        });
        let state = Arc::new(AtomicU8::new(PREPARING));
        let task = tokio::spawn(pod_task(ctx.clone(), pod.clone(), state.clone()));
        tasks.insert(pod.uid.clone(), PodTask { pod, state, task });
    }
}

/// Rediscovers pods: new ones get a stressor, vanished ones are forgotten with an event.
async fn refresh(ctx: &Arc<Ctx>, tasks: &mut HashMap<String, PodTask>) {
    let listed = bounded(
        ctx.options.exec_timeout,
        pods::running(&ctx.client, &ctx.namespace, &ctx.selector, ctx.options.container.as_deref()),
    )
    .await;
    let found = match listed {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return log::warn!("pod rediscovery failed: {e}"),
        Err(e) => return log::warn!("pod rediscovery failed: {e}"),
    };
    let gone: Vec<String> =
        tasks.keys().filter(|uid| !found.iter().any(|p| &p.uid == *uid)).cloned().collect();
    for uid in gone {
        if let Some(gone) = tasks.remove(&uid) {
            let was_running = gone.state.swap(DONE, Ordering::SeqCst) == RUNNING;
            gone.task.abort();
            ctx.emit(|t| StressEvent::PodGone { t, pod: gone.pod.name.clone() });
            if was_running {
                ctx.emit(|t| StressEvent::Ended {
                    t,
                    pod: gone.pod.name.clone(),
                    container: gone.pod.container.clone(),
                    outcome: Outcome::PodGone,
                    exit_code: None,
                    message: None,
                });
            }
        }
    }
    adopt(ctx, tasks, found);
}

/// The stop phase: no new stressors; wait for natural ends at the duration; sweep every pod
/// that had a stressor; remove /dev/shm files; wait for the sessions to report.
async fn stop_all(ctx: &Arc<Ctx>, tasks: HashMap<String, PodTask>, reason: &str) {
    ctx.stopping.send_replace(true);
    ctx.emit(|t| StressEvent::Stopping { t, reason: reason.to_owned() });
    let grace = Instant::now() + ctx.options.exec_timeout;
    let settled = |tasks: &HashMap<String, PodTask>, natural: bool| {
        tasks.values().all(|p| {
            let s = p.state.load(Ordering::SeqCst);
            p.task.is_finished() || (s != PREPARING && !(natural && s == RUNNING))
        })
    };
    // At the end of the duration the stressors end on their own (their TTL): give them a
    // moment so they report `completed` rather than `stopped`.
    let natural_until = Instant::now() + Duration::from_secs(3);
    while !settled(&tasks, reason == "duration" && Instant::now() < natural_until)
        && Instant::now() < grace
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let targets: Vec<&PodTask> = tasks
        .values()
        .filter(|p| matches!(p.state.load(Ordering::SeqCst), RUNNING | DONE | PREPARING))
        .collect();
    let sweeps = targets.iter().map(|p| async move {
        let mut complete = true;
        match ctx.exec_short(&p.pod, script::sweep(Some(&ctx.run))).await {
            Ok(out) => {
                let killed = count(&out.stdout, "killed");
                ctx.emit(|t| StressEvent::Swept {
                    t,
                    pod: p.pod.name.clone(),
                    killed,
                    at_start: false,
                });
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                complete = false;
                ctx.emit(|t| StressEvent::Error {
                    t,
                    pod: p.pod.name.clone(),
                    container: p.pod.container.clone(),
                    message: format!("final sweep: {e}"),
                });
            }
        }
        if matches!(ctx.spec, StressSpec::Memory { .. }) {
            match ctx.exec_short(&p.pod, script::cleanup(&ctx.run)).await {
                Ok(out) => {
                    let removed = count(&out.stdout, "removed");
                    ctx.emit(|t| StressEvent::Cleaned { t, pod: p.pod.name.clone(), removed });
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => ctx.emit(|t| StressEvent::Error {
                    t,
                    pod: p.pod.name.clone(),
                    container: p.pod.container.clone(),
                    message: format!("cleanup: {e}"),
                }),
            }
        }
        complete
    });
    let complete = futures::future::join_all(sweeps).await.into_iter().all(|c| c);
    if !complete && let Ok(mut s) = ctx.summary.lock() {
        s.sweep_incomplete = true;
    }
    // The swept sessions end with 143 now; collect their outcomes, bounded.
    let until = Instant::now() + ctx.options.exec_timeout;
    while tasks.values().any(|p| !p.task.is_finished()) && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for p in tasks.values() {
        p.task.abort();
        if p.state.swap(DONE, Ordering::SeqCst) == RUNNING {
            ctx.emit(|t| StressEvent::Ended {
                t,
                pod: p.pod.name.clone(),
                container: p.pod.container.clone(),
                outcome: Outcome::Stopped,
                exit_code: None,
                message: Some(
                    "the exec session did not end after the sweep; the TTL ends the stressor"
                        .into(),
                ),
            });
        }
    }
}
