//! Parameter ranges of the guard: the `parameters:` entries of `knowledge/constraints.yaml`
//! and the check of a proposed value, read with Knative's own (Go) parsers.

use serde::Deserialize;

use crate::policy::kpa::parse::{go_duration_nanos, go_float, go_int32};

/// How a parameter's value is read: Knative's own parsers (Go syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueKind {
    Integer,
    Float,
    Duration,
    String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Service,
    Global,
}

/// A bound or default as written: a number, or text such as `6s`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Number(f64),
    Text(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterConfig {
    pub key: Option<String>,
    /// Inferred when absent: duration if a bound is text, else float.
    #[serde(rename = "type")]
    pub kind: Option<ValueKind>,
    pub min: Option<Scalar>,
    pub max: Option<Scalar>,
    /// An exclusive lower bound (Knative's "must be greater than 1.0").
    pub above: Option<Scalar>,
    /// `[min, max]`, an alternative to `min` and `max`.
    pub range: Option<Vec<Scalar>>,
    /// Allowed values (for strings, e.g. `[concurrency, rps]`).
    pub values: Option<Vec<String>>,
    pub default: Option<Scalar>,
    pub scope: Option<Scope>,
    pub note: Option<String>,
}

/// Why a proposed parameter value is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParameterError {
    #[error("{key}: not a known parameter (constraints.yaml lists the allowed ones)")]
    Unknown { key: String },
    #[error("{key}: {message}")]
    Rejected { key: String, message: String },
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Parameter {
    pub(super) name: String,
    pub(super) key: String,
    kind: ValueKind,
    /// Bounds in the kind's unit (seconds for durations).
    min: Option<f64>,
    max: Option<f64>,
    above: Option<f64>,
    values: Option<Vec<String>>,
}

pub(super) fn parameter(name: &str, p: ParameterConfig) -> Result<Parameter, (String, String)> {
    let path = format!("parameters.{name}");
    let (mut min, mut max) = (p.min, p.max);
    if let Some(range) = p.range {
        if range.len() != 2 || min.is_some() || max.is_some() {
            return Err((
                format!("{path}.range"),
                "expected [min, max] (and no min/max besides)".into(),
            ));
        }
        let mut it = range.into_iter();
        (min, max) = (it.next(), it.next());
    }
    let is_text = |s: &Option<Scalar>| matches!(s, Some(Scalar::Text(_)));
    let kind = p.kind.unwrap_or(if is_text(&min) || is_text(&max) {
        ValueKind::Duration
    } else {
        ValueKind::Float
    });
    let bound = |field: &str, s: Option<Scalar>| -> Result<Option<f64>, (String, String)> {
        let Some(s) = s else { return Ok(None) };
        let text = match &s {
            Scalar::Number(n) => n.to_string(),
            Scalar::Text(t) => t.clone(),
        };
        let value = match (kind, &s) {
            (ValueKind::String, _) => {
                Err("a string parameter takes values, not bounds".to_string())
            }
            (ValueKind::Duration, _) => {
                go_duration_nanos(&text).map(|n| n as f64 / 1e9).or_else(|e| match s {
                    Scalar::Number(n) => Ok(n), // bare numbers are seconds
                    Scalar::Text(_) => Err(e),
                })
            }
            (_, Scalar::Number(n)) => Ok(*n),
            (_, Scalar::Text(t)) => go_float(t),
        };
        value.map(Some).map_err(|m| (format!("{path}.{field}"), m))
    };
    let min = bound("min", min)?;
    let max = bound("max", max)?;
    let above = bound("above", p.above)?;
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        return Err((path, format!("min {lo} is above max {hi}")));
    }
    Ok(Parameter {
        name: name.to_string(),
        key: p.key.unwrap_or_else(|| name.to_string()),
        kind,
        min,
        max,
        above,
        values: p.values,
    })
}

impl Parameter {
    /// Checks one value (as text, like annotations and ConfigMap data).
    pub(super) fn check(&self, value: &str) -> Result<(), ParameterError> {
        let reject = |message: String| ParameterError::Rejected { key: self.key.clone(), message };
        let v = value.trim();
        let number = match self.kind {
            ValueKind::Integer => go_int32(v).map(f64::from).map_err(reject)?,
            ValueKind::Float => go_float(v).map_err(reject)?,
            ValueKind::Duration => go_duration_nanos(v).map_err(reject)? as f64 / 1e9,
            ValueKind::String => 0.0,
        };
        if let Some(values) = &self.values
            && !values.iter().any(|allowed| allowed == v)
        {
            return Err(reject(format!("{v:?} is not one of {}", values.join(", "))));
        }
        if self.kind == ValueKind::String {
            return Ok(());
        }
        let unit = if self.kind == ValueKind::Duration { "s" } else { "" };
        if let Some(lo) = self.min
            && number < lo
        {
            return Err(reject(format!("{v:?} is below the minimum {lo}{unit}")));
        }
        if let Some(lo) = self.above
            && number <= lo
        {
            return Err(reject(format!("{v:?} must be greater than {lo}{unit}")));
        }
        if let Some(hi) = self.max
            && number > hi
        {
            return Err(reject(format!("{v:?} is above the maximum {hi}{unit}")));
        }
        Ok(())
    }
}
