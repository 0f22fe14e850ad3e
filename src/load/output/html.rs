//! The `--html FILE` report: one self-contained page (inline CSS and SVG, no scripts, no
//! external assets) with the run summary tables and per-second charts of the rate
//! (target vs achieved), latency percentiles and users. Every piece of text from the run
//! (names, errors, host) is HTML-escaped.

use super::chart::{Series, line_chart};
use super::fmt::{html_escape as esc, human_us, trim_decimals, utc_iso};
use super::summary::{LatencySummary, RunStatus, RunSummary};
use super::{OutputError, clamped_percentile_us, write_atomic};
use crate::load::stats::{RequestStats, SecondStats};
use std::fmt::Write as _;
use std::path::Path;

/// One second of the run, as the charts need it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SecondRow {
    /// Seconds since the start.
    pub second: u64,
    /// The shape's target (users or req/s, depending on the model).
    pub target: f64,
    pub users: u64,
    /// Requests completed in this second.
    pub rps: f64,
    pub errors_per_s: f64,
    /// Latency from the intended start, this second only; 0 when there were no requests.
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

impl SecondRow {
    pub fn from_second(s: &SecondStats) -> Self {
        let t = &s.total;
        Self {
            second: s.second,
            target: s.target,
            users: s.users,
            rps: t.count as f64,
            errors_per_s: t.failures as f64,
            p50_ms: percentile_ms(t, 50.0),
            p95_ms: percentile_ms(t, 95.0),
            p99_ms: percentile_ms(t, 99.0),
        }
    }
}

/// Percentile `q` (0..100) of a window's latency in ms, clamped to the exact min/max (the
/// histogram reports bucket tops); 0 without requests. Shared with the campaign's records.
pub(crate) fn percentile_ms(s: &RequestStats, q: f64) -> f64 {
    if s.count == 0 {
        return 0.0;
    }
    clamped_percentile_us(&s.latency, s.min_latency_us, s.max_latency_us, q / 100.0) as f64 / 1000.0
}

/// Writes the report.
pub fn write_html_report(
    path: &Path,
    summary: &RunSummary,
    seconds: &[SecondRow],
) -> Result<(), OutputError> {
    write_atomic(path, render_html(summary, seconds).as_bytes())
}

