//! Forecasting baselines for one series sampled at a fixed interval: naive persistence,
//! seasonal naive, Holt's linear trend (optionally damped) and additive Holt-Winters. The
//! smoothing recursions are statsmodels' `ExponentialSmoothing` ones (error-correction form,
//! `b_t = β(l_t - l_{t-1}) + (1-β)φb_{t-1}`, `s_t = γ(y_t - l_{t-1} - φb_{t-1}) + (1-γ)s_{t-m}`)
//! with its "simple" initial states, and the parameters are fitted by minimising the one-step
//! squared error with a bounded Nelder-Mead, so results can be checked against statsmodels.

use super::ModelError;
use serde::{Deserialize, Serialize};

/// Bounds of the damping factor φ, as R's `forecast` package uses (statsmodels can be told the
/// same); below 0.8 the trend dies within a few steps and the model is just a level.
pub const PHI_BOUNDS: (f64, f64) = (0.8, 0.98);

/// A forecasting method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum Forecaster {
    /// The last value.
    Naive,
    /// The value one period earlier.
    SeasonalNaive { period: usize },
    /// Level and trend; `damped` adds φ.
    Holt { damped: bool },
    /// Level, trend and additive seasonality of `period` intervals.
    HoltWinters { period: usize, damped: bool },
}

impl Forecaster {
    /// `naive`, `seasonal-naive:PERIOD`, `holt`, `holt-damped`, `holt-winters:PERIOD`,
    /// `holt-winters-damped:PERIOD`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (kind, arg) = match spec.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (spec, None),
        };
        let period = || -> Result<usize, String> {
            let a = arg.ok_or_else(|| format!("'{kind}' needs a period: {kind}:PERIOD"))?;
            let a = a.strip_prefix("period=").unwrap_or(a);
            match a.parse::<usize>() {
                // Bounded so `2 * period` and the seasonal buffers stay sane.
                Ok(p) if (2..=100_000).contains(&p) => Ok(p),
                _ => {
                    Err(format!("{kind}: period must be an integer from 2 to 100000, found '{a}'"))
                }
            }
        };
        let no_arg = |f: Forecaster| match arg {
            None => Ok(f),
            Some(_) => Err(format!("'{kind}' takes no argument")),
        };
        match kind {
            "naive" => no_arg(Self::Naive),
            "holt" => no_arg(Self::Holt { damped: false }),
            "holt-damped" => no_arg(Self::Holt { damped: true }),
            "seasonal-naive" => Ok(Self::SeasonalNaive { period: period()? }),
            "holt-winters" => Ok(Self::HoltWinters { period: period()?, damped: false }),
            "holt-winters-damped" => Ok(Self::HoltWinters { period: period()?, damped: true }),
            _ => Err(format!(
                "unknown forecaster '{spec}': expected naive, seasonal-naive:PERIOD, holt, \
                 holt-damped, holt-winters:PERIOD or holt-winters-damped:PERIOD"
            )),
        }
    }

    /// The name `parse` accepts.
    pub fn name(&self) -> String {
        match *self {
            Self::Naive => "naive".into(),
            Self::SeasonalNaive { period } => format!("seasonal-naive:{period}"),
            Self::Holt { damped: false } => "holt".into(),
            Self::Holt { damped: true } => "holt-damped".into(),
            Self::HoltWinters { period, damped: false } => format!("holt-winters:{period}"),
            Self::HoltWinters { period, damped: true } => format!("holt-winters-damped:{period}"),
        }
    }

    /// How many observations the method needs.
    pub fn min_history(&self) -> usize {
        match *self {
            Self::Naive => 1,
            Self::SeasonalNaive { period } => period,
            Self::Holt { .. } => 3,
            Self::HoltWinters { period, .. } => 2 * period,
        }
    }

    /// Forecasts for steps 1..=h after the last observation (fitting the parameters first).
    pub fn forecast(&self, history: &[f64], h: usize) -> Result<Vec<f64>, ModelError> {
        if history.len() < self.min_history() || history.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::TooShort {
                method: self.name(),
                need: self.min_history(),
                have: history.iter().filter(|v| v.is_finite()).count(),
            });
        }
        let n = history.len();
        Ok(match *self {
            Self::Naive => vec![history[n - 1]; h],
            Self::SeasonalNaive { period } => {
                (0..h).map(|k| history[n - period + k % period]).collect()
            }
            Self::Holt { damped } => fit(history, Shape { period: None, damped }).forecast(h),
            Self::HoltWinters { period, damped } => {
                fit(history, Shape { period: Some(period), damped }).forecast(h)
            }
        })
    }
}

/// Which components an exponential-smoothing model has.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub period: Option<usize>,
    pub damped: bool,
}

/// Smoothing parameters (γ unused without a season, φ = 1 without damping).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Params {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub phi: f64,
}

/// Initial states: level l_0, trend b_0 and the seasonal terms for the first period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Initial {
    pub level: f64,
    pub trend: f64,
    pub season: Vec<f64>,
}

