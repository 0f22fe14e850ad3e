//! Feature matrices from per-file series: a feature is a column (`request_rate`) or one of its
//! lags (`cpu_usage_lag_2`, the value two rows earlier in the same file). Lags never cross
//! files, so the first rows of each file have missing lags; the model fills them with the
//! training medians, as seed 001 does, and records those fill values.

use super::{ModelError, Series};

/// seed 001's features, the default for `ctl model train`.
pub const SEED_FEATURES: [&str; 5] = [
    "request_rate",
    "request_rate_lag_1",
    "request_rate_lag_2",
    "cpu_usage_lag_1",
    "cpu_usage_lag_2",
];

/// Columns that measure traffic: case 2 of seed 001 scales these (and their lags).
pub const TRAFFIC_COLUMNS: [&str; 2] = ["request_rate", "throughput"];

/// A parsed feature name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    pub column: String,
    /// 0 = the current row.
    pub lag: usize,
}

impl Feature {
    pub fn parse(name: &str) -> Result<Self, ModelError> {
        let bad = || ModelError::BadFeature(name.to_string());
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(bad());
        }
        if let Some((column, n)) = name.rsplit_once("_lag_") {
            let lag: usize = n.parse().map_err(|_| bad())?;
            if lag == 0 || column.is_empty() {
                return Err(bad());
            }
            return Ok(Self { column: column.to_string(), lag });
        }
        Ok(Self { column: name.to_string(), lag: 0 })
    }

    pub fn name(&self) -> String {
        if self.lag == 0 {
            self.column.clone()
        } else {
            format!("{}_lag_{}", self.column, self.lag)
        }
    }
}

/// Where a design row came from.
#[derive(Debug, Clone, PartialEq)]
pub struct RowRef {
    pub series: usize,
    pub row: usize,
}

/// A design matrix (row-major), the target, and the naive-persistence prediction per row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Design {
    pub features: Vec<String>,
    pub x: Vec<Vec<f64>>,
    pub y: Vec<f64>,
    /// The target one row earlier in the same file (NaN on a file's first row).
    pub naive: Vec<f64>,
    pub rows: Vec<RowRef>,
}

impl Design {
    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// The rows whose index `keep` accepts, in order.
    pub fn select(&self, keep: impl Fn(&RowRef) -> bool) -> Design {
        let idx: Vec<usize> = (0..self.len()).filter(|&i| keep(&self.rows[i])).collect();
        Design {
            features: self.features.clone(),
            x: idx.iter().map(|&i| self.x[i].clone()).collect(),
            y: idx.iter().map(|&i| self.y[i]).collect(),
            naive: idx.iter().map(|&i| self.naive[i]).collect(),
            rows: idx.iter().map(|&i| self.rows[i].clone()).collect(),
        }
    }

    /// Per-feature medians over the rows (missing values ignored), for imputation.
    pub fn medians(&self) -> Vec<f64> {
        (0..self.features.len())
            .map(|j| median(&self.x.iter().map(|r| r[j]).collect::<Vec<_>>()))
            .collect()
    }

    /// Replaces missing feature values with `fill` (one value per feature).
    pub fn impute(&mut self, fill: &[f64]) {
        for row in &mut self.x {
            for (v, f) in row.iter_mut().zip(fill) {
                if v.is_nan() {
                    *v = *f;
                }
            }
        }
    }

    /// Multiplies the traffic features (request rate, throughput and their lags) by `factor`:
    /// seed 001's case 2, which mimics more users than the data has.
    pub fn scale_traffic(&mut self, factor: f64) {
        let cols: Vec<usize> = (0..self.features.len())
            .filter(|&j| {
                Feature::parse(&self.features[j])
                    .is_ok_and(|f| TRAFFIC_COLUMNS.contains(&f.column.as_str()))
            })
            .collect();
        for row in &mut self.x {
            for &j in &cols {
                row[j] *= factor;
            }
        }
    }
}

/// Builds the design over every file. Rows whose target is missing are dropped; missing
/// feature values stay NaN for [`Design::impute`].
pub fn build(dataset: &[Series], features: &[String], target: &str) -> Result<Design, ModelError> {
    build_with(dataset, features, Some(target))
}

/// Like [`build`], but for prediction: the target column may be absent (every row is kept,
/// with a NaN truth).
pub fn build_for_prediction(
    dataset: &[Series],
    features: &[String],
    target: &str,
) -> Result<Design, ModelError> {
    let has_target = dataset.iter().all(|s| s.columns.contains_key(target));
    build_with(dataset, features, has_target.then_some(target))
}

fn build_with(
    dataset: &[Series],
    features: &[String],
    target: Option<&str>,
) -> Result<Design, ModelError> {
    let parsed: Vec<Feature> =
        features.iter().map(|f| Feature::parse(f)).collect::<Result<_, _>>()?;
    let mut d =
        Design { features: parsed.iter().map(Feature::name).collect(), ..Design::default() };
    for (si, s) in dataset.iter().enumerate() {
        let missing = vec![f64::NAN; s.len()];
        let y = match target {
            Some(t) => s.column(t)?,
            None => missing.as_slice(),
        };
        let cols: Vec<&[f64]> =
            parsed.iter().map(|f| s.column(&f.column)).collect::<Result<_, _>>()?;
        for row in 0..s.len() {
            if target.is_some() && y[row].is_nan() {
                continue;
            }
            let x = parsed
                .iter()
                .zip(&cols)
                .map(|(f, c)| if row >= f.lag { c[row - f.lag] } else { f64::NAN })
                .collect();
            d.x.push(x);
            d.y.push(y[row]);
            d.naive.push(if row >= 1 { y[row - 1] } else { f64::NAN });
            d.rows.push(RowRef { series: si, row });
        }
    }
    Ok(d)
}

/// pandas' median: missing values ignored, the mean of the two middle values for an even
/// count; NaN when nothing is left.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn series(rate: &[f64], cpu: &[f64]) -> Series {
        let mut columns = BTreeMap::new();
        columns.insert("request_rate".to_string(), rate.to_vec());
        columns.insert("cpu_usage".to_string(), cpu.to_vec());
        Series {
            source: "s.csv".into(),
            time: (0..rate.len()).map(|i| i.to_string()).collect(),
            columns,
            ..Series::default()
        }
    }

    #[test]
    fn feature_names_round_trip() {
        assert_eq!(
            Feature::parse("cpu_usage_lag_2").unwrap(),
            Feature { column: "cpu_usage".into(), lag: 2 }
        );
        assert!(Feature::parse("cpu_usage_lag_0").is_err());
        assert!(Feature::parse("x_lag_y").is_err());
    }

    #[test]
    fn lags_stay_within_a_file() {
        let data = [series(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), series(&[4.0], &[40.0])];
        let f: Vec<String> = vec!["request_rate".into(), "cpu_usage_lag_1".into()];
        let d = build(&data, &f, "cpu_usage").unwrap();
        assert_eq!(d.x[1], vec![2.0, 10.0]);
        assert!(d.x[3][1].is_nan());
        assert!(d.naive[3].is_nan());
        assert_eq!(d.naive[2], 20.0);
        let e = build(&data, &["latency".to_string()], "cpu_usage").unwrap_err();
        assert_eq!(e.to_string(), "s.csv: missing column 'latency'");
    }

    #[test]
    fn median_like_pandas() {
        assert_eq!(median(&[3.0, f64::NAN, 1.0, 2.0, 10.0]), 2.5);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert!(median(&[f64::NAN]).is_nan());
    }
}
