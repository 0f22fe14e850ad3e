//! The end-of-run summary: the `--json FILE` document ([`RunSummary`]) and the k6-like
//! text block printed when a run ends ([`RunSummary::render_text`]).
//!
//! All durations in the JSON are milliseconds rounded to the microsecond. "latency" is
//! measured from the intended start (coordinated-omission free in the rate model),
//! "service" from the actual send; see `load::stats`.

use super::fmt::{human_us, round_ms, trim_decimals, us_to_ms};
use super::threshold::ThresholdResult;
use super::{OutputError, clamped_percentile_us, write_atomic};
use crate::load::stats::{RequestStats, RunTotals};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Completed,
    /// Stopped early by the user (Ctrl-C) or a signal.
    Interrupted,
    /// Could not run to the end (setup or engine failure).
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }
}

/// What the statistics cannot know about the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMeta {
    pub status: RunStatus,
    /// Load model: `users` (closed) or `rate` (open), possibly with the arrival process.
    pub model: String,
    /// Human description of the shape (file name, stages, ...).
    pub shape: String,
    /// Target host.
    pub host: String,
}

/// min/mean/percentiles/max of one latency distribution, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct LatencySummary {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    #[serde(rename = "p99.9")]
    pub p99_9: f64,
    pub max: f64,
}

impl LatencySummary {
    /// Latency from the intended start; min, max and mean are exact, percentiles are
    /// clamped to them (the histogram reports bucket tops).
    pub fn latency(s: &RequestStats) -> Self {
        if s.count == 0 {
            return Self::default();
        }
        let (min, max) = (s.min_latency_us, s.max_latency_us);
        let p = |q: f64| round_ms(us_to_ms(clamped_percentile_us(&s.latency, min, max, q)));
        Self {
            min: round_ms(us_to_ms(min)),
            mean: round_ms(s.mean_latency_us() / 1000.0),
            p50: p(0.50),
            p90: p(0.90),
            p95: p(0.95),
            p99: p(0.99),
            p99_9: p(0.999),
            max: round_ms(us_to_ms(max)),
        }
    }

    /// Service time (send to response), from its histogram alone: values are within the
    /// histogram's 0.1% precision.
    pub fn service(s: &RequestStats) -> Self {
        let h = &s.service;
        if h.is_empty() {
            return Self::default();
        }
        let p = |q: f64| round_ms(us_to_ms(h.value_at_quantile(q)));
        Self {
            min: round_ms(us_to_ms(h.min())),
            mean: round_ms(h.mean() / 1000.0),
            p50: p(0.50),
            p90: p(0.90),
            p95: p(0.95),
            p99: p(0.99),
            p99_9: p(0.999),
            max: round_ms(us_to_ms(h.max())),
        }
    }

    /// `avg=.. min=.. med=.. p(90)=.. p(95)=.. p(99)=.. p(99.9)=.. max=..`, as k6 prints trends.
    pub fn render(&self) -> String {
        let d = |ms: f64| human_us(ms * 1000.0);
        format!(
            "avg={} min={} med={} p(90)={} p(95)={} p(99)={} p(99.9)={} max={}",
            d(self.mean),
            d(self.min),
            d(self.p50),
            d(self.p90),
            d(self.p95),
            d(self.p99),
            d(self.p99_9),
            d(self.max)
        )
    }
}

/// One request kind (`Type` + `Name` in Locust's terms).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestSummary {
    pub method: String,
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    pub error_rate: f64,
    pub rps: f64,
    pub latency_ms: LatencySummary,
    pub service_ms: LatencySummary,
    /// Responses with status 0 (no response) or ≥ 400.
    pub errors_by_status: BTreeMap<u16, u64>,
}

/// One failure kind, as in Locust's `_failures.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureSummary {
    pub method: String,
    pub name: String,
    pub error: String,
    pub occurrences: u64,
    /// Unix seconds.
    pub first_seen: f64,
    pub last_seen: f64,
}

