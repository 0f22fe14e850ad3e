//! `summary.json`: per phase, what its measurement window saw: SLO violation seconds,
//! latency percentiles, error rate, cost (replica-seconds and CPU-seconds), scaling actions
//! and anomalies. Computed from the [`Recording`] only, with rules simple enough to recompute
//! from the run folder's CSVs:
//!
//! - a second `n` (campaign time `[n, n+1)`) is measured when its midpoint lies in the
//!   phase's measurement window;
//! - a measured second violates the SLO when it had requests and its SLO percentile latency
//!   was at or above the SLO latency, or its error share exceeded `max_error_rate`;
//! - an interval record taken at `t` in the measurement window stands for
//!   `[t, t + length)`: replica-seconds add `replicas x length`, CPU-seconds
//!   `cpu_millicores / 1000 x length`;
//! - scaling actions and anomalies are counted over the whole phase (stabilisation too: what
//!   the controller did to get there is part of its cost).

use std::path::Path;

use serde::Serialize;

use super::record::{MarkKind, Recording};
use super::scenario::SloSpec;
use super::timeline::Timeline;
use crate::load::output::LatencySummary;

#[derive(Debug, Clone, Serialize)]
pub struct CampaignSummary {
    pub label: String,
    pub scenario: String,
    /// `completed` or `interrupted`.
    pub status: &'static str,
    pub start_unix: f64,
    /// Campaign seconds the load ran.
    pub duration_s: f64,
    pub planned_duration_s: f64,
    pub slo: SloSummary,
    pub phases: Vec<PhaseSummary>,
    /// True when the scenario asks to fail on the SLO (`slo.fail_run`) and a phase did.
    pub slo_failed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SloSummary {
    pub percentile: u8,
    pub latency_ms: f64,
    pub max_error_rate: Option<f64>,
    pub fail_run: bool,
    pub max_violation: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseSummary {
    pub name: String,
    /// `completed`, `interrupted` or `not_started`.
    pub status: &'static str,
    pub control: bool,
    pub policy: Option<&'static str>,
    pub start_s: f64,
    pub measure_start_s: f64,
    pub end_s: f64,
    pub measured_seconds: u64,
    pub slo_violation_seconds: u64,
    /// Violation seconds over measured seconds (0 when nothing was measured).
    pub slo_violation_share: f64,
    /// True when `slo_violation_share` is within `slo.max_violation`.
    pub slo_met: bool,
    pub requests: u64,
    pub failures: u64,
    pub error_rate: f64,
    pub latency_ms: LatencySummary,
    pub replica_seconds: f64,
    pub cpu_seconds: f64,
    pub mean_replicas: f64,
    pub scaling_actions: u64,
    pub anomalies: u64,
}

/// Whether second `n` is in the measurement window `[from, to)`.
pub fn measured(n: u64, from: f64, to: f64) -> bool {
    let mid = n as f64 + 0.5;
    mid >= from && mid < to
}

/// Whether a second violates the SLO.
pub fn violates(slo: &SloSpec, requests: u64, failures: u64, slo_ms: f64) -> bool {
    if requests == 0 {
        return false;
    }
    let slow = slo_ms >= slo.latency.secs() * 1000.0;
    let failing = slo.max_error_rate.is_some_and(|max| failures as f64 / requests as f64 > max);
    slow || failing
}

impl CampaignSummary {
    pub fn compute(
        label: &str,
        scenario: &str,
        slo: &SloSpec,
        timeline: &Timeline,
        rec: &Recording,
    ) -> Self {
        let phases: Vec<PhaseSummary> = timeline
            .phases
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let status = if rec.stopped_at >= p.end - 1e-6 {
                    "completed"
                } else if rec.stopped_at > p.start || i == 0 {
                    "interrupted"
                } else {
                    "not_started"
                };
                let seconds: Vec<_> = rec
                    .seconds
                    .iter()
                    .filter(|s| measured(s.second, p.measure_start, p.end))
                    .collect();
                let requests: u64 = seconds.iter().map(|s| s.requests).sum();
                let failures: u64 = seconds.iter().map(|s| s.failures).sum();
                let violations = seconds
                    .iter()
                    .filter(|s| violates(slo, s.requests, s.failures, s.slo_ms))
                    .count() as u64;
                let measured_seconds = seconds.len() as u64;
                let share = if measured_seconds == 0 {
                    0.0
                } else {
                    violations as f64 / measured_seconds as f64
                };
                let (mut replica_seconds, mut cpu_seconds, mut covered) = (0.0, 0.0, 0.0);
                for r in rec.intervals.iter().filter(|r| r.t >= p.measure_start && r.t < p.end) {
                    covered += r.length;
                    for d in &r.deployments {
                        replica_seconds += f64::from(d.replicas) * r.length;
                        cpu_seconds += d.cpu_millicores.unwrap_or(0.0) / 1000.0 * r.length;
                    }
                }
                let in_phase = |t: f64| t >= p.start && t < p.end;
                let count = |kind: MarkKind| {
                    rec.marks.iter().filter(|m| m.kind == kind && in_phase(m.t)).count() as u64
                };
                let latency =
                    rec.phase_latency.get(i).map(LatencySummary::latency).unwrap_or_default();
                PhaseSummary {
                    name: p.name.clone(),
                    status,
                    control: p.control,
                    policy: p.policy.map(|p| p.as_str()),
                    start_s: p.start,
                    measure_start_s: p.measure_start,
                    end_s: p.end,
                    measured_seconds,
                    slo_violation_seconds: violations,
                    slo_violation_share: round6(share),
                    slo_met: share <= slo.max_violation + 1e-12,
                    requests,
                    failures,
                    error_rate: if requests == 0 {
                        0.0
                    } else {
                        round6(failures as f64 / requests as f64)
                    },
                    latency_ms: latency,
                    replica_seconds: round6(replica_seconds),
                    cpu_seconds: round6(cpu_seconds),
                    mean_replicas: if covered > 0.0 {
                        round6(replica_seconds / covered)
                    } else {
                        0.0
                    },
                    scaling_actions: count(MarkKind::Scale),
                    anomalies: count(MarkKind::Anomaly),
                }
            })
            .collect();
        let slo_failed = slo.fail_run
            && phases
                .iter()
                .any(|p| p.status != "not_started" && p.measured_seconds > 0 && !p.slo_met);
        Self {
            label: label.to_string(),
            scenario: scenario.to_string(),
            status: if rec.interrupted { "interrupted" } else { "completed" },
            start_unix: rec.origin_unix.unwrap_or(0.0),
            duration_s: round6(rec.stopped_at),
            planned_duration_s: timeline.duration(),
            slo: SloSummary {
                percentile: slo.percentile,
                latency_ms: slo.latency.secs() * 1000.0,
                max_error_rate: slo.max_error_rate,
                fail_run: slo.fail_run,
                max_violation: slo.max_violation,
            },
            phases,
            slo_failed,
        }
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, text + "\n")
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::record::{DeploymentSample, IntervalRecord, Mark, SecondPoint};
    use crate::experiment::scenario::{Dur, PolicyName};
    use crate::experiment::timeline::Phase;
    use crate::load::stats::RequestStats;
    use std::time::Duration;