pub(crate) const CSS: &str = "\
:root{--fg:#1f2430;--muted:#6b7280;--line:#e5e7eb;--bg:#f7f8fa;--ok:#15803d;--bad:#b91c1c;--warn:#b45309}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1040px;margin:0 auto;padding:24px}h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 10px}
.meta{color:var(--muted)}.meta b{color:var(--fg);font-weight:600}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;vertical-align:middle}
.completed{background:var(--ok)}.interrupted{background:var(--warn)}.failed{background:var(--bad)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin-top:18px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card .v{font-size:20px;font-weight:600}.card .k{color:var(--muted);font-size:12px}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line);border-radius:8px;overflow:hidden}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{background:#f1f3f6;font-weight:600;font-size:12px;color:#374151}
td.l,th.l{text-align:left;white-space:normal;word-break:break-all}tr:last-child td{border-bottom:0}
.pass{color:var(--ok);font-weight:600}.fail{color:var(--bad);font-weight:600}
figure{margin:0 0 14px;background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 12px}
figcaption{font-weight:600;margin-bottom:4px}.legend span{margin-right:14px;font-size:12px;color:var(--muted)}
.legend i{display:inline-block;width:14px;height:3px;margin-right:5px;vertical-align:middle}
.legend i.shade{height:10px;background:var(--c);opacity:.3}.legend i.marker{width:2px;height:11px;background:var(--c)}
.legend i.dotted{height:0;border-top:2px dotted var(--c)}svg text.tag{font-weight:600;fill:#4b5563}
svg{width:100%;height:auto;display:block}svg text{font:11px system-ui,sans-serif;fill:#6b7280}
.empty{color:var(--muted);font-style:italic}footer{margin-top:30px;color:var(--muted);font-size:12px}
";

/// The whole page.
pub(crate) fn render_html(s: &RunSummary, seconds: &[SecondRow]) -> String {
    let mut h = String::with_capacity(32 * 1024);
    let status_class = match s.status {
        RunStatus::Completed => "completed",
        RunStatus::Interrupted => "interrupted",
        RunStatus::Failed => "failed",
    };
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Load test report: {host}</title><style>{CSS}</style></head><body><main>\n\
         <h1>Load test report <span class=\"badge {status_class}\">{status}</span></h1>\n\
         <div class=\"meta\">host <b>{host}</b> · model <b>{model}</b> · shape <b>{shape}</b><br>\
         start <b>{start}</b> · duration <b>{duration}s</b></div>\n",
        host = esc(&s.host),
        status = s.status.as_str(),
        model = esc(&s.model),
        shape = esc(&s.shape),
        start = utc_iso(s.start_unix),
        duration = trim_decimals(s.duration_secs, 1),
    );
    cards(&mut h, s);
    thresholds(&mut h, s);
    charts(&mut h, s, seconds);
    latency_table(&mut h, s);
    requests_table(&mut h, s);
    errors_tables(&mut h, s);
    h.push_str("<footer>Generated by ctl load. Latency is measured from the intended start of each request; service time from the actual send.</footer>\n</main></body></html>\n");
    h
}

fn cards(h: &mut String, s: &RunSummary) {
    let ms = |v: f64| human_us(v * 1000.0);
    let cards = [
        ("requests", s.requests.to_string()),
        ("achieved rate", format!("{}/s", trim_decimals(s.achieved_rps, 1))),
        ("error rate", format!("{}%", trim_decimals(s.error_rate * 100.0, 2))),
        ("p95 latency", ms(s.latency_ms.p95)),
        ("p99 latency", ms(s.latency_ms.p99)),
        ("peak users", s.peak_users.to_string()),
        ("late arrivals", s.late.to_string()),
    ];
    h.push_str("<div class=\"cards\">");
    for (k, v) in cards {
        let _ = write!(
            h,
            "<div class=\"card\"><div class=\"v\">{}</div><div class=\"k\">{k}</div></div>",
            esc(&v)
        );
    }
    h.push_str("</div>\n");
}

fn thresholds(h: &mut String, s: &RunSummary) {
    if s.thresholds.is_empty() {
        return;
    }
    h.push_str("<h2>Thresholds</h2><table><tr><th class=\"l\">threshold</th><th>observed</th><th>result</th></tr>\n");
    for t in &s.thresholds {
        let (class, text) = if t.passed { ("pass", "✓ pass") } else { ("fail", "✗ fail") };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td>{}</td><td class=\"{class}\">{text}</td></tr>",
            esc(&t.expr),
            esc(&t.observed)
        );
    }
    h.push_str("</table>\n");
}

fn latency_cells(l: &LatencySummary) -> String {
    [l.min, l.mean, l.p50, l.p90, l.p95, l.p99, l.p99_9, l.max]
        .iter()
        .map(|v| format!("<td>{}</td>", human_us(v * 1000.0)))
        .collect()
}

fn latency_table(h: &mut String, s: &RunSummary) {
    h.push_str(
        "<h2>Latency</h2><table><tr><th class=\"l\"></th><th>min</th><th>mean</th><th>p50</th><th>p90</th>\
         <th>p95</th><th>p99</th><th>p99.9</th><th>max</th></tr>\n",
    );
    let _ = writeln!(
        h,
        "<tr><td class=\"l\">latency (from intended start)</td>{}</tr>",
        latency_cells(&s.latency_ms)
    );
    let _ =
        writeln!(h, "<tr><td class=\"l\">service time</td>{}</tr>", latency_cells(&s.service_ms));
    h.push_str("</table>\n");
}

fn requests_table(h: &mut String, s: &RunSummary) {
    h.push_str("<h2>Requests</h2>");
    if s.per_request.is_empty() {
        h.push_str("<p class=\"empty\">No requests were made.</p>\n");
        return;
    }
    h.push_str(
        "<table><tr><th class=\"l\">type</th><th class=\"l\">name</th><th>requests</th><th>failures</th>\
         <th>error rate</th><th>req/s</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>\n",
    );
    for r in &s.per_request {
        let d = |ms: f64| human_us(ms * 1000.0);
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}%</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.method),
            esc(&r.name),
            r.requests,
            r.failures,
            trim_decimals(r.error_rate * 100.0, 2),
            trim_decimals(r.rps, 1),
            d(r.latency_ms.p50),
            d(r.latency_ms.p95),
            d(r.latency_ms.p99),
            d(r.latency_ms.max)
        );
    }
    h.push_str("</table>\n");
}

