//! Forecast and regression metrics with scikit-learn's definitions: MAE, MAPE (a fraction,
//! each denominator clamped to at least `f64::EPSILON` so a zero truth is finite), R², and
//! MASE here meaning the MAE relative to naive persistence on the same points (< 1 beats it).
//! Pairs where either value is missing (NaN) are skipped.

use serde::Serialize;

fn pairs<'a>(truth: &'a [f64], pred: &'a [f64]) -> impl Iterator<Item = (f64, f64)> + 'a {
    truth.iter().zip(pred).map(|(t, p)| (*t, *p)).filter(|(t, p)| !t.is_nan() && !p.is_nan())
}

/// Mean absolute error; NaN when there is no pair.
pub fn mae(truth: &[f64], pred: &[f64]) -> f64 {
    let (sum, n) =
        pairs(truth, pred).fold((0.0, 0usize), |(s, n), (t, p)| (s + (t - p).abs(), n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// Mean absolute percentage error as a fraction (sklearn: `|t - p| / max(|t|, eps)`).
pub fn mape(truth: &[f64], pred: &[f64]) -> f64 {
    let (sum, n) = pairs(truth, pred).fold((0.0, 0usize), |(s, n), (t, p)| {
        (s + (t - p).abs() / t.abs().max(f64::EPSILON), n + 1)
    });
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// Coefficient of determination; like sklearn, a constant truth gives 1 for a perfect
/// prediction and 0 otherwise instead of dividing by zero.
pub fn r2(truth: &[f64], pred: &[f64]) -> f64 {
    let ps: Vec<(f64, f64)> = pairs(truth, pred).collect();
    if ps.is_empty() {
        return f64::NAN;
    }
    let mean = ps.iter().map(|(t, _)| t).sum::<f64>() / ps.len() as f64;
    let ss_res: f64 = ps.iter().map(|(t, p)| (t - p).powi(2)).sum();
    let ss_tot: f64 = ps.iter().map(|(t, _)| (t - mean).powi(2)).sum();
    if ss_tot == 0.0 {
        return if ss_res == 0.0 { 1.0 } else { 0.0 };
    }
    1.0 - ss_res / ss_tot
}

/// MAE of `pred` divided by the MAE of the naive forecast on the same points.
pub fn mase(truth: &[f64], pred: &[f64], naive: &[f64]) -> f64 {
    let base = mae(truth, naive);
    if base == 0.0 { f64::NAN } else { mae(truth, pred) / base }
}

/// One row of a comparison table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub model: String,
    pub case: String,
    pub n: usize,
    pub mae: f64,
    /// Percent, as seed 001 reports it.
    pub mape: f64,
    pub mase: f64,
    pub r2: f64,
}

impl Scores {
    pub fn new(model: &str, case: &str, truth: &[f64], pred: &[f64], naive: &[f64]) -> Self {
        Self {
            model: model.to_string(),
            case: case.to_string(),
            n: pairs(truth, pred).count(),
            mae: mae(truth, pred),
            mape: mape(truth, pred) * 100.0,
            mase: mase(truth, pred, naive),
            r2: r2(truth, pred),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values from scikit-learn 1.5: mean_absolute_error, mean_absolute_percentage_error,
    // r2_score on these arrays (checked by hand too).
    const T: [f64; 4] = [3.0, -0.5, 2.0, 7.0];
    const P: [f64; 4] = [2.5, 0.0, 2.0, 8.0];

    #[test]
    fn exact_values() {
        assert_eq!(mae(&T, &P), 0.5);
        // (0.5/3 + 0.5/0.5 + 0 + 1/7) / 4
        assert!((mape(&T, &P) - 0.327_380_952_380_952_4).abs() < 1e-15);
        assert!((r2(&T, &P) - 0.948_608_137_044_968).abs() < 1e-12);
        let naive = [2.0, 3.0, -0.5, 2.0];
        // naive MAE = (1 + 3.5 + 2.5 + 5) / 4 = 3
        assert!((mase(&T, &P, &naive) - 0.5 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn epsilon_clamp_and_missing_pairs() {
        let m = mape(&[0.0, 1.0], &[1.0, 1.0]);
        assert!((m - 0.5 / f64::EPSILON).abs() / m < 1e-12);
        assert_eq!(mae(&[1.0, f64::NAN], &[2.0, 5.0]), 1.0);
        assert_eq!(r2(&[2.0, 2.0], &[2.0, 2.0]), 1.0);
        assert_eq!(r2(&[2.0, 2.0], &[2.0, 3.0]), 0.0);
        assert!(mae(&[], &[]).is_nan());
    }
}
