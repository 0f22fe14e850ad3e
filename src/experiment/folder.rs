//! The run folder, `runs/<label>-<YYYYmmdd-HHMMSS>/`, and the files the campaign itself
//! writes there: `scenario.resolved.yaml` (at the start) and `seconds.csv` (the per-second
//! campaign timeline, at the end). The Locust CSVs, `control.csv` and the JSON-lines files
//! come from their own modules' writers; `summary.json` and `report.html` from `summary` and
//! `report`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::record::SecondPoint;
use super::scenario::{Scenario, SloSpec};
use super::summary::violates;
use super::timeline::Timeline;

/// Names of the files in a run folder.
pub const RESOLVED: &str = "scenario.resolved.yaml";
pub const SECONDS: &str = "seconds.csv";
pub const SUMMARY: &str = "summary.json";
pub const REPORT: &str = "report.html";
/// Prefix of the Locust CSVs (`locust_stats.csv`, `locust_stats_history.csv`, ...).
pub const LOCUST_PREFIX: &str = "locust";
pub const CONTROL: &str = "control.csv";
pub const ANOMALIES: &str = "anomalies.jsonl";
pub const EVENTS: &str = "events.jsonl";

/// `seconds.csv`'s header.
pub const SECONDS_HEADER: &str = "second,unix_time,phase,window,target,users,requests,failures,\
p50_ms,p95_ms,p99_ms,slo_ms,slo_violated";

/// Creates `<runs>/<label>-<YYYYmmdd-HHMMSS>` (UTC), adding `-2`, `-3`, ... if it exists.
pub fn create(runs: &Path, label: &str, unix: f64) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(runs)?;
    let stamp = timestamp(unix);
    for n in 1..1000 {
        let name = if n == 1 { format!("{label}-{stamp}") } else { format!("{label}-{stamp}-{n}") };
        let dir = runs.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!("too many runs of {label} at {stamp}")))
}

/// `YYYYmmdd-HHMMSS` in UTC.
pub fn timestamp(unix: f64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0.0) as u64);
    // RFC 3339 is `YYYY-MM-DDTHH:MM:SSZ`; keep the digits.
    let iso = humantime::format_rfc3339_seconds(t).to_string();
    let digits: String = iso.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 14 { format!("{}-{}", &digits[..8], &digits[8..14]) } else { digits }
}

/// `scenario.resolved.yaml`: the scenario as it runs, defaults filled in.
pub fn write_resolved(dir: &Path, source: &str, scenario: &Scenario) -> std::io::Result<()> {
    let yaml = serde_yaml::to_string(scenario).map_err(std::io::Error::other)?;
    let text = format!(
        "# {source}, resolved by ctl {}: every default filled in, every phase window set.\n{yaml}",
        env!("CARGO_PKG_VERSION")
    );
    std::fs::write(dir.join(RESOLVED), text)
}

/// `seconds.csv`: one row per second of load with its phase and window
/// (`stabilisation` / `measurement`) and whether it violated the SLO.
pub fn seconds_csv(seconds: &[SecondPoint], timeline: &Timeline, slo: &SloSpec) -> String {
    let mut out = String::with_capacity(64 * (seconds.len() + 1));
    out.push_str(SECONDS_HEADER);
    out.push('\n');
    for s in seconds {
        let mid = s.second as f64 + 0.5;
        let (phase, window) = match timeline.phase_at(mid) {
            Some(i) => {
                let p = &timeline.phases[i];
                let window = if mid >= p.end {
                    "after"
                } else if mid >= p.measure_start {
                    "measurement"
                } else {
                    "stabilisation"
                };
                (p.name.as_str(), window)
            }
            None => ("", ""),
        };
        let violated = window == "measurement" && violates(slo, s.requests, s.failures, s.slo_ms);
        let _ = writeln!(
            out,
            "{},{},{phase},{window},{},{},{},{},{},{},{},{},{}",
            s.second,
            s.unix_time,
            s.target,
            s.users,
            s.requests,
            s.failures,
            s.p50_ms,
            s.p95_ms,
            s.p99_ms,
            s.slo_ms,
            u8::from(violated)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_digits() {
        assert_eq!(timestamp(1_700_000_000.9), "20231114-221320");
    }

    #[test]
    fn run_folders_never_collide() {
        let runs = std::env::temp_dir().join(format!("ctl-folder-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&runs);
        let a = create(&runs, "x", 1_700_000_000.0).unwrap();
        let b = create(&runs, "x", 1_700_000_000.0).unwrap();
        assert!(a.ends_with("x-20231114-221320"));
        assert!(b.ends_with("x-20231114-221320-2"));
        let _ = std::fs::remove_dir_all(&runs);
    }
}
