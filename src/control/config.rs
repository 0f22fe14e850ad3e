//! What the controller runs with, as plain values: the targets, the mode, the policies with
//! their specs (HPA from an `autoscaling/v2` manifest, KPA from Knative's ConfigMap and a
//! Service's annotations, predictive from a trained CPU model), the guard, the trace anomaly
//! model and where to write. The CLI and the campaign runner both build a [`ControlConfig`].

use std::path::PathBuf;
use std::time::Duration;

use crate::anomaly::{Model, SpanMap};
use crate::model::LinearModel;
use crate::policy::guard::Guard;
use crate::policy::hpa::{self, HpaSpec};
use crate::policy::kpa::{KpaConfig, KpaSpec, Revision};
use crate::policy::predictive::PredictiveConfig;

/// Seed 004's `hpa.yaml`: CPU 60 %, memory 80 %, 1..10 replicas, scale up by 100 % per 15 s
/// at once, scale down by one pod per 30 s after a 60 s window.
pub const SEED_HPA: &str = "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: webapp-hpa
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: webapp}
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
  - type: Resource
    resource: {name: memory, target: {type: Utilization, averageUtilization: 80}}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      policies: [{type: Percent, value: 100, periodSeconds: 15}]
    scaleDown:
      stabilizationWindowSeconds: 60
      policies: [{type: Pods, value: 1, periodSeconds: 30}]
";

/// Invalid controller input; each names the file or flag.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    /// An error that already names its file (and line, when the parser knows it).
    #[error("{0}")]
    Located(String),
}

impl ConfigError {
    pub fn invalid(origin: &str, message: impl std::fmt::Display) -> Self {
        ConfigError::Invalid { origin: origin.to_string(), message: message.to_string() }
    }
}

/// `observe` logs what every policy would do; `act` lets one policy scale; `compare` runs
/// every policy in shadow and acts with one (seed 004's comparison, with an actor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Observe,
    Act,
    Compare,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Observe => "observe",
            Mode::Act => "act",
            Mode::Compare => "compare",
        }
    }
}

/// Which policy decides (and, outside `observe`, acts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    Hpa,
    Kpa,
    Predictive,
    None,
}

impl PolicyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Hpa => "hpa",
            PolicyKind::Kpa => "kpa",
            PolicyKind::Predictive => "predictive",
            PolicyKind::None => "none",
        }
    }
}

/// Which Deployments are controlled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// These names.
    Names(Vec<String>),
    /// Deployments matching a label selector (re-listed every interval).
    Selector(String),
    /// Every Deployment in the namespace (re-listed every interval).
    All,
}

/// The policies' specs; one instance of each is made per Deployment.
#[derive(Debug, Clone)]
pub struct PolicySettings {
    pub hpa: HpaSpec,
    pub hpa_controller: hpa::Config,
    pub kpa: KpaSpec,
    /// The predictive policy needs a trained CPU ~ load model; without one it is not run.
    pub predictive: Option<(LinearModel, PredictiveConfig)>,
}

impl PolicySettings {
    /// Seed 004's HPA, Knative's default KPA, no predictive model.
    pub fn seed_defaults() -> Self {
        let hpa = hpa::k8s::parse_hpa(SEED_HPA).map(|p| p.spec).unwrap_or_else(|_| HpaSpec {
            min_replicas: 1,
            max_replicas: 10,
            metrics: vec![HpaSpec::default_metric()],
            behavior: None,
        });
        let kpa = KpaSpec::resolve(&KpaConfig::default(), &Revision::default())
            .expect("Knative's defaults resolve");
        PolicySettings { hpa, hpa_controller: hpa::Config::default(), kpa, predictive: None }
    }

    /// Reads an HPA manifest (`kubectl get hpa -o yaml`); the file names every error.
    pub fn hpa_from_file(file: &str, text: &str) -> Result<HpaSpec, ConfigError> {
        hpa::k8s::parse_hpa(text).map(|p| p.spec).map_err(|e| ConfigError::invalid(file, e))
    }

    /// KPA from a `config-autoscaler` ConfigMap and a Knative Service (either may be absent).
    pub fn kpa_from_files(
        config: Option<(&str, &str)>,
        service: Option<(&str, &str)>,
    ) -> Result<KpaSpec, ConfigError> {
        let cfg = match config {
            Some((file, text)) => KpaConfig::from_yaml_str(file, text)
                .map_err(|e| ConfigError::Located(e.to_string()))?,
            None => KpaConfig::default(),
        };
        let (origin, rev) = match service {
            Some((file, text)) => (
                file,
                Revision::from_yaml_str(file, text)
                    .map_err(|e| ConfigError::Located(e.to_string()))?,
            ),
            None => ("knative defaults", Revision::default()),
        };
        KpaSpec::resolve(&cfg, &rev).map_err(|e| ConfigError::invalid(origin, e))
    }

    /// The predictive policy's settings, aligned with the HPA: its CPU target and bounds.
    pub fn predictive_config(&self) -> PredictiveConfig {
        let target =
            self.hpa
                .metrics
                .iter()
                .find_map(|m| match m {
                    hpa::MetricSpec::Resource {
                        name, target: hpa::Target::Utilization(u), ..
                    } if name == "cpu" => Some(f64::from(*u)),
                    _ => None,
                })
                .unwrap_or(70.0);
        PredictiveConfig {
            target_utilization: target,
            min_replicas: u32::try_from(self.hpa.min_replicas.max(1)).unwrap_or(1),
            max_replicas: u32::try_from(self.hpa.max_replicas.max(1)).unwrap_or(1),
            ..PredictiveConfig::default()
        }
    }
}

/// Everything one controller runs with.
#[derive(Debug, Clone)]
pub struct ControlConfig {
    pub namespace: String,
    pub targets: Targets,
    pub policy: PolicyKind,
    pub mode: Mode,
    pub interval: Duration,
    /// Stop after this long (`None`: until stopped).
    pub duration: Option<Duration>,
    pub policies: PolicySettings,
    /// The guard built from `knowledge/constraints.yaml` (or an empty one).
    pub guard: Guard,
    /// Scores the window's traces; without it only the streaming detectors run.
    pub anomaly_model: Option<Model>,
    pub span_map: Option<SpanMap>,
    /// Where `control.csv`, `anomalies.jsonl` and `events.jsonl` go (`None`: not written).
    pub out: Option<PathBuf>,
}

impl ControlConfig {
    /// HPA acting every 15 s on every Deployment of `namespace`, no guard rules, no files.
    pub fn new(namespace: &str) -> Self {
        ControlConfig {
            namespace: namespace.to_string(),
            targets: Targets::All,
            policy: PolicyKind::Hpa,
            mode: Mode::Act,
            interval: Duration::from_secs(15),
            duration: None,
            policies: PolicySettings::seed_defaults(),
            guard: Guard::from_yaml_str("(none)", "{}").expect("an empty guard is valid"),
            anomaly_model: None,
            span_map: None,
            out: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_hpa_parses_with_its_behavior() {
        let spec = PolicySettings::hpa_from_file("seed", SEED_HPA).unwrap();
        assert_eq!((spec.min_replicas, spec.max_replicas, spec.metrics.len()), (1, 10, 2));
        let b = spec.behavior.unwrap();
        assert_eq!(b.scale_down.stabilization_window_seconds, Some(60));
        assert_eq!(PolicySettings::seed_defaults().predictive_config().target_utilization, 60.0);
    }
}
