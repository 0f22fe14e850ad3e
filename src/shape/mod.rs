//! Load shapes: the target load (users, or req/s in rate mode) as a pure function of the time
//! since the start of the run. Kinds: const, ramp, steps (k6 stages), sin (raised cosine),
//! weibull (the CTL seed's staged shape) and trace (CSV replay, incl. the Locust trace shape).
//! Also the arrival schedule that turns a shape into intended send times (`arrivals`).
//!
//! No IO (except `trace_csv::load_trace_file`, which reads a trace file), no clock, no tokio:
//! time is always a parameter. A new kind is one file, one `Kind` variant and one match arm.

pub mod arrivals;
mod constant;
pub mod mt;
mod parse;
mod ramp;
mod sin;
mod steps;
mod trace;
mod trace_csv;
mod weibull;

#[cfg(test)]
mod tests;

pub use arrivals::{ArrivalProcess, ArrivalSchedule};
pub use parse::{
    KINDS, ShapeError, ShapeSpec, TraceOptions, parse_bounded_duration, parse_duration,
};
pub use trace_csv::{BUILTIN_NAMES, TraceFile, builtin_trace, load_trace_file, read_bounded};

/// What every kind provides; `Shape` sanitises the results.
trait Profile {
    fn value(&self, t: f64) -> f64;
    fn natural_duration(&self) -> Option<f64>;
    fn max_value(&self, duration: f64) -> f64;
    fn describe(&self) -> String;
}

/// A built shape: load (users, or req/s in rate mode) as a pure function of time since start.
#[derive(Debug, Clone)]
pub struct Shape {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Const(constant::Const),
    Ramp(ramp::Ramp),
    Steps(steps::Steps),
    Sin(sin::Sin),
    Weibull(weibull::Weibull),
    Trace(trace::Trace),
}

impl Shape {
    /// A constant shape (a convenience for callers and tests; same as `const:VALUE`).
    pub fn constant(value: f64) -> Shape {
        Shape { kind: Kind::Const(constant::Const::new(sanitize(value))) }
    }

    fn profile(&self) -> &dyn Profile {
        match &self.kind {
            Kind::Const(s) => s,
            Kind::Ramp(s) => s,
            Kind::Steps(s) => s,
            Kind::Sin(s) => s,
            Kind::Weibull(s) => s,
            Kind::Trace(s) => s,
        }
    }

    /// Target at `t` seconds since the start of the run (t >= 0). Never negative, never NaN.
    pub fn value_at(&self, t: f64) -> f64 {
        // Negative or NaN times are caller bugs; answer for the start rather than panic.
        let t = if t >= 0.0 { t } else { 0.0 };
        sanitize(self.profile().value(t))
    }

    /// The shape's own length in seconds if it has one (steps: sum of stages; ramp: its
    /// duration; trace: rows x step for one pass, or the run duration with --fit;
    /// const/sin/weibull: None).
    pub fn natural_duration(&self) -> Option<f64> {
        self.profile().natural_duration()
    }

    /// Upper bound of value_at over [0, duration] (used to size worker pools).
    pub fn max_value(&self, duration: f64) -> f64 {
        let duration = if duration >= 0.0 { duration } else { 0.0 };
        sanitize(self.profile().max_value(duration))
    }

    /// Short description for display, e.g. "trace sin400.csv (799 rows, step 1s, looped)".
    pub fn describe(&self) -> String {
        self.profile().describe()
    }
}

/// The largest load a shape yields (users, or req/s). Without a bound `const:1e30` made the
/// rate pacer's inter-arrival gap vanish below f64 resolution: a busy loop that never ended.
pub const MAX_LOAD: f64 = 1e6;

/// Loads are finite, non-negative (a negative `--shift` can push scaled values below 0) and
/// at most [`MAX_LOAD`].
fn sanitize(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 { v.min(MAX_LOAD) } else { 0.0 }
}

/// Seconds in humantime form without spaces (`90` -> `1m30s`), which `--shape` parses back.
fn fmt_secs(secs: f64) -> String {
    if !(secs.is_finite() && (0.0..1e12).contains(&secs)) {
        return format!("{secs}s");
    }
    humantime::format_duration(std::time::Duration::from_secs_f64(secs))
        .to_string()
        .replace(' ', "")
}