/// The `--json FILE` document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub status: RunStatus,
    pub model: String,
    pub shape: String,
    pub host: String,
    /// Unix seconds.
    pub start_unix: f64,
    pub end_unix: f64,
    pub duration_secs: f64,
    pub requests: u64,
    pub failures: u64,
    /// failures / requests (0 when there were no requests).
    pub error_rate: f64,
    /// requests / duration.
    pub achieved_rps: f64,
    /// Arrivals the pacer scheduled (rate model; 0 in the users model).
    pub scheduled: u64,
    /// Arrivals sent later than the lateness threshold.
    pub late: u64,
    /// Arrivals that were due before the run stopped but never sent (pool saturated at the end).
    pub unsent: u64,
    pub peak_users: u64,
    pub bytes_received: u64,
    pub latency_ms: LatencySummary,
    pub service_ms: LatencySummary,
    pub per_request: Vec<RequestSummary>,
    /// All responses by status (0 = no response).
    pub responses_by_status: BTreeMap<u16, u64>,
    /// Responses with status 0 (no response) or ≥ 400.
    pub errors_by_status: BTreeMap<u16, u64>,
    pub failure_kinds: Vec<FailureSummary>,
    pub thresholds: Vec<ThresholdResult>,
    /// How late sends were against their intended times (rate model only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_lag_us: Option<SendLag>,
}

/// Pacer precision: actual send minus intended send time, µs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SendLag {
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

impl SendLag {
    pub fn from_histogram(h: &hdrhistogram::Histogram<u64>) -> Option<Self> {
        (!h.is_empty()).then(|| SendLag {
            p50: h.value_at_quantile(0.5),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        })
    }
}

/// Statuses that count as errors in the summary: no response, 4xx and 5xx.
fn error_statuses(s: &RequestStats) -> BTreeMap<u16, u64> {
    s.statuses.iter().filter(|(st, _)| **st == 0 || **st >= 400).map(|(st, n)| (*st, *n)).collect()
}

fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

