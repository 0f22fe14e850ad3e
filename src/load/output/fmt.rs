//! Number and text formatting shared by the writers: human durations, Python-compatible
//! float and CSV rendering (for Locust byte compatibility) and HTML escaping.

use std::borrow::Cow;

/// Microseconds to milliseconds.
pub(crate) fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Milliseconds rounded to the microsecond, so JSON shows `1.234` rather than float noise.
pub(crate) fn round_ms(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// A duration given in µs for people: `812µs`, `1.23ms`, `2.1s`. Two decimals at most,
/// trailing zeros dropped, because the summary lines must stay short enough to align.
pub(crate) fn human_us(us: f64) -> String {
    if !us.is_finite() || us <= 0.0 {
        return "0s".to_string();
    }
    if us < 999.5 {
        format!("{}µs", us.round())
    } else if us < 999_995.0 {
        format!("{}ms", trim_decimals(us / 1000.0, 2))
    } else {
        format!("{}s", trim_decimals(us / 1_000_000.0, 2))
    }
}

/// `x` with at most `decimals` decimals and no trailing zeros (`2.10` → `2.1`, `3.00` → `3`).
pub(crate) fn trim_decimals(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// A float as Python's `repr` (and so `csv.writer`) prints it: shortest round-trip digits
/// and a `.0` on whole numbers. Locust's CSV float columns are written that way; matching
/// it keeps files byte-comparable for the common cases. (Python switches to exponent form
/// below 1e-4 and from 1e16; Rust does not. Both parse back to the same number.)
pub(crate) fn py_float(x: f64) -> String {
    if !x.is_finite() {
        // Python prints `nan` / `inf`; the callers never pass these, but stay parseable.
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let s = format!("{x}");
    if s.contains(['.', 'e', 'E']) { s } else { format!("{s}.0") }
}

/// One CSV field quoted the way Python's `csv.writer` does by default (`QUOTE_MINIMAL`):
/// only when it contains the delimiter, a quote or a line break; quotes are doubled.
pub(crate) fn csv_field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC), the format of Locust's
/// `util/date.py::format_utc_timestamp` used for the failures' First/Last Seen columns.
pub(crate) fn utc_iso(unix: f64) -> String {
    if !unix.is_finite() || unix < 0.0 {
        return String::new();
    }
    // Locust's strftime truncates the fraction; so does the cast. humantime renders
    // exactly this RFC 3339 form (seconds precision, `Z`).
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human_us(812.0), "812µs");
        assert_eq!(human_us(1234.0), "1.23ms");
        assert_eq!(human_us(1000.0), "1ms");
        assert_eq!(human_us(999.7), "1ms");
        assert_eq!(human_us(2_100_000.0), "2.1s");
        assert_eq!(human_us(0.0), "0s");
    }

    #[test]
    fn python_floats() {
        assert_eq!(py_float(12.0), "12.0");
        assert_eq!(py_float(0.0), "0.0");
        assert_eq!(py_float(4.842432839298001), "4.842432839298001");
        assert_eq!(py_float(1.5), "1.5");
    }

    #[test]
    fn csv_quoting_matches_python() {
        assert_eq!(csv_field("/a"), "/a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn utc_timestamps() {
        assert_eq!(utc_iso(1_700_000_000.75), "2023-11-14T22:13:20Z");
    }
}