impl Initial {
    /// statsmodels' `initialization_method="simple"`: without a season l_0 = y_0 and
    /// b_0 = y_1 - y_0; with period m, l_0 = mean(y[..m]), b_0 = (mean(y[m..2m]) - l_0) / m and
    /// s_i = y_i - l_0.
    pub fn simple(y: &[f64], period: Option<usize>) -> Self {
        match period {
            None => Self { level: y[0], trend: y[1] - y[0], season: Vec::new() },
            Some(m) => {
                let first = y[..m].iter().sum::<f64>() / m as f64;
                let second = y[m..2 * m].iter().sum::<f64>() / m as f64;
                Self {
                    level: first,
                    trend: (second - first) / m as f64,
                    season: y[..m].iter().map(|v| v - first).collect(),
                }
            }
        }
    }
}

/// A model after filtering a series: its parameters, one-step fitted values, SSE and the
/// final states.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Smoothed {
    pub params: Params,
    pub fitted: Vec<f64>,
    pub sse: f64,
    pub level: f64,
    pub trend: f64,
    /// The seasonal terms for the next `period` steps (empty without a season).
    pub season: Vec<f64>,
}

impl Smoothed {
    /// Forecasts for steps 1..=h.
    pub fn forecast(&self, h: usize) -> Vec<f64> {
        let phi = self.params.phi;
        let mut damp_sum = 0.0;
        let mut damp = 1.0;
        (0..h)
            .map(|k| {
                damp *= phi;
                damp_sum += damp;
                let s =
                    if self.season.is_empty() { 0.0 } else { self.season[k % self.season.len()] };
                self.level + damp_sum * self.trend + s
            })
            .collect()
    }
}

/// Runs the recursions over `y` with fixed parameters and initial states (statsmodels with
/// `initialization_method="known"`, `optimized=False`).
pub fn smooth(y: &[f64], params: Params, init: &Initial) -> Smoothed {
    let Params { alpha, beta, gamma, phi } = params;
    let m = init.season.len();
    let mut season = init.season.clone();
    let (mut level, mut trend) = (init.level, init.trend);
    let mut fitted = Vec::with_capacity(y.len());
    let mut sse = 0.0;
    for (t, &obs) in y.iter().enumerate() {
        let s = if m > 0 { season[t] } else { 0.0 };
        let base = level + phi * trend;
        let yhat = base + s;
        fitted.push(yhat);
        sse += (obs - yhat).powi(2);
        let new_level = alpha * (obs - s) + (1.0 - alpha) * base;
        trend = beta * (new_level - level) + (1.0 - beta) * phi * trend;
        if m > 0 {
            season.push(gamma * (obs - base) + (1.0 - gamma) * s);
        }
        level = new_level;
    }
    let tail = if m > 0 { season[season.len() - m..].to_vec() } else { Vec::new() };
    Smoothed { params, fitted, sse, level, trend, season: tail }
}

/// Fits the smoothing parameters by least squares from the simple initial states, within
/// statsmodels' admissible region: α in [0, 1], β in [0, α], γ in [0, 1 - α], φ in
/// [`PHI_BOUNDS`].
pub fn fit(y: &[f64], shape: Shape) -> Smoothed {
    let init = Initial::simple(y, shape.period);
    // Searched vector: [alpha, beta / alpha, (gamma / (1 - alpha)), (phi)], each in a box, so
    // the coupled constraints become plain bounds.
    let mut bounds = vec![(0.0, 1.0), (0.0, 1.0)];
    if shape.period.is_some() {
        bounds.push((0.0, 1.0));
    }
    if shape.damped {
        bounds.push(PHI_BOUNDS);
    }
    let to_params = |x: &[f64]| {
        let alpha = x[0];
        let gamma = if shape.period.is_some() { (1.0 - alpha) * x[2] } else { 0.0 };
        let phi = if shape.damped { x[x.len() - 1] } else { 1.0 };
        Params { alpha, beta: alpha * x[1], gamma, phi }
    };
    let sse = |x: &[f64]| {
        let s = smooth(y, to_params(x), &init).sse;
        if s.is_finite() { s } else { f64::MAX }
    };
    // A coarse grid picks the start (the surface has local minima), Nelder-Mead refines it.
    let grid = [0.05, 0.3, 0.7, 0.95];
    let mut best: Option<(f64, Vec<f64>)> = None;
    let dims = bounds.len();
    let mut idx = vec![0usize; dims];
    loop {
        let x: Vec<f64> =
            idx.iter().zip(&bounds).map(|(&i, &(lo, hi))| lo + (hi - lo) * grid[i]).collect();
        let v = sse(&x);
        if best.as_ref().is_none_or(|(b, _)| v < *b) {
            best = Some((v, x));
        }
        let mut d = 0;
        while d < dims {
            idx[d] += 1;
            if idx[d] < grid.len() {
                break;
            }
            idx[d] = 0;
            d += 1;
        }
        if d == dims {
            break;
        }
    }
    let start = best.map(|(_, x)| x).unwrap_or_else(|| vec![0.5; dims]);
    let x = nelder_mead(&sse, start, &bounds);
    smooth(y, to_params(&x), &init)
}

