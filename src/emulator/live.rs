//! The emulated cluster on the real clock: [`LiveCluster`] shares one [`Cluster`] between the
//! HTTP front end, the Kubernetes API, `/metrics` and the Jaeger API, and a driver thread that
//! advances it as wall time passes. Virtual time is seconds since the `LiveCluster` started;
//! [`LiveCluster::unix_time`] maps it to wall-clock time for timestamps.
//!
//! Why a dedicated OS thread and a `Condvar` rather than a tokio timer: tokio's timer wheel has
//! 1 ms granularity and rounds sleeps up, which alone would eat the whole timing budget (< 1 ms
//! between an event's virtual due time and its real processing); `Condvar::wait_timeout` wakes
//! within tens of microseconds on Linux.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use tokio::sync::{oneshot, watch};

use super::cluster::{Cluster, EmulatorError};
use super::request::{Event, RequestId, Trace};
use super::snapshot::ClusterSnapshot;
use super::topology::Topology;

/// Traces kept for the Jaeger API (oldest dropped first).
pub const TRACE_RETENTION: usize = 20_000;

/// How a request submitted through [`LiveCluster::submit`] ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Completion {
    pub status: u16,
    /// Virtual seconds from arrival to the root span's end.
    pub latency: f64,
}

/// A finished trace, kept for the Jaeger view.
#[derive(Debug, Clone)]
pub struct TraceRecord {
    pub trace: Trace,
    /// Name of the route's operation on the entry service.
    pub root_service: Arc<str>,
}

/// Mutable state behind the lock: the cluster plus what the views need around it.
pub struct LiveState {
    pub cluster: Cluster,
    waiters: HashMap<RequestId, oneshot::Sender<Completion>>,
    /// Completed traces, oldest first, at most [`TRACE_RETENTION`].
    pub traces: VecDeque<TraceRecord>,
    /// Late processing of due events (µs), for the benchmark and `/metrics`.
    pub timing_error_us: Histogram<u64>,
    /// Bumped whenever pods or deployments changed (scale, ready, removed, OOM kill, stress):
    /// the Kubernetes watch and resourceVersion follow it.
    pub generation: u64,
    /// Stressors exec'd into pods through the Kubernetes API (their TTLs and memory).
    pub stressors: super::server::kube::stressors::StressorTable,
    /// Virtual time the sleeping driver will wake at on its own (-inf while it runs): a submit
    /// wakes it only when it moved the next event earlier than that, which spares a futex wake
    /// and a context switch per request under load.
    driver_deadline: f64,
}

struct Shared {
    state: Mutex<LiveState>,
    /// Signalled when something may have moved the next event earlier (a submit, a scale).
    wake: Condvar,
    epoch: Instant,
    epoch_unix: f64,
    stop: AtomicBool,
    generation_tx: watch::Sender<u64>,
    namespace: String,
}

/// A cheap, cloneable handle to the running emulation. The driver thread stops when
/// [`LiveCluster::shutdown`] is called or the last handle is dropped.
#[derive(Clone)]
pub struct LiveCluster {
    shared: Arc<Shared>,
    _driver: Arc<DriverGuard>,
}

struct DriverGuard {
    shared: Arc<Shared>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Drop for DriverGuard {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
    }
}

impl LiveCluster {
    /// Builds the cluster from `topology` with `seed` and starts the driver thread.
    pub fn start(topology: &Topology, seed: u64) -> std::io::Result<Self> {
        let cluster = topology.build(seed);
        let namespace = topology.namespace.clone();
        let (generation_tx, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(LiveState {
                cluster,
                waiters: HashMap::new(),
                traces: VecDeque::new(),
                timing_error_us: Histogram::new_with_bounds(1, 60_000_000, 3)
                    .expect("static histogram bounds are valid"),
                generation: 0,
                stressors: Default::default(),
                driver_deadline: f64::NEG_INFINITY,
            }),
            wake: Condvar::new(),
            epoch: Instant::now(),
            epoch_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            stop: AtomicBool::new(false),
            generation_tx,
            namespace,
        });
        let driver_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ctl-emulator".into())
            .spawn(move || drive(&driver_shared))?;
        let guard = DriverGuard { shared: shared.clone(), thread: Mutex::new(Some(thread)) };
        Ok(Self { shared, _driver: Arc::new(guard) })
    }

    /// Stops the driver thread; requests still in flight are never answered.
    pub fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
    }

    /// Virtual seconds now (real seconds since start).
    pub fn now(&self) -> f64 {
        self.shared.now()
    }

    /// Unix seconds of a virtual time.
    pub fn unix_time(&self, virtual_secs: f64) -> f64 {
        self.shared.epoch_unix + virtual_secs
    }

    pub fn namespace(&self) -> &str {
        &self.shared.namespace
    }

    /// Locks the state after bringing the cluster up to now. Keep the guard short: the driver
    /// and every request wait on it. Call [`LiveCluster::changed`] after mutating pods or
    /// deployments through it.
    pub fn lock(&self) -> MutexGuard<'_, LiveState> {
        let now = self.now();
        let mut state = self.raw_lock();
        self.shared.advance(&mut state, now);
        state
    }

    fn raw_lock(&self) -> MutexGuard<'_, LiveState> {
        self.shared.raw_lock()
    }

    /// The route for an HTTP request line.
    pub fn route(&self, method: &str, path: &str) -> Option<usize> {
        self.raw_lock().cluster.route(method, path)
    }

    /// Submits a request on `route` now; the receiver resolves when its root span ends.
    pub fn submit(&self, route: usize) -> Result<oneshot::Receiver<Completion>, EmulatorError> {
        let (tx, rx) = oneshot::channel();
        let now = self.now();
        let mut state = self.raw_lock();
        // Process what is due first, so that its lateness is measured.
        self.shared.advance(&mut state, now);
        let id = state.cluster.submit(route, now)?;
        state.waiters.insert(id, tx);
        // The submit may have produced events (an immediate 503) or an earlier next event.
        self.shared.advance(&mut state, now);
        let wake = state.cluster.next_event_time().is_some_and(|t| t < state.driver_deadline);
        drop(state);
        if wake {
            self.shared.wake.notify_one();
        }
        Ok(rx)
    }

    /// A snapshot at the current time.
    pub fn snapshot(&self) -> ClusterSnapshot {
        self.lock().cluster.snapshot()
    }

    /// Sets a deployment's replicas now.
    pub fn scale(&self, deployment: &str, replicas: u32) -> Result<(), EmulatorError> {
        let now = self.now();
        let mut state = self.lock();
        state.cluster.scale(deployment, replicas, now)?;
        self.changed(&mut state);
        Ok(())
    }

    /// Records that pods or deployments changed (for watches and resourceVersion) and wakes
    /// the driver, which may have new events to plan for.
    pub fn changed(&self, state: &mut LiveState) {
        self.shared.bump_generation(state);
        self.shared.wake.notify_one();
    }

    /// Follows [`LiveState::generation`].
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.generation_tx.subscribe()
    }
}

