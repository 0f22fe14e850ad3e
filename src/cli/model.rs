//! `ctl model`: train a CPU ~ load linear model (`train`), score it and the forecasting
//! baselines chronologically (`eval`, a table plus a CSV like seed 001's
//! `model_comparison_metrics.csv`), and apply a model or a forecaster (`predict`). Reads the
//! files and writes the outputs; all logic is in `crate::model`.

use super::{EXIT_OK, UsageError};
use crate::model::dataset::{self, Series};
use crate::model::eval::{self, Split};
use crate::model::features::{self, SEED_FEATURES};
use crate::model::{Forecaster, LinearModel, ModelError, Scores};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Fit a linear model of a target (default cpu_usage) on features and write it as JSON.
    Train(TrainArgs),
    /// Score a model (or one trained on the split) and naive persistence on held-out data, or
    /// forecasters walk-forward with --forecast COLUMN.
    Eval(EvalArgs),
    /// Apply a model to data row by row, or forecast a column h steps ahead.
    Predict(PredictArgs),
}

#[derive(Debug, Args)]
pub struct DataArgs {
    /// Data files or directories (every recognised *.csv inside): seed 001's
    /// taskX_<users>_<replicas>.csv or Locust _stats_history.csv.
    #[arg(long, required = true, num_args = 1.., value_name = "DIR_OR_FILE")]
    pub data: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Comma-separated features: COLUMN or COLUMN_lag_N (N rows earlier in the same file).
    #[arg(long, value_delimiter = ',', default_values_t = SEED_FEATURES.map(String::from))]
    pub features: Vec<String>,
    /// The column to predict.
    #[arg(long, default_value = "cpu_usage")]
    pub target: String,
    /// Hold out rows: users:4,7 (files of those user counts) or tail:20% (the end of each
    /// file); training uses the rest. Default: train on everything.
    #[arg(long, value_parser = Split::parse)]
    pub split: Option<Split>,
    /// Where to write the model (JSON).
    #[arg(long, value_name = "MODEL.json")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// A model from `ctl model train`; without it one is trained on the split's training rows.
    #[arg(long, value_name = "MODEL.json")]
    pub model: Option<PathBuf>,
    /// Features when training here (default: seed 001's five); with --model they must be the
    /// model's.
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// The column to predict when training here (a --model file names its own).
    #[arg(long, default_value = "cpu_usage")]
    pub target: String,
    /// The held-out rows (chronological: whole files by user count, or each file's tail).
    #[arg(long, value_parser = Split::parse, default_value = "users:4,7")]
    pub split: Split,
    /// Add seed 001's case 2: traffic features scaled by N / mean(test users).
    #[arg(long, value_name = "N")]
    pub simulate_users: Option<u32>,
    /// Walk-forward evaluation of forecasters on this column instead of the regression.
    #[arg(long, value_name = "COLUMN")]
    pub forecast: Option<String>,
    /// Forecasters for --forecast (naive, seasonal-naive:P, holt, holt-damped,
    /// holt-winters:P, holt-winters-damped:P).
    #[arg(long, value_delimiter = ',', value_parser = Forecaster::parse,
          default_values = ["naive", "holt", "holt-damped"])]
    pub forecasters: Vec<Forecaster>,
    /// Steps ahead for --forecast.
    #[arg(long, short = 'H', default_value_t = 1, value_parser = parse_horizon)]
    pub horizon: usize,
    /// Write the metric table as CSV (model,case,mae,mape,mase,r2,n).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write per-row predictions as CSV (regression only).
    #[arg(long, value_name = "FILE")]
    pub predictions: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Apply this model to every row of the data.
    #[arg(long, value_name = "MODEL.json", required_unless_present = "forecast")]
    pub model: Option<PathBuf>,
    /// Forecast this column after each file's last row instead.
    #[arg(long, value_name = "COLUMN", conflicts_with = "model")]
    pub forecast: Option<String>,
    #[arg(long, value_parser = Forecaster::parse, default_value = "holt-damped")]
    pub forecaster: Forecaster,
    #[arg(long, short = 'H', default_value_t = 1, value_parser = parse_horizon)]
    pub horizon: usize,
    /// Write the CSV here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(cmd: ModelCommand) -> anyhow::Result<i32> {
    match cmd {
        ModelCommand::Train(a) => train(a),
        ModelCommand::Eval(a) => evaluate(a),
        ModelCommand::Predict(a) => predict(a),
    }
}

