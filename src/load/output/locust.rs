//! Locust-compatible `--csv PREFIX` output: `PREFIX_stats.csv`, `PREFIX_stats_history.csv`,
//! `PREFIX_failures.csv` and `PREFIX_exceptions.csv`, with Locust 2.4x headers and number
//! formats, so dashboards and scripts written for Locust keep working.
//!
//! Reference: `locust/stats.py` (`StatsCSV`, `StatsCSVFileWriter`, `_percentile_fields`,
//! `get_readable_percentiles`) and `locust/util/date.py` (`format_utc_timestamp`), Locust
//! 2.4x plus PR #3403 (First/Last Seen in the failures file, 2.44).
//!
//! Deliberate differences from Locust, all documented in the project README:
//! - "Response Time" is our latency from the intended start (`RequestStats::latency`): in
//!   the users model that is Locust's send-to-response time; in the rate model it is the
//!   coordinated-omission-free latency.
//! - Percentiles come from an HdrHistogram (3 significant digits) instead of Locust's
//!   2-digit buckets; they are still written as whole milliseconds like Locust's `int(...)`,
//!   clamped to the exact min/max. The median columns are whole milliseconds too (Locust
//!   prints e.g. `150.0` above 100 ms, an artefact of its `round(x, -1)` bucketing).
//! - History `Requests/s` / `Failures/s` are the counts of that one second; Locust averages
//!   a ~10 s window that lags 2 s behind.
//! - `_exceptions.csv` only ever has its header: there are no Python exceptions to report;
//!   transport errors go to `_failures.csv` as Locust does for request failures.
//! - Files are flushed (and `_stats.csv` / `_failures.csv` rewritten) every 5 s and at the
//!   end, instead of Locust's every-1-s rewrite; the rewrite goes through a rename, so
//!   readers never see a torn file.

use super::fmt::{csv_field, py_float, utc_iso};
use super::{OutputError, clamped_percentile_us, write_atomic};
use crate::load::stats::{RequestStats, RunTotals, SecondStats, new_histogram};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Locust's `PERCENTILES_TO_REPORT`.
pub const PERCENTILES_TO_REPORT: [f64; 11] =
    [0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0];

/// `StatsCSV.requests_csv_columns` (Locust 2.4x `locust/stats.py`).
pub const STATS_HEADER: &str = "Type,Name,Request Count,Failure Count,Median Response Time,\
Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,\
Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";

/// `StatsCSVFileWriter.stats_history_csv_columns` (Locust 2.4x `locust/stats.py`).
pub const STATS_HISTORY_HEADER: &str = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,\
50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,\
Total Median Response Time,Total Average Response Time,Total Min Response Time,\
Total Max Response Time,Total Average Content Size";

/// `StatsCSV.failures_columns` with the two columns Locust 2.44 added (PR #3403).
pub const FAILURES_HEADER: &str = "Method,Name,Error,Occurrences,First Seen,Last Seen";

/// `StatsCSV.exceptions_columns` (Locust 2.4x `locust/stats.py`).
pub const EXCEPTIONS_HEADER: &str = "Count,Message,Traceback,Nodes";

/// Python's `csv.writer` default dialect ends rows with CRLF, so Locust's files do too.
const EOL: &str = "\r\n";

/// Locust's `CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW`.
const WINDOW_SECS: usize = 10;

/// on_second is called once a second, so counting calls is counting seconds.
const FLUSH_EVERY_SECS: u32 = 5;

/// The Locust CSV files of one run. See the module docs for the format decisions.
pub struct LocustCsvWriter {
    stats_path: PathBuf,
    history_path: PathBuf,
    failures_path: PathBuf,
    exceptions_path: PathBuf,
    history: BufWriter<File>,
    full_history: bool,
    /// The last `WINDOW_SECS` seconds (only kept with `full_history`, the only mode that
    /// reports "current" percentiles). Stored sparse: a per-second histogram has a few
    /// hundred distinct values, while a full `Histogram<u64>` is ~190 KB.
    window: VecDeque<WindowSecond>,
    seconds_since_flush: u32,
}

