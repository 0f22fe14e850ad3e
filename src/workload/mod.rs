//! Task mixes: `workloads/*.yaml` parsed into weighted request templates with random
//! parameters, tags and a default think time. Pure data plus rendering; the load engine
//! turns a [`Workload`] into goose transactions. Must not know about Kubernetes.

mod params;
mod template;

pub use params::{ParamSpec, Params};
pub use template::Template;

use rand::Rng;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Errors loading a workload; every message names the file and, where known, line:column.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("{path}: cannot read: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax { path: String, line: usize, column: usize, message: String },
    #[error("{path}: {location}: {message}")]
    Invalid { path: String, location: String, message: String },
    #[error("no request left after --tags/--exclude-tags (available tags: {available})")]
    NothingSelected { available: String },
}

/// The YAML document, as written by users.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadFile {
    /// Display name of the workload.
    #[serde(default)]
    pub name: Option<String>,
    /// Default think time for the users model (`0.1`, `exp:0.42`, `between:2,4`).
    #[serde(default)]
    pub think_time: Option<String>,
    /// Request timeout (humantime, e.g. `10s`).
    #[serde(default)]
    pub timeout: Option<String>,
    pub requests: Vec<RequestFile>,
}

/// One request kind of a workload.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestFile {
    /// Display name (Locust's `name=`); defaults to the path without its query.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default_method")]
    pub method: String,
    /// Path template: `{param}` is replaced by a generated value.
    pub path: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "default_weight")]
    pub weight: u32,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub params: Vec<ParamSpec>,
}

fn default_method() -> String {
    "GET".to_string()
}
const fn default_weight() -> u32 {
    1
}

/// A request kind ready to render.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    pub name: String,
    pub method: String,
    pub path: Template,
    pub body: Option<Template>,
    pub headers: BTreeMap<String, String>,
    pub weight: u32,
    pub tags: Vec<String>,
    pub params: Params,
}

/// One concrete request to send.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedRequest {
    pub path: String,
    pub body: Option<String>,
}

impl RequestTemplate {
    /// Draws the parameters and fills in path and body.
    pub fn render(&self, rng: &mut impl Rng) -> RenderedRequest {
        let values = self.params.draw(rng);
        RenderedRequest {
            path: self.path.render(&values),
            body: self.body.as_ref().map(|b| b.render(&values)),
        }
    }
}

/// A weighted mix of request kinds.
#[derive(Debug, Clone)]
pub struct Workload {
    pub name: String,
    pub think_time: Option<String>,
    pub timeout: Option<String>,
    pub requests: Vec<RequestTemplate>,
    cumulative_weights: Vec<u64>,
}

/// Built-in workloads, so `--workload get-root.yaml` works from any directory.
const EMBEDDED: &[(&str, &str)] = &[
    ("get-root.yaml", include_str!("../../workloads/get-root.yaml")),
    ("hotel-reservation.yaml", include_str!("../../workloads/hotel-reservation.yaml")),
];

impl Workload {
    /// The default workload: `GET /` (the Locust trace script's user).
    pub fn get_root() -> Self {
        Self::parse("get-root.yaml", EMBEDDED[0].1).expect("embedded get-root.yaml is valid")
    }

    /// Loads a workload file; a bare name that is not a file falls back to the embedded ones.
    pub fn load(path: &str) -> Result<Self, WorkloadError> {
        let p = Path::new(path);
        if !p.exists() {
            let base = p.file_name().and_then(|n| n.to_str()).unwrap_or(path);
            let bare =
                p.parent().is_none_or(|d| d.as_os_str().is_empty() || d.ends_with("workloads"));
            if let Some((_, text)) = EMBEDDED.iter().find(|(n, _)| *n == base).filter(|_| bare) {
                return Self::parse(path, text);
            }
        }
        let text = std::fs::read_to_string(p)
            .map_err(|source| WorkloadError::Read { path: path.to_string(), source })?;
        Self::parse(path, &text)
    }

