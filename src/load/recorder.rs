//! The recorder: the one owner of the current second's histograms. Workers call
//! [`Recorder::record`] on every finished request; the aggregator calls
//! [`Recorder::take_window`] once per second and gets the second's statistics back.
//! A single short-held mutex: at tens of thousands of requests per second it is uncontended
//! enough, and it keeps the per-second windows exact (no batching, no lost samples).

use super::stats::{FailureCount, FailureKey, RequestKey, RequestStats, new_histogram};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// One finished request, as a worker reports it.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Index into the recorder's keys.
    pub key: usize,
    /// From the intended start to the end of the response, µs.
    pub latency_us: u64,
    /// From the actual send to the end of the response, µs.
    pub service_us: u64,
    /// How late the send was against its intended time, µs (0 in the users model).
    pub send_lag_us: u64,
    pub status: u16,
    pub ok: bool,
    pub bytes: u64,
}

/// What the recorder collected in one window.
#[derive(Debug, Clone)]
pub struct Window {
    pub per_request: Vec<RequestStats>,
    pub total: RequestStats,
    pub failures: BTreeMap<FailureKey, FailureCount>,
    pub send_lag: Histogram<u64>,
    pub late: u64,
}

impl Window {
    fn new(keys: usize) -> Self {
        Self {
            per_request: (0..keys).map(|_| RequestStats::default()).collect(),
            total: RequestStats::default(),
            failures: BTreeMap::new(),
            send_lag: new_histogram(),
            late: 0,
        }
    }
}

/// Sends later than this after their intended time count as late.
pub const LATE_THRESHOLD_US: u64 = 10_000;

/// Collects samples from all workers.
#[derive(Debug)]
pub struct Recorder {
    keys: Vec<RequestKey>,
    window: Mutex<Window>,
    in_flight: AtomicU64,
    /// Highest in-flight count since the last window was taken.
    peak_in_flight: AtomicU64,
}

impl Recorder {
    pub fn new(keys: Vec<RequestKey>) -> Self {
        let n = keys.len();
        Self {
            keys,
            window: Mutex::new(Window::new(n)),
            in_flight: AtomicU64::new(0),
            peak_in_flight: AtomicU64::new(0),
        }
    }

    pub fn keys(&self) -> &[RequestKey] {
        &self.keys
    }

    /// Marks a request as sent; pair with [`Recorder::record`].
    pub fn start_request(&self) {
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak_in_flight.fetch_max(now, Ordering::Relaxed);
    }

    /// The highest in-flight count since the last call (the busy workers of a second).
    pub fn take_peak_in_flight(&self) -> u64 {
        self.peak_in_flight.swap(self.in_flight(), Ordering::Relaxed)
    }

    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Records a finished request; `error` describes a failure (Locust's failure "Error").
    pub fn record(&self, sample: Sample, error: Option<&str>) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        let Sample { key, latency_us, service_us, send_lag_us, status, ok, bytes } = sample;
        w.per_request[key].record(latency_us, service_us, status, ok, bytes);
        w.total.record(latency_us, service_us, status, ok, bytes);
        w.send_lag.saturating_record(send_lag_us.max(1));
        if send_lag_us > LATE_THRESHOLD_US {
            w.late += 1;
        }
        if let Some(error) = error.filter(|_| !ok) {
            let k = &self.keys[key];
            let fk = FailureKey {
                method: k.method.clone(),
                name: k.name.clone(),
                error: error.to_string(),
            };
            // The wall clock is read for failures only: successes never need it.
            let now = super::driver::unix_now();
            let add = FailureCount { occurrences: 1, first_seen: now, last_seen: now };
            w.failures.entry(fk).and_modify(|f| f.merge(&add)).or_insert(add);
        }
    }

    /// Returns the window collected since the last call and starts a new one.
    pub fn take_window(&self) -> Window {
        let fresh = Window::new(self.keys.len());
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut *w, fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> RequestKey {
        RequestKey { method: "GET".into(), name: name.into() }
    }

    #[test]
    fn windows_are_disjoint_and_complete() {
        let r = Recorder::new(vec![key("/a"), key("/b")]);
        let s = |key, latency_us, ok| Sample {
            key,
            latency_us,
            service_us: latency_us / 2,
            send_lag_us: 20_000,
            status: if ok { 200 } else { 500 },
            ok,
            bytes: 3,
        };
        for i in 0..10 {
            r.start_request();
            r.record(s(i % 2, 1000 + i as u64, i != 3), Some("HTTP 500"));
        }
        let w = r.take_window();
        assert_eq!(w.total.count, 10);
        assert_eq!(w.per_request[0].count + w.per_request[1].count, 10);
        assert_eq!(w.total.failures, 1);
        assert_eq!(w.late, 10);
        assert_eq!(w.failures.len(), 1);
        assert_eq!(r.in_flight(), 0);
        assert_eq!(r.take_window().total.count, 0);
    }
}
