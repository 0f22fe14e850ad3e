//! `ctl anomaly train|score|inspect`: fits a trace-anomaly model on Jaeger traces (a file or
//! the query API) or seed 000's training-set CSV, scores traces against it as JSON lines, and
//! prints what a model file holds. Reads and writes files, prints; all logic is in `anomaly`
//! and all input parsing in `observe`.

use super::{EXIT_OK, UsageError};
use crate::anomaly::forest::MaxSamples;
use crate::anomaly::model::{Detector, Model};
use crate::anomaly::{
    Contamination, FeatureKind, Repeated, Schema, SpanMap, TraceFeatures, TrainOptions, features,
};
use crate::observe::{self, ObserveError, TraceInput};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum AnomalyCommand {
    /// Fit an Isolation Forest on traces and write the model as JSON.
    Train(TrainArgs),
    /// Score traces against a model: one JSON line per trace.
    Score(ScoreArgs),
    /// Print what a model file holds (schema, ψ, offsets, deadlines, normal span times).
    Inspect(InspectArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FeatureArg {
    /// Span duration minus its CHILD_OF children (default for Jaeger input).
    #[value(name = "self")]
    SelfTime,
    /// The span's own duration (what a training-set CSV holds).
    Inclusive,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RepeatedArg {
    /// Sum the spans of one operation (self: all; inclusive: the outermost).
    Sum,
    /// Keep the last span of the operation, as seed 000 did (what a training-set CSV holds).
    Last,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Jaeger JSON file, Jaeger query API URL (http://HOST:16686/api/traces?service=frontend)
    /// or seed 000's training-set CSV.
    #[arg(long, value_name = "FILE_OR_URL")]
    pub traces: String,
    /// Where to write the model.
    #[arg(long, value_name = "MODEL.json")]
    pub out: PathBuf,
    /// `auto` (anomalous when s > 0.5, sklearn's offset -0.5) or the expected anomalous
    /// fraction of the training traces, e.g. 0.01.
    #[arg(long, default_value = "auto", value_parser = Contamination::parse)]
    pub contamination: Contamination,
    /// One forest per trace pattern (set of operations), and an anomaly must also exceed the
    /// pattern's CVaR95 deadline on `total` (seed 000's later detector).
    #[arg(long)]
    pub per_pattern: bool,
    /// Seed of the forest's random streams (as sklearn's `random_state`: 0 to 4294967295).
    #[arg(long, default_value_t = 42)]
    pub seed: u32,
    /// Feature per operation: self or inclusive time (default: self; inclusive for a CSV).
    #[arg(long, value_enum)]
    pub features: Option<FeatureArg>,
    /// A repeated operation in a trace: `sum` its spans (default) or keep the `last` one, as
    /// seed 000 did (`--features inclusive --repeated last` reproduces its table exactly).
    #[arg(long, value_enum)]
    pub repeated: Option<RepeatedArg>,
    /// Trees in the forest.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub trees: u32,
    /// Rows per tree: `auto` (min(256, n)) or a count.
    #[arg(long, default_value = "auto", value_parser = parse_max_samples)]
    pub max_samples: MaxSamples,
    /// Leave out CSV rows that do not match the header (listed on stderr) instead of failing.
    #[arg(long)]
    pub skip_bad_rows: bool,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// A model written by `ctl anomaly train`.
    #[arg(long, value_name = "MODEL.json")]
    pub model: PathBuf,
    /// Jaeger JSON file, Jaeger query API URL or training-set CSV.
    #[arg(long, value_name = "FILE_OR_URL")]
    pub traces: String,
    /// Operation -> service map (`spans:` mapping, e.g. knowledge/span-map.yaml); operations
    /// not in it take the Jaeger process's serviceName.
    #[arg(long, value_name = "FILE")]
    pub span_map: Option<PathBuf>,
    /// Explain every trace, not only the anomalous ones.
    #[arg(long)]
    pub explain_all: bool,
    /// Print only anomalous traces.
    #[arg(long)]
    pub anomalies_only: bool,
    /// Leave out CSV rows that do not match the header instead of failing.
    #[arg(long)]
    pub skip_bad_rows: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model file.
    pub model: PathBuf,
}

fn parse_max_samples(text: &str) -> Result<MaxSamples, String> {
    match text.trim() {
        "auto" => Ok(MaxSamples::Auto),
        t => match t.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(MaxSamples::Count(n)),
            _ => Err(format!("expected `auto` or a count >= 1, found '{text}'")),
        },
    }
}

pub fn run(cmd: AnomalyCommand) -> anyhow::Result<i32> {
    match cmd {
        AnomalyCommand::Train(a) => train(a),
        AnomalyCommand::Score(a) => score(a),
        AnomalyCommand::Inspect(a) => inspect(a),
    }
}

/// Observe errors: bad input is exit 2, a failed fetch exit 3.
fn observed(e: ObserveError) -> anyhow::Error {
    if e.is_input() { UsageError::boxed(e) } else { anyhow::Error::new(e) }
}

fn load(source: &str, skip_bad_rows: bool) -> anyhow::Result<TraceInput> {
    let input = observe::load(source, skip_bad_rows).map_err(observed)?;
    if let TraceInput::Csv(t) = &input
        && !t.skipped.is_empty()
    {
        eprintln!(
            "warning: {}: left out {} rows that do not match the header:",
            source,
            t.skipped.len()
        );
        for m in t.skipped.iter().take(5) {
            eprintln!("  {m}");
        }
    }
    Ok(input)
}

fn train(a: TrainArgs) -> anyhow::Result<i32> {
    let input = load(&a.traces, a.skip_bad_rows)?;
    let (schema, rows, kind, repeated) = match input {
        TraceInput::Jaeger(traces) => {
            let kind = match a.features {
                Some(FeatureArg::Inclusive) => FeatureKind::Inclusive,
                _ => FeatureKind::SelfTime,
            };
            let repeated = match a.repeated {
                Some(RepeatedArg::Last) => Repeated::Last,
                _ => Repeated::Sum,
            };
            let schema = Schema::of(&traces);
            let rows: Vec<TraceFeatures> =
                traces.iter().map(|t| features::extract_with(t, &schema, kind, repeated)).collect();
            (schema, rows, kind, repeated)
        }
        TraceInput::Csv(table) => {
            if let Some(FeatureArg::SelfTime) = a.features {
                return Err(UsageError::boxed(format!(
                    "--features self: {} is a training-set CSV, which holds inclusive durations only (no span tree); use --features inclusive or Jaeger traces",
                    a.traces
                )));
            }
            if let Some(RepeatedArg::Sum) = a.repeated {
                return Err(UsageError::boxed(format!(
                    "--repeated sum: {} is a training-set CSV, which holds the last span of each operation; use --repeated last or Jaeger traces",
                    a.traces
                )));
            }
            (table.schema, table.rows, FeatureKind::Inclusive, Repeated::Last)
        }
    };
    let opts = TrainOptions {
        kind,
        repeated,
        contamination: a.contamination,
        per_pattern: a.per_pattern,
        seed: u64::from(a.seed),
        n_estimators: a.trees as usize,
        max_samples: a.max_samples,
    };
    let model = Model::train(&schema, &rows, &opts)
        .map_err(|e| UsageError::boxed(format!("{}: {e}", a.traces)))?;
    let flagged = rows.iter().filter(|r| model.score(r, None, false).anomalous).count();
    std::fs::write(&a.out, model.to_json() + "\n")
        .with_context(|| format!("{}: cannot write", a.out.display()))?;
    let summary = json!({
        "model": a.out.display().to_string(),
        "traces": rows.len(),
        "operations": schema.len(),
        "features": kind.name(),
        "repeated": repeated,
        "psi": model.global.forest.max_samples,
        "max_depth": model.global.forest.max_depth,
        "offset": model.global.offset,
        "pattern_forests": model.patterns.len(),
        "flagged_in_training": flagged,
    });
    println!("{summary}");
    Ok(EXIT_OK)
}

fn read_model(path: &Path) -> anyhow::Result<Model> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError::boxed(format!("{}: cannot read: {e}", path.display())))?;
    Model::from_json(&text).map_err(|e| UsageError::boxed(format!("{}: {e}", path.display())))
}

/// One output line of `score`.
#[derive(Serialize)]
struct ScoreLine<'a> {
    trace_id: &'a str,
    score: f64,
    anomalous: bool,
    span: Option<&'a str>,
    service: Option<&'a str>,
    why: Option<&'a str>,
    z: Option<f64>,
    value_us: Option<f64>,
    normal_median_us: Option<f64>,
    normal_p99_us: Option<f64>,
    pattern: &'a str,
    total_us: f64,
}