impl LocustCsvWriter {
    /// Creates/truncates PREFIX_stats.csv, PREFIX_stats_history.csv, PREFIX_failures.csv and
    /// PREFIX_exceptions.csv and writes their headers (Locust writes all four at start too).
    pub fn create(prefix: &str, full_history: bool) -> Result<Self, OutputError> {
        let path = |suffix: &str| PathBuf::from(format!("{prefix}{suffix}"));
        let history_path = path("_stats_history.csv");
        let file = File::create(&history_path).map_err(|e| OutputError::io(&history_path, e))?;
        let mut writer = Self {
            stats_path: path("_stats.csv"),
            failures_path: path("_failures.csv"),
            exceptions_path: path("_exceptions.csv"),
            history: BufWriter::new(file),
            history_path,
            full_history,
            window: VecDeque::with_capacity(WINDOW_SECS + 1),
            seconds_since_flush: 0,
        };
        writer.history_write(&format!("{STATS_HISTORY_HEADER}{EOL}"))?;
        // Flushed at once so even a run that dies in its first second leaves a valid file.
        writer.history.flush().map_err(|e| OutputError::io(&writer.history_path, e))?;
        writer.rewrite_snapshots(&RunTotals::default())?;
        Ok(writer)
    }

    /// Appends this second's history rows: one per request kind seen so far when
    /// `full_history` (with the 10 s sliding-window percentiles, as Locust), then the
    /// `Aggregated` row (cumulative percentiles without `full_history`, as Locust).
    /// `totals` must already include `second`. Flushes every 5 s, and then also rewrites
    /// `_stats.csv` and `_failures.csv` so an interrupted run leaves current totals.
    pub fn on_second(
        &mut self,
        second: &SecondStats,
        totals: &RunTotals,
    ) -> Result<(), OutputError> {
        if self.full_history {
            self.window.push_back(WindowSecond::from_second(second));
            while self.window.len() > WINDOW_SECS {
                self.window.pop_front();
            }
        }
        let mut rows = String::new();
        if self.full_history {
            for i in sorted_seen(totals) {
                let key = &totals.keys[i];
                let current = second.per_request.get(i);
                let window = Percentiles::Window(self.window_percentiles(Some(i)));
                rows.push_str(&history_row(
                    second,
                    &key.method,
                    &key.name,
                    current,
                    &totals.per_request[i],
                    window,
                ));
            }
        }
        let window = if self.full_history {
            Percentiles::Window(self.window_percentiles(None))
        } else {
            Percentiles::Cumulative
        };
        rows.push_str(&history_row(
            second,
            "",
            "Aggregated",
            Some(&second.total),
            &totals.total,
            window,
        ));
        self.history_write(&rows)?;

        self.seconds_since_flush += 1;
        if self.seconds_since_flush >= FLUSH_EVERY_SECS {
            self.seconds_since_flush = 0;
            self.history.flush().map_err(|e| OutputError::io(&self.history_path, e))?;
            self.rewrite_snapshots(totals)?;
        }
        Ok(())
    }

    /// Rewrites `_stats.csv`, `_failures.csv` and `_exceptions.csv` from `totals` and
    /// flushes the history. Idempotent: the engine calls it at the end and on Ctrl-C.
    pub fn finish(&mut self, totals: &RunTotals) -> Result<(), OutputError> {
        self.history.flush().map_err(|e| OutputError::io(&self.history_path, e))?;
        self.seconds_since_flush = 0;
        self.rewrite_snapshots(totals)
    }

    fn history_write(&mut self, s: &str) -> Result<(), OutputError> {
        self.history.write_all(s.as_bytes()).map_err(|e| OutputError::io(&self.history_path, e))
    }

    fn rewrite_snapshots(&self, totals: &RunTotals) -> Result<(), OutputError> {
        write_atomic(&self.stats_path, stats_csv(totals).as_bytes())?;
        write_atomic(&self.failures_path, failures_csv(totals).as_bytes())?;
        write_atomic(&self.exceptions_path, format!("{EXCEPTIONS_HEADER}{EOL}").as_bytes())
    }

