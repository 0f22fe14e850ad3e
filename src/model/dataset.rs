//! Datasets as per-file time series: seed 001's `taskX_<users>_<replicas>.csv` (Prometheus
//! metrics every 120 s; both of its number formats, `2.0` and `3.00`, and `nan`), Locust's
//! `_stats_history.csv` (the `Aggregated` rows), and ctl's own per-interval `control.csv`
//! (one series per deployment, columns renamed to seed 001's). Parsers take the file's name
//! and text (no IO here) so every error names the file, line and column.

use super::ModelError;
use std::collections::BTreeMap;

/// One file: rows in time order, numeric columns by name, and what its name says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// The file name (for errors, split rules and prediction output).
    pub source: String,
    /// Concurrent users and replicas from `taskX_<users>_<replicas>.csv`, when the name says.
    pub users: Option<u32>,
    pub replicas: Option<u32>,
    /// The row timestamps as written (seed: local `%Y-%m-%d %H:%M:%S`; Locust: Unix seconds).
    pub time: Vec<String>,
    /// Numeric columns; a missing value (`nan`, `N/A`, empty) is NaN.
    pub columns: BTreeMap<String, Vec<f64>>,
}

impl Series {
    pub fn len(&self) -> usize {
        self.time.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    /// A column, or an error naming this file and the column.
    pub fn column(&self, name: &str) -> Result<&[f64], ModelError> {
        self.columns.get(name).map(Vec::as_slice).ok_or_else(|| ModelError::MissingColumn {
            file: self.source.clone(),
            column: name.to_string(),
        })
    }
}

/// The kinds of file `parse` recognises from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// seed 001's `data_collection/taskX_<users>_<replicas>.csv`.
    SeedMetrics,
    /// Locust's (and `ctl load --csv`'s) `PREFIX_stats_history.csv`.
    LocustHistory,
    /// ctl's per-interval `control.csv` (see [`parse_control`]).
    Control,
}

/// Columns whose text is kept as-is rather than parsed as numbers (seed files).
const SEED_TEXT_COLUMNS: [&str; 3] = ["timestamp", "service", "endpoint"];

/// seed 001's "suspicious all-zero rows": when all of these are 0 the collector's Prometheus
/// queries failed, so the row is missing data, not an idle service.
pub const ZERO_RULE_COLUMNS: [&str; 7] = [
    "cpu_limit",
    "cpu_request",
    "memory_limit",
    "memory_request",
    "request_rate",
    "throughput",
    "cpu_usage",
];

/// Which format a header line is.
pub fn detect(header: &str) -> Option<Format> {
    let cols = split_csv(header.trim_start_matches('\u{feff}'));
    let has = |c: &str| cols.iter().any(|h| h == c);
    if has("Timestamp") && has("Requests/s") {
        Some(Format::LocustHistory)
    } else if has("timestamp") && (has("request_rate") || has("cpu_usage")) {
        Some(Format::SeedMetrics)
    } else if has("applied_by") && has("cpu_millicores") {
        // Seed 004's experiment CSV has these too; `parse_control` then names what it lacks.
        Some(Format::Control)
    } else {
        None
    }
}

/// Parses any supported file, choosing the reader from the header: one series per file,
/// except a `control.csv`, which holds one per deployment.
pub fn parse_file(file: &str, text: &str) -> Result<Vec<Series>, ModelError> {
    let header = text.lines().next().unwrap_or("");
    match detect(header) {
        Some(Format::SeedMetrics) => parse_seed_metrics(file, text).map(|s| vec![s]),
        Some(Format::LocustHistory) => parse_locust_history(file, text).map(|s| vec![s]),
        Some(Format::Control) => parse_control(file, text),
        None => Err(ModelError::Unsupported {
            file: file.to_string(),
            message: "unknown CSV: expected seed 001 metrics (timestamp, request_rate, \
                      cpu_usage, ...), a Locust _stats_history.csv (Timestamp, Requests/s, ...) \
                      or a ctl control.csv (timestamp, ..., applied_by, deployment, ..., rps, ...)"
                .into(),
        }),
    }
}

/// [`parse_file`] for a file that must hold exactly one series.
pub fn parse(file: &str, text: &str) -> Result<Series, ModelError> {
    let mut all = parse_file(file, text)?;
    if all.len() != 1 {
        return Err(ModelError::Unsupported {
            file: file.to_string(),
            message: format!("holds {} series (one per deployment); expected one", all.len()),
        });
    }
    Ok(all.remove(0))
}

