//! Topology files (`workloads/topologies/*.yaml`): the inert serde config (`TopologyConfig`,
//! unknown fields rejected), its validation into a resolved [`Topology`] (names turned into
//! indices, errors naming file:line:column or the field path), the three shipped topologies
//! embedded in the binary, and `Topology::build` into a running [`Cluster`]. Validation is in
//! `validate.rs`.
//! Pure apart from reading the file; must not depend on `control/`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::cluster::Cluster;
use super::quantity::{Bytes, Millicores, Sampler, Seconds, ServiceTime};

/// Shipped topologies, so that a bare name works from any directory.
const SHIPPED: [(&str, &str); 3] = [
    ("hotel", include_str!("../../workloads/topologies/hotel.yaml")),
    ("tasks", include_str!("../../workloads/topologies/tasks.yaml")),
    ("webapp", include_str!("../../workloads/topologies/webapp.yaml")),
];

/// Upper bound on replicas per service: far above anything a laptop emulation needs, low enough
/// that a typo (`replicas: 100000000`) is an error and not an allocation failure.
pub const MAX_REPLICAS: u32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    #[error("{file}: cannot read topology: {source}")]
    Io { file: String, source: std::io::Error },
    #[error("{file}:{line}:{column}: {message}")]
    Parse { file: String, line: usize, column: usize, message: String },
    #[error("{file}: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}: {path}: {message}")]
    Invalid { file: String, path: String, message: String },
    #[error(
        "unknown topology `{name}`: not a file, and not one of the shipped topologies (hotel, tasks, webapp)"
    )]
    Unknown { name: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyConfig {
    pub name: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// The service whose operations the HTTP routes call (the front end).
    pub entry: String,
    pub routes: Vec<RouteConfig>,
    pub services: Vec<ServiceConfig>,
}

fn default_namespace() -> String {
    "default".to_string()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Operation of the entry service; default: its first operation.
    #[serde(default)]
    pub operation: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub name: String,
    #[serde(default = "default_container")]
    pub container: String,
    #[serde(default = "default_replicas")]
    pub replicas: u32,
    pub cpu: CpuConfig,
    pub memory: MemoryConfig,
    #[serde(default = "default_startup_delay")]
    pub startup_delay: Seconds,
    /// Default CPU time per call at 1000m for operations that do not set their own.
    pub service_time: ServiceTime,
    /// Calls of the single implicit operation (named after the service) when `operations` is empty.
    #[serde(default)]
    pub calls: Vec<CallConfig>,
    #[serde(default)]
    pub operations: Vec<OperationConfig>,
}

fn default_container() -> String {
    "app".to_string()
}
const fn default_replicas() -> u32 {
    1
}
const fn default_startup_delay() -> Seconds {
    Seconds(5.0)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuConfig {
    pub request: Millicores,
    pub limit: Millicores,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryConfig {
    pub request: Bytes,
    pub limit: Bytes,
    /// Working set of an idle replica.
    #[serde(default = "zero_bytes")]
    pub baseline: Bytes,
    /// Extra working set held by each request in flight on the replica.
    #[serde(default = "zero_bytes")]
    pub per_request: Bytes,
}

const fn zero_bytes() -> Bytes {
    Bytes(0)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationConfig {
    pub name: String,
    #[serde(default)]
    pub service_time: Option<ServiceTime>,
    #[serde(default)]
    pub calls: Vec<CallConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallConfig {
    pub service: String,
    /// Default: the callee's first operation.
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default = "default_probability")]
    pub probability: f64,
    #[serde(default = "default_sync")]
    pub sync: bool,
}

const fn default_probability() -> f64 {
    1.0
}
const fn default_sync() -> bool {
    true
}

/// A validated topology: names resolved to indices, quantities in base units.
#[derive(Debug, Clone)]
pub struct Topology {
    pub name: String,
    pub namespace: String,
    pub entry: usize,
    pub routes: Vec<Route>,
    pub services: Vec<ServiceSpec>,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub method: String,
    pub path: String,
    /// Operation index on the entry service.
    pub operation: usize,
}

#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub name: Arc<str>,
    pub container: String,
    pub replicas: u32,
    pub cpu_request_millis: f64,
    pub cpu_limit_millis: f64,
    pub memory_request_bytes: u64,
    pub memory_limit_bytes: u64,
    pub memory_baseline_bytes: u64,
    pub memory_per_request_bytes: u64,
    pub startup_delay: Duration,
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub name: Arc<str>,
    pub service_time: ServiceTime,
    pub sampler: Sampler,
    pub calls: Vec<Call>,
}

#[derive(Debug, Clone, Copy)]
pub struct Call {
    pub service: usize,
    pub operation: usize,
    pub probability: f64,
    pub sync: bool,
}

/// Loads a topology: an existing file path, else a shipped name (`hotel`, `hotel.yaml`).
pub fn load(name_or_path: &str) -> Result<Topology, TopologyError> {
    let path = Path::new(name_or_path);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TopologyError::Io { file: name_or_path.to_string(), source })?;
        return parse(&text, name_or_path);
    }
    let bare = name_or_path.trim_end_matches(".yaml").trim_end_matches(".yml");
    let bare = bare.rsplit('/').next().unwrap_or(bare);
    match SHIPPED.iter().find(|(name, _)| *name == bare) {
        Some((name, text)) => parse(text, &format!("workloads/topologies/{name}.yaml")),
        None => Err(TopologyError::Unknown { name: name_or_path.to_string() }),
    }
}

/// Names of the topologies embedded in the binary.
pub fn shipped() -> impl Iterator<Item = &'static str> {
    SHIPPED.iter().map(|(name, _)| *name)
}

/// Parses and validates topology YAML; `file` only labels errors.
pub fn parse(text: &str, file: &str) -> Result<Topology, TopologyError> {
    let config: TopologyConfig =
        serde_yaml::from_str(text).map_err(|error| match error.location() {
            Some(at) => TopologyError::Parse {
                file: file.to_string(),
                line: at.line(),
                column: at.column(),
                // serde_yaml appends the location, which is already in front.
                message: strip_location(&error.to_string()),
            },
            None => TopologyError::Syntax { file: file.to_string(), message: error.to_string() },
        })?;
    // Checks across fields come after serde_yaml, which knows no location for them: find the
    // key in the text so these errors name file:line:column too.
    config.validate(file).map_err(|e| match e {
        TopologyError::Invalid { file, path, message } => {
            use crate::experiment::yaml_pos;
            let (line, column) = yaml_pos::locate(text, &yaml_pos::path(&path));
            TopologyError::Parse { file, line, column, message: format!("{path}: {message}") }
        }
        other => other,
    })
}

fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => message[..at].to_string(),
        _ => message.to_string(),
    }
}

impl Topology {
    /// The route answering `method` and `path` (the query string, if any, is ignored).
    pub fn route(&self, method: &str, path: &str) -> Option<usize> {
        let path = path.split('?').next().unwrap_or(path);
        self.routes.iter().position(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
    }

    pub fn service(&self, name: &str) -> Option<usize> {
        self.services.iter().position(|s| &*s.name == name)
    }

    /// The running cluster at virtual time 0, every initial replica ready.
    pub fn build(&self, seed: u64) -> Cluster {
        Cluster::new(self.clone(), seed)
    }
}

#[cfg(test)]
#[path = "topology_tests.rs"]
mod tests;