fn per_sec(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

impl RunSummary {
    pub fn from_totals(
        totals: &RunTotals,
        meta: &RunMeta,
        thresholds: &[ThresholdResult],
    ) -> RunSummary {
        let secs = totals.elapsed_secs;
        let mut per_request: Vec<RequestSummary> = totals
            .keys
            .iter()
            .zip(&totals.per_request)
            .filter(|(_, s)| s.count > 0)
            .map(|(k, s)| RequestSummary {
                method: k.method.clone(),
                name: k.name.clone(),
                requests: s.count,
                failures: s.failures,
                error_rate: ratio(s.failures, s.count),
                rps: per_sec(s.count, secs),
                latency_ms: LatencySummary::latency(s),
                service_ms: LatencySummary::service(s),
                errors_by_status: error_statuses(s),
            })
            .collect();
        // Locust's order (by name, then method), so the JSON, CSV and HTML agree.
        per_request.sort_by(|a, b| (&a.name, &a.method).cmp(&(&b.name, &b.method)));
        let t = &totals.total;
        RunSummary {
            status: meta.status,
            model: meta.model.clone(),
            shape: meta.shape.clone(),
            host: meta.host.clone(),
            start_unix: totals.start_unix,
            end_unix: totals.start_unix + secs,
            duration_secs: secs,
            requests: t.count,
            failures: t.failures,
            error_rate: ratio(t.failures, t.count),
            achieved_rps: per_sec(t.count, secs),
            scheduled: totals.scheduled,
            late: totals.late,
            unsent: totals.unsent,
            peak_users: totals.peak_users,
            bytes_received: t.content_bytes,
            latency_ms: LatencySummary::latency(t),
            service_ms: LatencySummary::service(t),
            per_request,
            responses_by_status: t.statuses.clone(),
            errors_by_status: error_statuses(t),
            failure_kinds: totals
                .failures
                .iter()
                .map(|(k, c)| FailureSummary {
                    method: k.method.clone(),
                    name: k.name.clone(),
                    error: k.error.clone(),
                    occurrences: c.occurrences,
                    first_seen: c.first_seen,
                    last_seen: c.last_seen,
                })
                .collect(),
            thresholds: thresholds.to_vec(),
            send_lag_us: None,
        }
    }

    /// Writes the summary as pretty JSON.
    pub fn write_json(&self, path: &Path) -> Result<(), OutputError> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|source| OutputError::Json { path: path.to_path_buf(), source })?;
        write_atomic(path, &json)
    }

    /// True when every threshold passed (also when there are none).
    pub fn thresholds_passed(&self) -> bool {
        self.thresholds.iter().all(|t| t.passed)
    }

    /// The end-of-run text block, k6 style: dot-padded labels and aligned values.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, indent: usize, label: &str, value: &str| {
            // The label column ends at column 22 whatever the indent, so nested lines align.
            let width = 22usize.saturating_sub(indent);
            let _ = writeln!(out, "{:indent$}{label:.<width$}: {value}", "");
        };
        line(&mut out, 2, "status", self.status.as_str());
        line(&mut out, 2, "model", &self.model);
        if !self.shape.is_empty() {
            line(&mut out, 2, "shape", &self.shape);
        }
        line(&mut out, 2, "host", &self.host);
        line(&mut out, 2, "duration", &human_secs(self.duration_secs));
        line(
            &mut out,
            2,
            "http_reqs",
            &format!("{:<8} {}/s", self.requests, trim_decimals(self.achieved_rps, 1)),
        );
        let failed =
            format!("{:<8} {} of {}", percent(self.error_rate), self.failures, self.requests);
        line(&mut out, 2, "http_req_failed", &failed);
        line(&mut out, 2, "latency", &self.latency_ms.render());
        line(&mut out, 2, "service_time", &self.service_ms.render());
        if self.scheduled > 0 || self.late > 0 {
            let late = format!(
                "{:<8} late={} ({}) unsent={}",
                self.scheduled,
                self.late,
                percent(ratio(self.late, self.scheduled)),
                self.unsent
            );
            line(&mut out, 2, "scheduled", &late);
        }
        if let Some(lag) = &self.send_lag_us {
            let text = format!("p50={}µs p99={}µs max={}µs", lag.p50, lag.p99, lag.max);
            line(&mut out, 2, "send_lag", &text);
        }
        line(&mut out, 2, "peak_users", &self.peak_users.to_string());
        line(&mut out, 2, "data_received", &human_bytes(self.bytes_received));
        if !self.errors_by_status.is_empty() {
            line(&mut out, 2, "errors", &render_statuses(&self.errors_by_status));
        }
        for r in &self.per_request {
            let _ = writeln!(out, "\n  {} {}", r.method, r.name);
            line(
                &mut out,
                4,
                "http_reqs",
                &format!("{:<8} {}/s", r.requests, trim_decimals(r.rps, 1)),
            );
            line(
                &mut out,
                4,
                "http_req_failed",
                &format!("{:<8} {} of {}", percent(r.error_rate), r.failures, r.requests),
            );
            line(&mut out, 4, "latency", &r.latency_ms.render());
            line(&mut out, 4, "service_time", &r.service_ms.render());
            if !r.errors_by_status.is_empty() {
                line(&mut out, 4, "errors", &render_statuses(&r.errors_by_status));
            }
        }
        if !self.thresholds.is_empty() {
            let _ = writeln!(out, "\n  thresholds");
            let width = self.thresholds.iter().map(|t| t.expr.chars().count()).max().unwrap_or(0);
            for t in &self.thresholds {
                let mark = if t.passed { '✓' } else { '✗' };
                let _ = writeln!(out, "    {mark} {:<width$}  observed {}", t.expr, t.observed);
            }
        }
        out
    }
}

fn percent(fraction: f64) -> String {
    format!("{}%", trim_decimals(fraction * 100.0, 2))
}

fn render_statuses(statuses: &BTreeMap<u16, u64>) -> String {
    let parts: Vec<String> = statuses
        .iter()
        .map(|(st, n)| if *st == 0 { format!("no-response={n}") } else { format!("{st}={n}") })
        .collect();
    parts.join(" ")
}

