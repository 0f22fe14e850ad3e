//! The query parameters of Jaeger's `GET /api/traces`, parsed with Jaeger's semantics
//! (`cmd/query/app/query_parser.go`): `service` (required unless `traceID` is given),
//! `operation`, `start`/`end` in µs since the epoch (`end` defaults to now, `start` to `end`
//! minus `lookback`, which Jaeger's UI sends as `1h`, `2d`, ..., else minus Jaeger's default
//! 2-day lookback), `limit` (default 100, 0 for no limit), `minDuration`/`maxDuration` as Go
//! durations (`1.5ms`, `300us`), `tag=key:value` and `tags={"key":"value"}`, `traceID`.

use std::collections::BTreeMap;

use crate::emulator::server::http;

/// Jaeger's `defaultQueryLimit`.
pub const DEFAULT_LIMIT: usize = 100;

/// Jaeger query's default `--query.lookback` for searches without `start` (2 days), in µs.
const DEFAULT_LOOKBACK_US: i64 = 2 * 24 * 3600 * 1_000_000;

/// A parsed trace search.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceQuery {
    pub service: Option<String>,
    pub operation: Option<String>,
    /// Span start times accepted, µs since the epoch, inclusive.
    pub start_us: i64,
    pub end_us: i64,
    /// `None`: no limit.
    pub limit: Option<usize>,
    pub min_duration_us: Option<i64>,
    pub max_duration_us: Option<i64>,
    /// Every pair must be among the span's (or its process's) tags, compared as strings.
    pub tags: BTreeMap<String, String>,
    /// `traceID` parameters: fetch these traces (lower-case hex as given).
    pub trace_ids: Vec<String>,
}

/// Why a query was refused: Jaeger's message, answered with HTTP 400.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

fn bad_param(name: &str, detail: impl std::fmt::Display) -> QueryError {
    QueryError(format!("unable to parse param '{name}': {detail}"))
}

impl TraceQuery {
    /// Parses a raw query string (`a=b&c=d`, form-encoded) at `now_us` (µs since the epoch).
    pub fn parse(raw: &str, now_us: i64) -> Result<Self, QueryError> {
        let params = form_pairs(raw);
        let first = |name: &str| {
            params.iter().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.as_str())
        };
        let micros = |name: &str| -> Result<Option<i64>, QueryError> {
            first(name).map(|v| v.parse::<i64>().map_err(|e| bad_param(name, e))).transpose()
        };
        let end_us = micros("end")?.unwrap_or(now_us);
        let start_us = match (micros("start")?, first("lookback")) {
            (Some(start), _) => start,
            (None, Some(lookback)) if lookback != "custom" => {
                end_us - go_duration_us(lookback).map_err(|e| bad_param("lookback", e))?
            }
            (None, _) => end_us - DEFAULT_LOOKBACK_US,
        };
        let limit = match first("limit") {
            None => Some(DEFAULT_LIMIT),
            Some(v) => match v.parse::<i64>().map_err(|e| bad_param("limit", e))? {
                0 => None,
                n if n < 0 => return Err(bad_param("limit", "must be >= 0")),
                n => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            },
        };
        let duration = |name: &str| -> Result<Option<i64>, QueryError> {
            first(name).map(|v| go_duration_us(v).map_err(|e| bad_param(name, e))).transpose()
        };
        let min_duration_us = duration("minDuration")?;
        let max_duration_us = duration("maxDuration")?;
        if let (Some(min), Some(max)) = (min_duration_us, max_duration_us)
            && max < min
        {
            return Err(QueryError("'maxDuration' should be greater than 'minDuration'".into()));
        }
        let mut tags = BTreeMap::new();
        for (key, value) in &params {
            match key.as_str() {
                "tag" => {
                    let (k, v) = value.split_once(':').ok_or_else(|| {
                        QueryError(format!(
                            "malformed 'tag' parameter, expecting key:value, received: {value}"
                        ))
                    })?;
                    tags.insert(k.to_string(), v.to_string());
                }
                "tags" => {
                    let map: BTreeMap<String, String> =
                        serde_json::from_str(value).map_err(|e| {
                            QueryError(format!(
                                "malformed 'tags' parameter, cannot unmarshal JSON: {e}"
                            ))
                        })?;
                    tags.extend(map);
                }
                _ => {}
            }
        }
        let mut trace_ids = Vec::new();
        for (key, value) in &params {
            if key == "traceID" {
                if !is_trace_id(value) {
                    return Err(QueryError(format!(
                        "cannot parse traceID param: expected 1 to 32 hex digits, found `{value}`"
                    )));
                }
                trace_ids.push(value.to_ascii_lowercase());
            }
        }
        let service = first("service").map(str::to_string);
        if service.is_none() && trace_ids.is_empty() {
            return Err(QueryError("parameter 'service' is required".into()));
        }
        Ok(Self {
            service,
            operation: first("operation").map(str::to_string),
            start_us,
            end_us,
            limit,
            min_duration_us,
            max_duration_us,
            tags,
            trace_ids,
        })
    }
}

