//! Per-second and cumulative statistics: the data the recorder publishes and every writer,
//! the progress display and (later) the controller read. Plain data, no IO, no clock.
//!
//! All latencies are microseconds in HdrHistograms (3 significant digits). "latency" is
//! measured from the intended start (coordinated-omission free in rate mode; equal to the
//! send time in users mode), "service" from the actual send to the end of the response.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;

/// Highest trackable latency: one hour in microseconds. Larger values saturate.
pub const MAX_TRACKABLE_US: u64 = 3_600_000_000;

/// A new microsecond histogram with 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKABLE_US, 3).expect("static histogram bounds are valid")
}

/// Identity of one request kind, as Locust shows it: `Type` (HTTP method) and `Name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct RequestKey {
    pub method: String,
    pub name: String,
}

/// Counters and histograms of one request kind (or of all of them) over some window.
#[derive(Debug, Clone)]
pub struct RequestStats {
    /// Latency from the intended start, µs.
    pub latency: Histogram<u64>,
    /// Service time (send to end of response), µs.
    pub service: Histogram<u64>,
    pub count: u64,
    pub failures: u64,
    /// Sum of response body sizes in bytes (for Locust's "Average Content Size").
    pub content_bytes: u64,
    /// Responses by HTTP status; 0 = no response (connection error, timeout).
    pub statuses: BTreeMap<u16, u64>,
    /// Exact minimum / maximum latency in µs (histograms round); 0 when count == 0.
    pub min_latency_us: u64,
    pub max_latency_us: u64,
    /// Exact sum of latencies in µs, for averages.
    pub sum_latency_us: u64,
}

impl Default for RequestStats {
    fn default() -> Self {
        Self {
            latency: new_histogram(),
            service: new_histogram(),
            count: 0,
            failures: 0,
            content_bytes: 0,
            statuses: BTreeMap::new(),
            min_latency_us: 0,
            max_latency_us: 0,
            sum_latency_us: 0,
        }
    }
}

impl RequestStats {
    /// Records one finished request.
    pub fn record(&mut self, latency_us: u64, service_us: u64, status: u16, ok: bool, bytes: u64) {
        let latency_us = latency_us.clamp(1, MAX_TRACKABLE_US);
        self.latency.saturating_record(latency_us);
        self.service.saturating_record(service_us.clamp(1, MAX_TRACKABLE_US));
        if self.count == 0 || latency_us < self.min_latency_us {
            self.min_latency_us = latency_us;
        }
        self.max_latency_us = self.max_latency_us.max(latency_us);
        self.sum_latency_us = self.sum_latency_us.saturating_add(latency_us);
        self.count += 1;
        if !ok {
            self.failures += 1;
        }
        self.content_bytes = self.content_bytes.saturating_add(bytes);
        *self.statuses.entry(status).or_insert(0) += 1;
    }

    /// Adds another window into this one.
    pub fn merge(&mut self, other: &RequestStats) {
        if other.count == 0 {
            return;
        }
        // Same bounds on both sides, so `add` cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        if self.count == 0 || other.min_latency_us < self.min_latency_us {
            self.min_latency_us = other.min_latency_us;
        }
        self.max_latency_us = self.max_latency_us.max(other.max_latency_us);
        self.sum_latency_us = self.sum_latency_us.saturating_add(other.sum_latency_us);
        self.count += other.count;
        self.failures += other.failures;
        self.content_bytes = self.content_bytes.saturating_add(other.content_bytes);
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_insert(0) += n;
        }
    }

    /// Latency percentile (q in 0..=100) in µs; 0 when empty.
    pub fn latency_percentile_us(&self, q: f64) -> u64 {
        if self.count == 0 {
            0
        } else if q >= 100.0 {
            self.max_latency_us
        } else {
            self.latency.value_at_quantile(q / 100.0)
        }
    }

    /// Mean latency in µs; 0 when empty.
    pub fn mean_latency_us(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.sum_latency_us as f64 / self.count as f64 }
    }
}

/// One failure kind, as Locust's `_failures.csv` groups them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FailureKey {
    pub method: String,
    pub name: String,
    pub error: String,
}

/// Occurrences of one failure kind in a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailureCount {
    pub occurrences: u64,
    /// Unix time (seconds, fractional) of the first and last occurrence.
    pub first_seen: f64,
    pub last_seen: f64,
}

impl FailureCount {
    pub fn merge(&mut self, other: &FailureCount) {
        self.occurrences += other.occurrences;
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
    }
}

/// What happened in one wall-clock second of the run. Published once per second.
#[derive(Debug, Clone)]
pub struct SecondStats {
    /// Seconds since the run started (0 for the first second).
    pub second: u64,
    /// Unix time (whole seconds) at the end of this second.
    pub unix_time: u64,
    /// The shape's target at the start of this second (users or req/s).
    pub target: f64,
    /// Users active at the end of this second (users model) or busy pool size (rate model).
    pub users: u64,
    /// Requests in flight at the end of this second.
    pub in_flight: u64,
    /// Arrivals the pacer scheduled in this second (rate model; 0 in users model).
    pub scheduled: u64,
    /// Arrivals that were sent more than the lateness threshold after their intended time.
    pub late: u64,
    /// Index i matches `RunTotals::keys[i]`.
    pub per_request: Vec<RequestStats>,
    pub total: RequestStats,
    pub failures: BTreeMap<FailureKey, FailureCount>,
}

/// Cumulative statistics of the whole run so far; owned by the aggregator.
#[derive(Debug, Clone, Default)]
pub struct RunTotals {
    pub keys: Vec<RequestKey>,
    pub per_request: Vec<RequestStats>,
    pub total: RequestStats,
    pub failures: BTreeMap<FailureKey, FailureCount>,
    /// Unix time (seconds, fractional) when the run started.
    pub start_unix: f64,
    /// Seconds elapsed (updated with every `SecondStats`).
    pub elapsed_secs: f64,
    pub scheduled: u64,
    pub late: u64,
    /// Arrivals due before the run stopped that were never sent (rate model).
    pub unsent: u64,
    pub peak_users: u64,
}

impl RunTotals {
    pub fn new(keys: Vec<RequestKey>, start_unix: f64) -> Self {
        let per_request = keys.iter().map(|_| RequestStats::default()).collect();
        Self { keys, per_request, start_unix, ..Default::default() }
    }

    /// Folds one published second into the totals.
    pub fn add_second(&mut self, s: &SecondStats) {
        for (acc, add) in self.per_request.iter_mut().zip(&s.per_request) {
            acc.merge(add);
        }
        self.total.merge(&s.total);
        for (k, v) in &s.failures {
            self.failures.entry(k.clone()).and_modify(|f| f.merge(v)).or_insert(*v);
        }
        self.elapsed_secs = (s.second + 1) as f64;
        self.scheduled += s.scheduled;
        self.late += s.late;
        self.peak_users = self.peak_users.max(s.users);
    }
}