impl Shared {
    fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    fn raw_lock(&self) -> MutexGuard<'_, LiveState> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Processes everything due by `now`, recording how late the earliest due event is.
    fn advance(&self, state: &mut LiveState, now: f64) {
        if let Some(due) = state.cluster.next_event_time().filter(|&due| due <= now) {
            let late_us = ((now - due) * 1e6).max(1.0) as u64;
            state.timing_error_us.saturating_record(late_us);
        }
        let events = state.cluster.advance_to(now);
        self.dispatch(state, events);
    }

    fn dispatch(&self, state: &mut LiveState, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let mut changed = false;
        for event in events {
            match event {
                Event::RequestCompleted { request, latency, status, .. } => {
                    if let Some(tx) = state.waiters.remove(&request) {
                        let _ = tx.send(Completion { status, latency });
                    }
                }
                Event::TraceCompleted { trace, .. } => {
                    let root_service = trace
                        .spans
                        .first()
                        .map(|s| s.service.clone())
                        .unwrap_or_else(|| Arc::from(""));
                    if state.traces.len() >= TRACE_RETENTION {
                        state.traces.pop_front();
                    }
                    state.traces.push_back(TraceRecord { trace, root_service });
                }
                Event::ReplicaReady { .. }
                | Event::ReplicaRemoved { .. }
                | Event::OomKilled { .. } => changed = true,
            }
        }
        if changed {
            self.bump_generation(state);
        }
    }

    /// Pods or deployments changed: a new resourceVersion for the Kubernetes view and its
    /// watches.
    fn bump_generation(&self, state: &mut LiveState) {
        state.generation += 1;
        self.generation_tx.send_replace(state.generation);
    }
}

/// The longest the driver sleeps with nothing due (seconds): it also checks `stop` this often.
const MAX_SLEEP: f64 = 0.2;

/// The driver loop: process what is due, then sleep until the next event or a wake-up.
fn drive(shared: &Shared) {
    let mut state = shared.raw_lock();
    while !shared.stop.load(Ordering::SeqCst) {
        let now = shared.now();
        let due = state.cluster.next_event_time();
        if due.is_some_and(|due| due <= now) {
            shared.advance(&mut state, now);
            continue;
        }
        let wait = due.map_or(MAX_SLEEP, |due| (due - now).clamp(0.0, MAX_SLEEP));
        state.driver_deadline = now + wait;
        state = shared
            .wake
            .wait_timeout(state, Duration::from_secs_f64(wait))
            .map(|(guard, _)| guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        state.driver_deadline = f64::NEG_INFINITY;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::topology;

    #[test]
    fn a_request_completes_on_the_real_clock() {
        let live = LiveCluster::start(&topology::load("webapp").unwrap(), 1).unwrap();
        let route = live.route("GET", "/").unwrap();
        let rx = live.submit(route).unwrap();
        let done = rx.blocking_recv().unwrap();
        assert_eq!(done.status, 200);
        assert!(done.latency > 0.0);
        let state = live.lock();
        assert_eq!(state.traces.len(), 1);
        assert!(!state.timing_error_us.is_empty());
    }

    #[test]
    fn scaling_bumps_the_generation_and_notifies() {
        let live = LiveCluster::start(&topology::load("webapp").unwrap(), 1).unwrap();
        let mut changes = live.subscribe();
        live.scale("webapp", 5).unwrap();
        assert!(changes.has_changed().unwrap());
        assert_eq!(*changes.borrow_and_update(), 1);
        assert_eq!(live.snapshot().deployments[0].spec_replicas, 5);
    }
}
