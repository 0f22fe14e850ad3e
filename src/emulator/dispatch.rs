//! The request life cycle inside the cluster: routing a call to a replica, its CPU work under
//! processor sharing, its outbound calls, its completion and the propagation of failures, and
//! the OOM kill. Must not depend on `control/`.
//!
//! A span runs in two phases. First its own CPU work (drawn from the operation's service time)
//! as a job on the replica's processor-sharing queue; then its outbound calls in the listed
//! order, each taken with its probability. A synchronous call suspends the span until the
//! callee ends (the span holds its memory but no CPU while waiting); an asynchronous call is
//! started and the span moves on. A callee failing (503) fails its synchronous caller at once
//! with the same status, the remaining calls skipped, as a gRPC client returning the error
//! would. Calls take no network time.
//!
//! Routing is round robin over the deployment's ready, non-draining replicas (Kubernetes
//! Services without Istio; deterministic, and it spreads the load evenly).

use super::cluster::{Active, Cluster};
use super::request::{Event, RequestId, Span, Trace};
use rand::Rng;

/// What became of a call at the moment it was made.
pub(crate) enum Spawned {
    /// In progress as this active span.
    Running(u64),
    /// Already over with this status (no ready replica, OOM kill on admission, or no work).
    Done(u16),
}

const OK: u16 = 200;
const UNAVAILABLE: u16 = 503;

impl Cluster {
    /// Starts a call of `operation` on `service` for `request`, as a child of `parent_index`.
    pub(crate) fn spawn(
        &mut self,
        request: RequestId,
        parent_index: Option<u32>,
        sync: bool,
        service: usize,
        operation: usize,
    ) -> Spawned {
        if !self.requests.contains_key(&request) {
            return Spawned::Done(UNAVAILABLE);
        }
        let replica = self.pick_replica(service);
        let spec = &self.topology.services[service];
        let Some(state) = self.requests.get_mut(&request) else {
            return Spawned::Done(UNAVAILABLE);
        };
        let index = state.spans.len() as u32;
        state.spans.push(Span {
            span_id: index,
            parent: parent_index,
            service: spec.name.clone(),
            operation: spec.operations[operation].name.clone(),
            pod: replica.and_then(|id| self.replicas[id].as_ref()).map(|r| r.name.clone()),
            start: self.now,
            end: self.now,
            status: UNAVAILABLE,
            cpu_ms: 0.0,
            peak_mem_kb: 0,
            sync,
        });
        state.open_spans += 1;
        let Some(replica_id) = replica else {
            self.close_span(request, index, service, UNAVAILABLE, 0);
            return Spawned::Done(UNAVAILABLE);
        };

        let work = spec.operations[operation].sampler.draw(&mut self.rng).max(0.0);
        if let Some(span) =
            self.requests.get_mut(&request).and_then(|s| s.spans.get_mut(index as usize))
        {
            span.cpu_ms = work * 1000.0;
        }
        let id = self.next_span;
        self.next_span += 1;
        let Some(replica) = self.replicas[replica_id].as_mut() else {
            // Unreachable (the replica was just picked), but never leave a span open.
            self.close_span(request, index, service, UNAVAILABLE, 0);
            return Spawned::Done(UNAVAILABLE);
        };
        replica.in_flight.insert(id);
        let peak_bytes = replica.working_set();
        self.active.insert(
            id,
            Active {
                request,
                index,
                service,
                operation,
                replica: replica_id,
                next_call: 0,
                waiting_parent: None,
                peak_bytes,
            },
        );
        if replica.over_limit() {
            // The new request's memory pushes the replica over: it dies with the others.
            self.oom_kill(replica_id);
            return Spawned::Done(UNAVAILABLE);
        }
        if work > 0.0 {
            replica.cpu.add(self.now, id, work);
            self.reschedule(replica_id);
            return Spawned::Running(id);
        }
        self.proceed(id);
        match self.active.contains_key(&id) {
            true => Spawned::Running(id),
            false => Spawned::Done(self.span_status(request, index)),
        }
    }

