//! The closed loop (`ctl control`, and the controller of `ctl campaign`): observe -> detect ->
//! decide -> guard -> act, once per interval. [`ControlConfig`] says what to run,
//! [`Sources`] where metrics and traces come from, [`Controller`] runs it: `step(now)` is one
//! interval and returns an [`IntervalRecord`]; `run(stop, on_interval)` loops. Output files:
//! `control.csv` ([`csv`]), `anomalies.jsonl` and `events.jsonl` ([`events`]).

pub mod config;
#[path = "loop.rs"]
pub mod controller;
pub mod csv;
pub mod detect;
pub mod events;
mod observation;
pub mod policies;
pub mod record;
mod schedule;
pub mod status;

use std::path::PathBuf;

pub use config::{ControlConfig, Mode, PolicyKind, PolicySettings, Targets};
pub use controller::Controller;
pub use record::{AnomalyRecord, DeploymentRecord, EventRecord, IntervalRecord};

use crate::cluster::scale::ApiError;
use crate::observe::jaeger_api::JaegerApi;
use crate::observe::metrics::MetricSource;

/// Where the controller reads from.
pub struct Sources {
    pub metrics: Box<dyn MetricSource>,
    /// The Jaeger query API; `None` = no trace detection. Fetched only with an anomaly model.
    pub traces: Option<JaegerApi>,
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The configuration cannot run (a usage error).
    #[error("{0}")]
    Config(String),
    /// The Kubernetes API refused or could not be reached.
    #[error("{0}")]
    Kubernetes(ApiError),
    #[error("cannot write {path}: {source}")]
    Output { path: PathBuf, source: std::io::Error },
}
