//! What a campaign records while it runs, in the forms the summary and the report read:
//! one [`SecondPoint`] per second of load, one [`IntervalRecord`] per controller interval,
//! and the [`Mark`]s (phase changes, stress starts and stops, scaling actions, anomalies).
//! Plain data; times are campaign seconds (0 = the load's start).

use serde::Serialize;

pub(crate) use crate::load::output::html::percentile_ms;
use crate::load::stats::{RequestStats, SecondStats};

/// One second of load, as the summary and the report need it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecondPoint {
    /// Covers campaign time [second, second + 1).
    pub second: u64,
    /// Unix time at the end of this second.
    pub unix_time: u64,
    pub target: f64,
    pub users: u64,
    pub requests: u64,
    pub failures: u64,
    /// Latency from the intended start over this second, ms (0 without requests).
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// The SLO's percentile (one of the above, or p90).
    pub slo_ms: f64,
}

impl SecondPoint {
    pub fn from_second(s: &SecondStats, slo_percentile: u8) -> Self {
        let t = &s.total;
        Self {
            second: s.second,
            unix_time: s.unix_time,
            target: s.target,
            users: s.users,
            requests: t.count,
            failures: t.failures,
            p50_ms: percentile_ms(t, 50.0),
            p95_ms: percentile_ms(t, 95.0),
            p99_ms: percentile_ms(t, 99.0),
            slo_ms: percentile_ms(t, f64::from(slo_percentile)),
        }
    }
}

/// One deployment in one controller interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploymentSample {
    pub name: String,
    /// `spec.replicas` when observed.
    pub replicas: u32,
    pub ready: u32,
    /// Summed over the deployment's pods (None: the metric source had no sample).
    pub cpu_millicores: Option<f64>,
    pub memory_mib: Option<f64>,
    /// What the policy wanted and what was applied (None: nothing was scaled).
    pub desired: Option<u32>,
    pub applied: Option<u32>,
}

/// One controller interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalRecord {
    /// Campaign seconds when the interval's observation was taken.
    pub t: f64,
    /// The interval's length, seconds (its samples stand for [t, t + length)).
    pub length: f64,
    pub phase: usize,
    pub deployments: Vec<DeploymentSample>,
    pub anomalies: u32,
}

/// Something to mark on the report's charts and count in the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mark {
    pub t: f64,
    pub kind: MarkKind,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkKind {
    PhaseStart,
    StressStart,
    StressStop,
    Scale,
    Anomaly,
    Error,
}

/// Everything recorded during one campaign.
#[derive(Debug, Default)]
pub struct Recording {
    pub seconds: Vec<SecondPoint>,
    /// Latency of the measured seconds, per phase (merged online: no per-second histograms
    /// are kept).
    pub phase_latency: Vec<RequestStats>,
    pub intervals: Vec<IntervalRecord>,
    pub marks: Vec<Mark>,
    /// Unix time of campaign second 0 (the load's start), once known.
    pub origin_unix: Option<f64>,
    /// Campaign seconds reached when the campaign stopped.
    pub stopped_at: f64,
    pub interrupted: bool,
}