fn errors_tables(h: &mut String, s: &RunSummary) {
    h.push_str("<h2>Errors</h2>");
    if s.errors_by_status.is_empty() && s.failure_kinds.is_empty() {
        h.push_str("<p class=\"empty\">No errors.</p>\n");
        return;
    }
    if !s.errors_by_status.is_empty() {
        h.push_str("<table><tr><th class=\"l\">status</th><th>responses</th></tr>\n");
        for (status, n) in &s.errors_by_status {
            let label = if *status == 0 { "no response".to_string() } else { status.to_string() };
            let _ = writeln!(h, "<tr><td class=\"l\">{label}</td><td>{n}</td></tr>");
        }
        h.push_str("</table>\n");
    }
    if !s.failure_kinds.is_empty() {
        h.push_str(
            "<h2>Failures</h2><table><tr><th class=\"l\">type</th><th class=\"l\">name</th><th class=\"l\">error</th>\
             <th>occurrences</th><th>first seen</th><th>last seen</th></tr>\n",
        );
        for f in &s.failure_kinds {
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&f.method),
                esc(&f.name),
                esc(&f.error),
                f.occurrences,
                utc_iso(f.first_seen),
                utc_iso(f.last_seen)
            );
        }
        h.push_str("</table>\n");
    }
}

fn charts(h: &mut String, s: &RunSummary, seconds: &[SecondRow]) {
    h.push_str("<h2>Over time</h2>");
    if seconds.is_empty() {
        h.push_str("<p class=\"empty\">No per-second data.</p>\n");
        return;
    }
    let col = |f: fn(&SecondRow) -> f64| seconds.iter().map(f).collect::<Vec<f64>>();
    let xs: Vec<f64> = seconds.iter().map(|r| r.second as f64).collect();
    // In the users model the target is a user count, so it belongs on the users chart.
    let users_model = s.model.to_ascii_lowercase().starts_with("user");
    let target =
        Series { label: "target", color: "#9ca3af", dashed: true, values: col(|r| r.target) };
    let achieved =
        Series { label: "achieved req/s", color: "#2563eb", dashed: false, values: col(|r| r.rps) };
    let errors = Series {
        label: "errors/s",
        color: "#dc2626",
        dashed: false,
        values: col(|r| r.errors_per_s),
    };
    let users =
        Series { label: "users", color: "#7c3aed", dashed: false, values: col(|r| r.users as f64) };
    let (rate_series, users_series) = if users_model {
        (vec![achieved, errors], vec![target, users])
    } else {
        (vec![target, achieved, errors], vec![users])
    };
    let latency = vec![
        Series { label: "p50", color: "#16a34a", dashed: false, values: col(|r| r.p50_ms) },
        Series { label: "p95", color: "#d97706", dashed: false, values: col(|r| r.p95_ms) },
        Series { label: "p99", color: "#dc2626", dashed: false, values: col(|r| r.p99_ms) },
    ];
    line_chart(h, "Request rate (req/s)", &xs, &rate_series);
    line_chart(h, "Latency from intended start (ms)", &xs, &latency);
    line_chart(h, "Users", &xs, &users_series);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::output::summary::RunMeta;
    use crate::load::output::test_util::{seconds, temp_dir, totals};

    fn report() -> String {
        let meta = RunMeta {
            status: RunStatus::Interrupted,
            model: "rate".into(),
            shape: "<script>alert(1)</script>".into(),
            host: "http://a&b".into(),
        };
        let summary = RunSummary::from_totals(&totals(), &meta, &[]);
        let rows: Vec<SecondRow> = seconds().iter().map(SecondRow::from_second).collect();
        let dir = temp_dir("html");
        let path = dir.join("report.html");
        write_html_report(&path, &summary, &rows).expect("write");
        std::fs::read_to_string(&path).expect("read")
    }

    #[test]
    fn escapes_text_and_draws_svg() {
        let html = report();
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("<svg"));
        assert!(html.contains("<polyline"));
        assert!(!html.contains("<script>"), "shape must be escaped");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("http://a&amp;b"));
        assert!(html.contains("/reserve, &quot;quoted&quot; &lt;b&gt;"));
        assert!(!html.contains("src=\"http"), "no external assets");
        assert!(html.contains("badge interrupted"));
    }

    #[test]
    fn second_rows() {
        let rows: Vec<SecondRow> = seconds().iter().map(SecondRow::from_second).collect();
        assert_eq!((rows[1].rps, rows[1].errors_per_s, rows[1].users), (3.0, 1.0, 4));
        assert_eq!(rows[0].p50_ms, 1.5);
        assert_eq!(rows[1].p99_ms, 120.0);
    }
}
