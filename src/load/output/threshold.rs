//! `--threshold` expressions (k6-style pass/fail criteria) and their evaluation against the
//! run totals.
//!
//! Grammar: `[SCOPE:]METRIC OP VALUE`, spaces allowed between the parts.
//! - METRIC: `pN` or `p(N)` (0 < N ≤ 100, e.g. `p95`, `p99.9`, `p(99)`), `avg`, `min`,
//!   `med`, `max` (latency from the intended start), `error_rate`, `rps`.
//! - OP: `<`, `<=`, `>`, `>=`.
//! - VALUE: latency metrics take a duration (`500ms`, `1.5s`, `800us`/`800µs`, `2m`; a
//!   bare number is milliseconds, as in k6); `error_rate` takes `1%` or a fraction `0.01`;
//!   `rps` takes a number, optionally followed by `/s`.
//! - SCOPE: a request name (`/hotels`) or `METHOD name` (`GET /hotels`); the threshold then
//!   applies to the matching request kinds only. The scope ends at the last `:` because
//!   no metric contains one, so names with colons work.
//!
//! A threshold never passes on no data (no requests, or a scope that matches nothing):
//! a silent pass on an empty run would hide a broken test.

use super::clamped_percentile_us;
use super::fmt::{human_us, round_ms, trim_decimals};
use crate::load::stats::{RequestStats, RunTotals};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// A parsed `--threshold` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The expression as given, for messages and reports.
    pub expr: String,
    pub scope: Option<Scope>,
    pub metric: Metric,
    pub op: Op,
    /// The limit in canonical units: µs for latency metrics, a fraction (0..=1) for
    /// `error_rate`, requests per second for `rps`.
    pub limit: f64,
}

/// Which request kinds a threshold looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// `None` matches every method.
    pub method: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// Latency percentile, 0 < p ≤ 100.
    Percentile(f64),
    Avg,
    Min,
    Med,
    Max,
    ErrorRate,
    Rps,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Lt => observed < limit,
            Op::Le => observed <= limit,
            Op::Gt => observed > limit,
            Op::Ge => observed >= limit,
        }
    }
}

/// A parse error that points at the offending column (1-based, in characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--threshold '{expr}': column {column}: {expected}")]
pub struct ThresholdError {
    pub expr: String,
    pub column: usize,
    pub expected: String,
}

/// The outcome of one threshold, as shown in the summary, JSON and HTML report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ThresholdResult {
    pub expr: String,
    /// For people: `123.4ms`, `1.25%`, `41.1/s`, or why there is no value.
    pub observed: String,
    /// Milliseconds for latency metrics, a fraction for `error_rate`, req/s for `rps`;
    /// `None` when there was no data.
    pub observed_value: Option<f64>,
    pub passed: bool,
}

const METRIC_HELP: &str = "expected a metric: pN, p(N), avg, min, med, max, error_rate or rps";

/// A cursor over the expression that knows the byte offset of the part it parses.
struct Cursor<'a> {
    expr: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.expr[self.pos..]
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, s: &str) -> bool {
        let ok = self.rest().starts_with(s);
        if ok {
            self.pos += s.len();
        }
        ok
    }

    /// Takes the longest prefix whose characters satisfy `f`.
    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let end = rest.find(|c: char| !f(c)).unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    fn error(&self, at: usize, expected: &str) -> ThresholdError {
        ThresholdError {
            expr: self.expr.to_string(),
            column: self.expr[..at].chars().count() + 1,
            expected: expected.to_string(),
        }
    }

    fn number(&mut self) -> Option<f64> {
        let start = self.pos;
        let digits = self.take_while(|c| c.is_ascii_digit() || c == '.');
        match digits.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                self.pos = start;
                None
            }
        }
    }
}

impl FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(expr: &str) -> Result<Self, Self::Err> {
        let mut c = Cursor { expr, pos: 0 };
        let scope = match expr.rfind(':') {
            Some(colon) => {
                let scope = parse_scope(&expr[..colon])
                    .ok_or_else(|| c.error(0, "expected a request name before ':'"))?;
                c.pos = colon + 1;
                Some(scope)
            }
            None => None,
        };
        c.skip_ws();
        let metric = parse_metric(&mut c)?;
        c.skip_ws();
        let op_at = c.pos;
        let op = if c.eat("<=") {
            Op::Le
        } else if c.eat(">=") {
            Op::Ge
        } else if c.eat("<") {
            Op::Lt
        } else if c.eat(">") {
            Op::Gt
        } else {
            return Err(c.error(op_at, "expected one of < <= > >="));
        };
        c.skip_ws();
        let limit = match metric {
            Metric::ErrorRate => parse_rate(&mut c)?,
            Metric::Rps => parse_rps(&mut c)?,
            _ => parse_duration_us(&mut c)?,
        };
        c.skip_ws();
        if !c.rest().is_empty() {
            return Err(c.error(c.pos, "unexpected text after the value"));
        }
        Ok(Threshold { expr: expr.to_string(), scope, metric, op, limit })
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

/// `GET /hotels` → method + name; anything else is a name matched under every method.
fn parse_scope(s: &str) -> Option<Scope> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Some((first, rest)) = s.split_once(char::is_whitespace) {
        let is_method = first.chars().all(|c| c.is_ascii_uppercase()) && !rest.trim().is_empty();
        if is_method {
            return Some(Scope { method: Some(first.to_string()), name: rest.trim().to_string() });
        }
    }
    Some(Scope { method: None, name: s.to_string() })
}

