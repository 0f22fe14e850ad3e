//! Value parsers with Go's semantics, for the strings Knative reads from ConfigMaps and
//! annotations: `time.ParseDuration`, `strconv.ParseBool`, `ParseFloat` and `ParseInt(.., 32)`.
//! Kept apart so the guard validates Knative parameters with exactly the same rules.

use std::time::Duration;

/// Go's `time.ParseDuration`, in nanoseconds (negative allowed: callers decide).
/// Accepts `300ms`, `-1.5h`, `2h45m`, `1m23s`, and a bare `0`; units ns, us (µs), ms, s, m, h.
pub fn go_duration_nanos(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not a duration (expected e.g. 30s, 1m30s, 500ms)");
    let mut rest = text;
    let negative = match rest.as_bytes().first() {
        Some(b'-') => {
            rest = &rest[1..];
            true
        }
        Some(b'+') => {
            rest = &rest[1..];
            false
        }
        _ => false,
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(f) => {
                let n = f.bytes().take_while(u8::is_ascii_digit).count();
                f.split_at(n)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        let unit_len = after.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit_nanos: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        };
        let whole: i128 =
            if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| bad())? };
        total += whole * unit_nanos;
        if !frac_part.is_empty() {
            // Go adds int64(float64(frac) * (float64(unit) / scale)); 18 digits keep it exact enough.
            let digits = &frac_part[..frac_part.len().min(18)];
            let frac: f64 = digits.parse::<u64>().map_err(|_| bad())? as f64;
            let scale = 10f64.powi(digits.len() as i32);
            total += (frac * (unit_nanos as f64 / scale)) as i128;
        }
        if total > i64::MAX as i128 {
            return Err(format!("{text:?} is out of range for a duration"));
        }
        rest = after;
    }
    let signed = if negative { -total } else { total };
    Ok(signed as i64)
}

/// A non-negative Go duration.
pub fn go_duration(text: &str) -> Result<Duration, String> {
    let nanos = go_duration_nanos(text)?;
    if nanos < 0 {
        return Err(format!("{text:?} is negative"));
    }
    Ok(Duration::from_nanos(nanos as u64))
}

/// Go's `strconv.ParseBool`.
pub fn go_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("{text:?} is not a boolean (expected true or false)")),
    }
}

/// `strconv.ParseFloat(.., 64)`, refusing NaN and infinities: Go accepts them, but every
/// range check Knative makes is then silently false, so they can only be mistakes.
pub fn go_float(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{text:?} is not a number")),
    }
}

/// `strconv.ParseInt(.., 10, 32)`.
pub fn go_int32(text: &str) -> Result<i32, String> {
    text.parse::<i32>().map_err(|_| format!("{text:?} is not a 32-bit integer"))
}

/// Go's `Duration.String()`-like rendering for messages: whole seconds as `6s`, else `1.5s`.
pub fn show(d: Duration) -> String {
    humantime::format_duration(d).to_string().replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let s = 1_000_000_000i64;
        for (text, want) in [
            ("0", 0),
            ("6s", 6 * s),
            ("1h", 3600 * s),
            ("2m3s", 123 * s),
            ("-1m23s", -83 * s),
            ("61984ms", 61_984_000_000),
            ("1.5s", 1_500_000_000),
            (".5s", 500_000_000),
            ("1h1s", 3601 * s),
            ("300us", 300_000),
            ("+5s", 5 * s),
        ] {
            assert_eq!(go_duration_nanos(text), Ok(want), "{text}");
        }
        for text in ["", "5", "s", "not a duration", "1d", "-", "1.s.", "9999999999h"] {
            assert!(go_duration_nanos(text).is_err(), "{text}");
        }
        assert!(go_duration("-1s").is_err());
    }

    #[test]
    fn go_scalars() {
        assert_eq!(go_bool("TRUE"), Ok(true));
        assert_eq!(go_bool("False"), Ok(false));
        assert!(go_bool("yes").is_err());
        assert_eq!(go_float("1.001"), Ok(1.001));
        assert!(go_float("NaN").is_err());
        assert!(go_float("not a float").is_err());
        assert_eq!(go_int32("-1"), Ok(-1));
        assert!(go_int32("1.5").is_err());
        assert!(go_int32("3000000000").is_err());
    }
}
