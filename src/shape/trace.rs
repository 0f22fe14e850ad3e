//! Trace shapes: a CSV trace replayed one row per `step`, looped (default), held after one pass
//! (`no_loop`) or stretched over the run (`fit`), optionally min-max scaled. `locust_compat`
//! reproduces AIPerfBootCampImpl's `locustfile_trace.py` exactly: header line dropped, values
//! `int((v-min)/(max-min)*A + S)` with `A`, `S` truncated like `int(float(x))`, row `int(t) % n`
//! or with fit `min(int(t*n/limit), n-1)`.

use std::sync::Arc;

use super::parse::{ShapeError, TraceOptions};
use super::trace_csv::parse_rows;
use super::{Profile, fmt_secs};

/// A parsed and scaled trace, not yet bound to a run duration.
#[derive(Debug, Clone)]
pub(super) struct TraceSpec {
    name: String,
    /// Knot times in seconds for `t,value` files; None when rows are `step` apart.
    times: Option<Arc<[f64]>>,
    /// Values after scaling.
    values: Arc<[f64]>,
    step: f64,
    options: TraceOptions,
}

/// How time maps onto the rows.
#[derive(Debug, Clone, Copy)]
enum Replay {
    Loop,
    Hold,
    /// Stretched over this many seconds.
    Fit(f64),
}

/// A built trace shape.
#[derive(Debug, Clone)]
pub(super) struct Trace {
    spec: TraceSpec,
    replay: Replay,
}

impl TraceSpec {
    /// Checks the flag values (independent of any file).
    pub fn check_options(o: &TraceOptions) -> Result<(), ShapeError> {
        let bad =
            |flag, expected, v: f64| ShapeError::Flag { flag, expected, found: v.to_string() };
        if let Some(a) = o.amplitude
            && !(a.is_finite() && a >= 0.0)
        {
            return Err(bad("--amplitude", "a finite number >= 0", a));
        }
        if let Some(s) = o.shift
            && !s.is_finite()
        {
            return Err(bad("--shift", "a finite number", s));
        }
        if let Some(s) = o.step
            && !(s.is_finite() && s > 0.0)
        {
            return Err(bad("--step", "a number of seconds > 0", s));
        }
        Ok(())
    }

    pub fn new(name: &str, text: &str, options: &TraceOptions) -> Result<Self, ShapeError> {
        Self::check_options(options)?;
        let rows = parse_rows(name, text, options.locust_compat)?;
        let values = scale(&rows.values, options);
        Ok(TraceSpec {
            name: name.to_string(),
            times: rows.times.map(Arc::from),
            values: Arc::from(values),
            step: options.step.unwrap_or(1.0),
            options: options.clone(),
        })
    }

    pub fn build(&self, duration: Option<f64>) -> Result<Trace, ShapeError> {
        let replay = if self.options.fit {
            let d = duration.ok_or(ShapeError::NeedsDuration {
                what: "--fit (stretching the trace over the run)",
            })?;
            // The original's TIME_LIMIT went through int(float(v)).
            Replay::Fit(if self.options.locust_compat && d >= 1.0 { d.trunc() } else { d })
        } else if self.options.no_loop {
            Replay::Hold
        } else {
            Replay::Loop
        };
        Ok(Trace { spec: self.clone(), replay })
    }

    /// Length of one pass: rows × step, or for `t,value` the last time plus one step (the last
    /// knot lasts as long as a row would).
    fn period(&self) -> f64 {
        match &self.times {
            None => self.values.len() as f64 * self.step,
            Some(times) => times.last().copied().unwrap_or(0.0) + self.step,
        }
    }
}

/// Applies `--amplitude`/`--shift`: min-max scaling to `[S, S+A]`; shift alone adds.
fn scale(values: &[f64], o: &TraceOptions) -> Vec<f64> {
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let minmax = |a: f64, s: f64, v: f64| {
        if max > min {
            (v - min) / (max - min) * a + s
        } else {
            // A flat trace has no range to scale (the original would have divided by zero).
            s
        }
    };
    if o.locust_compat {
        let a = o.amplitude.unwrap_or(50.0).trunc();
        let s = o.shift.unwrap_or(10.0).trunc();
        return values.iter().map(|&v| minmax(a, s, v).trunc()).collect();
    }
    match (o.amplitude, o.shift) {
        (None, None) => values.to_vec(),
        (None, Some(s)) => values.iter().map(|&v| v + s).collect(),
        (Some(a), s) => values.iter().map(|&v| minmax(a, s.unwrap_or(0.0), v)).collect(),
    }
}

impl Trace {
    /// Index of the row in effect at `t`.
    fn row(&self, t: f64) -> usize {
        let n = self.spec.values.len();
        match &self.spec.times {
            None => {
                let index = match self.replay {
                    Replay::Fit(d) => (t * n as f64 / d).floor(),
                    Replay::Loop | Replay::Hold => (t / self.spec.step).floor(),
                };
                // Float-to-int casts saturate, so huge t cannot overflow.
                let index = index.max(0.0) as usize;
                match self.replay {
                    Replay::Loop => index % n,
                    _ => index.min(n - 1),
                }
            }
            Some(times) => {
                let at = match self.replay {
                    Replay::Fit(d) => t * self.spec.period() / d,
                    Replay::Loop => t.rem_euclid(self.spec.period()),
                    Replay::Hold => t,
                };
                // Hold semantics: the last knot with t_k <= t (the first before any knot).
                times.partition_point(|&k| k <= at).saturating_sub(1)
            }
        }
    }
}

impl Profile for Trace {
    fn value(&self, t: f64) -> f64 {
        self.spec.values[self.row(t)]
    }

    fn natural_duration(&self) -> Option<f64> {
        match self.replay {
            Replay::Fit(d) => Some(d),
            _ => Some(self.spec.period()),
        }
    }

    fn max_value(&self, duration: f64) -> f64 {
        let looped_all = matches!(self.replay, Replay::Loop) && duration >= self.spec.period();
        let last = if looped_all { self.spec.values.len() - 1 } else { self.row(duration) };
        self.spec.values[..=last].iter().copied().fold(0.0, f64::max)
    }

    fn describe(&self) -> String {
        let s = &self.spec;
        let n = s.values.len();
        let mut out = match &s.times {
            None => format!("trace {} ({n} rows, step {}", s.name, fmt_secs(s.step)),
            Some(_) => format!("trace {} ({n} knots over {}", s.name, fmt_secs(s.period())),
        };
        match self.replay {
            Replay::Loop => out.push_str(", looped"),
            Replay::Hold => out.push_str(", held after the end"),
            Replay::Fit(d) => out.push_str(&format!(", fitted to {}", fmt_secs(d))),
        }
        let o = &s.options;
        if o.locust_compat {
            let a = o.amplitude.unwrap_or(50.0).trunc();
            let sh = o.shift.unwrap_or(10.0).trunc();
            out.push_str(&format!(", scaled to {sh}..{}, locust-compat", sh + a));
        } else if let Some(a) = o.amplitude {
            let sh = o.shift.unwrap_or(0.0);
            out.push_str(&format!(", scaled to {sh}..{}", sh + a));
        } else if let Some(sh) = o.shift {
            out.push_str(&format!(", shifted by {sh}"));
        }
        out.push(')');
        out
    }
}