fn parse_metric(c: &mut Cursor<'_>) -> Result<Metric, ThresholdError> {
    let start = c.pos;
    let word = c.take_while(|ch| ch.is_ascii_alphabetic() || ch == '_');
    let metric = match word {
        "avg" => Metric::Avg,
        "min" => Metric::Min,
        "med" => Metric::Med,
        "max" => Metric::Max,
        "error_rate" => Metric::ErrorRate,
        "rps" => Metric::Rps,
        "p" => {
            let paren = c.eat("(");
            let num_at = c.pos;
            let p = c.number().filter(|p| *p > 0.0 && *p <= 100.0);
            let Some(p) = p else {
                return Err(c.error(
                    num_at,
                    "expected a percentile between 0 and 100, like p95 or p(99.9)",
                ));
            };
            if paren && !c.eat(")") {
                return Err(c.error(c.pos, "expected ')'"));
            }
            Metric::Percentile(p)
        }
        _ => return Err(c.error(start, METRIC_HELP)),
    };
    Ok(metric)
}

fn parse_duration_us(c: &mut Cursor<'_>) -> Result<f64, ThresholdError> {
    const EXPECTED: &str = "expected a duration like 500ms";
    let at = c.pos;
    let n = c.number().ok_or_else(|| c.error(at, EXPECTED))?;
    let unit_at = c.pos;
    let unit = c.take_while(|ch| ch.is_alphabetic());
    let scale = match unit {
        "" | "ms" => 1_000.0,
        "us" | "µs" => 1.0,
        "s" => 1_000_000.0,
        "m" => 60_000_000.0,
        _ => return Err(c.error(unit_at, "expected a unit: us, ms, s or m")),
    };
    Ok(n * scale)
}

fn parse_rate(c: &mut Cursor<'_>) -> Result<f64, ThresholdError> {
    const EXPECTED: &str = "expected a rate like 1% or 0.01";
    let at = c.pos;
    let n = c.number().ok_or_else(|| c.error(at, EXPECTED))?;
    let rate = if c.eat("%") { n / 100.0 } else { n };
    if rate > 1.0 {
        return Err(c.error(at, "expected a rate between 0 and 1 (or 0% and 100%)"));
    }
    Ok(rate)
}

fn parse_rps(c: &mut Cursor<'_>) -> Result<f64, ThresholdError> {
    let at = c.pos;
    let n = c.number().ok_or_else(|| c.error(at, "expected a request rate like 100 or 100/s"))?;
    c.eat("/s");
    Ok(n)
}

impl Threshold {
    /// Checks the threshold against the whole run. Latency metrics use the latency from
    /// the intended start.
    pub fn evaluate(&self, totals: &RunTotals) -> ThresholdResult {
        let result = |observed: String, observed_value: Option<f64>, passed: bool| {
            ThresholdResult { expr: self.expr.clone(), observed, observed_value, passed }
        };
        let Some(stats) = self.select(totals) else {
            return result("no request kind matches the scope".into(), None, false);
        };
        if self.metric == Metric::Rps {
            let rps = if totals.elapsed_secs > 0.0 {
                stats.count as f64 / totals.elapsed_secs
            } else {
                0.0
            };
            return result(
                format!("{}/s", trim_decimals(rps, 1)),
                Some(rps),
                self.op.holds(rps, self.limit),
            );
        }
        if stats.count == 0 {
            return result("no requests".into(), None, false);
        }
        if self.metric == Metric::ErrorRate {
            let rate = stats.failures as f64 / stats.count as f64;
            let shown = format!("{}%", trim_decimals(rate * 100.0, 2));
            return result(shown, Some(rate), self.op.holds(rate, self.limit));
        }
        let us = latency_us(&stats, self.metric);
        result(human_us(us), Some(round_ms(us / 1000.0)), self.op.holds(us, self.limit))
    }

    /// The stats the threshold looks at: the total, or the merge of the scoped kinds.
    fn select<'a>(&self, totals: &'a RunTotals) -> Option<Cow<'a, RequestStats>> {
        let Some(scope) = &self.scope else {
            return Some(Cow::Borrowed(&totals.total));
        };
        let mut merged: Option<RequestStats> = None;
        for (key, stats) in totals.keys.iter().zip(&totals.per_request) {
            let method_ok =
                scope.method.as_ref().is_none_or(|m| key.method.eq_ignore_ascii_case(m));
            if method_ok && key.name == scope.name {
                merged.get_or_insert_with(RequestStats::default).merge(stats);
            }
        }
        merged.map(Cow::Owned)
    }
}

