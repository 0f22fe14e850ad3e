//! `sin:min=10,max=80,period=400s[,phase=0s]`: a raised cosine
//! `min + (max-min)·(1-cos(2π(t+phase)/period))/2`, which starts at `min` and peaks at half a
//! period, like the shipped `sin400.csv`.

use std::f64::consts::TAU;

use super::parse::{Field, Inline, ShapeError};
use super::{Profile, fmt_secs};

#[derive(Debug, Clone)]
pub(super) struct Sin {
    min: f64,
    max: f64,
    period: f64,
    phase: f64,
}

const KEYS: &[&str] = &["min", "max", "period", "phase"];

impl Sin {
    pub fn parse(inline: &Inline, body: Field) -> Result<Self, ShapeError> {
        let p = inline.params("sin", body, KEYS)?;
        let sin = Sin {
            min: p.non_negative("min", None)?,
            max: p.non_negative("max", None)?,
            period: p.duration("period", None)?,
            phase: p.duration("phase", Some(0.0))?,
        };
        if sin.max < sin.min {
            return Err(p.invalid("max", &format!("a value >= min ({})", sin.min)));
        }
        if sin.period <= 0.0 {
            return Err(p.invalid("period", "a period longer than 0s"));
        }
        Ok(sin)
    }
}

impl Profile for Sin {
    fn value(&self, t: f64) -> f64 {
        // Reduce the angle first so long runs keep full precision in cos().
        let cycle = ((t + self.phase) / self.period).rem_euclid(1.0);
        self.min + (self.max - self.min) * (1.0 - (TAU * cycle).cos()) / 2.0
    }

    fn natural_duration(&self) -> Option<f64> {
        None
    }

    fn max_value(&self, duration: f64) -> f64 {
        // The peaks are at (t + phase) = period/2 + j·period; between two peaks the curve falls
        // and rises again, so without a peak inside [0, duration] the maximum is at an end.
        let first_peak = (0.5 - self.phase / self.period).rem_euclid(1.0) * self.period;
        if first_peak <= duration { self.max } else { self.value(0.0).max(self.value(duration)) }
    }

    fn describe(&self) -> String {
        let mut s =
            format!("sin min={} max={} period={}", self.min, self.max, fmt_secs(self.period));
        if self.phase != 0.0 {
            s.push_str(&format!(" phase={}", fmt_secs(self.phase)));
        }
        s
    }
}
