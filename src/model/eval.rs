//! Chronological evaluation only: a regression is tested on whole held-out files (seed 001's
//! unseen user counts) or on the tail of every file, never on shuffled rows (lag features
//! would leak); a forecaster is scored walk-forward, refitted at every origin on the past only.

use super::features::{self, Design};
use super::{Forecaster, LinearModel, ModelError, Scores, Series};

/// How rows are split into training and test.
#[derive(Debug, Clone, PartialEq)]
pub enum Split {
    /// Files whose user count (from the file name) is listed are the test set.
    Users(Vec<u32>),
    /// The last fraction of every file is the test set.
    Tail(f64),
}

impl Split {
    /// `users:4,7` or `tail:20%` / `tail:0.2`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad =
            || format!("expected users:N[,N...] or tail:FRACTION (e.g. tail:20%), found '{text}'");
        match text.split_once(':') {
            Some(("users", list)) => {
                let users: Result<Vec<u32>, _> =
                    list.split(',').map(|u| u.trim().parse()).collect();
                users.ok().filter(|u| !u.is_empty()).map(Split::Users).ok_or_else(bad)
            }
            Some(("tail", f)) => {
                let v = match f.strip_suffix('%') {
                    Some(p) => p.parse::<f64>().map(|p| p / 100.0),
                    None => f.parse::<f64>(),
                };
                v.ok().filter(|v| *v > 0.0 && *v < 1.0).map(Split::Tail).ok_or_else(bad)
            }
            _ => Err(bad()),
        }
    }

    /// Whether row `row` of `series` is a test row.
    pub fn is_test(&self, series: &Series, row: usize) -> Result<bool, ModelError> {
        match self {
            Split::Users(users) => match series.users {
                Some(u) => Ok(users.contains(&u)),
                None => Err(ModelError::Split(format!(
                    "{}: no user count in the file name (taskX_<users>_<replicas>.csv); \
                     use --split tail:FRACTION",
                    series.source
                ))),
            },
            Split::Tail(f) => {
                let n = series.len();
                let first_test = n - ((n as f64 * f).round() as usize).min(n);
                Ok(row >= first_test)
            }
        }
    }

    /// The (train, test) designs.
    pub fn apply(
        &self,
        dataset: &[Series],
        design: &Design,
    ) -> Result<(Design, Design), ModelError> {
        let mut test: Vec<Vec<bool>> = vec![Vec::new(); dataset.len()];
        for (si, s) in dataset.iter().enumerate() {
            test[si] = (0..s.len()).map(|r| self.is_test(s, r)).collect::<Result<_, _>>()?;
        }
        let train = design.select(|r| !test[r.series][r.row]);
        let held = design.select(|r| test[r.series][r.row]);
        if train.is_empty() || held.is_empty() {
            return Err(ModelError::Split(format!(
                "the split leaves {} training and {} test rows; both must be non-empty",
                train.len(),
                held.len()
            )));
        }
        Ok((train, held))
    }
}

/// One evaluated case: the test rows' truth, the model's and naive persistence's predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    pub case: String,
    pub design: Design,
    pub predicted: Vec<f64>,
    pub naive: Vec<f64>,
}

impl CaseResult {
    /// The model's row and naive persistence's row of the comparison table.
    pub fn scores(&self, model: &str) -> [Scores; 2] {
        let y = &self.design.y;
        [
            Scores::new(model, &self.case, y, &self.predicted, &self.naive),
            Scores::new("naive_persistence", &self.case, y, &self.naive, &self.naive),
        ]
    }
}

/// Evaluates `model` on the test rows: case 1 as they are and, with `simulate_users`, case 2
/// where the traffic features are scaled by `simulate_users / mean(test users)` (seed 001's
/// "traffic scaled to mimic 15 users"; the target stays as measured).
pub fn regression_cases(
    model: &LinearModel,
    dataset: &[Series],
    split: &Split,
    simulate_users: Option<u32>,
) -> Result<Vec<CaseResult>, ModelError> {
    let design = features::build(dataset, &model.features, &model.target)?;
    let (train, mut test) = split.apply(dataset, &design)?;
    // Naive persistence's first row per file has no previous value: the training median of
    // the previous value fills it, as the model's fill does for its lags.
    let naive_fill = features::median(&train.naive);
    test.impute(&model.fill);
    let naive: Vec<f64> =
        test.naive.iter().map(|v| if v.is_nan() { naive_fill } else { *v }).collect();
    let label = match split {
        Split::Users(u) => {
            format!("case1_users_{}", u.iter().map(u32::to_string).collect::<Vec<_>>().join("_"))
        }
        Split::Tail(f) => format!("case1_tail_{}pct", (f * 100.0).round()),
    };
    let mut cases = vec![CaseResult {
        case: label,
        predicted: model.predict(&test)?,
        naive: naive.clone(),
        design: test.clone(),
    }];
    if let Some(target_users) = simulate_users {
        let users: Vec<f64> = test
            .rows
            .iter()
            .map(|r| dataset[r.series].users.map(f64::from))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                ModelError::Split("--simulate-users needs user counts in the file names".into())
            })?;
        let mean = users.iter().sum::<f64>() / users.len() as f64;
        let mut scaled = test;
        scaled.scale_traffic(f64::from(target_users) / mean);
        cases.push(CaseResult {
            case: format!("case2_simulated_user{target_users}_traffic_scale"),
            predicted: model.predict(&scaled)?,
            naive,
            design: scaled,
        });
    }
    Ok(cases)
}

/// Walk-forward forecasts of `y`: at every origin t from `start` on, the forecaster sees
/// `y[..t]` only and predicts `y[t + h - 1]`; naive persistence predicts `y[t - 1]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WalkForward {
    pub truth: Vec<f64>,
    pub predicted: Vec<f64>,
    pub naive: Vec<f64>,
}

pub fn walk_forward(
    y: &[f64],
    forecaster: Forecaster,
    h: usize,
    start: usize,
) -> Result<WalkForward, ModelError> {
    let h = h.max(1);
    let start = start.max(forecaster.min_history()).max(1);
    let mut out = WalkForward::default();
    for t in start..=y.len().saturating_sub(h) {
        let f = forecaster.forecast(&y[..t], h)?;
        out.truth.push(y[t + h - 1]);
        out.predicted.push(f[h - 1]);
        out.naive.push(y[t - 1]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_syntax() {
        assert_eq!(Split::parse("users:4,7").unwrap(), Split::Users(vec![4, 7]));
        assert_eq!(Split::parse("tail:20%").unwrap(), Split::Tail(0.2));
        assert_eq!(Split::parse("tail:0.25").unwrap(), Split::Tail(0.25));
        assert!(Split::parse("tail:100%").is_err());
        assert!(Split::parse("random:0.2").is_err());
    }

    #[test]
    fn tail_split_is_chronological() {
        let s = Series { time: (0..10).map(|i| i.to_string()).collect(), ..Series::default() };
        let test: Vec<bool> = (0..10).map(|r| Split::Tail(0.2).is_test(&s, r).unwrap()).collect();
        assert_eq!(test.iter().filter(|t| **t).count(), 2);
        assert!(test[8] && test[9]);
    }

    #[test]
    fn walk_forward_uses_only_the_past() {
        let y: Vec<f64> = (0..10).map(f64::from).collect();
        let w = walk_forward(&y, Forecaster::Naive, 2, 3).unwrap();
        assert_eq!(w.truth, vec![4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        assert_eq!(w.predicted, vec![2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
    }
}
