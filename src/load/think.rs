//! Think time between a user's requests in the users (closed) model: `0.1` (constant
//! seconds, Locust's `constant`), `exp:0.42` (exponential with that mean, as the AIPerf
//! locustfile slept) or `between:2,4` (uniform, Locust's `between`).

use rand::Rng;
use rand_distr::{Distribution, Exp};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThinkTime {
    Constant(f64),
    Exponential { mean: f64 },
    Between { min: f64, max: f64 },
}

impl Default for ThinkTime {
    fn default() -> Self {
        ThinkTime::Constant(0.0)
    }
}

impl ThinkTime {
    /// Draws one think time.
    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        let secs = match *self {
            ThinkTime::Constant(s) => s,
            ThinkTime::Exponential { mean } => {
                Exp::new(1.0 / mean).map(|d| d.sample(rng)).unwrap_or(0.0)
            }
            ThinkTime::Between { min, max } if max > min => rng.random_range(min..max),
            ThinkTime::Between { min, .. } => min,
        };
        // An exponential draw can exceed the cap; clamp rather than overflow `Duration`.
        Duration::from_secs_f64(secs.clamp(0.0, 10.0 * MAX_THINK_SECS))
    }

    /// Mean think time in seconds.
    pub fn mean(&self) -> f64 {
        match *self {
            ThinkTime::Constant(s) => s,
            ThinkTime::Exponential { mean } => mean,
            ThinkTime::Between { min, max } => (min + max) / 2.0,
        }
    }
}

impl std::fmt::Display for ThinkTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ThinkTime::Constant(s) => write!(f, "{s}"),
            ThinkTime::Exponential { mean } => write!(f, "exp:{mean}"),
            ThinkTime::Between { min, max } => write!(f, "between:{min},{max}"),
        }
    }
}

/// A day: longer pauses are typos, and `Duration` must be able to hold every sample.
const MAX_THINK_SECS: f64 = 86_400.0;

fn seconds(text: &str, what: &str) -> Result<f64, String> {
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{what}: expected seconds as a number, found '{text}'"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{what}: expected a finite number >= 0, found '{text}'"));
    }
    if v > MAX_THINK_SECS {
        return Err(format!("{what}: expected at most {MAX_THINK_SECS} seconds, found '{text}'"));
    }
    Ok(v)
}

impl std::str::FromStr for ThinkTime {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        const EXPECTED: &str = "expected SECONDS, exp:MEAN or between:MIN,MAX";
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("exp:") {
            let mean = seconds(rest, "exp mean")?;
            return if mean > 0.0 {
                Ok(ThinkTime::Exponential { mean })
            } else {
                Ok(ThinkTime::Constant(0.0))
            };
        }
        if let Some(rest) = s.strip_prefix("between:") {
            let (a, b) = rest.split_once(',').ok_or_else(|| format!("'{s}': {EXPECTED}"))?;
            let (min, max) = (seconds(a, "between min")?, seconds(b, "between max")?);
            if max < min {
                return Err(format!("'{s}': expected MIN <= MAX"));
            }
            return Ok(ThinkTime::Between { min, max });
        }
        if s.contains(':') {
            return Err(format!("'{s}': {EXPECTED}"));
        }
        seconds(s, "think time").map(ThinkTime::Constant).map_err(|e| format!("{e} ({EXPECTED})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!("0.1".parse::<ThinkTime>().unwrap(), ThinkTime::Constant(0.1));
        assert_eq!("exp:0.42".parse::<ThinkTime>().unwrap(), ThinkTime::Exponential { mean: 0.42 });
        assert_eq!(
            "between:2,4".parse::<ThinkTime>().unwrap(),
            ThinkTime::Between { min: 2.0, max: 4.0 }
        );
        for bad in
            ["x", "-1", "NaN", "exp:", "between:4,2", "between:2", "gauss:1", "1e300", "exp:1e300"]
        {
            assert!(bad.parse::<ThinkTime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn samples_stay_in_range_and_have_the_mean() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let between = ThinkTime::Between { min: 2.0, max: 4.0 };
        let exp = ThinkTime::Exponential { mean: 0.42 };
        let n = 20_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let b = between.sample(&mut rng).as_secs_f64();
            assert!((2.0..4.0).contains(&b));
            sum += exp.sample(&mut rng).as_secs_f64();
        }
        // Standard error of the mean is 0.42/sqrt(n) ~ 0.003; allow 5 of them.
        assert!((sum / n as f64 - 0.42).abs() < 5.0 * 0.42 / (n as f64).sqrt());
    }
}