    /// Sliding-window percentile fields of one request kind (`None` = all), or `None` when
    /// the window holds no requests (Locust then prints 0 for every column).
    fn window_percentiles(&self, index: Option<usize>) -> Option<Vec<String>> {
        let mut hist = new_histogram();
        let (mut count, mut min, mut max) = (0u64, u64::MAX, 0u64);
        for sec in &self.window {
            let sparse = match index {
                Some(i) => sec.per_request.get(i),
                None => Some(&sec.total),
            };
            let Some(sparse) = sparse.filter(|s| s.count > 0) else {
                continue;
            };
            for &(value, n) in &sparse.buckets {
                // Values come from a histogram with the same bounds, so this cannot fail.
                let _ = hist.record_n(value, n);
            }
            count += sparse.count;
            min = min.min(sparse.min);
            max = max.max(sparse.max);
        }
        (count > 0).then(|| {
            PERCENTILES_TO_REPORT
                .iter()
                .map(|&q| ms_int(clamped_percentile_us(&hist, min, max, q)))
                .collect()
        })
    }

    /// The four file paths, in the order stats, history, failures, exceptions.
    pub fn paths(&self) -> [&Path; 4] {
        [&self.stats_path, &self.history_path, &self.failures_path, &self.exceptions_path]
    }
}

/// One second of one request kind, sparse.
struct Sparse {
    buckets: Vec<(u64, u64)>,
    count: u64,
    min: u64,
    max: u64,
}

impl Sparse {
    fn from_stats(s: &RequestStats) -> Self {
        let buckets = if s.count == 0 {
            Vec::new()
        } else {
            s.latency.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect()
        };
        Self { buckets, count: s.count, min: s.min_latency_us, max: s.max_latency_us }
    }
}

struct WindowSecond {
    per_request: Vec<Sparse>,
    total: Sparse,
}

impl WindowSecond {
    fn from_second(s: &SecondStats) -> Self {
        Self {
            per_request: s.per_request.iter().map(Sparse::from_stats).collect(),
            total: Sparse::from_stats(&s.total),
        }
    }
}

/// Indexes of request kinds that have seen a request, in Locust's order: `sort_stats`
/// sorts its entries by the `(name, method)` key. Kinds never requested are left out
/// because Locust only creates an entry on the first request.
/// Every index returned is valid for both `totals.keys` and `totals.per_request`.
fn sorted_seen(totals: &RunTotals) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..totals.keys.len().min(totals.per_request.len()))
        .filter(|&i| totals.per_request[i].count > 0 || totals.per_request[i].failures > 0)
        .collect();
    idx.sort_by(|&a, &b| {
        let (ka, kb) = (&totals.keys[a], &totals.keys[b]);
        (&ka.name, &ka.method).cmp(&(&kb.name, &kb.method))
    });
    idx
}

/// µs as whole milliseconds, rounded to nearest (Locust's keys are `round(ms)`).
fn ms_int(us: u64) -> String {
    (us.saturating_add(500) / 1000).to_string()
}

fn ms_float(us: u64) -> String {
    py_float(us as f64 / 1000.0)
}

/// Cumulative percentile fields: `N/A` ×11 when there are no requests (`_percentile_fields`).
fn cumulative_percentiles(s: &RequestStats) -> Vec<String> {
    if s.count == 0 {
        return vec!["N/A".to_string(); PERCENTILES_TO_REPORT.len()];
    }
    PERCENTILES_TO_REPORT
        .iter()
        .map(|&q| ms_int(clamped_percentile_us(&s.latency, s.min_latency_us, s.max_latency_us, q)))
        .collect()
}

/// Request Count, Failure Count, Median, Average, Min, Max, Average Content Size, with
/// Locust's types: ints, `0` for min/max/median/size when empty, floats otherwise.
fn entry_fields(s: &RequestStats) -> [String; 7] {
    if s.count == 0 {
        // Locust: median 0, avg_response_time 0.0, `min or 0`, max 0, avg_content_length 0.
        let zero = || "0".to_string();
        return [
            s.count.to_string(),
            s.failures.to_string(),
            zero(),
            "0.0".into(),
            zero(),
            zero(),
            zero(),
        ];
    }
    let median = clamped_percentile_us(&s.latency, s.min_latency_us, s.max_latency_us, 0.5);
    [
        s.count.to_string(),
        s.failures.to_string(),
        ms_int(median),
        py_float(s.mean_latency_us() / 1000.0),
        ms_float(s.min_latency_us),
        ms_float(s.max_latency_us),
        py_float(s.content_bytes as f64 / s.count as f64),
    ]
}