/// `taskX_<users>_<replicas>.csv` -> (users, replicas).
pub fn users_replicas(file: &str) -> Option<(u32, u32)> {
    let base = file.rsplit(['/', '\\']).next()?.strip_suffix(".csv")?;
    let mut parts = base.rsplitn(3, '_');
    let replicas = parts.next()?.parse().ok()?;
    let users = parts.next()?.parse().ok()?;
    parts.next()?;
    Some((users, replicas))
}

/// seed 001's metrics file. Every column except timestamp / service / endpoint is numeric;
/// `nan` (the first row of 12 files has no latency yet) and empty cells are NaN.
pub fn parse_seed_metrics(file: &str, text: &str) -> Result<Series, ModelError> {
    let table = Table::parse(file, text)?;
    let ts = table.index("timestamp")?;
    let mut series = Series { source: file.to_string(), ..Series::default() };
    if let Some((u, r)) = users_replicas(file) {
        series.users = Some(u);
        series.replicas = Some(r);
    }
    series.time = table.rows.iter().map(|(_, r)| r[ts].clone()).collect();
    for (i, name) in table.header.iter().enumerate() {
        if SEED_TEXT_COLUMNS.contains(&name.as_str()) {
            continue;
        }
        series.columns.insert(name.clone(), table.numbers(i)?);
    }
    sort_by_time(&mut series);
    Ok(series)
}

/// Locust's history: only the `Aggregated` rows (one per second over all requests), renamed to
/// the names the models use: `request_rate` (Requests/s), `failure_rate`, `users`, latencies.
pub fn parse_locust_history(file: &str, text: &str) -> Result<Series, ModelError> {
    let mut table = Table::parse(file, text)?;
    let name = table.index("Name")?;
    let ts = table.index("Timestamp")?;
    table.rows.retain(|(_, r)| r[name] == "Aggregated");
    if table.rows.is_empty() {
        return Err(ModelError::NoRows { file: file.to_string() });
    }
    let mut series = Series { source: file.to_string(), ..Series::default() };
    series.time = table.rows.iter().map(|(_, r)| r[ts].clone()).collect();
    let renames = [
        ("Requests/s", "request_rate"),
        ("Failures/s", "failure_rate"),
        ("User Count", "users"),
        ("50%", "p50_latency"),
        ("95%", "p95_latency"),
        ("99%", "p99_latency"),
        ("Total Average Response Time", "avg_latency"),
    ];
    for (from, to) in renames {
        if let Ok(i) = table.index(from) {
            series.columns.insert(to.to_string(), table.numbers(i)?);
        } else if from == "Requests/s" {
            return Err(ModelError::MissingColumn { file: file.into(), column: from.into() });
        }
    }
    Ok(series)
}

/// `control.csv` columns that hold text (everything else is a number or empty).
const CONTROL_TEXT_COLUMNS: [&str; 10] = [
    "timestamp",
    "mode",
    "hpa_sim_action",
    "ai_reasoning",
    "applied_by",
    "deployment",
    "policy",
    "guard_reason",
    "valid",
    "reason",
];

