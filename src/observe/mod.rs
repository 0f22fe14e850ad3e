//! Observation sources, the IO side of the controller: trace sources (Jaeger JSON files and
//! the Jaeger query API, seed 000's training-set CSV). They turn what they read into the
//! pure data of `anomaly` and say where input was wrong; they hold no detection logic.

pub mod jaeger;
pub mod jaeger_api;
pub mod metrics;
pub mod training_csv;

use crate::anomaly::Trace;
use training_csv::CsvTable;

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("{path}: cannot read: {source}")]
    Read { path: String, source: std::io::Error },
    /// The query API could not be reached or refused (a runtime failure, not bad input).
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    #[error("{origin}: {message}")]
    Input { origin: String, message: String },
}

impl ObserveError {
    /// True when the input itself was wrong (exit 2), false for a failed fetch (exit 3).
    pub fn is_input(&self) -> bool {
        !matches!(self, ObserveError::Http { .. })
    }

    pub(crate) fn input(origin: &str, message: impl Into<String>) -> Self {
        ObserveError::Input { origin: origin.to_string(), message: message.into() }
    }
}

/// What a trace source held.
#[derive(Debug)]
pub enum TraceInput {
    /// Jaeger traces (spans with references), from a file or the query API.
    Jaeger(Vec<Trace>),
    /// Seed 000's precomputed per-trace table (inclusive durations, last span wins).
    Csv(CsvTable),
}

/// Reads a file or fetches an `http(s)://` URL (the Jaeger query API, e.g.
/// `http://host:16686/api/traces?service=frontend&limit=1000`), then parses it: Jaeger JSON
/// when it starts with `{` or `[`, else a training-set CSV. `skip_bad_rows` drops CSV rows
/// that do not match the header instead of failing on the first.
pub fn load(source: &str, skip_bad_rows: bool) -> Result<TraceInput, ObserveError> {
    let text = if source.starts_with("http://") || source.starts_with("https://") {
        jaeger::fetch(source)?
    } else {
        std::fs::read_to_string(source)
            .map_err(|e| ObserveError::Read { path: source.to_string(), source: e })?
    };
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.is_empty() {
        return Err(ObserveError::input(
            source,
            "empty: expected Jaeger JSON or a training-set CSV",
        ));
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        jaeger::parse(&text, source).map(TraceInput::Jaeger)
    } else if trimmed.starts_with("id,") {
        training_csv::parse(&text, source, skip_bad_rows).map(TraceInput::Csv)
    } else {
        Err(ObserveError::input(
            source,
            "expected Jaeger JSON ({\"data\": [traces]}) or a training-set CSV (header id,...,pattern)",
        ))
    }
}
