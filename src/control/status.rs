//! The one-line progress report `ctl control` prints on stderr after each interval: elapsed
//! time, then per target its replicas (`3->4` when it changed), who decided, CPU per pod,
//! p95 and request rate, or why replicas were held; many targets are summarised in counts.

use std::fmt::Write;

use super::record::{DeploymentRecord, IntervalRecord};

/// Above this many targets the line gives counts instead of one entry per target.
const MAX_LISTED: usize = 4;

fn mmss(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{:02}:{:02}", s / 60, s % 60)
}

fn target(d: &DeploymentRecord) -> String {
    let mut out = d.deployment.clone();
    if d.applied_replicas == d.current_replicas {
        let _ = write!(out, " {}", d.current_replicas);
    } else {
        let _ = write!(out, " {}->{}", d.current_replicas, d.applied_replicas);
    }
    if !d.valid {
        let why = d.guard_reason.as_deref().unwrap_or("held");
        let _ = write!(out, " ({})", why.chars().take(80).collect::<String>());
        return out;
    }
    if let Some(want) = d.desired_by_policy.filter(|w| *w != d.applied_replicas) {
        let _ = write!(out, " (wants {want})");
    }
    if let Some(c) = d.cpu_millicores {
        let _ = write!(out, " cpu {c:.0}m");
    }
    if let Some(p) = d.p95_ms {
        let _ = write!(out, " p95 {p:.0}ms");
    }
    if let Some(r) = d.rps {
        let _ = write!(out, " {r:.1} rps");
    }
    out
}

/// The status line of `record`, `elapsed` seconds into the run.
pub fn status_line(record: &IntervalRecord, elapsed: f64) -> String {
    let mut line = format!("[{}]", mmss(elapsed));
    let ds = &record.deployments;
    if ds.is_empty() {
        line.push_str(" no targets");
    } else if ds.len() <= MAX_LISTED {
        let parts: Vec<String> = ds.iter().map(target).collect();
        let _ = write!(line, " {}", parts.join("; "));
    } else {
        let scaled = ds.iter().filter(|d| d.applied_replicas != d.current_replicas).count();
        let held = ds.iter().filter(|d| !d.valid).count();
        let replicas: u64 = ds.iter().map(|d| u64::from(d.applied_replicas)).sum();
        let _ = write!(
            line,
            " {} targets, {replicas} replicas: {scaled} scaled, {held} held",
            ds.len()
        );
    }
    let anomalies = record.anomalies.iter().filter(|a| a.state != "cleared").count();
    if anomalies > 0 {
        let _ = write!(line, " | {anomalies} anomal{}", if anomalies == 1 { "y" } else { "ies" });
    }
    if let Some(e) = &record.metrics_error {
        let _ = write!(line, " | metrics: {}", e.chars().take(120).collect::<String>());
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, current: u32, applied: u32) -> DeploymentRecord {
        DeploymentRecord {
            deployment: name.into(),
            current_replicas: current,
            applied_replicas: applied,
            valid: true,
            ..DeploymentRecord::default()
        }
    }

    #[test]
    fn lists_few_targets_and_counts_many() {
        let mut web = row("web", 3, 4);
        web.cpu_millicores = Some(180.4);
        web.p95_ms = Some(45.2);
        web.rps = Some(20.0);
        let mut db = row("db", 2, 2);
        db.valid = false;
        db.guard_reason = Some("held: metrics: refused".into());
        let r = IntervalRecord {
            deployments: vec![web, db],
            metrics_error: Some("scrape: refused".into()),
            ..IntervalRecord::default()
        };
        assert_eq!(
            status_line(&r, 75.0),
            "[01:15] web 3->4 cpu 180m p95 45ms 20.0 rps; db 2 (held: metrics: refused) \
             | metrics: scrape: refused"
        );
        let many = IntervalRecord {
            deployments: (0..6).map(|i| row("d", 1, if i == 0 { 2 } else { 1 })).collect(),
            ..IntervalRecord::default()
        };
        assert_eq!(status_line(&many, 5.0), "[00:05] 6 targets, 7 replicas: 1 scaled, 0 held");
    }
}
