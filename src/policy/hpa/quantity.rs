//! Kubernetes text formats the HPA inputs use: resource quantities (`500m`, `1.5`, `2Gi`,
//! `12345678n`, `1e3`) as milli-values the way `Quantity.MilliValue()` rounds them (up), and
//! Go durations (`1m0s`, `30s`, `1.5s`) as seconds. Pure parsing, no allocation on success.

/// Parses a quantity and returns its value in milli-units, rounded up, saturating at the
/// i64 range. `None` when the text is not a quantity.
pub fn parse_milli(text: &str) -> Option<i64> {
    let t = text.trim();
    let (negative, t) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let number_end = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, suffix) = t.split_at(number_end);
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if int_part.is_empty() && frac_part.is_empty() || frac_part.contains('.') {
        return None;
    }
    // Digits beyond what an i128 can hold are all rounding noise for a milli-value.
    let digits: String = int_part.chars().chain(frac_part.chars()).collect();
    let digits = digits.trim_start_matches('0');
    if digits.len() > 36 {
        return Some(if negative { i64::MIN } else { i64::MAX });
    }
    let mantissa: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    let (exp10, binary_shift) = suffix_scale(suffix)?;
    // value = mantissa * 10^(exp10 - frac) * 2^shift; milli = value * 1000.
    let exp = exp10 + 3 - frac_part.len() as i32;
    let mut num = mantissa;
    for _ in 0..binary_shift {
        num = match num.checked_mul(2) {
            Some(v) => v,
            None => return Some(saturated(negative)),
        };
    }
    let value = if exp >= 0 {
        let mut v = num;
        for _ in 0..exp {
            v = match v.checked_mul(10) {
                Some(v) => v,
                None => return Some(saturated(negative)),
            };
        }
        v
    } else if -exp > 38 {
        i128::from(num != 0)
    } else {
        let div = 10i128.pow((-exp) as u32);
        // Rounded up (away from zero), as Quantity.ScaledValue does.
        (num + div - 1) / div
    };
    let value = if negative { -value } else { value };
    Some(value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

fn saturated(negative: bool) -> i64 {
    if negative { i64::MIN } else { i64::MAX }
}

/// The decimal exponent and binary shift a suffix stands for.
fn suffix_scale(suffix: &str) -> Option<(i32, u32)> {
    Some(match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        s if s.starts_with(['e', 'E']) => {
            let e: i32 = s[1..].parse().ok()?;
            if !(-60..=60).contains(&e) {
                return None;
            }
            (e, 0)
        }
        _ => return None,
    })
}

/// Parses a quantity as a float (for tolerances such as `0.05`).
pub fn parse_f64(text: &str) -> Option<f64> {
    let milli = parse_milli(text)?;
    // Plain decimals are exact through f64 parsing; suffixed ones go through milli-units.
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite()).or(Some(milli as f64 / 1000.0))
}

/// Parses a Go duration (`1m0s`, `30s`, `1.5s`, `500ms`, `1h2m`) to seconds.
pub fn parse_go_duration(text: &str) -> Option<f64> {
    let t = text.trim();
    if t == "0" {
        return Some(0.0);
    }
    let (negative, mut rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if n == 0 {
            return None;
        }
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[u..];
        total += value * unit;
    }
    Some(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_round_up_to_milli_units() {
        let cases: &[(&str, i64)] = &[
            ("1", 1000),
            ("1.0", 1000),
            ("0.9", 900),
            ("200m", 200),
            ("1.5", 1500),
            ("12345678n", 13),
            ("1n", 1),
            ("0", 0),
            ("100Ki", 102_400_000),
            ("1Gi", 1_073_741_824_000),
            ("1e3", 1_000_000),
            ("2k", 2_000_000),
            ("0.0001", 1),
            ("-1", -1000),
            (".5", 500),
        ];
        for (text, milli) in cases {
            assert_eq!(parse_milli(text), Some(*milli), "{text}");
        }
        for bad in ["", "abc", "1x", "1..0", "m", "1.2.3"] {
            assert_eq!(parse_milli(bad), None, "{bad}");
        }
        assert_eq!(parse_milli("9223372036854775807"), Some(i64::MAX));
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1m0s"), Some(60.0));
        assert_eq!(parse_go_duration("30s"), Some(30.0));
        assert_eq!(parse_go_duration("1.5s"), Some(1.5));
        assert_eq!(parse_go_duration("1h2m3s"), Some(3723.0));
        assert_eq!(parse_go_duration("500ms"), Some(0.5));
        assert_eq!(parse_go_duration("x"), None);
        assert_eq!(parse_go_duration("10"), None);
    }
}