/// A latency statistic in µs; percentiles are clamped to the exact min/max because the
/// histogram reports bucket tops.
fn latency_us(s: &RequestStats, metric: Metric) -> f64 {
    let pct = |p: f64| {
        clamped_percentile_us(&s.latency, s.min_latency_us, s.max_latency_us, p / 100.0) as f64
    };
    match metric {
        Metric::Percentile(p) => pct(p),
        Metric::Med => pct(50.0),
        Metric::Avg => s.mean_latency_us(),
        Metric::Min => s.min_latency_us as f64,
        Metric::Max => s.max_latency_us as f64,
        // Not latency metrics; `evaluate` handles them before calling this.
        Metric::ErrorRate | Metric::Rps => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::output::test_util::totals;

    fn parse(s: &str) -> Threshold {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        s.parse::<Threshold>().err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn parses_metrics_and_units() {
        let t = parse("p95<500ms");
        assert_eq!(
            (t.metric, t.op, t.limit, t.scope),
            (Metric::Percentile(95.0), Op::Lt, 500_000.0, None)
        );
        assert_eq!(parse("p(99)<=1s").limit, 1_000_000.0);
        assert_eq!(parse("p(99)<=1s").op, Op::Le);
        assert_eq!(parse("p99.9<2s").metric, Metric::Percentile(99.9));
        assert_eq!(parse("avg<200ms").metric, Metric::Avg);
        assert_eq!(parse("max < 3s").limit, 3_000_000.0);
        assert_eq!(parse("med>=1.5ms").limit, 1_500.0);
        assert_eq!(parse("min>800us").limit, 800.0);
        assert_eq!(parse("p90<250").limit, 250_000.0);
        assert_eq!(parse("error_rate<1%").limit, 0.01);
        assert_eq!(parse("error_rate<0.01").limit, 0.01);
        let rps = parse("rps>100");
        assert_eq!((rps.metric, rps.op, rps.limit), (Metric::Rps, Op::Gt, 100.0));
        assert_eq!(parse("rps>=100/s").limit, 100.0);
    }

    #[test]
    fn parses_scopes() {
        let t = parse("GET /hotels:p95<300ms");
        assert_eq!(t.scope, Some(Scope { method: Some("GET".into()), name: "/hotels".into() }));
        let t = parse("/hotels:error_rate<1%");
        assert_eq!(t.scope, Some(Scope { method: None, name: "/hotels".into() }));
    }

    #[test]
    fn errors_point_at_the_column() {
        assert_eq!(
            err("p95<abc"),
            "--threshold 'p95<abc': column 5: expected a duration like 500ms"
        );
        assert_eq!(
            err("p95 500ms"),
            "--threshold 'p95 500ms': column 5: expected one of < <= > >="
        );
        assert_eq!(err("foo<1s"), format!("--threshold 'foo<1s': column 1: {METRIC_HELP}"));
        assert!(err("p(101)<1s").contains("column 3: expected a percentile"));
        assert!(err("p(99<1s").contains("column 5: expected ')'"));
        assert!(err("p95<5parsecs").contains("column 6: expected a unit"));
        assert!(err("error_rate<5").contains("column 12: expected a rate between"));
        assert!(err("rps>x").contains("column 5: expected a request rate"));
        assert!(err("p95<1s x").contains("column 8: unexpected text"));
        assert!(err(":p95<1s").contains("column 1: expected a request name"));
    }

    #[test]
    fn evaluates_against_totals() {
        // Fixture: latencies 1.5, 2.5, 10, 120, 120 ms; 1 failure of 5; 2 s elapsed.
        let t = totals();
        let r = parse("max<200ms").evaluate(&t);
        assert!(r.passed, "{r:?}");
        assert_eq!(r.observed, "120ms");
        assert_eq!(r.observed_value, Some(120.0));
        assert!(!parse("p95<100ms").evaluate(&t).passed);
        assert!(parse("min<=1.5ms").evaluate(&t).passed);
        assert!(!parse("min<1.5ms").evaluate(&t).passed);
        let e = parse("error_rate<1%").evaluate(&t);
        assert_eq!((e.observed.as_str(), e.observed_value, e.passed), ("20%", Some(0.2), false));
        assert!(parse("error_rate<=0.2").evaluate(&t).passed);
        let rps = parse("rps>2").evaluate(&t);
        assert_eq!((rps.observed.as_str(), rps.passed), ("2.5/s", true));
        // Scoped: /hotels alone has no failures and a max of 10 ms.
        assert!(parse("GET /hotels:max<=10ms").evaluate(&t).passed);
        assert!(parse("/hotels:error_rate<1%").evaluate(&t).passed);
        // No data never passes.
        assert!(!parse("/nope:p95<1s").evaluate(&t).passed);
        assert!(!parse("GET /never:p95<1s").evaluate(&t).passed);
    }
}
