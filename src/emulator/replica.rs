//! One emulated replica (a pod with one container): its CPU as processor sharing under a
//! CFS-like quota, its memory working set, and its lifecycle flags. No clock: the cluster
//! passes the virtual time. Must not depend on `control/`.
//!
//! Processor sharing is kept in "virtual work" form: every job computing on the replica
//! progresses at the same rate, so one counter `attained` (CPU seconds at 1000m received by
//! each job since the replica was last idle) replaces per-job bookkeeping. A job that needs `w`
//! seconds finishes when `attained` reaches its tag `attained_at_arrival + w`, so the next
//! completion is the smallest tag and an arrival or departure costs O(log n).
//!
//! The counters are integrated lazily: a replica remembers the virtual time they are up to
//! date to and is brought forward only when its jobs or its stressor change (the rates are
//! constant in between) or when it is read, so an event costs nothing on the replicas it does
//! not touch.

use std::collections::BTreeSet;
use std::sync::Arc;

/// Jobs within this many seconds of their completion time count as done: the float rounding
/// of `attained` must not leave a job a hair short and spin the event loop.
pub(crate) const TIME_EPSILON: f64 = 1e-9;

#[derive(Debug, Clone)]
pub(crate) struct Cpu {
    limit_millis: f64,
    attained: f64,
    /// The virtual time `attained`, `usage_seconds` and `busy_seconds` are up to date to.
    updated: f64,
    /// (tag as f64 bits, span id). Tags are non-negative, so their bit patterns sort as numbers.
    jobs: BTreeSet<(u64, u64)>,
    stress_millis: f64,
    usage_seconds: f64,
    busy_seconds: f64,
}

impl Cpu {
    /// An idle CPU with quota `limit_millis`, created at virtual time `now`.
    pub fn new(limit_millis: f64, now: f64) -> Self {
        Self {
            limit_millis,
            attained: 0.0,
            updated: now,
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

    /// Brings the counters forward to `now` at the current rates (the caller never passes a
    /// completion: it calls this at every change of the job set or the stressor).
    fn catch_up(&mut self, now: f64) {
        let dt = now - self.updated;
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
        self.updated = now;
    }

    /// CPU seconds used (jobs and stressor) and seconds with at least one job, up to `now`,
    /// without moving the counters (for snapshots, which read a shared cluster).
    pub fn totals_at(&self, now: f64) -> (f64, f64) {
        let dt = (now - self.updated).max(0.0);
        let (per_job, stress) = self.rates();
        let n = self.jobs.len() as f64;
        let busy = if n > 0.0 { dt } else { 0.0 };
        (self.usage_seconds + (per_job * n + stress) * dt, self.busy_seconds + busy)
    }

    /// A job of `work` CPU seconds (at 1000m) arrives at `now`.
    pub fn add(&mut self, now: f64, span: u64, work: f64) {
        self.catch_up(now);
        let tag = self.attained + work.max(0.0);
        self.jobs.insert((tag.to_bits(), span));
    }

    /// The stressor asks `millis` from `now` on (0 stops it).
    pub fn set_stress(&mut self, now: f64, millis: f64) {
        self.catch_up(now);
        self.stress_millis = millis;
    }

    /// When the earliest job finishes at the current rates. Constant until the job set or the
    /// stressor changes, so the cluster can keep it in its queue of completions.
    pub fn next_completion(&self) -> Option<f64> {
        let &(tag, _) = self.jobs.first()?;
        let (per_job, _) = self.rates();
        Some(self.updated + ((f64::from_bits(tag) - self.attained) / per_job).max(0.0))
    }

    /// Removes and returns the earliest job, which is due at `now`.
    pub fn pop_first(&mut self, now: f64) -> Option<u64> {
        self.catch_up(now);
        let (_, span) = self.jobs.pop_first()?;
        if self.jobs.is_empty() {
            // Restart the virtual counter so it never grows large enough to lose precision.
            self.attained = 0.0;
        }
        Some(span)
    }

    /// The container died at `now`: its jobs and its stressor die with it.
    pub fn kill(&mut self, now: f64) {
        self.catch_up(now);
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
    /// This replica's key in the cluster's queue of CPU completions (f64 bits of the due time).
    pub scheduled: Option<u64>,
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
        let mut cpu = Cpu::new(500.0, 0.0);
        cpu.add(0.0, 1, 0.1);
        cpu.add(0.0, 2, 0.1);
        assert_eq!(cpu.rates(), (0.25, 0.0));
        // 0.1 s of work at 0.25 cores each takes 0.4 s.
        assert!((cpu.next_completion().unwrap() - 0.4).abs() < 1e-12);
    }

    #[test]
    fn a_stressor_takes_its_share_of_the_same_quota() {
        let mut cpu = Cpu::new(1000.0, 0.0);
        cpu.set_stress(0.0, 200.0);
        assert_eq!(cpu.rates(), (0.0, 0.2));
        cpu.add(0.0, 1, 1.0);
        // 200m is below the fair half: the stressor gets it all, the request the rest.
        assert_eq!(cpu.rates(), (0.8, 0.2));
        cpu.set_stress(0.0, 4000.0);
        // Four stress workers and one request share 1000m equally.
        assert_eq!(cpu.rates(), (0.2, 0.8));
        assert!((cpu.totals_at(1.0).0 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn lazy_integration_matches_stepwise_integration() {
        // Two jobs (0.1 s and 0.3 s of work) and a 300m stressor on 1000m. By hand: the
        // stressor takes 300m, each job 350m, so the first ends at 0.1 / 0.35 s.
        let mut lazy = Cpu::new(1000.0, 0.0);
        lazy.set_stress(0.0, 300.0);
        lazy.add(0.0, 1, 0.1);
        lazy.add(0.0, 2, 0.3);
        let first = lazy.next_completion().unwrap();
        assert!((first - 0.1 / 0.35).abs() < 1e-12, "{first}");
        // Bringing a copy forward in many small steps changes neither the due time nor the
        // totals beyond rounding.
        let mut stepwise = lazy.clone();
        for i in 1..=100 {
            stepwise.catch_up(first * f64::from(i) / 100.0);
        }
        assert!((stepwise.next_completion().unwrap() - first).abs() < 1e-12);
        let (usage, busy) = lazy.totals_at(first);
        assert!((usage - first).abs() < 1e-12 && (busy - first).abs() < 1e-12);
        assert!((stepwise.totals_at(first).0 - usage).abs() < 1e-12);
        // After the first job the other has 0.2 s left at 700m, i.e. ends 0.2 / 0.7 s later.
        assert_eq!(lazy.pop_first(first), Some(1));
        let second = lazy.next_completion().unwrap();
        assert!((second - first - 0.2 / 0.7).abs() < 1e-12, "{second}");
    }
}