/// The rows to score, over the model's schema; a source that does not fit it is bad input.
fn rows_for(model: &Model, input: TraceInput, origin: &str) -> anyhow::Result<Vec<TraceFeatures>> {
    let schema = model.schema();
    match input {
        TraceInput::Jaeger(traces) => {
            let rows: Vec<TraceFeatures> = traces
                .iter()
                .map(|t| features::extract_with(t, &schema, model.features, model.repeated))
                .collect();
            if rows.iter().all(|r| !r.present.iter().any(|p| *p)) {
                let seen = Schema::of(&traces).operations;
                return Err(UsageError::boxed(format!(
                    "{origin}: wrong schema for the model: none of the traces' operations ({}) is one of the model's ({})",
                    list(&seen),
                    list(&model.schema)
                )));
            }
            Ok(rows)
        }
        TraceInput::Csv(table) => {
            if model.features != FeatureKind::Inclusive {
                return Err(UsageError::boxed(format!(
                    "{origin}: a training-set CSV holds inclusive durations, but the model was trained on {} time; score Jaeger traces",
                    model.features.name()
                )));
            }
            if model.repeated != Repeated::Last {
                return Err(UsageError::boxed(format!(
                    "{origin}: a training-set CSV holds the last span of each operation, but the model sums repeated operations; train with --repeated last, or score Jaeger traces"
                )));
            }
            if table.schema != schema {
                let missing: Vec<String> = model
                    .schema
                    .iter()
                    .filter(|o| table.schema.index(o).is_none())
                    .cloned()
                    .collect();
                let extra: Vec<String> = table
                    .schema
                    .operations
                    .iter()
                    .filter(|o| schema.index(o).is_none())
                    .cloned()
                    .collect();
                return Err(UsageError::boxed(format!(
                    "{origin}: wrong schema for the model: columns missing: [{}]; not in the model: [{}]",
                    list(&missing),
                    list(&extra)
                )));
            }
            Ok(table.rows)
        }
    }
}