fn per_sec(n: u64, elapsed: f64) -> f64 {
    if elapsed > 0.0 { n as f64 / elapsed } else { 0.0 }
}

fn push_row(out: &mut String, fields: impl IntoIterator<Item = String>) {
    let mut first = true;
    for f in fields {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&csv_field(&f));
    }
    out.push_str(EOL);
}

fn stats_row(out: &mut String, method: &str, name: &str, s: &RequestStats, elapsed: f64) {
    let mut fields = vec![method.to_string(), name.to_string()];
    fields.extend(entry_fields(s));
    fields.push(py_float(per_sec(s.count, elapsed)));
    fields.push(py_float(per_sec(s.failures, elapsed)));
    fields.extend(cumulative_percentiles(s));
    push_row(out, fields);
}

/// `_stats.csv`: one row per request kind seen (sorted as Locust), then `Aggregated`,
/// whose `Type` is empty because Locust's total entry has method `None`.
fn stats_csv(totals: &RunTotals) -> String {
    let mut out = format!("{STATS_HEADER}{EOL}");
    for i in sorted_seen(totals) {
        let k = &totals.keys[i];
        stats_row(&mut out, &k.method, &k.name, &totals.per_request[i], totals.elapsed_secs);
    }
    stats_row(&mut out, "", "Aggregated", &totals.total, totals.elapsed_secs);
    out
}

/// `_failures.csv`, ordered by (method, name, error); Locust orders by a hash, i.e. randomly.
fn failures_csv(totals: &RunTotals) -> String {
    let mut out = format!("{FAILURES_HEADER}{EOL}");
    for (k, c) in &totals.failures {
        push_row(
            &mut out,
            [
                k.method.clone(),
                k.name.clone(),
                k.error.clone(),
                c.occurrences.to_string(),
                utc_iso(c.first_seen),
                utc_iso(c.last_seen),
            ],
        );
    }
    out
}

/// Where a history row's percentile columns come from.
enum Percentiles {
    /// Cumulative since start (Locust without `--csv-full-history`).
    Cumulative,
    /// The 10 s sliding window; `None` when it holds no requests (Locust prints zeros).
    Window(Option<Vec<String>>),
}

