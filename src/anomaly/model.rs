//! The trained trace-anomaly model: its schema (sorted operation names and the feature kind),
//! one Isolation Forest over every trace and, optionally, one per trace pattern with a CVaR95
//! deadline on `total` (seed 000's later detector: an anomaly must be isolated *and* slow),
//! the offsets, the seed and the per-operation statistics the explanations use. Serialises to
//! JSON (`ctl-anomaly-model`, version 1); loading checks that the parts agree, so scoring
//! never indexes past the schema.

use super::explain::{Explanation, OpStats, SpanMap, explain, op_stats};
use super::features::{FeatureKind, Repeated, Schema, TraceFeatures};
use super::forest::{Forest, ForestError, ForestParams, MaxSamples, offset_for};
use super::stats::cvar;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const FORMAT: &str = "ctl-anomaly-model";
pub const VERSION: u32 = 1;
/// A pattern needs this many training traces for a forest of its own; rarer patterns are
/// scored by the global forest (a forest over a handful of rows isolates everything).
pub const MIN_PATTERN_TRACES: usize = 10;
/// The deadline is CVaR at this level of the pattern's training `total`s.
pub const DEADLINE_ALPHA: f64 = 0.95;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("no traces to train on")]
    Empty,
    #[error("the traces have no operations (no spans with an operationName)")]
    NoOperations,
    #[error(transparent)]
    Forest(#[from] ForestError),
    #[error("not a ctl anomaly model: {0}")]
    Format(String),
}

/// How the anomaly threshold is set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Value", into = "serde_json::Value")]
pub enum Contamination {
    /// sklearn's `"auto"`: offset -0.5, anomalous when s > 0.5.
    Auto,
    /// The expected anomalous fraction of the training set, in (0, 0.5].
    Fraction(f64),
}

impl Contamination {
    /// `auto` or a fraction in (0, 0.5] (sklearn's accepted range).
    pub fn parse(text: &str) -> Result<Contamination, String> {
        let t = text.trim();
        if t == "auto" {
            return Ok(Contamination::Auto);
        }
        match t.parse::<f64>() {
            Ok(c) if c > 0.0 && c <= 0.5 => Ok(Contamination::Fraction(c)),
            _ => {
                Err(format!("expected `auto` or a fraction in (0, 0.5] like 0.01, found '{text}'"))
            }
        }
    }

    fn fraction(self) -> Option<f64> {
        match self {
            Contamination::Auto => None,
            Contamination::Fraction(c) => Some(c),
        }
    }
}

impl From<Contamination> for serde_json::Value {
    fn from(c: Contamination) -> Self {
        match c {
            Contamination::Auto => "auto".into(),
            Contamination::Fraction(f) => f.into(),
        }
    }
}

impl TryFrom<serde_json::Value> for Contamination {
    type Error = String;
    fn try_from(v: serde_json::Value) -> Result<Self, String> {
        match &v {
            serde_json::Value::String(s) => Contamination::parse(s),
            serde_json::Value::Number(n) => Contamination::parse(&n.to_string()),
            _ => Err(format!("contamination: expected \"auto\" or a number, found {v}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    pub kind: FeatureKind,
    pub repeated: Repeated,
    pub contamination: Contamination,
    pub per_pattern: bool,
    pub seed: u64,
    pub n_estimators: usize,
    pub max_samples: MaxSamples,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            kind: FeatureKind::SelfTime,
            repeated: Repeated::Sum,
            contamination: Contamination::Auto,
            per_pattern: false,
            seed: 42,
            n_estimators: 100,
            max_samples: MaxSamples::Auto,
        }
    }
}

/// One forest with its threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detector {
    pub traces: usize,
    /// sklearn's `offset_`: anomalous when -s - offset < 0.
    pub offset: f64,
    /// Per-pattern mode: CVaR95 of training `total` (µs); an anomaly must also exceed it.
    pub deadline_us: Option<f64>,
    pub forest: Forest,
}

impl Detector {
    fn fit(
        rows: &[&TraceFeatures],
        cols: usize,
        opts: &TrainOptions,
        deadline: bool,
    ) -> Result<Self, ModelError> {
        let data = super::forest::Matrix::from_rows(
            cols,
            &rows.iter().map(|r| &r.values[..]).collect::<Vec<_>>(),
        );
        let params = ForestParams {
            n_estimators: opts.n_estimators,
            max_samples: opts.max_samples,
            seed: opts.seed,
        };
        let forest = Forest::fit(&data, &params)?;
        let offset = match opts.contamination.fraction() {
            None => offset_for(&[], None),
            Some(c) => offset_for(&forest.score_all(&data), Some(c)),
        };
        let totals: Vec<f64> = rows.iter().map(|r| r.total_us).collect();
        let deadline_us = if deadline { cvar(&totals, DEADLINE_ALPHA) } else { None };
        Ok(Detector { traces: rows.len(), offset, deadline_us, forest })
    }