/// A short list for messages.
fn list(items: &[String]) -> String {
    let mut s = items.iter().take(8).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > 8 {
        s.push_str(&format!(", ... ({} in all)", items.len()));
    }
    s
}

fn score(a: ScoreArgs) -> anyhow::Result<i32> {
    let model = read_model(&a.model)?;
    let span_map = match &a.span_map {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| UsageError::boxed(format!("{}: cannot read: {e}", p.display())))?;
            Some(
                SpanMap::from_yaml_str(&text)
                    .map_err(|e| UsageError::boxed(format!("{}:{e}", p.display())))?,
            )
        }
        None => None,
    };
    let input = load(&a.traces, a.skip_bad_rows)?;
    let rows = rows_for(&model, input, &a.traces)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut anomalous = 0;
    for row in &rows {
        let v = model.score(row, span_map.as_ref(), a.explain_all);
        anomalous += v.anomalous as usize;
        if a.anomalies_only && !v.anomalous {
            continue;
        }
        let e = v.explanation.as_ref();
        let line = ScoreLine {
            trace_id: &v.trace_id,
            score: v.score,
            anomalous: v.anomalous,
            span: e.map(|e| e.span.as_str()),
            service: e.and_then(|e| e.service.as_deref()),
            why: e.map(|e| e.why.as_str()),
            z: e.map(|e| e.z).filter(|z| z.is_finite()),
            value_us: e.map(|e| e.value_us),
            normal_median_us: e.map(|e| e.median_us),
            normal_p99_us: e.map(|e| e.p99_us),
            pattern: &v.pattern,
            total_us: row.total_us,
        };
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    eprintln!("scored {} traces: {anomalous} anomalous", rows.len());
    Ok(EXIT_OK)
}

fn detector_json(d: &Detector) -> serde_json::Value {
    json!({
        "traces": d.traces,
        "offset": d.offset,
        "threshold": -d.offset,
        "deadline_us": d.deadline_us,
        "trees": d.forest.trees.len(),
        "psi": d.forest.max_samples,
        "max_depth": d.forest.max_depth,
    })
}

fn inspect(a: InspectArgs) -> anyhow::Result<i32> {
    let m = read_model(&a.model)?;
    let patterns: Vec<serde_json::Value> = m
        .patterns
        .iter()
        .map(|(p, d)| {
            let mut v = detector_json(d);
            v["pattern"] = json!(p);
            v
        })
        .collect();
    let out = json!({
        "format": m.format,
        "version": m.version,
        "features": m.features.name(),
        "repeated": m.repeated,
        "schema": m.schema,
        "seed": m.seed,
        "n_estimators": m.n_estimators,
        "contamination": m.contamination,
        "per_pattern": m.per_pattern,
        "trained_on": m.trained_on,
        "global": detector_json(&m.global),
        "patterns": patterns,
        "normal": m.normal,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(EXIT_OK)
}
