//! Arrival schedules for the open (rate) model: intended send times at intensity
//! λ(t) = `shape.value_at(t)` req/s, by time rescaling of the cumulative intensity Λ(t). Each
//! inter-arrival is a unit-mean amount of mass S drawn from the arrival process, and the next
//! arrival is where Λ has grown by S. Pure: the caller supplies the uniforms.
//!
//! Λ is integrated on a 10 ms grid with λ linear inside a cell between its endpoint values
//! (trapezoid mass); the final cell is solved exactly (a quadratic).

use std::str::FromStr;

use statrs::function::gamma::gamma;

use super::Shape;

/// Grid cells per second (10 ms cells). Cell times are `index / CELLS_PER_SECOND`, which is
/// exact on whole seconds, so trace rows start exactly on a cell edge.
const CELLS_PER_SECOND: f64 = 100.0;
const CELL: f64 = 1.0 / CELLS_PER_SECOND;

/// With an unbounded `end`, give up after this many cells of zero intensity in a row (one day)
/// rather than scan forever.
const MAX_EMPTY_CELLS: u64 = 86_400 * 100;

/// The distribution of the mass between arrivals (all with mean 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ArrivalProcess {
    /// Evenly spaced in Λ: exactly λ per second.
    Uniform,
    /// Exponential mass: a (non-homogeneous) Poisson process.
    Poisson,
    /// Weibull(k) mass with mean 1: k < 1 is burstier than Poisson, k > 1 more regular.
    Weibull { k: f64 },
}

/// Error for a malformed `--arrivals` value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "--arrivals: expected uniform, poisson or weibull:K (K > 0, e.g. weibull:0.5), found '{0}'"
)]
pub struct ArrivalProcessError(pub String);

impl FromStr for ArrivalProcess {
    type Err = ArrivalProcessError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let lower = text.to_ascii_lowercase();
        match lower.as_str() {
            "uniform" => return Ok(ArrivalProcess::Uniform),
            "poisson" => return Ok(ArrivalProcess::Poisson),
            _ => {}
        }
        if let Some(k) = lower.strip_prefix("weibull:")
            && let Ok(k) = k.trim().parse::<f64>()
            && k.is_finite()
            && k > 0.0
        {
            return Ok(ArrivalProcess::Weibull { k });
        }
        Err(ArrivalProcessError(s.to_string()))
    }
}

impl std::fmt::Display for ArrivalProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArrivalProcess::Uniform => f.write_str("uniform"),
            ArrivalProcess::Poisson => f.write_str("poisson"),
            ArrivalProcess::Weibull { k } => write!(f, "weibull:{k}"),
        }
    }
}

/// Generates intended send times (seconds since start) at intensity λ(t) = shape.value_at(t) by
/// time rescaling of the cumulative intensity Λ(t).
#[derive(Debug, Clone)]
pub struct ArrivalSchedule {
    shape: Shape,
    process: ArrivalProcess,
    end: f64,
    /// Γ(1 + 1/k), to give Weibull masses mean 1.
    weibull_norm: f64,
    /// Current cell and the position inside it (seconds from the cell's start).
    cell: u64,
    offset: f64,
    /// λ at the current cell's start and end.
    lambda: (f64, f64),
    first: bool,
    done: bool,
}

impl ArrivalSchedule {
    pub fn new(shape: Shape, process: ArrivalProcess, end: f64) -> Self {
        let weibull_norm = match process {
            ArrivalProcess::Weibull { k } if k.is_finite() && k > 0.0 => gamma(1.0 + 1.0 / k),
            _ => 1.0,
        };
        let lambda = (shape.value_at(0.0), shape.value_at(CELL));
        ArrivalSchedule {
            shape,
            process,
            // NaN or negative: no arrivals at all.
            end: if end >= 0.0 { end } else { 0.0 },
            weibull_norm,
            cell: 0,
            offset: 0.0,
            lambda,
            first: true,
            done: false,
        }
    }

    /// The unit-mean mass to the next arrival.
    fn mass(&mut self, uniform01: &mut dyn FnMut() -> f64) -> f64 {
        if self.process == ArrivalProcess::Uniform {
            // Half a unit first so arrivals sit mid-way between the points where Λ is a whole
            // number: per-second counts are then round(Λ) differences, not floor() ones that
            // float noise flips when λ is an integer.
            let s = if self.first { 0.5 } else { 1.0 };
            self.first = false;
            return s;
        }
        let u = uniform01();
        // Keep a misbehaving source inside [0, 1) instead of producing inf/NaN.
        let u = if u.is_finite() { u.clamp(0.0, 1.0 - f64::EPSILON / 2.0) } else { 0.5 };
        let e = -(1.0 - u).ln();
        let s = match self.process {
            ArrivalProcess::Weibull { k } => e.powf(1.0 / k) / self.weibull_norm,
            _ => e,
        };
        if s.is_finite() && s >= 0.0 { s } else { 1.0 }
    }

    fn advance_cell(&mut self) {
        self.cell += 1;
        self.offset = 0.0;
        let next = (self.cell + 1) as f64 / CELLS_PER_SECOND;
        self.lambda = (self.lambda.1, self.shape.value_at(next));
    }

    /// Next intended send time, or None once past `end`. `uniform01` gives uniforms in [0,1).
    pub fn next(&mut self, uniform01: &mut dyn FnMut() -> f64) -> Option<f64> {
        if self.done {
            return None;
        }
        let mut need = self.mass(uniform01);
        let mut empty_cells = 0u64;
        loop {
            let start = self.cell as f64 / CELLS_PER_SECOND;
            if start >= self.end || (self.end.is_infinite() && empty_cells > MAX_EMPTY_CELLS) {
                self.done = true;
                return None;
            }
            let (a, b) = self.lambda;
            let slope = (b - a) / CELL;
            // Mass from the cell start to x: a·x + slope·x²/2.
            let mass_to = |x: f64| a * x + slope * x * x / 2.0;
            let here = mass_to(self.offset);
            let remaining = (a + b) / 2.0 * CELL - here;
            // remaining > 0: a zero stretch never holds an arrival, even for a zero draw.
            if remaining >= need && remaining > 0.0 {
                // Solve a·x + slope·x²/2 = here + need in the stable form 2M/(a + √(a²+2·slope·M)).
                let target = here + need;
                let disc = (a * a + 2.0 * slope * target).max(0.0);
                let denominator = a + disc.sqrt();
                let x = if denominator > 0.0 { 2.0 * target / denominator } else { self.offset };
                let x = x.clamp(self.offset, CELL);
                let t = start + x;
                if t > self.end {
                    self.done = true;
                    return None;
                }
                self.offset = x;
                return Some(t);
            }
            if remaining > 0.0 {
                need -= remaining;
                empty_cells = 0;
            } else {
                empty_cells += 1;
            }
            self.advance_cell();
        }
    }
}
