//! One emulated replica (a pod with one container): its CPU as processor sharing under a
//! CFS-like quota, its memory working set, and its lifecycle flags. No clock: time advances by
//! the `dt` the cluster passes. Must not depend on `control/`.
//!
//! Processor sharing is kept in "virtual work" form: every job computing on the replica
//! progresses at the same rate, so one counter `attained` (CPU seconds at 1000m received by
//! each job since the replica was last idle) replaces per-job bookkeeping. A job that needs `w`
//! seconds finishes when `attained` reaches its tag `attained_at_arrival + w`, so the next
//! completion is the smallest tag and an arrival or departure costs O(log n).

use std::collections::BTreeSet;
use std::sync::Arc;

/// Jobs within this many seconds of their completion time count as done: the float rounding
/// of `attained` must not leave a job a hair short and spin the event loop.
pub(crate) const TIME_EPSILON: f64 = 1e-9;

#[derive(Debug, Clone)]
pub(crate) struct Cpu {
    limit_millis: f64,
    attained: f64,
    /// (tag as f64 bits, span id). Tags are non-negative, so their bit patterns sort as numbers.
    jobs: BTreeSet<(u64, u64)>,
    pub stress_millis: f64,
    pub usage_seconds: f64,
    pub busy_seconds: f64,
}

impl Cpu {
    pub fn new(limit_millis: f64) -> Self {
        Self {
            limit_millis,
            attained: 0.0,
            jobs: BTreeSet::new(),
            stress_millis: 0.0,
            usage_seconds: 0.0,
            busy_seconds: 0.0,
        }
    }

    /// Cores each job gets and cores the stressor gets. The quota `L` is shared max-min fairly,
    /// as CFS shares it between threads: the stressor counts as `ceil(D / 1000)` workers (a
    /// stress worker saturates at most one core) asking `D / workers` each, every request asks
    /// without bound. With no request the stressor alone gets `min(D, L)`.
    pub fn rates(&self) -> (f64, f64) {
        let (limit, demand) = (self.limit_millis, self.stress_millis);
        let n = self.jobs.len() as f64;
        let (per_job, stress) = if n == 0.0 {
            (0.0, demand.min(limit))
        } else if demand <= 0.0 {
            (limit / n, 0.0)
        } else {
            let workers = (demand / 1000.0).ceil().max(1.0);
            let fair = limit / (n + workers);
            match demand / workers <= fair {
                true => ((limit - demand) / n, demand),
                false => (fair, fair * workers),
            }
        };
        (per_job / 1000.0, stress / 1000.0)
    }

    /// Lets `dt` seconds pass with the current set of jobs (the caller never passes a completion).
    pub fn advance(&mut self, dt: f64) {
        if dt <= 0.0 {
            return;
        }
        let (per_job, stress) = self.rates();
        let n = self.jobs.len() as f64;
        self.attained += per_job * dt;
        self.usage_seconds += (per_job * n + stress) * dt;
        if n > 0.0 {
            self.busy_seconds += dt;
        }
    }

    pub fn add(&mut self, span: u64, work: f64) {
        let tag = self.attained + work.max(0.0);
        self.jobs.insert((tag.to_bits(), span));
    }

    /// When the earliest job finishes at the current rates, given the time now.
    pub fn next_completion(&self, now: f64) -> Option<f64> {
        let &(tag, _) = self.jobs.first()?;
        let (per_job, _) = self.rates();
        Some(now + ((f64::from_bits(tag) - self.attained) / per_job).max(0.0))
    }

    /// Removes and returns the earliest job if it is done by `now`.
    pub fn pop_done(&mut self, now: f64) -> Option<u64> {
        if self.next_completion(now)? > now + TIME_EPSILON {
            return None;
        }
        self.pop_first()
    }

    /// Removes and returns the earliest job.
    pub fn pop_first(&mut self) -> Option<u64> {
        let (_, span) = self.jobs.pop_first()?;
        if self.jobs.is_empty() {
            // Restart the virtual counter so it never grows large enough to lose precision.
            self.attained = 0.0;
        }
        Some(span)
    }

    /// The container died: its jobs and its stressor die with it.
    pub fn kill(&mut self) {
        self.jobs.clear();
        self.attained = 0.0;
        self.stress_millis = 0.0;
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Replica {
    pub name: Arc<str>,
    pub deployment: usize,
    pub created: f64,
    pub container_started: f64,
    /// Ready at least once since creation (pod phase Running).
    pub started: bool,
    pub ready: bool,
    /// Scaled down: takes no new requests, removed once idle.
    pub draining: bool,
    /// Bumped on every restart so a stale readiness timer is ignored.
    pub incarnation: u64,
    pub restarts: u32,
    pub last_termination: Option<&'static str>,
    pub cpu: Cpu,
    /// Spans admitted and not yet finished (computing or waiting on callees).
    pub in_flight: BTreeSet<u64>,
    pub memory_stress_bytes: u64,
    pub baseline_bytes: u64,
    pub per_request_bytes: u64,
    pub limit_bytes: u64,
}

impl Replica {
    pub fn routable(&self) -> bool {
        self.ready && !self.draining
    }

    pub fn working_set(&self) -> u64 {
        self.baseline_bytes
            .saturating_add(self.per_request_bytes.saturating_mul(self.in_flight.len() as u64))
            .saturating_add(self.memory_stress_bytes)
    }

    pub fn over_limit(&self) -> bool {
        self.working_set() > self.limit_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_share_the_quota_equally() {
        let mut cpu = Cpu::new(500.0);
        cpu.add(1, 0.1);
        cpu.add(2, 0.1);
        assert_eq!(cpu.rates(), (0.25, 0.0));
        // 0.1 s of work at 0.25 cores each takes 0.4 s.
        assert!((cpu.next_completion(0.0).unwrap() - 0.4).abs() < 1e-12);
    }

    #[test]
    fn a_stressor_takes_its_share_of_the_same_quota() {
        let mut cpu = Cpu::new(1000.0);
        cpu.stress_millis = 200.0;
        assert_eq!(cpu.rates(), (0.0, 0.2));
        cpu.add(1, 1.0);
        // 200m is below the fair half: the stressor gets it all, the request the rest.
        assert_eq!(cpu.rates(), (0.8, 0.2));
        cpu.stress_millis = 4000.0;
        // Four stress workers and one request share 1000m equally.
        assert_eq!(cpu.rates(), (0.2, 0.8));
        cpu.advance(1.0);
        assert!((cpu.usage_seconds - 1.0).abs() < 1e-12);
    }
}
