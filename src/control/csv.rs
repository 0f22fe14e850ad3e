//! `control.csv`: one row per target per interval. Seed 004's 25 columns first, in its order
//! (`timestamp` ... `applied_by`), then ctl's. Empty cells are "not known"; text is quoted
//! per RFC 4180 when it holds a comma, quote or newline.

use std::io::Write;

use super::record::DeploymentRecord;
use crate::policy::hpa::history::format_time;

/// Seed 004's columns, in its order.
pub const SEED_COLUMNS: [&str; 25] = [
    "timestamp",
    "mode",
    "current_replicas",
    "ready_replicas",
    "cpu_millicores",
    "memory_mebibytes",
    "cpu_request_millicores",
    "memory_request_mebibytes",
    "pod_count",
    "hpa_sim_desired",
    "hpa_sim_raw_desired",
    "hpa_sim_cpu_desired",
    "hpa_sim_mem_desired",
    "hpa_sim_action",
    "hpa_sim_cpu_ratio",
    "hpa_sim_mem_ratio",
    "hpa_current_replicas",
    "hpa_desired_replicas",
    "ai_recommended_replicas",
    "ai_predicted_cpu_millicores",
    "ai_predicted_memory_mebibytes",
    "ai_confidence",
    "ai_reasoning",
    "applied_replicas",
    "applied_by",
];

/// ctl's columns, after the seed's.
pub const CTL_COLUMNS: [&str; 17] = [
    "deployment",
    "policy",
    "desired_by_policy",
    "guard_reason",
    "anomalies",
    "p95_ms",
    "rps",
    "errors",
    "p50_ms",
    "p99_ms",
    "kpa_desired",
    "restarts",
    "oom_killed",
    "valid",
    "unix_time",
    "reason",
    "cpu_total_millicores",
];

/// The header line (without the newline).
pub fn header() -> String {
    SEED_COLUMNS.iter().chain(CTL_COLUMNS.iter()).copied().collect::<Vec<_>>().join(",")
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.filter(|x| x.is_finite()).map_or(String::new(), |x| format!("{x:.decimals$}"))
}

fn int(v: Option<u32>) -> String {
    v.map_or(String::new(), |x| x.to_string())
}

/// Quotes a text cell when it needs it.
pub fn text(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One row (without the newline).
pub fn row(r: &DeploymentRecord) -> String {
    let cells = [
        format_time(r.time),
        r.mode.clone(),
        r.current_replicas.to_string(),
        r.ready_replicas.to_string(),
        num(r.cpu_millicores, 2),
        num(r.memory_mebibytes, 2),
        num(r.cpu_request_millicores, 2),
        num(r.memory_request_mebibytes, 2),
        r.pod_count.to_string(),
        int(r.hpa_sim_desired),
        int(r.hpa_sim_raw_desired),
        int(r.hpa_sim_cpu_desired),
        int(r.hpa_sim_mem_desired),
        r.hpa_sim_action.clone().unwrap_or_default(),
        num(r.hpa_sim_cpu_ratio, 4),
        num(r.hpa_sim_mem_ratio, 4),
        int(r.hpa_current_replicas),
        int(r.hpa_desired_replicas),
        int(r.ai_recommended_replicas),
        num(r.ai_predicted_cpu_millicores, 2),
        num(r.ai_predicted_memory_mebibytes, 2),
        num(r.ai_confidence, 2),
        text(r.ai_reasoning.as_deref().unwrap_or("")),
        r.applied_replicas.to_string(),
        r.applied_by.clone(),
        text(&r.deployment),
        r.policy.clone(),
        int(r.desired_by_policy),
        text(r.guard_reason.as_deref().unwrap_or("")),
        r.anomalies.to_string(),
        num(r.p95_ms, 3),
        num(r.rps, 3),
        num(r.errors, 4),
        num(r.p50_ms, 3),
        num(r.p99_ms, 3),
        int(r.kpa_desired),
        num(r.restarts, 0),
        int(r.oom_killed),
        r.valid.to_string(),
        format!("{:.3}", r.time),
        text(&r.reason),
        num(r.cpu_total_millicores, 2),
    ];
    cells.join(",")
}

/// Writes rows and flushes after each interval, so a stopped run leaves whole rows.
pub struct CsvWriter<W: Write> {
    out: W,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(mut out: W) -> std::io::Result<Self> {
        writeln!(out, "{}", header())?;
        out.flush()?;
        Ok(CsvWriter { out })
    }

    pub fn write(&mut self, rows: &[DeploymentRecord]) -> std::io::Result<()> {
        for r in rows {
            writeln!(self.out, "{}", row(r))?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_row_have_the_same_width_and_quote_text() {
        let width = header().split(',').count();
        assert_eq!(width, 42);
        let r = DeploymentRecord {
            reason: "a, \"b\"".into(),
            cpu_total_millicores: Some(12.345),
            cpu_millicores: Some(f64::NAN),
            ..DeploymentRecord::default()
        };
        let line = row(&r);
        assert!(line.ends_with(",\"a, \"\"b\"\"\",12.35"), "{line}");
        // The quoted cell holds one comma: width + 1 raw commas.
        assert_eq!(line.split(',').count(), width + 1);
        assert_eq!(line.split(',').nth(4), Some(""), "NaN is an empty cell");
    }
}
