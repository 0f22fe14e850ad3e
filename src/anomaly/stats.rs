//! Order statistics shared by the forest, the explanations and the streaming detectors:
//! numpy's default (linear) percentile, median, MAD and CVaR. Pure functions over slices.

/// The scale that makes the MAD a consistent estimator of a normal's standard deviation.
pub const MAD_TO_SIGMA: f64 = 1.4826;

/// `np.percentile(values, q)` with numpy's default linear interpolation: position
/// `q/100 * (n-1)` in the sorted values. `sorted` must be ascending; `None` when empty.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = (q / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = pos - lo as f64;
    // numpy computes `a + (b - a) * frac`; the same form keeps results bit-identical.
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

/// A sorted copy (NaN sorts last; inputs are finite in practice).
pub fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The median (numpy's: the mean of the two middle values for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    percentile_sorted(&sorted(values), 50.0)
}

/// Median and median absolute deviation (unscaled).
pub fn median_mad(values: &[f64]) -> Option<(f64, f64)> {
    let med = median(values)?;
    let dev: Vec<f64> = values.iter().map(|v| (v - med).abs()).collect();
    Some((med, median(&dev)?))
}

/// Conditional value at risk at `alpha`: the mean of the values at or above the
/// `alpha` percentile (seed 000's per-pattern deadline on `total`, alpha = 0.95).
pub fn cvar(values: &[f64], alpha: f64) -> Option<f64> {
    let s = sorted(values);
    let cut = percentile_sorted(&s, alpha * 100.0)?;
    let tail: Vec<f64> = s.iter().copied().filter(|v| *v >= cut).collect();
    // The percentile lies within the data, so the tail holds at least the maximum.
    Some(tail.iter().sum::<f64>() / tail.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy_linear() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile_sorted(&v, 50.0), Some(2.5));
        assert_eq!(percentile_sorted(&v, 1.0), Some(1.03));
        assert_eq!(percentile_sorted(&v, 100.0), Some(4.0));
        assert_eq!(percentile_sorted(&[], 5.0), None);
    }

    #[test]
    fn mad_and_cvar() {
        assert_eq!(median_mad(&[1.0, 2.0, 3.0, 4.0, 100.0]), Some((3.0, 1.0)));
        // 95th percentile of 1..=20 is 19.05; the values at or above it are 20.
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(cvar(&v, 0.95), Some(20.0));
    }
}
