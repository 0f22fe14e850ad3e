//! `weibull:k=1,mean=150,min=100,max=1000,dt=20s,ls_y=500,seed=42`: the staged shape of the CTL
//! seed (`util/locust/weibull.py` + the load shape of `hotel-reservations.py`). Every `dt` a new
//! level: a Weibull(k) draw with scale `mean / Γ(1+1/k)`, truncated to `[min, max]` by inverse
//! CDF, plus a linear offset ramp from `min` to `min + ls_y` over the run, truncated to an integer.
//! The arithmetic follows the numpy original operation by operation so the levels are identical.

use statrs::function::gamma::gamma;

use super::mt::Mt19937;
use super::parse::{Field, Inline, ShapeError};
use super::{Profile, fmt_secs};

const KEYS: &[&str] = &["k", "mean", "min", "max", "dt", "ls_y", "seed"];

/// More stages than this is a typo in `dt` or the duration, not an experiment.
const MAX_STAGES: f64 = 10_000_000.0;

/// The parameters; every key is optional and defaults to the original's Locust option default.
#[derive(Debug, Clone)]
pub(super) struct WeibullParams {
    k: f64,
    mean: f64,
    min: f64,
    max: f64,
    dt: f64,
    ls_y: f64,
    seed: u32,
}

impl WeibullParams {
    pub fn parse(inline: &Inline, body: Field) -> Result<Self, ShapeError> {
        let p = inline.params("weibull", body, KEYS)?;
        let seed = match p.field("seed") {
            None => 42,
            // numpy's legacy seed takes any integer in [0, 2^32).
            Some(f) => f
                .text
                .parse::<u32>()
                .map_err(|_| inline.error(f, "an integer seed in 0..=4294967295"))?,
        };
        let w = WeibullParams {
            k: p.number("k", Some(1.0))?,
            mean: p.number("mean", Some(150.0))?,
            min: p.non_negative("min", Some(100.0))?,
            max: p.number("max", Some(1000.0))?,
            dt: p.duration("dt", Some(20.0))?,
            ls_y: p.number("ls_y", Some(500.0))?,
            seed,
        };
        if w.k <= 0.0 {
            return Err(p.invalid("k", "a shape k > 0"));
        }
        if w.mean <= 0.0 {
            return Err(p.invalid("mean", "a mean > 0"));
        }
        if w.max <= w.min {
            let key = if p.field("max").is_some() { "max" } else { "min" };
            return Err(p.invalid(key, &format!("min < max (min={}, max={})", w.min, w.max)));
        }
        if w.dt <= 0.0 {
            return Err(p.invalid("dt", "a stage length dt longer than 0s"));
        }
        Ok(w)
    }

    /// Draws the stage levels for a run of `duration` seconds.
    ///
    /// The generator is an MT19937 seeded like numpy's legacy `np.random.seed(seed)`, and each
    /// uniform is built from two 32-bit outputs like `np.random.uniform(0, 1, N)`, so the same
    /// seed gives the same stage levels as the original Python.
    pub fn build(&self, duration: Option<f64>) -> Result<Weibull, ShapeError> {
        let duration = duration.ok_or(ShapeError::NeedsDuration { what: "the weibull shape" })?;
        // N = int(t / dt)
        let n = (duration / self.dt).trunc();
        if n < 1.0 {
            return Err(ShapeError::Build(format!(
                "weibull: the run ({}) is shorter than one stage (dt={})",
                fmt_secs(duration),
                fmt_secs(self.dt)
            )));
        }
        if n > MAX_STAGES {
            return Err(ShapeError::Build(format!(
                "weibull: {n} stages of {} is too many; use a larger dt",
                fmt_secs(self.dt)
            )));
        }
        let n = n as usize;
        let lambda = self.mean / gamma(1.0 + 1.0 / self.k);
        // F(x) = 1 - exp(-(x/λ)^k), written in the original's operation order.
        let cdf = |x: f64| 1.0 - (-(x / lambda).powf(self.k)).exp();
        let (f_min, f_max) = (cdf(self.min), cdf(self.max));
        let inv_k = 1.0 / self.k;
        let mut rng = Mt19937::new(self.seed);
        // np.linspace(min, min + ls_y, N): start + i*step, the last element exactly stop.
        let stop = self.min + self.ls_y;
        let step = (stop - self.min) / (n as f64 - 1.0);
        let mut levels = Vec::with_capacity(n);
        for i in 0..n {
            let u = rng.next_f64();
            let u_prime = f_min + u * (f_max - f_min);
            let load = lambda * numpy_pow(-(1.0 - u_prime).ln(), inv_k);
            let offset = if n == 1 {
                self.min
            } else if i == n - 1 {
                stop
            } else {
                i as f64 * step + self.min
            };
            let level = (load + offset).trunc();
            if !level.is_finite() {
                return Err(ShapeError::Build(format!(
                    "weibull: min={} is so far in the tail of the distribution (mean={}, k={}) \
                     that no level can be drawn; lower min or raise mean",
                    self.min, self.mean, self.k
                )));
            }
            levels.push(level);
        }
        Ok(Weibull { params: self.clone(), levels })
    }
}

/// `array ** p` as numpy computes it: exponents 0.5, 1 and 2 take exact fast paths (sqrt, copy,
/// square) instead of pow(), which can differ from them in the last bit.
fn numpy_pow(x: f64, p: f64) -> f64 {
    if p == 0.5 {
        x.sqrt()
    } else if p == 1.0 {
        x
    } else if p == 2.0 {
        x * x
    } else {
        x.powf(p)
    }
}

/// A built weibull shape: one level per stage.
#[derive(Debug, Clone)]
pub(super) struct Weibull {
    params: WeibullParams,
    levels: Vec<f64>,
}

impl Weibull {
    /// The stage for `t`: the first i with `t < (i+1)·dt`, the last stage after the end (the
    /// original's `tick()` loop, computed directly; the adjustments guard floor() rounding).
    fn stage(&self, t: f64) -> usize {
        let dt = self.params.dt;
        let last = self.levels.len() - 1;
        let mut i = (t / dt).floor().max(0.0) as usize;
        if i >= last {
            return last;
        }
        if i > 0 && t < i as f64 * dt {
            i -= 1;
        }
        if t >= (i + 1) as f64 * dt {
            i += 1;
        }
        i.min(last)
    }
}

impl Profile for Weibull {
    fn value(&self, t: f64) -> f64 {
        self.levels[self.stage(t)]
    }

    fn natural_duration(&self) -> Option<f64> {
        None
    }

    fn max_value(&self, duration: f64) -> f64 {
        self.levels[..=self.stage(duration)].iter().copied().fold(0.0, f64::max)
    }

    fn describe(&self) -> String {
        let w = &self.params;
        format!(
            "weibull k={} mean={} min={} max={} dt={} ls_y={} seed={} ({} stages)",
            w.k,
            w.mean,
            w.min,
            w.max,
            fmt_secs(w.dt),
            w.ls_y,
            w.seed,
            self.levels.len()
        )
    }
}