/// ctl's `control.csv` (one row per deployment per controller interval), as one series per
/// deployment named `FILE[DEPLOYMENT]`, rows in file order. Every numeric column is kept under
/// its own name, and seed 001's names are added so its features and target apply:
/// `request_rate` = `rps`, `throughput` = `rps x (1 - errors)`, `cpu_usage` (cores, summed
/// over pods) = `cpu_total_millicores / 1000` (older files: `cpu_millicores x pod_count /
/// 1000`), `replicas` = `pod_count`, `cpu_request` (cores) and `memory_request` (MiB) summed
/// over pods, `p50/p95/p99_latency` = `p*_ms`. Empty cells (held intervals) are missing.
pub fn parse_control(file: &str, text: &str) -> Result<Vec<Series>, ModelError> {
    let table = Table::parse(file, text)?;
    let deployment = table.index("deployment")?;
    let ts = table.index("timestamp")?;
    let mut columns: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (i, name) in table.header.iter().enumerate() {
        if !CONTROL_TEXT_COLUMNS.contains(&name.as_str()) {
            columns.insert(name.as_str(), table.numbers(i)?);
        }
    }
    let col = |name: &str| {
        columns.get(name).ok_or_else(|| ModelError::MissingColumn {
            file: file.to_string(),
            column: name.to_string(),
        })
    };
    let rps = col("rps")?;
    let pods = col("pod_count")?;
    let total_cpu: Vec<f64> = match columns.get("cpu_total_millicores") {
        Some(total) => total.clone(),
        None => col("cpu_millicores")?.iter().zip(pods).map(|(c, n)| c * n).collect(),
    };
    let times = |per_pod: &[f64], scale: f64| -> Vec<f64> {
        per_pod.iter().zip(pods).map(|(v, n)| v * n * scale).collect()
    };
    let mut derived: Vec<(&str, Vec<f64>)> = vec![
        ("request_rate", rps.clone()),
        ("cpu_usage", total_cpu.iter().map(|c| c / 1000.0).collect()),
        ("replicas", pods.clone()),
    ];
    if let Some(errors) = columns.get("errors") {
        let ok = rps.iter().zip(errors).map(|(r, e)| r * (1.0 - if e.is_nan() { 0.0 } else { *e }));
        derived.push(("throughput", ok.collect()));
    }
    if let Some(c) = columns.get("cpu_request_millicores") {
        derived.push(("cpu_request", times(c, 1.0 / 1000.0)));
    }
    if let Some(m) = columns.get("memory_request_mebibytes") {
        derived.push(("memory_request", times(m, 1.0)));
    }
    for (from, to) in
        [("p50_ms", "p50_latency"), ("p95_ms", "p95_latency"), ("p99_ms", "p99_latency")]
    {
        if let Some(v) = columns.get(from) {
            derived.push((to, v.clone()));
        }
    }

    // Rows of each deployment, in file order (the controller writes them in time order).
    let mut rows_of: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (row, (_, cells)) in table.rows.iter().enumerate() {
        rows_of.entry(cells[deployment].as_str()).or_default().push(row);
    }
    let mut out = Vec::new();
    for (name, rows) in rows_of {
        let mut series = Series { source: format!("{file}[{name}]"), ..Series::default() };
        series.time = rows.iter().map(|&r| table.rows[r].1[ts].clone()).collect();
        let pick = |all: &[f64]| rows.iter().map(|&r| all[r]).collect::<Vec<f64>>();
        for (name, all) in &columns {
            series.columns.insert((*name).to_string(), pick(all));
        }
        for (name, all) in &derived {
            series.columns.insert((*name).to_string(), pick(all));
        }
        out.push(series);
    }
    Ok(out)
}

/// Applies seed 001's cleaning to a whole dataset: all-zero rows become missing, each file
/// fills its gaps forward then backward, and what is still missing (a file with no good row)
/// takes the median over all files. Only the rule's columns are touched.
pub fn clean_zero_rows(dataset: &mut [Series]) {
    // Only files with all the rule's columns (seed 001's): in a Locust history a 0 req/s
    // second is real, and in a control.csv an empty cell is a held interval, not a median.
    let seed_like = |s: &Series| ZERO_RULE_COLUMNS.iter().all(|c| s.columns.contains_key(*c));
    for s in dataset.iter_mut().filter(|s| seed_like(s)) {
        for row in 0..s.len() {
            if ZERO_RULE_COLUMNS.iter().all(|c| s.columns[*c][row] == 0.0) {
                for c in ZERO_RULE_COLUMNS {
                    if let Some(col) = s.columns.get_mut(c) {
                        col[row] = f64::NAN;
                    }
                }
            }
        }
        for c in ZERO_RULE_COLUMNS {
            if let Some(col) = s.columns.get_mut(c) {
                fill_forward_backward(col);
            }
        }
    }
    for c in ZERO_RULE_COLUMNS {
        let all: Vec<f64> = dataset
            .iter()
            .filter(|s| seed_like(s))
            .filter_map(|s| s.columns.get(c))
            .flatten()
            .copied()
            .collect();
        let m = super::features::median(&all);
        for s in dataset.iter_mut().filter(|s| seed_like(s)) {
            if let Some(col) = s.columns.get_mut(c) {
                col.iter_mut().filter(|v| v.is_nan()).for_each(|v| *v = m);
            }
        }
    }
}