/// Bounded Nelder-Mead: vertices are projected into the box. Deterministic; a few hundred
/// evaluations for 2–4 parameters. Restarts once from its answer to escape a collapsed simplex.
pub fn nelder_mead(f: &dyn Fn(&[f64]) -> f64, start: Vec<f64>, bounds: &[(f64, f64)]) -> Vec<f64> {
    let clamp = |x: &mut Vec<f64>| {
        for (v, &(lo, hi)) in x.iter_mut().zip(bounds) {
            *v = v.clamp(lo, hi);
        }
    };
    let mut x0 = start;
    for _restart in 0..3 {
        let n = x0.len();
        let mut simplex: Vec<(f64, Vec<f64>)> = vec![(f(&x0), x0.clone())];
        for i in 0..n {
            let mut x = x0.clone();
            let (lo, hi) = bounds[i];
            let step = 0.1 * (hi - lo);
            x[i] = if x[i] + step <= hi { x[i] + step } else { x[i] - step };
            clamp(&mut x);
            simplex.push((f(&x), x));
        }
        for _ in 0..2000 {
            simplex.sort_by(|a, b| a.0.total_cmp(&b.0));
            let spread = simplex[n].0 - simplex[0].0;
            if spread.abs() <= 1e-12 * (1.0 + simplex[0].0.abs()) {
                break;
            }
            let centroid: Vec<f64> = (0..n)
                .map(|j| simplex[..n].iter().map(|(_, x)| x[j]).sum::<f64>() / n as f64)
                .collect();
            let along = |t: f64| {
                let mut x: Vec<f64> =
                    centroid.iter().zip(&simplex[n].1).map(|(c, w)| c + t * (c - w)).collect();
                clamp(&mut x);
                let v = f(&x);
                (v, x)
            };
            let r = along(1.0);
            if r.0 < simplex[0].0 {
                let e = along(2.0);
                simplex[n] = if e.0 < r.0 { e } else { r };
            } else if r.0 < simplex[n - 1].0 {
                simplex[n] = r;
            } else {
                let c = if r.0 < simplex[n].0 { along(0.5) } else { along(-0.5) };
                if c.0 < simplex[n].0.min(r.0) {
                    simplex[n] = c;
                } else {
                    let best = simplex[0].1.clone();
                    for (v, x) in simplex.iter_mut().skip(1) {
                        for (xi, bi) in x.iter_mut().zip(&best) {
                            *xi = bi + 0.5 * (*xi - bi);
                        }
                        *v = f(x.as_slice());
                    }
                }
            }
        }
        simplex.sort_by(|a, b| a.0.total_cmp(&b.0));
        let improved = (f(&x0) - simplex[0].0) > 1e-12 * (1.0 + simplex[0].0.abs());
        x0 = simplex.swap_remove(0).1;
        if !improved {
            break;
        }
    }
    x0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_name_round_trip() {
        for s in [
            "naive",
            "seasonal-naive:12",
            "holt",
            "holt-damped",
            "holt-winters:4",
            "holt-winters-damped:7",
        ] {
            assert_eq!(Forecaster::parse(s).unwrap().name(), s);
        }
        assert_eq!(Forecaster::parse("holt-winters:period=4").unwrap().name(), "holt-winters:4");
        assert!(Forecaster::parse("holt-winters").is_err());
        assert!(Forecaster::parse("seasonal-naive:1").is_err());
        assert!(Forecaster::parse("arima").is_err());
    }

    #[test]
    fn naive_and_seasonal_naive() {
        let y = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(Forecaster::Naive.forecast(&y, 2).unwrap(), vec![5.0, 5.0]);
        let s = Forecaster::SeasonalNaive { period: 2 };
        assert_eq!(s.forecast(&y, 3).unwrap(), vec![4.0, 5.0, 4.0]);
        let e = Forecaster::HoltWinters { period: 4, damped: false }.forecast(&y, 1).unwrap_err();
        assert_eq!(e.to_string(), "holt-winters:4 needs at least 8 observations, found 5");
    }

    #[test]
    fn holt_on_a_line_extrapolates_it() {
        let y: Vec<f64> = (0..20).map(|i| 3.0 + 2.0 * i as f64).collect();
        let f = Forecaster::Holt { damped: false }.forecast(&y, 3).unwrap();
        for (k, v) in f.iter().enumerate() {
            assert!((v - (3.0 + 2.0 * (20 + k) as f64)).abs() < 1e-6, "{f:?}");
        }
    }

    #[test]
    fn holt_winters_on_a_pure_season_repeats_it() {
        let pattern = [1.0, 5.0, 2.0, 8.0];
        let y: Vec<f64> = (0..24).map(|i| 10.0 + pattern[i % 4]).collect();
        let f = Forecaster::HoltWinters { period: 4, damped: false }.forecast(&y, 4).unwrap();
        for (k, v) in f.iter().enumerate() {
            assert!((v - (10.0 + pattern[k])).abs() < 1e-6, "{f:?}");
        }
    }
}