    fn second(n: u64, requests: u64, failures: u64, slo_ms: f64) -> SecondPoint {
        SecondPoint {
            second: n,
            unix_time: 1000 + n,
            target: 1.0,
            users: 1,
            requests,
            failures,
            p50_ms: slo_ms / 2.0,
            p95_ms: slo_ms,
            p99_ms: slo_ms,
            slo_ms,
        }
    }

    fn timeline() -> Timeline {
        let phase = |name: &str, start: f64, control: bool| Phase {
            name: name.into(),
            start,
            measure_start: start + 2.0,
            end: start + 6.0,
            control,
            policy: Some(PolicyName::Hpa),
        };
        Timeline {
            phases: vec![phase("baseline", 0.0, false), phase("adaptation", 6.0, true)],
            stress: vec![],
            interval: Some(2.0),
        }
    }

    fn interval(t: f64, phase: usize, replicas: u32, cpu: f64) -> IntervalRecord {
        IntervalRecord {
            t,
            length: 2.0,
            phase,
            deployments: vec![DeploymentSample {
                name: "frontend".into(),
                replicas,
                ready: replicas,
                cpu_millicores: Some(cpu),
                memory_mib: Some(10.0),
                desired: None,
                applied: None,
            }],
            anomalies: 0,
        }
    }