/// One `_stats_history.csv` row. `current` is this second's stats of the entry (rates).
fn history_row(
    second: &SecondStats,
    method: &str,
    name: &str,
    current: Option<&RequestStats>,
    cumulative: &RequestStats,
    percentiles: Percentiles,
) -> String {
    let (count, failures) = current.map_or((0, 0), |c| (c.count, c.failures));
    let mut fields = vec![
        second.unix_time.to_string(),
        second.users.to_string(),
        method.to_string(),
        name.to_string(),
        // Locust formats these two with f"{x:2f}": six decimals.
        format!("{:.6}", count as f64),
        format!("{:.6}", failures as f64),
    ];
    // `_percentile_fields` checks the cumulative count first: N/A until the first request.
    fields.extend(match percentiles {
        _ if cumulative.count == 0 => cumulative_percentiles(cumulative),
        Percentiles::Cumulative => cumulative_percentiles(cumulative),
        Percentiles::Window(Some(w)) => w,
        Percentiles::Window(None) => vec!["0".to_string(); PERCENTILES_TO_REPORT.len()],
    });
    fields.extend(entry_fields(cumulative));
    let mut out = String::new();
    push_row(&mut out, fields);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::output::test_util::{TempDir, keys, second, seconds, temp_dir};
    use crate::load::stats::RunTotals;

    /// Minimal RFC 4180 reader (quotes, doubled quotes, CRLF), enough to read our files back.
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
        let (mut quoted, mut chars) = (false, text.chars().peekable());
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut field)),
                (false, '\r') => {}
                (false, '\n') => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                (false, c) => field.push(c),
            }
        }
        rows
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Feeds the fixture seconds like the engine does, then finishes.
    /// The directory is returned so the files live as long as the test needs them.
    fn run(test: &str, full_history: bool) -> (TempDir, LocustCsvWriter, RunTotals) {
        let dir = temp_dir(test);
        let prefix = dir.join("run").to_string_lossy().into_owned();
        let mut w = LocustCsvWriter::create(&prefix, full_history).expect("create");
        let mut t = RunTotals::new(keys(), 1_700_000_000.0);
        for s in seconds() {
            t.add_second(&s);
            w.on_second(&s, &t).expect("on_second");
        }
        w.finish(&t).expect("finish");
        w.finish(&t).expect("finish is idempotent");
        (dir, w, t)
    }

    #[test]
    fn headers_are_locusts() {
        // Golden strings copied from locust/stats.py (StatsCSV.requests_csv_columns,
        // StatsCSVFileWriter.stats_history_csv_columns, StatsCSV.exceptions_columns;
        // get_readable_percentiles(PERCENTILES_TO_REPORT)), failures with PR #3403's columns.
        let dir = temp_dir("locust-headers");
        let prefix = dir.join("x").to_string_lossy().into_owned();
        let w = LocustCsvWriter::create(&prefix, false).expect("create");
        let [stats, history, failures, exceptions] = w.paths().map(read);
        assert!(stats.starts_with(
            "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\r\n"
        ));
        assert_eq!(
            history,
            "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size\r\n"
        );
        assert_eq!(failures, "Method,Name,Error,Occurrences,First Seen,Last Seen\r\n");
        assert_eq!(exceptions, "Count,Message,Traceback,Nodes\r\n");
        // Before any request the Aggregated row is Locust's empty entry.
        assert!(stats.ends_with("\r\n,Aggregated,0,0,0,0.0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\r\n"));
    }

    #[test]
    fn stats_csv_round_trip() {
        let (_dir, w, _) = run("locust-stats", false);
        let rows = parse_csv(&read(w.paths()[0]));
        assert_eq!(rows.len(), 4, "header, /hotels, /reserve, Aggregated; /never is left out");
        assert!(rows.iter().all(|r| r.len() == 22));
        // /hotels: 1.5, 2.5 and 10 ms; 600 bytes; 2 s.
        assert_eq!(
            rows[1],
            [
                "GET",
                "/hotels",
                "3",
                "0",
                "3",
                "4.666666666666667",
                "1.5",
                "10.0",
                "200.0",
                "1.5",
                "0.0",
                "3",
                "3",
                "10",
                "10",
                "10",
                "10",
                "10",
                "10",
                "10",
                "10",
                "10"
            ]
        );
        assert_eq!(rows[2][..4], ["POST", "/reserve, \"quoted\" <b>", "2", "1"]);
        assert_eq!(rows[3][..2], ["", "Aggregated"]);
        let num = |r: &[String], i: usize| {
            r[i].parse::<f64>().unwrap_or_else(|e| panic!("{}: {e}", r[i]))
        };
        assert_eq!(num(&rows[3], 2), 5.0);
        assert_eq!(num(&rows[3], 5), 50.8);
        assert_eq!(num(&rows[3], 7), 120.0);
        assert_eq!(num(&rows[3], 9), 2.5);
        assert_eq!(num(&rows[3], 10), 0.5);
        assert_eq!(num(&rows[3], 21), 120.0);

        let failures = parse_csv(&read(w.paths()[2]));
        assert_eq!(
            failures[1],
            [
                "POST",
                "/reserve, \"quoted\" <b>",
                "HTTP 500",
                "1",
                "2023-11-14T22:13:21Z",
                "2023-11-14T22:13:21Z"
            ]
        );
    }

    #[test]
    fn history_cumulative_without_full_history() {
        let (_dir, w, _) = run("locust-history", false);
        let rows = parse_csv(&read(w.paths()[1]));
        assert_eq!(rows.len(), 3, "header + one Aggregated row per second");
        assert_eq!(rows[1][..6], ["1700000001", "3", "", "Aggregated", "2.000000", "0.000000"]);
        assert_eq!(rows[2][..6], ["1700000002", "4", "", "Aggregated", "3.000000", "1.000000"]);
        // Cumulative: 100% is the run's max, the totals columns follow.
        assert_eq!(rows[2][16], "120");
        assert_eq!(rows[2][17..], ["5", "1", "10", "50.8", "1.5", "120.0", "130.0"]);
    }

    #[test]
    fn history_with_full_history_uses_window() {
        let (_dir, w, _) = run("locust-full-history", true);
        let rows = parse_csv(&read(w.paths()[1]));
        let names: Vec<&str> = rows[1..].iter().map(|r| r[3].as_str()).collect();
        assert_eq!(
            names,
            ["/hotels", "Aggregated", "/hotels", "/reserve, \"quoted\" <b>", "Aggregated"]
        );
        // Second 1, /hotels: rate of that second only; window percentiles over both seconds.
        assert_eq!(rows[3][4], "1.000000");
        assert_eq!(rows[3][16], "10");
        assert_eq!(rows[4][6], "120");
    }

    /// What users' notebooks do: load the files with pandas and get numeric columns.
    const PANDAS_CHECK: &str = r#"