    /// Score s and the verdict for one row.
    pub fn judge(&self, x: &[f32], total_us: f64) -> (f64, bool) {
        let s = self.forest.score(x);
        let isolated = -s - self.offset < 0.0;
        (s, isolated && self.deadline_us.is_none_or(|d| total_us > d))
    }
}

/// The model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub format: String,
    pub version: u32,
    pub features: FeatureKind,
    /// How rows were built when an operation repeats (absent in a file: `sum`).
    #[serde(default)]
    pub repeated: Repeated,
    pub schema: Vec<String>,
    pub seed: u64,
    pub n_estimators: usize,
    pub contamination: Contamination,
    pub per_pattern: bool,
    pub trained_on: usize,
    /// Per schema column, over training traces that contain the operation.
    pub normal: Vec<OpStats>,
    pub global: Detector,
    /// Pattern string -> its own detector (per-pattern mode only).
    pub patterns: BTreeMap<String, Detector>,
}

/// The verdict on one trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub trace_id: String,
    /// s = 2^(-E h / c(ψ)); sklearn's `score_samples` is -s.
    pub score: f64,
    pub anomalous: bool,
    pub pattern: String,
    pub explanation: Option<Explanation>,
}

impl Model {
    /// Fits a model on `rows` (extracted over `schema` with `opts.kind`).
    pub fn train(
        schema: &Schema,
        rows: &[TraceFeatures],
        opts: &TrainOptions,
    ) -> Result<Model, ModelError> {
        if rows.is_empty() {
            return Err(ModelError::Empty);
        }
        if schema.is_empty() {
            return Err(ModelError::NoOperations);
        }
        let cols = schema.len();
        let all: Vec<&TraceFeatures> = rows.iter().collect();
        let global = Detector::fit(&all, cols, opts, opts.per_pattern)?;
        let mut patterns = BTreeMap::new();
        if opts.per_pattern {
            let mut groups: BTreeMap<String, Vec<&TraceFeatures>> = BTreeMap::new();
            for r in rows {
                groups.entry(r.pattern()).or_default().push(r);
            }
            for (pattern, group) in groups {
                if group.len() >= MIN_PATTERN_TRACES {
                    patterns.insert(pattern, Detector::fit(&group, cols, opts, true)?);
                }
            }
        }
        Ok(Model {
            format: FORMAT.into(),
            version: VERSION,
            features: opts.kind,
            repeated: opts.repeated,
            schema: schema.operations.clone(),
            seed: opts.seed,
            n_estimators: opts.n_estimators,
            contamination: opts.contamination,
            per_pattern: opts.per_pattern,
            trained_on: rows.len(),
            normal: op_stats(&schema.operations, rows),
            global,
            patterns,
        })
    }

    pub fn schema(&self) -> Schema {
        Schema { operations: self.schema.clone() }
    }

    /// The detector for a pattern: its own, or the global one.
    pub fn detector(&self, pattern: &str) -> &Detector {
        self.patterns.get(pattern).unwrap_or(&self.global)
    }

    /// Judges one row (extracted over this model's schema and feature kind); explains it when
    /// anomalous, or always with `explain_all`.
    pub fn score(
        &self,
        row: &TraceFeatures,
        span_map: Option<&SpanMap>,
        explain_all: bool,
    ) -> Verdict {
        let x: Vec<f32> = row.values.iter().map(|&v| v as f32).collect();
        let pattern = row.pattern();
        let (score, anomalous) = self.detector(&pattern).judge(&x, row.total_us);
        let explanation = if anomalous || explain_all {
            explain(row, &self.normal, self.features.name(), span_map)
        } else {
            None
        };
        Verdict { trace_id: row.trace_id.clone(), score, anomalous, pattern, explanation }
    }