    /// Parses workload YAML; `path` is used in messages only.
    pub fn parse(path: &str, text: &str) -> Result<Self, WorkloadError> {
        let file: WorkloadFile = serde_yaml::from_str(text).map_err(|e| {
            let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1));
            WorkloadError::Syntax {
                path: path.to_string(),
                line,
                column,
                message: strip_location(&e.to_string()),
            }
        })?;
        file.build(path)
    }

    /// Keeps only requests carrying one of `tags` (if any) and none of `exclude`.
    pub fn select_tags(
        mut self,
        tags: &[String],
        exclude: &[String],
    ) -> Result<Self, WorkloadError> {
        let mut available: Vec<&str> =
            self.requests.iter().flat_map(|r| r.tags.iter().map(String::as_str)).collect();
        available.sort_unstable();
        available.dedup();
        let available =
            if available.is_empty() { "none".to_string() } else { available.join(", ") };
        self.requests.retain(|r| {
            (tags.is_empty() || r.tags.iter().any(|t| tags.contains(t)))
                && !r.tags.iter().any(|t| exclude.contains(t))
        });
        if self.requests.is_empty() {
            return Err(WorkloadError::NothingSelected { available });
        }
        self.cumulative_weights = cumulative(&self.requests);
        Ok(self)
    }

    /// Picks a request kind by weight; returns its index.
    pub fn pick(&self, rng: &mut impl Rng) -> usize {
        let total = *self.cumulative_weights.last().unwrap_or(&1);
        let x = rng.random_range(0..total);
        self.cumulative_weights.partition_point(|&c| c <= x)
    }
}

fn cumulative(requests: &[RequestTemplate]) -> Vec<u64> {
    requests
        .iter()
        .scan(0u64, |acc, r| {
            *acc += u64::from(r.weight);
            Some(*acc)
        })
        .collect()
}

/// serde_yaml appends " at line X column Y" to messages; we print the location up front.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

impl WorkloadFile {
    /// Validates the document and builds the running workload.
    pub fn build(self, path: &str) -> Result<Workload, WorkloadError> {
        let invalid = |location: String, message: String| WorkloadError::Invalid {
            path: path.to_string(),
            location,
            message,
        };
        if self.requests.is_empty() {
            return Err(invalid("requests".into(), "expected at least one request".into()));
        }
        let mut requests = Vec::with_capacity(self.requests.len());
        for (i, r) in self.requests.into_iter().enumerate() {
            let location = format!("requests[{i}]");
            let method = r.method.to_ascii_uppercase();
            if !METHODS.contains(&method.as_str()) {
                return Err(invalid(
                    location,
                    format!("method: expected one of {}, found '{}'", METHODS.join(", "), r.method),
                ));
            }
            // `//host/x` would be a different host once appended to the target URL.
            if !r.path.starts_with('/') || r.path.starts_with("//") {
                return Err(invalid(
                    location,
                    format!("path: expected a path starting with a single '/', found '{}'", r.path),
                ));
            }
            if r.weight == 0 {
                return Err(invalid(
                    location,
                    "weight: expected a positive integer, found 0".into(),
                ));
            }
            let params =
                Params::new(r.params).map_err(|m| invalid(format!("{location}.params"), m))?;
            let path_template = Template::parse(&r.path, &params)
                .map_err(|m| invalid(format!("{location}.path"), m))?;
            let body = match &r.body {
                Some(b) => Some(
                    Template::parse(b, &params)
                        .map_err(|m| invalid(format!("{location}.body"), m))?,
                ),
                None => None,
            };
            let name =
                r.name.unwrap_or_else(|| r.path.split('?').next().unwrap_or(&r.path).to_string());
            requests.push(RequestTemplate {
                name,
                method,
                path: path_template,
                body,
                headers: r.headers,
                weight: r.weight,
                tags: r.tags,
                params,
            });
        }
        let cumulative_weights = cumulative(&requests);
        Ok(Workload {
            name: self.name.unwrap_or_else(|| path.to_string()),
            think_time: self.think_time,
            timeout: self.timeout,
            requests,
            cumulative_weights,
        })
    }
}
