//! Performance models and load forecasting, pure: datasets arrive as text (the CLI reads the
//! files), models and forecasters are plain values, nothing reads the clock. `dataset` parses
//! seed 001's metric CSVs, Locust's `_stats_history.csv` and ctl's `control.csv` (one series
//! per deployment); `features` builds per-series lag features; `linear` is the CPU ~ load
//! regression (linfa-linear); `forecast` holds the baselines a forecaster must beat; `metrics`
//! and `eval` score them, chronologically only.

pub mod dataset;
pub mod eval;
pub mod features;
pub mod forecast;
pub mod linear;
pub mod metrics;

pub use dataset::Series;
pub use features::Design;
pub use forecast::Forecaster;
pub use linear::LinearModel;
pub use metrics::Scores;

/// Everything that can go wrong reading data or building a model. Input errors name the file
/// and the column (and the line when there is one), so the CLI can print them as they are.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("{file}: missing column '{column}'")]
    MissingColumn { file: String, column: String },
    #[error("{file}: no data rows")]
    NoRows { file: String },
    #[error("{file}:{line}: column '{column}': expected a number, found '{value}'")]
    BadValue { file: String, line: usize, column: String, value: String },
    #[error("{file}:{line}: expected {expected} fields as in the header, found {found}")]
    BadRow { file: String, line: usize, expected: usize, found: usize },
    #[error("{file}: {message}")]
    Unsupported { file: String, message: String },
    #[error("unknown feature '{0}': expected COLUMN or COLUMN_lag_N (N >= 1)")]
    BadFeature(String),
    #[error(
        "the model was trained on features [{}] but these are [{}]",
        model.join(", "),
        data.join(", ")
    )]
    FeatureMismatch { model: Vec<String>, data: Vec<String> },
    #[error("{0}")]
    Split(String),
    #[error("cannot fit: {0}")]
    Fit(String),
    #[error("{method} needs at least {need} observations, found {have}")]
    TooShort { method: String, need: usize, have: usize },
    #[error("{0}")]
    Config(String),
}