    /// The span's CPU work is done, or its synchronous callee returned: make the next calls.
    pub(crate) fn proceed(&mut self, id: u64) {
        loop {
            let Some(active) = self.active.get_mut(&id) else { return };
            let calls = &self.topology.services[active.service].operations[active.operation].calls;
            let Some(&call) = calls.get(active.next_call) else {
                self.finish(id, OK);
                return;
            };
            active.next_call += 1;
            let (request, index) = (active.request, active.index);
            if call.probability < 1.0 && self.rng.random::<f64>() >= call.probability {
                continue;
            }
            let spawned = self.spawn(request, Some(index), call.sync, call.service, call.operation);
            if !self.active.contains_key(&id) {
                // This span's own replica was OOM-killed while admitting the callee.
                return;
            }
            match spawned {
                Spawned::Running(child) if call.sync => {
                    if let Some(child) = self.active.get_mut(&child) {
                        child.waiting_parent = Some(id);
                    }
                    return;
                }
                Spawned::Done(status) if call.sync && status != OK => {
                    self.finish(id, status);
                    return;
                }
                Spawned::Running(_) | Spawned::Done(_) => {}
            }
        }
    }

    /// Ends an active span with `status`, frees its memory, and resumes or fails its caller.
    pub(crate) fn finish(&mut self, id: u64, status: u16) {
        let Some(active) = self.active.remove(&id) else { return };
        let mut peak = active.peak_bytes;
        if let Some(replica) = self.replicas[active.replica].as_mut() {
            peak = peak.max(replica.working_set());
            replica.in_flight.remove(&id);
            if replica.draining && replica.in_flight.is_empty() {
                self.remove_replica(active.replica);
            }
        }
        self.close_span(active.request, active.index, active.service, status, peak);
        if let Some(parent) = active.waiting_parent.filter(|p| self.active.contains_key(p)) {
            match status {
                OK => self.proceed(parent),
                failed => self.finish(parent, failed),
            }
        }
    }

    /// Records a span's end, counts it for its service, and reports the request and its trace
    /// when they are complete.
    pub(crate) fn close_span(
        &mut self,
        request: RequestId,
        index: u32,
        service: usize,
        status: u16,
        peak_bytes: u64,
    ) {
        let Some(state) = self.requests.get_mut(&request) else { return };
        let Some(span) = state.spans.get_mut(index as usize) else { return };
        span.end = self.now;
        span.status = status;
        span.peak_mem_kb = peak_bytes.div_ceil(1024);
        let stats = &mut self.stats[service];
        *stats.requests_by_status.entry(status).or_default() += 1;
        stats.latency.observe(span.duration() * 1000.0);
        state.open_spans -= 1;
        if index == 0 {
            let latency = self.now - state.arrival;
            self.outbox.push(Event::RequestCompleted {
                time: self.now,
                request,
                route: state.route,
                latency,
                status,
            });
        }
        if state.open_spans == 0
            && let Some(state) = self.requests.remove(&request)
        {
            let trace = Trace { request, route: state.route, spans: state.spans };
            self.outbox.push(Event::TraceCompleted { time: self.now, trace });
        }
    }

    /// The container exceeded its memory limit: every span on it answers 503, it restarts and is
    /// ready again after its startup delay. Any stressor in it dies with it.
    pub(crate) fn oom_kill(&mut self, replica_id: usize) {
        let Some(replica) = self.replicas[replica_id].as_mut() else { return };
        replica.cpu.kill(self.now);
        replica.memory_stress_bytes = 0;
        replica.ready = false;
        replica.restarts += 1;
        replica.incarnation += 1;
        replica.last_termination = Some("OOMKilled");
        replica.container_started = self.now;
        let victims: Vec<u64> = replica.in_flight.iter().copied().collect();
        let event = Event::OomKilled {
            time: self.now,
            pod: replica.name.clone(),
            deployment: self.deployments[replica.deployment].name.clone(),
            failed: victims.len(),
        };
        self.outbox.push(event);
        let delay = self.topology.services[replica.deployment].startup_delay.as_secs_f64();
        self.reschedule(replica_id);
        self.schedule_ready(replica_id, self.now + delay);
        for span in victims {
            self.finish(span, UNAVAILABLE);
        }
    }

    fn pick_replica(&mut self, service: usize) -> Option<usize> {
        let deployment = &mut self.deployments[service];
        let n = deployment.replicas.len();
        for step in 0..n {
            let position = (deployment.cursor + step) % n;
            let id = deployment.replicas[position];
            if self.replicas[id].as_ref().is_some_and(|r| r.routable()) {
                deployment.cursor = (position + 1) % n;
                return Some(id);
            }
        }
        None
    }

    fn span_status(&self, request: RequestId, index: u32) -> u16 {
        // A finished request is gone from `requests`; its root status went out in the event.
        self.requests
            .get(&request)
            .and_then(|s| s.spans.get(index as usize))
            .map_or(OK, |span| span.status)
    }
}
