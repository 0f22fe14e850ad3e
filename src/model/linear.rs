//! The CPU ~ load model: ordinary least squares (linfa-linear) on named features, with the
//! training medians that fill missing lags. Serialised as JSON with its feature list, so a
//! model is never applied to columns it was not trained on.

use super::{Design, ModelError};
use linfa::Dataset;
use linfa::traits::Fit;
use linfa_linear::LinearRegression;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

/// A fitted linear model: `target ≈ intercept + Σ coefficients[i] · features[i]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearModel {
    /// Always `linear_regression` (room for other kinds in the same file format).
    pub kind: String,
    pub target: String,
    pub features: Vec<String>,
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    /// Per feature, the training median used for a missing value (a file's first rows).
    pub fill: Vec<f64>,
    pub train_rows: usize,
    /// How the training rows were chosen (`users:4,7` = all but users 4 and 7), for the record.
    #[serde(default)]
    pub split: Option<String>,
}

impl LinearModel {
    /// Fits on `design`, imputing its missing values with their medians first.
    pub fn fit(design: &Design, target: &str) -> Result<Self, ModelError> {
        let p = design.features.len();
        if design.is_empty() {
            return Err(ModelError::Fit("no training rows".into()));
        }
        if design.len() <= p {
            return Err(ModelError::Fit(format!(
                "{} training rows for {p} features; need more rows than features",
                design.len()
            )));
        }
        let fill = design.medians();
        if let Some(j) = fill.iter().position(|v| v.is_nan()) {
            return Err(ModelError::Fit(format!(
                "feature '{}' has no value in any training row",
                design.features[j]
            )));
        }
        let mut d = design.clone();
        d.impute(&fill);
        let flat: Vec<f64> = d.x.iter().flatten().copied().collect();
        let x = Array2::from_shape_vec((d.len(), p), flat)
            .map_err(|e| ModelError::Fit(e.to_string()))?;
        let y = Array1::from_vec(d.y.clone());
        let fitted = LinearRegression::new()
            .fit(&Dataset::new(x, y))
            .map_err(|e| ModelError::Fit(e.to_string()))?;
        Ok(Self {
            kind: "linear_regression".into(),
            target: target.to_string(),
            features: design.features.clone(),
            intercept: fitted.intercept(),
            coefficients: fitted.params().to_vec(),
            fill,
            train_rows: d.len(),
            split: None,
        })
    }

    /// Refuses data built for other features, naming both lists.
    pub fn check_features(&self, features: &[String]) -> Result<(), ModelError> {
        if self.features != features {
            return Err(ModelError::FeatureMismatch {
                model: self.features.clone(),
                data: features.to_vec(),
            });
        }
        Ok(())
    }

    /// One prediction; a missing value takes the training median.
    pub fn predict_row(&self, x: &[f64]) -> f64 {
        self.coefficients
            .iter()
            .zip(x.iter().zip(&self.fill))
            .map(|(c, (v, f))| c * if v.is_nan() { *f } else { *v })
            .sum::<f64>()
            + self.intercept
    }

    /// Predictions for every row of `design` (whose features must be the model's).
    pub fn predict(&self, design: &Design) -> Result<Vec<f64>, ModelError> {
        self.check_features(&design.features)?;
        Ok(design.x.iter().map(|r| self.predict_row(r)).collect())
    }

    /// Parses a model file's text, checking it is consistent.
    pub fn from_json(text: &str) -> Result<Self, ModelError> {
        let m: Self = serde_json::from_str(text).map_err(|e| ModelError::Config(e.to_string()))?;
        if m.kind != "linear_regression" {
            return Err(ModelError::Config(format!(
                "kind: expected 'linear_regression', found '{}'",
                m.kind
            )));
        }
        if m.coefficients.len() != m.features.len() || m.fill.len() != m.features.len() {
            return Err(ModelError::Config(format!(
                "{} features but {} coefficients and {} fill values",
                m.features.len(),
                m.coefficients.len(),
                m.fill.len()
            )));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::features::RowRef;

    fn design(x: Vec<Vec<f64>>, y: Vec<f64>) -> Design {
        let n = y.len();
        Design {
            features: vec!["a".into(), "b".into()],
            x,
            naive: vec![f64::NAN; n],
            rows: (0..n).map(|row| RowRef { series: 0, row }).collect(),
            y,
        }
    }

    #[test]
    fn recovers_exact_coefficients() {
        let x: Vec<Vec<f64>> = (0..20).map(|i| vec![i as f64, ((i * 7) % 5) as f64]).collect();
        let y = x.iter().map(|r| 0.5 + 2.0 * r[0] - 3.0 * r[1]).collect();
        let m = LinearModel::fit(&design(x, y), "y").unwrap();
        assert!((m.intercept - 0.5).abs() < 1e-9, "{m:?}");
        assert!((m.coefficients[0] - 2.0).abs() < 1e-9);
        assert!((m.coefficients[1] + 3.0).abs() < 1e-9);
        let back = LinearModel::from_json(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert!((m.predict_row(&[1.0, f64::NAN]) - (0.5 + 2.0 - 3.0 * m.fill[1])).abs() < 1e-9);
    }

    #[test]
    fn refuses_other_features_naming_both_lists() {
        let x: Vec<Vec<f64>> = (0..5).map(|i| vec![i as f64, (i * i) as f64]).collect();
        let m = LinearModel::fit(&design(x, vec![1.0, 2.0, 3.0, 5.0, 8.0]), "y").unwrap();
        let e = m.check_features(&["a".into(), "c".into()]).unwrap_err();
        assert_eq!(e.to_string(), "the model was trained on features [a, b] but these are [a, c]");
    }
}
