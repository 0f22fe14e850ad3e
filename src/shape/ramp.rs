//! `ramp:from=0,to=100,duration=60s`: linear from `from` to `to` over `duration`, then holds `to`.

use super::parse::{Field, Inline, ShapeError};
use super::{Profile, fmt_secs};

#[derive(Debug, Clone)]
pub(super) struct Ramp {
    from: f64,
    to: f64,
    duration: f64,
}

const KEYS: &[&str] = &["from", "to", "duration"];

impl Ramp {
    pub fn parse(inline: &Inline, body: Field) -> Result<Self, ShapeError> {
        let p = inline.params("ramp", body, KEYS)?;
        Ok(Ramp {
            from: p.non_negative("from", Some(0.0))?,
            to: p.non_negative("to", None)?,
            duration: p.duration("duration", None)?,
        })
    }
}

impl Profile for Ramp {
    fn value(&self, t: f64) -> f64 {
        // `duration=0s` is a jump; `t >= duration` covers it without dividing by zero.
        if t >= self.duration {
            self.to
        } else {
            self.from + (self.to - self.from) * (t / self.duration)
        }
    }

    fn natural_duration(&self) -> Option<f64> {
        Some(self.duration)
    }

    fn max_value(&self, duration: f64) -> f64 {
        // Monotonic, so the maximum is at one of the ends.
        self.from.max(self.value(duration))
    }

    fn describe(&self) -> String {
        format!("ramp {} -> {} over {}", self.from, self.to, fmt_secs(self.duration))
    }
}