    pub fn to_json(&self) -> String {
        // A model is plain data (finite numbers, strings): serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses and checks a model file's text.
    pub fn from_json(text: &str) -> Result<Model, ModelError> {
        let probe: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ModelError::Format(format!("invalid JSON: {e}")))?;
        if probe.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(ModelError::Format(format!("expected \"format\": \"{FORMAT}\"")));
        }
        let m: Model =
            serde_json::from_value(probe).map_err(|e| ModelError::Format(e.to_string()))?;
        if m.version != VERSION {
            return Err(ModelError::Format(format!(
                "version {} (this ctl reads {VERSION})",
                m.version
            )));
        }
        let n = m.schema.len();
        if m.normal.len() != n {
            return Err(ModelError::Format(format!(
                "{} normal entries for {n} schema columns",
                m.normal.len()
            )));
        }
        for (name, d) in std::iter::once(("global", &m.global))
            .chain(m.patterns.iter().map(|(p, d)| (p.as_str(), d)))
        {
            if d.forest.n_features != n || d.forest.trees.is_empty() {
                return Err(ModelError::Format(format!(
                    "forest '{name}' has {} features and {} trees; the schema has {n} columns",
                    d.forest.n_features,
                    d.forest.trees.len()
                )));
            }
        }
        if let Some(p) = m.patterns.keys().find(|p| p.len() != n) {
            return Err(ModelError::Format(format!("pattern '{p}' is not {n} characters long")));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: usize, a: f64, b: Option<f64>) -> TraceFeatures {
        TraceFeatures {
            trace_id: format!("t{id}"),
            values: vec![a, b.unwrap_or(0.0)],
            present: vec![true, b.is_some()],
            total_us: a + b.unwrap_or(0.0),
            services: vec![None, None],
            unknown: vec![],
        }
    }

    fn rows() -> Vec<TraceFeatures> {
        (0..300)
            .map(|i| {
                let a = 100.0 + (i % 17) as f64;
                row(i, a, (i % 3 == 0).then_some(500.0 + (i % 13) as f64))
            })
            .collect()
    }

    #[test]
    fn contamination_parses_auto_and_fractions() {
        assert_eq!(Contamination::parse("auto"), Ok(Contamination::Auto));
        assert_eq!(Contamination::parse("0.01"), Ok(Contamination::Fraction(0.01)));
        assert!(Contamination::parse("0.7").unwrap_err().contains("(0, 0.5]"));
    }

    #[test]
    fn trains_scores_explains_and_round_trips() {
        let schema = Schema::new(["a".to_string(), "b".to_string()]);
        let opts =
            TrainOptions { contamination: Contamination::Fraction(0.01), ..Default::default() };
        let m = Model::train(&schema, &rows(), &opts).unwrap();
        assert!(m.global.offset < -0.4 && m.global.offset > -0.9, "{}", m.global.offset);
        let v = m.score(&row(9999, 100.0, Some(9000.0)), None, false);
        assert!(v.anomalous, "{v:?}");
        assert_eq!(v.explanation.unwrap().span, "b");
        assert!(!m.score(&row(1, 108.0, None), None, false).anomalous);
        let back = Model::from_json(&m.to_json()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn per_pattern_forests_need_the_deadline_too() {
        let schema = Schema::new(["a".to_string(), "b".to_string()]);
        let opts = TrainOptions { per_pattern: true, ..Default::default() };
        let m = Model::train(&schema, &rows(), &opts).unwrap();
        assert_eq!(m.patterns.keys().collect::<Vec<_>>(), ["10", "11"]);
        let d = m.patterns["10"].deadline_us.unwrap();
        assert!(d > 110.0 && d <= 116.0, "{d}");
        // Isolated but faster than the deadline: not an anomaly.
        assert!(!m.score(&row(1, 1.0, None), None, false).anomalous);
        assert!(m.score(&row(2, 5000.0, None), None, false).anomalous);
    }

    #[test]
    fn loading_rejects_other_files_and_inconsistent_models() {
        assert!(Model::from_json("{}").unwrap_err().to_string().contains("format"));
        let schema = Schema::new(["a".to_string(), "b".to_string()]);
        let mut m = Model::train(&schema, &rows(), &TrainOptions::default()).unwrap();
        m.schema.push("c".into());
        let e = Model::from_json(&m.to_json()).unwrap_err().to_string();
        assert!(e.contains("3 schema columns"), "{e}");
    }
}