/// pandas' `ffill().bfill()` on one column.
pub fn fill_forward_backward(col: &mut [f64]) {
    let mut last = f64::NAN;
    for v in col.iter_mut() {
        if v.is_nan() {
            *v = last;
        } else {
            last = *v;
        }
    }
    let mut next = f64::NAN;
    for v in col.iter_mut().rev() {
        if v.is_nan() {
            *v = next;
        } else {
            next = *v;
        }
    }
}

/// Rows in timestamp order (the seed sorts by file, then timestamp). Both timestamp forms sort
/// correctly as text only when equally long, so compare numbers when they parse.
fn sort_by_time(s: &mut Series) {
    let mut order: Vec<usize> = (0..s.len()).collect();
    order.sort_by(|&a, &b| match (s.time[a].parse::<f64>(), s.time[b].parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => s.time[a].cmp(&s.time[b]),
    });
    if order.iter().enumerate().all(|(i, &j)| i == j) {
        return;
    }
    s.time = order.iter().map(|&i| s.time[i].clone()).collect();
    for col in s.columns.values_mut() {
        *col = order.iter().map(|&i| col[i]).collect();
    }
}

/// A CSV file as text cells: the header and (line number, fields) per non-empty row.
struct Table {
    file: String,
    header: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    fn parse(file: &str, text: &str) -> Result<Self, ModelError> {
        let mut lines = text.lines().enumerate();
        let header = match lines.next() {
            Some((_, h)) => split_csv(h.trim_start_matches('\u{feff}')),
            None => return Err(ModelError::NoRows { file: file.to_string() }),
        };
        let mut rows = Vec::new();
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let fields = split_csv(line);
            if fields.len() != header.len() {
                return Err(ModelError::BadRow {
                    file: file.to_string(),
                    line: i + 1,
                    expected: header.len(),
                    found: fields.len(),
                });
            }
            rows.push((i + 1, fields));
        }
        if rows.is_empty() {
            return Err(ModelError::NoRows { file: file.to_string() });
        }
        Ok(Self { file: file.to_string(), header, rows })
    }

    fn index(&self, column: &str) -> Result<usize, ModelError> {
        self.header.iter().position(|h| h == column).ok_or_else(|| ModelError::MissingColumn {
            file: self.file.clone(),
            column: column.to_string(),
        })
    }

    fn numbers(&self, i: usize) -> Result<Vec<f64>, ModelError> {
        self.rows
            .iter()
            .map(|(line, r)| {
                number(&r[i]).ok_or_else(|| ModelError::BadValue {
                    file: self.file.clone(),
                    line: *line,
                    column: self.header[i].clone(),
                    value: r[i].clone(),
                })
            })
            .collect()
    }
}