fn usage(e: ModelError) -> anyhow::Error {
    UsageError::boxed(e)
}

/// The files behind `--data`: files as given, directories' recognised CSVs in name order.
fn load(args: &DataArgs) -> anyhow::Result<Vec<Series>> {
    let mut out = Vec::new();
    for path in &args.data {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| UsageError::boxed(format!("{}: cannot read: {e}", path.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "csv"))
                .collect();
            files.sort();
            for f in files {
                let text = read(&f)?;
                // Locust writes _stats.csv and _failures.csv beside the history: skip them.
                if dataset::detect(text.lines().next().unwrap_or("")).is_some() {
                    out.extend(
                        dataset::parse_file(&f.display().to_string(), &text).map_err(usage)?,
                    );
                }
            }
        } else {
            out.extend(
                dataset::parse_file(&path.display().to_string(), &read(path)?).map_err(usage)?,
            );
        }
    }
    if out.is_empty() {
        return Err(UsageError::boxed("--data: no recognised CSV files"));
    }
    dataset::clean_zero_rows(&mut out);
    Ok(out)
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| UsageError::boxed(format!("{}: cannot read: {e}", path.display())))
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))
}

fn read_model(path: &Path) -> anyhow::Result<LinearModel> {
    LinearModel::from_json(&read(path)?)
        .map_err(|e| UsageError::boxed(format!("{}: {e}", path.display())))
}

fn split_name(split: &Split) -> String {
    match split {
        Split::Users(u) => {
            format!("users:{}", u.iter().map(u32::to_string).collect::<Vec<_>>().join(","))
        }
        Split::Tail(f) => format!("tail:{}%", f * 100.0),
    }
}

fn fit(
    data: &[Series],
    features: &[String],
    target: &str,
    split: Option<&Split>,
) -> anyhow::Result<LinearModel> {
    let design = features::build(data, features, target).map_err(usage)?;
    let train = match split {
        Some(s) => s.apply(data, &design).map_err(usage)?.0,
        None => design,
    };
    let mut model = LinearModel::fit(&train, target).map_err(usage)?;
    model.split = split.map(split_name);
    Ok(model)
}

fn train(a: TrainArgs) -> anyhow::Result<i32> {
    let data = load(&a.data)?;
    let model = fit(&data, &a.features, &a.target, a.split.as_ref())?;
    write(&a.out, &(serde_json::to_string_pretty(&model)? + "\n"))?;
    let terms: Vec<String> = model
        .features
        .iter()
        .zip(&model.coefficients)
        .map(|(f, c)| format!("{c:+.4}·{f}"))
        .collect();
    eprintln!(
        "trained on {} rows: {} ≈ {:.4} {}",
        model.train_rows,
        model.target,
        model.intercept,
        terms.join(" ")
    );
    Ok(EXIT_OK)
}

fn evaluate(a: EvalArgs) -> anyhow::Result<i32> {
    let data = load(&a.data)?;
    let scores = match &a.forecast {
        Some(column) => forecast_scores(&data, column, &a.forecasters, a.horizon)?,
        None => {
            let model = match &a.model {
                Some(p) => {
                    let m = read_model(p)?;
                    if let Some(f) = &a.features {
                        m.check_features(f)
                            .map_err(|e| UsageError::boxed(format!("{}: {e}", p.display())))?;
                    }
                    m
                }
                None => {
                    let seed = SEED_FEATURES.map(String::from).to_vec();
                    fit(&data, a.features.as_ref().unwrap_or(&seed), &a.target, Some(&a.split))?
                }
            };
            let cases =
                eval::regression_cases(&model, &data, &a.split, a.simulate_users).map_err(usage)?;
            if let Some(p) = &a.predictions {
                write(p, &predictions_csv(&data, &model.target, &cases))?;
            }
            cases.iter().flat_map(|c| c.scores("linear_regression")).collect()
        }
    };
    print!("{}", table(&scores));
    if let Some(p) = &a.csv {
        let mut csv = String::from("model,case,mae,mape,mase,r2,n\n");
        for s in &scores {
            let _ = writeln!(
                csv,
                "{},{},{:.4},{:.2},{:.4},{:.4},{}",
                s.model, s.case, s.mae, s.mape, s.mase, s.r2, s.n
            );
        }
        write(p, &csv)?;
    }
    Ok(EXIT_OK)
}

