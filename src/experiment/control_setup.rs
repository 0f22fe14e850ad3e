//! From the scenario's `control` section to the controller's inputs: one [`ControlConfig`]
//! per phase (mode and policy differ by phase; everything else is shared), and the metric and
//! trace sources, built fresh for each phase because a controller owns its sources. All
//! files (knowledge, HPA and KPA settings, models) are read before anything starts.

use super::scenario::{ControlMode, ControlSpec, PolicyName};
use super::timeline::Phase;
use crate::cluster::Connection;
use crate::control::{ControlConfig, Mode, PolicyKind, PolicySettings, Sources, Targets};
use crate::observe::jaeger_api::JaegerApi;
use crate::observe::metrics::{
    MetricSource, MetricsServerSource, PrometheusSource, QueryTemplates, ScrapeSource,
};
use crate::policy::guard::{Guard, SHIPPED_CONSTRAINTS};

/// A file the `control` section names cannot be read or is invalid; `key` is its key
/// (`hpa`, `knowledge`, ...), so the scenario checker can place the error.
#[derive(Debug, thiserror::Error)]
#[error("control.{key}: {message}")]
pub struct SetupError {
    pub key: &'static str,
    pub message: String,
}

fn setup_error(key: &'static str) -> impl Fn(String) -> SetupError {
    move |message| SetupError { key, message }
}

/// Reads a file named by the scenario; errors name the key and the file.
fn read(key: &'static str, path: &str) -> Result<String, SetupError> {
    std::fs::read_to_string(path).map_err(|e| setup_error(key)(format!("cannot read {path}: {e}")))
}

/// The shared part of every phase's configuration. The scenario checker calls it too, so a
/// bad file is found by `--dry-run`.
pub fn base_config(spec: &ControlSpec, namespace: &str) -> Result<ControlConfig, SetupError> {
    let mut config = ControlConfig::new(namespace);
    config.targets = match (&spec.selector, spec.deployments.is_empty()) {
        (Some(s), _) => Targets::Selector(s.clone()),
        (None, false) => Targets::Names(spec.deployments.clone()),
        (None, true) => Targets::All,
    };
    config.interval = spec.interval.0;
    config.duration = None;
    config.guard = match &spec.knowledge {
        Some(path) => Guard::from_yaml_str(path, &read("knowledge", path)?),
        None => Guard::from_yaml_str("knowledge/constraints.yaml", SHIPPED_CONSTRAINTS),
    }
    .map_err(|e| setup_error("knowledge")(e.to_string()))?;
    let mut policies = PolicySettings::seed_defaults();
    if let Some(path) = &spec.hpa {
        policies.hpa = PolicySettings::hpa_from_file(path, &read("hpa", path)?)
            .map_err(|e| setup_error("hpa")(e.to_string()))?;
    }
    if spec.kpa_config.is_some() || spec.kpa_service.is_some() {
        let file = |key: &'static str, path: &Option<String>| {
            path.as_ref().map(|p| read(key, p).map(|text| (p.clone(), text))).transpose()
        };
        let config = file("kpa_config", &spec.kpa_config)?;
        let service = file("kpa_service", &spec.kpa_service)?;
        let config = config.as_ref().map(|(f, t)| (f.as_str(), t.as_str()));
        // The ConfigMap alone first, so an error in it is placed on its own key.
        PolicySettings::kpa_from_files(config, None)
            .map_err(|e| setup_error("kpa_config")(e.to_string()))?;
        policies.kpa = PolicySettings::kpa_from_files(
            config,
            service.as_ref().map(|(f, t)| (f.as_str(), t.as_str())),
        )
        .map_err(|e| setup_error("kpa_service")(e.to_string()))?;
    }
    if let Some(path) = &spec.cpu_model {
        let model = crate::model::LinearModel::from_json(&read("cpu_model", path)?)
            .map_err(|e| setup_error("cpu_model")(format!("{path}: {e}")))?;
        let predictive = policies.predictive_config();
        policies.predictive = Some((model, predictive));
    }
    config.policies = policies;
    if let Some(path) = &spec.anomaly_model {
        let model = crate::anomaly::Model::from_json(&read("anomaly_model", path)?)
            .map_err(|e| setup_error("anomaly_model")(format!("{path}: {e}")))?;
        config.anomaly_model = Some(model);
        let span_map = include_str!("../../knowledge/span-map.yaml");
        config.span_map = crate::anomaly::SpanMap::from_yaml_str(span_map).ok();
    }
    Ok(config)
}

/// The configuration of one phase: it acts (the scenario's mode) or only observes.
pub fn phase_config(base: &ControlConfig, spec: &ControlSpec, phase: &Phase) -> ControlConfig {
    let mut config = base.clone();
    config.policy = kind(phase.policy.unwrap_or(spec.policy));
    config.mode = match (phase.control, spec.mode) {
        (false, _) | (true, ControlMode::Observe) => Mode::Observe,
        (true, ControlMode::Act) => Mode::Act,
        (true, ControlMode::Compare) => Mode::Compare,
    };
    config
}

pub fn kind(p: PolicyName) -> PolicyKind {
    match p {
        PolicyName::Hpa => PolicyKind::Hpa,
        PolicyName::Kpa => PolicyKind::Kpa,
        PolicyName::Predictive => PolicyKind::Predictive,
        PolicyName::None => PolicyKind::None,
    }
}

/// The embedded cluster's endpoints a controller may read.
#[derive(Debug, Clone, Default)]
pub struct Embedded {
    /// `/metrics` (the source `metrics: scrape` reads).
    pub metrics: Option<String>,
    /// The Jaeger query API (the default trace source when an anomaly model is given).
    pub jaeger: Option<String>,
}

/// Where metrics and traces come from.
pub fn sources(
    spec: &ControlSpec,
    conn: &Connection,
    embedded: &Embedded,
) -> Result<Sources, String> {
    let metrics: Box<dyn MetricSource> = match spec.metrics.as_deref() {
        None | Some("metrics-server") => Box::new(MetricsServerSource::new(conn.client.clone())),
        Some("scrape") => {
            let url = embedded
                .metrics
                .as_deref()
                .ok_or("control.metrics: scrape without a URL needs an embedded target")?;
            Box::new(ScrapeSource::new(url).map_err(|e| format!("control.metrics: {e}"))?)
        }
        Some(m) if m.starts_with("prometheus:") => Box::new(
            PrometheusSource::new(&m["prometheus:".len()..], QueryTemplates::default())
                .map_err(|e| format!("control.metrics: {e}"))?,
        ),
        Some(m) if m.starts_with("scrape:") => Box::new(
            ScrapeSource::new(&m["scrape:".len()..])
                .map_err(|e| format!("control.metrics: {e}"))?,
        ),
        Some(m) => return Err(format!("control.metrics: unknown source '{m}'")),
    };
    let traces_url = match spec.traces.as_deref() {
        Some("none") => None,
        Some(t) => t.strip_prefix("jaeger:").map(str::to_string),
        None if spec.anomaly_model.is_some() => embedded.jaeger.clone(),
        None => None,
    };
    let traces = match traces_url {
        Some(url) => Some(JaegerApi::new(&url).map_err(|e| format!("control.traces: {e}"))?),
        None => None,
    };
    Ok(Sources { metrics, traces })
}
