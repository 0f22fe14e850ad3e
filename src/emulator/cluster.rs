//! The running emulated cluster: deployments, replicas, requests in flight, timers and
//! per-service statistics, advanced event by event in virtual time. Owns all cluster state;
//! callers drive it with `submit`, `scale`, `set_stress`, `set_memory_stress` and `advance_to`
//! and read it through `snapshot`. Pure and deterministic for a seed: no clock, no IO, no
//! tokio. The request life cycle lives in `dispatch.rs`. Must not depend on `control/`.
//!
//! Time is virtual seconds (f64) from the cluster's creation. Every method taking `now` first
//! processes everything due up to `now` (a `now` in the past is taken as the current time, so a
//! real-clock driver that wakes late is harmless); the events this produces are kept and
//! returned by the next `advance_to`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::replica::{Cpu, Replica};
use super::request::{Event, RequestId, Span};
use super::snapshot::{LatencyHistogram, ServiceStats};
use super::topology::{MAX_REPLICAS, Topology};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EmulatorError {
    #[error("no pod named `{0}`")]
    NoSuchPod(String),
    #[error("no deployment named `{0}`")]
    NoSuchDeployment(String),
    #[error("no route {0}")]
    NoSuchRoute(usize),
    #[error("{what} must be a finite number >= 0, got {value}")]
    InvalidValue { what: &'static str, value: f64 },
    #[error("{replicas} replicas is above the maximum {MAX_REPLICAS}")]
    TooManyReplicas { replicas: u32 },
}

/// Kubernetes' random-suffix alphabet (no vowels, no look-alikes).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

pub(crate) struct Deployment {
    pub name: Arc<str>,
    pub spec_replicas: u32,
    /// Replica ids in creation order.
    pub replicas: Vec<usize>,
    /// Round-robin position among routable replicas.
    pub cursor: usize,
    pub template_hash: String,
}

/// A span in progress on a replica.
pub(crate) struct Active {
    pub request: RequestId,
    pub index: u32,
    pub service: usize,
    pub operation: usize,
    pub replica: usize,
    pub next_call: usize,
    /// The caller waiting for this span (synchronous call); `None` for roots and async calls.
    pub waiting_parent: Option<u64>,
    pub peak_bytes: u64,
}

pub(crate) struct RequestState {
    pub route: usize,
    pub arrival: f64,
    pub spans: Vec<Span>,
    pub open_spans: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Timer {
    /// f64 bits of the due time (non-negative, so it orders as the number).
    pub due: u64,
    pub seq: u64,
    pub replica: usize,
    pub incarnation: u64,
}

pub struct Cluster {
    pub(crate) topology: Topology,
    pub(crate) now: f64,
    /// Service times and call probabilities.
    pub(crate) rng: StdRng,
    /// Pod name suffixes, separate so that naming never shifts the service-time stream.
    pub(crate) name_rng: StdRng,
    pub(crate) deployments: Vec<Deployment>,
    /// Indexed by replica id; ids are never reused so stale references stay detectable.
    pub(crate) replicas: Vec<Option<Replica>>,
    pub(crate) pods_by_name: HashMap<Arc<str>, usize>,
    pub(crate) active: BTreeMap<u64, Active>,
    pub(crate) next_span: u64,
    pub(crate) requests: HashMap<RequestId, RequestState>,
    pub(crate) next_request: RequestId,
    pub(crate) timers: BinaryHeap<Reverse<Timer>>,
    pub(crate) timer_seq: u64,
    /// The next CPU completion of every replica with a job: (f64 bits of the due time, replica
    /// id), so the earliest replica id wins a tie. Kept in step by `reschedule`, so an event
    /// costs O(log n) whatever the number of idle replicas.
    pub(crate) completions: BTreeSet<(u64, usize)>,
    pub(crate) stats: Vec<ServiceStats>,
    pub(crate) outbox: Vec<Event>,
}

impl Cluster {
    /// A cluster at virtual time 0 with every initial replica ready (an app already running
    /// when the experiment starts).
    pub fn new(topology: Topology, seed: u64) -> Self {
        let stats = topology
            .services
            .iter()
            .map(|s| ServiceStats {
                name: s.name.clone(),
                requests_by_status: BTreeMap::new(),
                latency: LatencyHistogram::default(),
            })
            .collect();
        let deployments = topology
            .services
            .iter()
            .map(|s| Deployment {
                name: s.name.clone(),
                spec_replicas: s.replicas,
                replicas: Vec::new(),
                cursor: 0,
                template_hash: template_hash(&s.name, seed),
            })
            .collect();
        let mut cluster = Cluster {
            topology,
            now: 0.0,
            rng: StdRng::seed_from_u64(seed),
            name_rng: StdRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15),
            deployments,
            replicas: Vec::new(),
            pods_by_name: HashMap::new(),
            active: BTreeMap::new(),
            next_span: 0,
            requests: HashMap::new(),
            next_request: 0,
            timers: BinaryHeap::new(),
            timer_seq: 0,
            completions: BTreeSet::new(),
            stats,
            outbox: Vec::new(),
        };
        for d in 0..cluster.deployments.len() {
            for _ in 0..cluster.topology.services[d].replicas {
                let id = cluster.create_replica(d);
                if let Some(replica) = cluster.replicas[id].as_mut() {
                    replica.ready = true;
                    replica.started = true;
                }
            }
        }
        cluster
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Virtual seconds processed so far.
    pub fn now(&self) -> f64 {
        self.now
    }

    /// The route index for an HTTP request line (query ignored).
    pub fn route(&self, method: &str, path: &str) -> Option<usize> {
        self.topology.route(method, path)
    }

    /// A request arrives at the front end on `route` at `now`. Its outcome comes later as
    /// `Event::RequestCompleted` (at once, with 503, when the front end has no ready replica).
    pub fn submit(&mut self, route: usize, now: f64) -> Result<RequestId, EmulatorError> {
        let operation =
            self.topology.routes.get(route).ok_or(EmulatorError::NoSuchRoute(route))?.operation;
        self.process_until(now);
        let id = self.next_request;
        self.next_request += 1;
        self.requests.insert(
            id,
            RequestState { route, arrival: self.now, spans: Vec::new(), open_spans: 0 },
        );
        self.spawn(id, None, true, self.topology.entry, operation);
        Ok(id)
    }

    /// Processes everything due up to `now` and returns the events since the last call, in time
    /// order.
    pub fn advance_to(&mut self, now: f64) -> Vec<Event> {
        self.process_until(now);
        std::mem::take(&mut self.outbox)
    }

    /// When the next event is due, if anything is pending: the moment a real-clock driver
    /// should call `advance_to` again (arrivals aside).
    pub fn next_event_time(&self) -> Option<f64> {
        self.next_event().map(|(time, _)| time)
    }

    /// The next due time and, when it is a CPU completion, the replica whose earliest job ends
    /// then (the earliest replica id on a tie, for determinism).
    fn next_event(&self) -> Option<(f64, Option<usize>)> {
        let timer = self.timers.peek().map(|Reverse(t)| (f64::from_bits(t.due), None));
        let cpu = self.completions.first().map(|&(due, id)| (f64::from_bits(due), Some(id)));
        match (timer, cpu) {
            (Some(t), Some(c)) => Some(if c.0 < t.0 { c } else { t }),
            (t, c) => t.or(c),
        }
    }

    /// Sets the replicas a deployment should have. Scaling up creates pods that become ready
    /// after the startup delay; scaling down drains pods (not-ready first, then newest, as the
    /// ReplicaSet controller picks): they take no new requests and leave once idle.
    pub fn scale(
        &mut self,
        deployment: &str,
        replicas: u32,
        now: f64,
    ) -> Result<(), EmulatorError> {
        let d = self.deployment_index(deployment)?;
        if replicas > MAX_REPLICAS {
            return Err(EmulatorError::TooManyReplicas { replicas });
        }
        self.process_until(now);
        self.deployments[d].spec_replicas = replicas;
        let current: Vec<usize> = self.deployments[d]
            .replicas
            .iter()
            .copied()
            .filter(|&id| self.replicas[id].as_ref().is_some_and(|r| !r.draining))
            .collect();
        let wanted = replicas as usize;
        if wanted > current.len() {
            for _ in current.len()..wanted {
                let id = self.create_replica(d);
                let delay = self.topology.services[d].startup_delay.as_secs_f64();
                self.schedule_ready(id, self.now + delay);
            }
        } else {
            let mut victims = current;
            victims.sort_by_key(|&id| {
                let r = self.replicas[id].as_ref();
                (r.is_some_and(|r| r.ready), Reverse(id))
            });
            let excess = victims.len() - wanted;
            for id in victims.into_iter().take(excess) {
                if let Some(replica) = self.replicas[id].as_mut() {
                    replica.draining = true;
                    replica.ready = false;
                    if replica.in_flight.is_empty() {
                        self.remove_replica(id);
                    }
                }
            }
        }
        Ok(())
    }

    /// A CPU stressor in `pod` asking `millicores` (0 stops it). It takes its share of the
    /// replica's quota (see `Cpu::rates`) and counts in the pod's CPU usage; nothing real runs.
    pub fn set_stress(
        &mut self,
        pod: &str,
        millicores: f64,
        now: f64,
    ) -> Result<(), EmulatorError> {
        if !millicores.is_finite() || millicores < 0.0 {
            return Err(EmulatorError::InvalidValue {
                what: "CPU stress millicores",
                value: millicores,
            });
        }
        let id = self.pod_index(pod)?;
        self.process_until(now);
        if let Some(replica) = self.replicas[id].as_mut() {
            replica.cpu.set_stress(self.now, millicores);
        }
        self.reschedule(id);
        Ok(())
    }

    /// A memory stressor in `pod` holding `bytes` (0 frees it); over the limit the replica is
    /// OOM-killed at once.
    pub fn set_memory_stress(
        &mut self,
        pod: &str,
        bytes: u64,
        now: f64,
    ) -> Result<(), EmulatorError> {
        let id = self.pod_index(pod)?;
        self.process_until(now);
        if let Some(replica) = self.replicas[id].as_mut() {
            replica.memory_stress_bytes = bytes;
            if replica.over_limit() {
                self.oom_kill(id);
            }
        }
        Ok(())
    }

    /// Runs every due event up to `target`. Replicas integrate their CPU lazily (see
    /// `replica.rs`), so moving the clock costs nothing.
    pub(crate) fn process_until(&mut self, target: f64) {
        let target = if target.is_finite() { target.max(self.now) } else { self.now };
        while let Some((next, cpu)) = self.next_event().filter(|&(t, _)| t <= target) {
            self.now = self.now.max(next);
            self.fire_due(cpu);
        }
        self.now = target;
    }

    /// Puts replica `id`'s next CPU completion in the queue after its jobs or rates changed
    /// (or takes it out when it has no job or is gone).
    pub(crate) fn reschedule(&mut self, id: usize) {
        let Some(replica) = self.replicas.get_mut(id).and_then(Option::as_mut) else { return };
        if let Some(old) = replica.scheduled.take() {
            self.completions.remove(&(old, id));
        }
        if let Some(due) = replica.cpu.next_completion() {
            let key = due.max(0.0).to_bits();
            replica.scheduled = Some(key);
            self.completions.insert((key, id));
        }
    }

    /// Ends the earliest job on replica `id`, which is due now, and moves its span on.
    fn complete_first(&mut self, id: usize) {
        let now = self.now;
        let span = self.replicas[id].as_mut().and_then(|r| r.cpu.pop_first(now));
        self.reschedule(id);
        if let Some(span) = span {
            self.proceed(span);
        }
    }

    /// Fires every timer and finishes every CPU job due now. `cpu` is the replica whose job
    /// defined this event time: its earliest job ends whatever float rounding says, so every
    /// step of the loop makes progress.
    fn fire_due(&mut self, cpu: Option<usize>) {
        if let Some(id) = cpu {
            self.complete_first(id);
        }
        while let Some(&Reverse(timer)) = self.timers.peek() {
            if f64::from_bits(timer.due) > self.now + super::replica::TIME_EPSILON {
                break;
            }
            self.timers.pop();
            self.replica_ready(timer.replica, timer.incarnation);
        }
        let horizon = self.now + super::replica::TIME_EPSILON;
        while let Some(&(due, id)) = self.completions.first() {
            if f64::from_bits(due) > horizon {
                break;
            }
            // Out of the queue first: every step ends a job or drops a key, so this terminates.
            self.completions.remove(&(due, id));
            self.complete_first(id);
        }
    }

    fn replica_ready(&mut self, id: usize, incarnation: u64) {
        let Some(replica) = self.replicas[id].as_mut() else { return };
        if replica.incarnation != incarnation || replica.draining {
            return;
        }
        replica.ready = true;
        replica.started = true;
        let event = Event::ReplicaReady {
            time: self.now,
            pod: replica.name.clone(),
            deployment: self.deployments[replica.deployment].name.clone(),
        };
        self.outbox.push(event);
    }

    pub(crate) fn schedule_ready(&mut self, id: usize, due: f64) {
        let Some(replica) = self.replicas[id].as_ref() else { return };
        self.timer_seq += 1;
        let timer = Timer {
            due: due.max(0.0).to_bits(),
            seq: self.timer_seq,
            replica: id,
            incarnation: replica.incarnation,
        };
        self.timers.push(Reverse(timer));
    }

    fn create_replica(&mut self, d: usize) -> usize {
        let spec = &self.topology.services[d];
        let name = loop {
            let suffix: String = (0..5)
                .map(|_| NAME_ALPHABET[self.name_rng.random_range(0..NAME_ALPHABET.len())] as char)
                .collect();
            let name: Arc<str> =
                Arc::from(format!("{}-{}-{suffix}", spec.name, self.deployments[d].template_hash));
            if !self.pods_by_name.contains_key(&name) {
                break name;
            }
        };
        let replica = Replica {
            name: name.clone(),
            deployment: d,
            created: self.now,
            container_started: self.now,
            started: false,
            ready: false,
            draining: false,
            incarnation: 0,
            restarts: 0,
            last_termination: None,
            cpu: Cpu::new(spec.cpu_limit_millis, self.now),
            scheduled: None,
            in_flight: Default::default(),
            memory_stress_bytes: 0,
            baseline_bytes: spec.memory_baseline_bytes,
            per_request_bytes: spec.memory_per_request_bytes,
            limit_bytes: spec.memory_limit_bytes,
        };
        let id = self.replicas.len();
        self.replicas.push(Some(replica));
        self.pods_by_name.insert(name, id);
        self.deployments[d].replicas.push(id);
        id
    }

    pub(crate) fn remove_replica(&mut self, id: usize) {
        let Some(replica) = self.replicas[id].take() else { return };
        if let Some(key) = replica.scheduled {
            self.completions.remove(&(key, id));
        }
        self.pods_by_name.remove(&replica.name);
        let deployment = &mut self.deployments[replica.deployment];
        deployment.replicas.retain(|&r| r != id);
        let event = Event::ReplicaRemoved {
            time: self.now,
            pod: replica.name,
            deployment: deployment.name.clone(),
        };
        self.outbox.push(event);
    }

    fn deployment_index(&self, name: &str) -> Result<usize, EmulatorError> {
        self.deployments
            .iter()
            .position(|d| &*d.name == name)
            .ok_or_else(|| EmulatorError::NoSuchDeployment(name.to_string()))
    }

    fn pod_index(&self, name: &str) -> Result<usize, EmulatorError> {
        self.pods_by_name
            .get(name)
            .copied()
            .ok_or_else(|| EmulatorError::NoSuchPod(name.to_string()))
    }
}

/// A stable 10-character pod-template-hash per deployment, like `frontend-7d4b9c8f5d-x2k9q`.
fn template_hash(name: &str, seed: u64) -> String {
    // FNV-1a: deterministic across runs and platforms, unlike std's RandomState.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (0..10)
        .map(|i| NAME_ALPHABET[((hash >> (i * 6)) % NAME_ALPHABET.len() as u64) as usize] as char)
        .collect()
}