/// A cell as a number: `2.0` and `3.00` alike; `nan`, `N/A` and empty are missing (NaN).
fn number(cell: &str) -> Option<f64> {
    let t = cell.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("nan") || t.eq_ignore_ascii_case("n/a") {
        return Some(f64::NAN);
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Splits one CSV line, honouring double quotes (Locust quotes names with commas).
fn split_csv(line: &str) -> Vec<String> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "timestamp,service,endpoint,replicas,cpu_limit,cpu_request,memory_limit,memory_request,request_rate,p50_latency,p95_latency,p99_latency,avg_latency,throughput,cpu_usage\n\
        2026-02-26 03:32:59,task1,/,1.0,3.0,1.0,1536.0,1536.0,2.3,nan,nan,nan,nan,2.3,1.16\n\
        2026-02-26 03:35:00,task1,/,0.0,0.0,0.0,0.0,0.0,0.0,750.0,975.0,995.0,707.64,0.0,0.0\n";
    const NEW: &str = "timestamp,service,endpoint,replicas,cpu_limit,cpu_request,memory_limit,memory_request,request_rate,p50_latency,p95_latency,p99_latency,avg_latency,throughput,cpu_usage\n\
        2026-02-26 07:00:40,task1,unknown,2,6.00,2.00,3072.00,3072.00,11.88,744.87,981.37,1468.06,735.42,11.62,2.96\n";

    #[test]
    fn both_number_formats_and_nan() {
        let a = parse("data/task1_4_1.csv", OLD).unwrap();
        assert_eq!((a.users, a.replicas), (Some(4), Some(1)));
        assert!(a.column("p50_latency").unwrap()[0].is_nan());
        let b = parse("task1_7_2.csv", NEW).unwrap();
        assert_eq!(b.column("cpu_limit").unwrap(), &[6.0]);
        assert_eq!(b.column("replicas").unwrap(), &[2.0]);
    }

    #[test]
    fn all_zero_rows_are_filled_from_their_file() {
        let mut d = vec![parse("task1_4_1.csv", OLD).unwrap()];
        clean_zero_rows(&mut d);
        assert_eq!(d[0].column("cpu_usage").unwrap(), &[1.16, 1.16]);
        // Not in the rule: kept as written.
        assert_eq!(d[0].column("replicas").unwrap(), &[1.0, 0.0]);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let bad = OLD.replace("2.3,nan", "2.3,slow");
        let e = parse("x.csv", &bad).unwrap_err().to_string();
        assert_eq!(e, "x.csv:2: column 'p50_latency': expected a number, found 'slow'");
        let e = parse("y.csv", "timestamp,cpu_usage\n").unwrap_err().to_string();
        assert_eq!(e, "y.csv: no data rows");
    }

    #[test]
    fn locust_history_keeps_aggregated_rows() {
        let text = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%\n\
            1700000000,1,GET,/,1.0,0,10,20\n\
            1700000000,1,,Aggregated,1.0,0,10,20\n\
            1700000001,2,,Aggregated,2.5,0,N/A,30\n";
        let s = parse("run_stats_history.csv", text).unwrap();
        assert_eq!(s.column("request_rate").unwrap(), &[1.0, 2.5]);
        assert!(s.column("p50_latency").unwrap()[1].is_nan());
        assert_eq!(s.column("users").unwrap(), &[1.0, 2.0]);
    }

    const CONTROL: &str = "timestamp,cpu_millicores,cpu_request_millicores,pod_count,applied_by,deployment,rps,errors,p95_ms,valid,reason,cpu_total_millicores\n\
        2026-01-01 00:00:00,250.00,100.00,2,hpa,web,40.000,0.2500,12.5,true,\"a, b\",500.00\n\
        2026-01-01 00:00:00,10.00,100.00,1,none,db,,,,false,held,10.00\n\
        2026-01-01 00:00:15,300.00,100.00,3,hpa,web,60.000,0.0000,20.0,true,ok,900.00\n";

    #[test]
    fn control_csv_is_one_series_per_deployment_in_seed_units() {
        let all = parse_file("run/control.csv", CONTROL).unwrap();
        assert_eq!(all.len(), 2);
        let (db, web) = (&all[0], &all[1]);
        assert_eq!(web.source, "run/control.csv[web]");
        assert_eq!(web.time, ["2026-01-01 00:00:00", "2026-01-01 00:00:15"]);
        assert_eq!(web.column("request_rate").unwrap(), &[40.0, 60.0]);
        assert_eq!(web.column("cpu_usage").unwrap(), &[0.5, 0.9]);
        assert_eq!(web.column("replicas").unwrap(), &[2.0, 3.0]);
        assert_eq!(web.column("throughput").unwrap(), &[30.0, 60.0]);
        let req = web.column("cpu_request").unwrap();
        assert!((req[0] - 0.2).abs() < 1e-12 && (req[1] - 0.3).abs() < 1e-12, "{req:?}");
        assert_eq!(web.column("p95_latency").unwrap(), &[12.5, 20.0]);
        assert!(db.column("request_rate").unwrap()[0].is_nan(), "held row: missing");
        assert!(parse("run/control.csv", CONTROL).unwrap_err().to_string().contains("holds 2"));
        // Without the total column: mean x pods.
        let old = CONTROL.replace(",cpu_total_millicores", "").replace(",500.00\n", "\n");
        let old = old.replace(",900.00\n", "\n").replace(",10.00\n", "\n");
        let web = &parse_file("c.csv", &old).unwrap()[1];
        assert_eq!(web.column("cpu_usage").unwrap(), &[0.5, 0.9]);
    }

    #[test]
    fn control_csv_errors_name_file_line_and_column() {
        let bad = CONTROL.replace("60.000", "fast");
        let e = parse_file("c.csv", &bad).unwrap_err().to_string();
        assert_eq!(e, "c.csv:4: column 'rps': expected a number, found 'fast'");
        let no_rps = CONTROL.replace(",rps,", ",rate,");
        let e = parse_file("c.csv", &no_rps).unwrap_err().to_string();
        assert_eq!(e, "c.csv: missing column 'rps'");
    }
}