    #[test]
    fn phases_count_only_their_measurement_windows() {
        let slo = SloSpec {
            latency: Dur(Duration::from_millis(100)),
            max_error_rate: Some(0.5),
            ..SloSpec::default()
        };
        let mut rec = Recording {
            seconds: (0..12)
                .map(|n| match n {
                    // Stabilisation of the baseline: slow, but not measured.
                    0 | 1 => second(n, 10, 0, 500.0),
                    // Measured baseline: one slow second, one failing one.
                    3 => second(n, 10, 0, 100.0),
                    4 => second(n, 10, 6, 5.0),
                    // A second without requests is no violation.
                    5 => second(n, 0, 0, 0.0),
                    _ => second(n, 10, 1, 50.0),
                })
                .collect(),
            intervals: vec![
                interval(0.0, 0, 1, 100.0),
                interval(2.0, 0, 1, 100.0),
                interval(4.0, 0, 1, 300.0),
                interval(8.0, 1, 2, 100.0),
                interval(10.0, 1, 3, 100.0),
            ],
            marks: vec![
                Mark { t: 7.0, kind: MarkKind::Scale, text: "1 -> 2".into() },
                Mark { t: 9.0, kind: MarkKind::Scale, text: "2 -> 3".into() },
                Mark { t: 9.5, kind: MarkKind::Anomaly, text: "x".into() },
            ],
            origin_unix: Some(1000.0),
            stopped_at: 12.0,
            ..Recording::default()
        };
        let mut lat = RequestStats::default();
        lat.record(1000, 1000, 200, true, 0);
        rec.phase_latency = vec![lat.clone(), lat];
        let s = CampaignSummary::compute("t", "t.yaml", &slo, &timeline(), &rec);
        assert_eq!(s.status, "completed");
        let (b, a) = (&s.phases[0], &s.phases[1]);
        assert_eq!((b.measured_seconds, b.slo_violation_seconds), (4, 2));
        assert_eq!((b.requests, b.failures), (30, 7));
        assert_eq!(b.replica_seconds, 4.0);
        assert_eq!(b.cpu_seconds, 0.8);
        assert_eq!(b.scaling_actions, 0);
        assert_eq!((a.measured_seconds, a.slo_violation_seconds), (4, 0));
        assert_eq!(a.replica_seconds, 10.0);
        assert_eq!(a.mean_replicas, 2.5);
        assert_eq!((a.scaling_actions, a.anomalies), (2, 1));
        assert_eq!(a.error_rate, 0.1);
        assert_eq!(a.latency_ms.p95, 1.0);
        assert!(!b.slo_met && a.slo_met);
        assert!(!s.slo_failed, "fail_run is off");
    }

    #[test]
    fn interrupted_campaigns_mark_their_phases() {
        let slo = SloSpec { fail_run: true, ..SloSpec::default() };
        let rec = Recording {
            seconds: (0..4).map(|n| second(n, 10, 0, 500.0)).collect(),
            stopped_at: 4.0,
            interrupted: true,
            ..Recording::default()
        };
        let s = CampaignSummary::compute("t", "t.yaml", &slo, &timeline(), &rec);
        assert_eq!(s.status, "interrupted");
        assert_eq!(s.phases[0].status, "interrupted");
        assert_eq!(s.phases[1].status, "not_started");
        assert_eq!(s.phases[0].slo_violation_seconds, 2);
        assert!(s.slo_failed);
    }
}