pub fn is_trace_id(text: &str) -> bool {
    (1..=32).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `application/x-www-form-urlencoded` pairs: `+` is a space, `%XX` a byte (invalid escapes
/// are kept as they are, as Go's lenient clients would send them).
pub fn form_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (http::percent_decode(k), http::percent_decode(v))
        })
        .collect()
}

/// A Go duration (`time.ParseDuration`: `300ms`, `1.5h`, `1h30m`, units ns us µs ms s m h)
/// plus `d` for days as Jaeger's UI lookbacks use, in whole µs.
pub fn go_duration_us(text: &str) -> Result<i64, String> {
    let expected =
        || format!("expected a duration such as 1h, 30m, 1.5ms or 300us, found `{text}`");
    if text == "0" {
        return Ok(0);
    }
    let mut rest = text;
    let mut total = 0.0;
    if rest.is_empty() {
        return Err(expected());
    }
    while !rest.is_empty() {
        let number_len =
            rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(expected)?;
        let number: f64 = rest[..number_len].parse().map_err(|_| expected())?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let micros = match &rest[..unit_len] {
            "ns" => 1e-3,
            "us" | "µs" | "μs" => 1.0,
            "ms" => 1e3,
            "s" => 1e6,
            "m" => 60e6,
            "h" => 3600e6,
            "d" => 86400e6,
            _ => return Err(expected()),
        };
        total += number * micros;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() || total > i64::MAX as f64 / 2.0 {
        return Err(expected());
    }
    Ok(total.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000_000;

    #[test]
    fn defaults_follow_jaeger() {
        let q = TraceQuery::parse("service=frontend", NOW).unwrap();
        assert_eq!(q.limit, Some(100));
        assert_eq!(q.end_us, NOW);
        assert_eq!(q.start_us, NOW - 2 * 86_400_000_000);
        assert_eq!(q.operation, None);
        let e = TraceQuery::parse("limit=3", NOW).unwrap_err();
        assert_eq!(e.to_string(), "parameter 'service' is required");
    }

    #[test]
    fn reads_times_lookback_limits_durations_and_tags() {
        let q = TraceQuery::parse(
            "service=frontend&operation=HTTP+GET+%2Fhotels&lookback=2m&limit=0&minDuration=1.5ms\
             &maxDuration=1s&tag=error:true&tags=%7B%22pod%22%3A%22a%22%7D",
            NOW,
        )
        .unwrap();
        assert_eq!(q.operation.as_deref(), Some("HTTP GET /hotels"));
        assert_eq!(q.start_us, NOW - 120_000_000);
        assert_eq!(q.limit, None);
        assert_eq!((q.min_duration_us, q.max_duration_us), (Some(1500), Some(1_000_000)));
        assert_eq!(q.tags.get("error").map(String::as_str), Some("true"));
        assert_eq!(q.tags.get("pod").map(String::as_str), Some("a"));
        // An explicit start wins over the lookback (the UI sends both).
        let q = TraceQuery::parse("service=a&start=5&end=9&lookback=1h", NOW).unwrap();
        assert_eq!((q.start_us, q.end_us), (5, 9));
    }

    #[test]
    fn refuses_bad_values_naming_the_parameter() {
        let e = |q: &str| TraceQuery::parse(q, NOW).unwrap_err().to_string();
        assert!(e("service=a&start=x").starts_with("unable to parse param 'start'"));
        assert!(e("service=a&limit=-1").starts_with("unable to parse param 'limit'"));
        assert!(e("service=a&lookback=3 weeks").starts_with("unable to parse param 'lookback'"));
        assert!(e("service=a&minDuration=2s&maxDuration=1s").contains("maxDuration"));
        assert!(e("service=a&tag=nocolon").contains("key:value"));
        assert!(e("traceID=xyz").contains("traceID"));
        assert!(TraceQuery::parse("traceID=00ff", NOW).is_ok());
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration_us("1h30m"), Ok(5_400_000_000));
        assert_eq!(go_duration_us("300us"), Ok(300));
        assert_eq!(go_duration_us("300µs"), Ok(300));
        assert_eq!(go_duration_us("2d"), Ok(172_800_000_000));
        assert_eq!(go_duration_us("1500ns"), Ok(2));
        assert!(go_duration_us("").is_err());
        assert!(go_duration_us("5").is_err());
        assert!(go_duration_us("5x").is_err());
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(http::percent_decode("a%2Fb+c%zz%"), "a/b c%zz%");
        assert_eq!(http::percent_decode("%E2%82%AC"), "€");
    }
}