/// Walk-forward scores of each forecaster, pooled over the files, with naive's MAE as scale.
fn forecast_scores(
    data: &[Series],
    column: &str,
    forecasters: &[Forecaster],
    h: usize,
) -> anyhow::Result<Vec<Scores>> {
    let start = forecasters.iter().map(Forecaster::min_history).max().unwrap_or(1);
    let case = format!("walk_forward_{column}_h{h}");
    let mut out = Vec::new();
    for f in forecasters {
        let (mut truth, mut pred, mut naive) = (Vec::new(), Vec::new(), Vec::new());
        for s in data {
            let y: Vec<f64> = s
                .column(column)
                .map_err(usage)?
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            let w = eval::walk_forward(&y, *f, h, start).map_err(usage)?;
            truth.extend(w.truth);
            pred.extend(w.predicted);
            naive.extend(w.naive);
        }
        if truth.is_empty() {
            return Err(UsageError::boxed(format!(
                "--forecast {column}: no file is longer than {start} + {h} rows"
            )));
        }
        out.push(Scores::new(&f.name(), &case, &truth, &pred, &naive));
    }
    Ok(out)
}

fn table(scores: &[Scores]) -> String {
    let mut t = format!(
        "{:<20} {:<40} {:>5} {:>9} {:>9} {:>7} {:>7}\n",
        "model", "case", "n", "MAE", "MAPE %", "MASE", "R²"
    );
    for s in scores {
        let _ = writeln!(
            t,
            "{:<20} {:<40} {:>5} {:>9.4} {:>9.2} {:>7.3} {:>7.3}",
            s.model, s.case, s.n, s.mae, s.mape, s.mase, s.r2
        );
    }
    t
}

/// Per test row: where it came from, the truth, and each case's prediction (seed 001's
/// `cpu_predictions_test.csv`, with naive persistence added).
fn predictions_csv(data: &[Series], target: &str, cases: &[eval::CaseResult]) -> String {
    let mut csv = format!("source_file,timestamp,concurrent_users,{target},naive_persistence");
    for c in cases {
        let _ = write!(csv, ",pred_{}_linear_regression", c.case);
    }
    csv.push('\n');
    let Some(first) = cases.first() else { return csv };
    for (i, r) in first.design.rows.iter().enumerate() {
        let s = &data[r.series];
        let users = s.users.map(|u| u.to_string()).unwrap_or_default();
        let _ = write!(
            csv,
            "{},{},{users},{},{}",
            file_name(&s.source),
            s.time[r.row],
            first.design.y[i],
            first.naive[i]
        );
        for c in cases {
            let _ = write!(csv, ",{:.6}", c.predicted[i]);
        }
        csv.push('\n');
    }
    csv
}

fn file_name(source: &str) -> &str {
    source.rsplit(['/', '\\']).next().unwrap_or(source)
}

fn predict(a: PredictArgs) -> anyhow::Result<i32> {
    let data = load(&a.data)?;
    let mut csv = String::new();
    if let Some(column) = &a.forecast {
        csv.push_str("source_file,step,forecast\n");
        for s in &data {
            let y: Vec<f64> = s
                .column(column)
                .map_err(usage)?
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            let f = a
                .forecaster
                .forecast(&y, a.horizon)
                .map_err(|e| UsageError::boxed(format!("{}: {e}", s.source)))?;
            for (k, v) in f.iter().enumerate() {
                let _ = writeln!(csv, "{},{},{v:.6}", file_name(&s.source), k + 1);
            }
        }
    } else if let Some(path) = &a.model {
        let model = read_model(path)?;
        let design =
            features::build_for_prediction(&data, &model.features, &model.target).map_err(usage)?;
        let pred = model.predict(&design).map_err(usage)?;
        let _ = writeln!(csv, "source_file,timestamp,{},predicted", model.target);
        for (i, r) in design.rows.iter().enumerate() {
            let s = &data[r.series];
            let _ = writeln!(
                csv,
                "{},{},{},{:.6}",
                file_name(&s.source),
                s.time[r.row],
                design.y[i],
                pred[i]
            );
        }
    }
    match &a.out {
        Some(p) => write(p, &csv)?,
        None => print!("{csv}"),
    }
    Ok(EXIT_OK)
}

/// Steps ahead: at least 1, and bounded so a typo cannot allocate the machine away.
fn parse_horizon(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(h) if (1..=100_000).contains(&h) => Ok(h),
        _ => Err(format!("expected an integer from 1 to 100000, found '{text}'")),
    }
}