/// `42.5s` below a minute, `2m 30s` above (humantime, whole seconds).
fn human_secs(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "0s".into();
    }
    if secs < 60.0 {
        format!("{}s", trim_decimals(secs, 1))
    } else {
        humantime::format_duration(std::time::Duration::from_secs(secs.round() as u64)).to_string()
    }
}

/// Decimal units, as k6 prints `data_received`.
fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if b < 1000 {
        return format!("{b} B");
    }
    let mut v = b as f64;
    let mut unit = "B";
    for u in UNITS {
        if v < 1000.0 {
            break;
        }
        v /= 1000.0;
        unit = u;
    }
    format!("{} {unit}", trim_decimals(v, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::output::test_util::{temp_dir, totals};
    use crate::load::output::threshold::Threshold;

    fn meta() -> RunMeta {
        RunMeta {
            status: RunStatus::Completed,
            model: "rate".into(),
            shape: "sin400.csv (poisson)".into(),
            host: "http://localhost:8080".into(),
        }
    }

    fn summary() -> RunSummary {
        let t = totals();
        let th: Vec<ThresholdResult> = ["p95<500ms", "error_rate<1%"]
            .iter()
            .map(|s| s.parse::<Threshold>().expect("valid").evaluate(&t))
            .collect();
        RunSummary::from_totals(&t, &meta(), &th)
    }

    #[test]
    fn from_totals_numbers() {
        let s = summary();
        assert_eq!((s.requests, s.failures, s.duration_secs), (5, 1, 2.0));
        assert_eq!(s.error_rate, 0.2);
        assert_eq!(s.achieved_rps, 2.5);
        assert_eq!(s.latency_ms.min, 1.5);
        assert_eq!(s.latency_ms.max, 120.0);
        assert_eq!(s.latency_ms.mean, 50.8);
        // Service is half the latency in the fixture; within the histogram's precision.
        assert!((s.service_ms.max - 60.0).abs() < 0.1, "{:?}", s.service_ms);
        assert_eq!(s.errors_by_status, BTreeMap::from([(500, 1)]));
        assert_eq!(s.per_request.len(), 2, "the never-requested kind is left out");
        assert_eq!(s.per_request[0].name, "/hotels");
        assert_eq!(s.failure_kinds[0].error, "HTTP 500");
        assert_eq!((s.late, s.scheduled, s.peak_users), (1, 5, 4));
        assert!(!s.thresholds_passed());
    }

    #[test]
    fn json_round_trip() {
        let dir = temp_dir("summary-json");
        let path = dir.join("run.json");
        summary().write_json(&path).expect("write");
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        assert_eq!(v["status"], "completed");
        assert_eq!(v["requests"], 5);
        assert_eq!(v["latency_ms"]["p99.9"], 120.0);
        assert_eq!(v["errors_by_status"]["500"], 1);
        assert_eq!(v["thresholds"][1]["passed"], false);
        assert_eq!(v["per_request"][1]["method"], "POST");
    }

    #[test]
    fn text_block() {
        let text = summary().render_text();
        assert!(text.contains("  http_reqs...........: 5        2.5/s\n"), "{text}");
        assert!(text.contains("  http_req_failed.....: 20%      1 of 5\n"), "{text}");
        assert!(text.contains("  latency.............: avg=50.8ms min=1.5ms med="), "{text}");
        assert!(text.contains("max=120ms\n"), "{text}");
        assert!(
            text.contains("  scheduled...........: 5        late=1 (20%) unsent=0\n"),
            "{text}"
        );
        assert!(text.contains("  errors..............: 500=1\n"), "{text}");
        assert!(text.contains("    ✓ p95<500ms      observed 120ms\n"), "{text}");
        assert!(text.contains("    ✗ error_rate<1%  observed 20%\n"), "{text}");
        assert!(text.contains("\n  GET /hotels\n    http_reqs.........: 3 "), "{text}");
    }

    #[test]
    fn helpers() {
        assert_eq!(human_bytes(950), "950 B");
        assert_eq!(human_bytes(1_260_000), "1.3 MB");
        assert_eq!(human_secs(42.46), "42.5s");
        assert_eq!(human_secs(150.0), "2m 30s");
    }
}