import sys, pandas as pd
stats, history, failures, exceptions = sys.argv[1:5]
st = pd.read_csv(stats, keep_default_na=False, na_values=["N/A"])
assert str(st["Request Count"].dtype) == "int64", st.dtypes
assert str(st["Average Response Time"].dtype) == "float64", st.dtypes
assert str(st["99.9%"].dtype) == "int64", st.dtypes
agg = st[st["Name"] == "Aggregated"].iloc[0]
assert agg["Type"] == "" and agg["Request Count"] == 5 and agg["Requests/s"] == 2.5, agg
assert abs(agg["Average Response Time"] - 50.8) < 1e-9 and agg["100%"] == 120, agg
h = pd.read_csv(history)
assert str(h["Timestamp"].dtype) == "int64" and str(h["Requests/s"].dtype) == "float64", h.dtypes
assert list(h["Name"]).count("Aggregated") == 2, h
f = pd.read_csv(failures, parse_dates=["First Seen", "Last Seen"])
assert f["Occurrences"].sum() == 1 and f["First Seen"].iloc[0].year == 2023, f
e = pd.read_csv(exceptions)
assert list(e.columns) == ["Count", "Message", "Traceback", "Nodes"] and len(e) == 0
"#;

    /// Skipped when python3 or pandas is missing, unless CTL_REQUIRE_PANDAS is set (CI).
    #[test]
    fn pandas_reads_the_files() {
        use std::process::Command;
        let has_pandas = Command::new("python3")
            .args(["-c", "import pandas"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !has_pandas {
            assert!(
                std::env::var_os("CTL_REQUIRE_PANDAS").is_none(),
                "CTL_REQUIRE_PANDAS is set but pandas is missing"
            );
            eprintln!("skipped: python3 with pandas not available");
            return;
        }
        let (_dir, w, _) = run("locust-pandas", true);
        let out = Command::new("python3")
            .arg("-c")
            .arg(PANDAS_CHECK)
            .args(w.paths())
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "pandas check failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn window_slides_after_ten_seconds() {
        let dir = temp_dir("locust-window");
        let prefix = dir.join("w").to_string_lossy().into_owned();
        let mut w = LocustCsvWriter::create(&prefix, true).expect("create");
        let mut t = RunTotals::new(keys(), 1_700_000_000.0);
        // One slow request at second 0, then fast ones: after 10 s the slow one leaves.
        let slow = second(0, 1, &[(0, 900_000, 200, true, 0)]);
        t.add_second(&slow);
        w.on_second(&slow, &t).expect("second 0");
        for n in 1..=10 {
            let fast = second(n, 1, &[(0, 1_000, 200, true, 0)]);
            t.add_second(&fast);
            w.on_second(&fast, &t).expect("second n");
        }
        assert_eq!(w.window_percentiles(None).expect("window has data")[10], "1");
    }
}
