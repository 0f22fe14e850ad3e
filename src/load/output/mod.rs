//! Result writers of `ctl load`: everything that turns the recorder's statistics
//! (`load::stats`) into files or text for people and other tools.
//!
//! - [`locust`]: Locust-compatible `--csv PREFIX` files.
//! - [`summary`]: the end-of-run summary (`--json FILE` and the k6-like text block).
//! - [`hdr`]: the wrk2 / HdrHistogram "Detailed Percentile spectrum" text file.
//! - [`threshold`]: `--threshold` expressions and their evaluation.
//! - [`html`]: the self-contained HTML report.
//!
//! This module owns the shared error type; formatting helpers live in `fmt`.

use std::path::{Path, PathBuf};

pub(crate) mod chart;
pub(crate) mod fmt;
pub mod hdr;
pub mod html;
pub mod locust;
pub mod summary;
pub mod threshold;

pub use hdr::write_percentile_spectrum;
pub use html::{SecondRow, write_html_report};
pub use locust::LocustCsvWriter;
pub use summary::{LatencySummary, RunMeta, RunStatus, RunSummary, SendLag};
pub use threshold::{Threshold, ThresholdError, ThresholdResult};

/// Why an output file could not be written. Every variant names the file, because a run
/// usually writes several and "permission denied" alone does not say which one failed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialize {}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl OutputError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_path_buf(), source }
    }
}

/// Latency percentile `q` (0..=1) in µs from `hist`, clamped to the exact `min`/`max`
/// (`RequestStats` keeps them exact; the histogram reports bucket tops, which can exceed
/// the largest value really seen). `q >= 1` is the exact max. Never panics, even on
/// inconsistent bounds.
pub(crate) fn clamped_percentile_us(
    hist: &hdrhistogram::Histogram<u64>,
    min: u64,
    max: u64,
    q: f64,
) -> u64 {
    if q >= 1.0 { max } else { hist.value_at_quantile(q).max(min).min(max.max(min)) }
}

/// Writes `contents` to `path` through a sibling temporary file and a rename, so a reader
/// (a dashboard tailing the run, or a controller polling `_stats.csv`) never sees a
/// half-written file.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), OutputError> {
    let mut tmp_name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, contents).map_err(|e| OutputError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        // Leave nothing behind when the target cannot be replaced (e.g. it is a directory).
        let _ = std::fs::remove_file(&tmp);
        OutputError::io(path, e)
    })
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Fixtures shared by the writers' tests.

    use crate::load::stats::RequestStats;
    use crate::load::stats::{FailureCount, FailureKey, RequestKey, RunTotals, SecondStats};
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    /// A fresh, empty directory for one test, removed when dropped (no tempfile crate).
    pub struct TempDir(PathBuf);

    impl std::ops::Deref for TempDir {
        type Target = std::path::Path;
        fn deref(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    pub fn temp_dir(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("ctl-output-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn keys() -> Vec<RequestKey> {
        vec![
            RequestKey { method: "GET".into(), name: "/hotels".into() },
            RequestKey { method: "POST".into(), name: "/reserve, \"quoted\" <b>".into() },
            RequestKey { method: "GET".into(), name: "/never".into() },
        ]
    }

    /// One second with the given (key index, latency µs, status, ok, bytes) requests.
    pub fn second(n: u64, users: u64, reqs: &[(usize, u64, u16, bool, u64)]) -> SecondStats {
        let mut per_request = vec![RequestStats::default(); keys().len()];
        let mut total = RequestStats::default();
        let mut failures = BTreeMap::new();
        for &(i, lat, status, ok, bytes) in reqs {
            // Service time is half the latency: distinguishable in the assertions.
            per_request[i].record(lat, lat / 2, status, ok, bytes);
            total.record(lat, lat / 2, status, ok, bytes);
            if !ok {
                let k = keys()[i].clone();
                let key =
                    FailureKey { method: k.method, name: k.name, error: format!("HTTP {status}") };
                let t = 1_700_000_000.0 + n as f64 + 0.25;
                failures
                    .entry(key)
                    .and_modify(|c: &mut FailureCount| {
                        c.merge(&FailureCount { occurrences: 1, first_seen: t, last_seen: t })
                    })
                    .or_insert(FailureCount { occurrences: 1, first_seen: t, last_seen: t });
            }
        }
        SecondStats {
            second: n,
            unix_time: 1_700_000_001 + n,
            target: 10.0,
            users,
            in_flight: 0,
            scheduled: reqs.len() as u64,
            late: u64::from(n == 1),
            per_request,
            total,
            failures,
        }
    }

    /// Two seconds: /hotels 1.5 ms, 2.5 ms, 10 ms; /reserve one 200 and one 500 at 120 ms.
    pub fn seconds() -> Vec<SecondStats> {
        vec![
            second(0, 3, &[(0, 1_500, 200, true, 100), (0, 2_500, 200, true, 300)]),
            second(
                1,
                4,
                &[
                    (0, 10_000, 200, true, 200),
                    (1, 120_000, 200, true, 0),
                    (1, 120_000, 500, false, 50),
                ],
            ),
        ]
    }

    pub fn totals() -> RunTotals {
        let mut t = RunTotals::new(keys(), 1_700_000_000.0);
        for s in seconds() {
            t.add_second(&s);
        }
        t
    }
}
