//! Per-revision settings: the `autoscaling.knative.dev/*` annotations of a Knative Service's
//! revision template (or of a Revision), validated as `pkg/apis/autoscaling/annotation_validation.go`
//! does, and overlaid on a [`KpaConfig`] into the resolved [`KpaSpec`] the policy runs with
//! (`MakeDecider`, `MakeMetric`, `ResolveMetricTarget`, `ScaleBounds` upstream).

use std::collections::BTreeMap;
use std::time::Duration;

use super::config::{
    KpaConfig, PANIC_WINDOW_PERCENTAGE_MAX, PANIC_WINDOW_PERCENTAGE_MIN, TARGET_MIN, WINDOW_MAX,
    WINDOW_MIN, string_map,
};
use super::decider::DeciderSpec;
use super::parse::{go_duration_nanos, go_float, go_int32};
use super::{Aggregation, KpaError, Metric};

pub const PREFIX: &str = "autoscaling.knative.dev/";
const KPA_CLASS: &str = "kpa.autoscaling.knative.dev";
const HPA_CLASS: &str = "hpa.autoscaling.knative.dev";

/// Annotation names the KPA reads (after the prefix), with upstream's legacy camelCase aliases.
const KNOWN: &[&str] = &[
    "class",
    "metric",
    "target",
    "target-utilization-percentage",
    "target-burst-capacity",
    "window",
    "panic-window-percentage",
    "panic-threshold-percentage",
    "min-scale",
    "minScale",
    "max-scale",
    "maxScale",
    "initial-scale",
    "initialScale",
    "activation-scale",
    "scale-down-delay",
    "scale-to-zero-pod-retention-period",
    "metric-aggregation-algorithm",
];

/// The autoscaling-relevant part of one revision: its annotations and `containerConcurrency`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Revision {
    pub name: String,
    /// All `autoscaling.knative.dev/*` annotations, full keys.
    pub annotations: BTreeMap<String, String>,
    /// `containerConcurrency` (0 = unlimited, the soft target default applies).
    pub container_concurrency: u32,
}

impl Revision {
    /// Reads a Knative `Service` (its `spec.template`), a `Revision` or a `PodAutoscaler` YAML.
    pub fn from_yaml_str(name: &str, text: &str) -> Result<Revision, KpaError> {
        let doc: serde_yaml::Value =
            serde_yaml::from_str(text).map_err(|e| KpaError::yaml(name, &e))?;
        let shape = |message: String| KpaError::Shape { file: name.to_string(), message };
        let kind = doc.get("kind").and_then(|k| k.as_str()).unwrap_or("Service");
        let (meta, spec, path) = match kind {
            "Service" | "Configuration" => {
                let template = doc.get("spec").and_then(|s| s.get("template"));
                (
                    template.and_then(|t| t.get("metadata")),
                    template.and_then(|t| t.get("spec")),
                    "spec.template.metadata.annotations",
                )
            }
            "Revision" | "PodAutoscaler" => {
                (doc.get("metadata"), doc.get("spec"), "metadata.annotations")
            }
            other => {
                return Err(shape(format!(
                    "kind: {other}: expected a Knative Service, Configuration, Revision or PodAutoscaler"
                )));
            }
        };
        let annotations = match meta.and_then(|m| m.get("annotations")) {
            None | Some(serde_yaml::Value::Null) => BTreeMap::new(),
            Some(serde_yaml::Value::Mapping(m)) => {
                string_map(m).map_err(|e| shape(format!("{path}.{e}")))?
            }
            Some(_) => return Err(shape(format!("{path}: expected a mapping"))),
        };
        let container_concurrency = match spec.and_then(|s| s.get("containerConcurrency")) {
            None | Some(serde_yaml::Value::Null) => 0,
            Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
                shape("containerConcurrency: expected a non-negative integer".into())
            })?,
        };
        let name_of = doc.get("metadata").and_then(|m| m.get("name")).and_then(|n| n.as_str());
        Ok(Revision {
            name: name_of.unwrap_or(name).to_string(),
            annotations: annotations.into_iter().filter(|(k, _)| k.starts_with(PREFIX)).collect(),
            container_concurrency,
        })
    }

    /// The value of an annotation by its short name, trying upstream's aliases in order.
    fn get(&self, names: &[&str]) -> Option<(String, &str)> {
        names.iter().find_map(|n| {
            let key = format!("{PREFIX}{n}");
            self.annotations.get(&key).map(|v| (key, v.trim()))
        })
    }

    /// Annotations under the prefix that the KPA does not know (e.g. `stable-window`, which is
    /// not a Knative annotation: the stable window is `window`).
    pub fn unknown_annotations(&self) -> Vec<String> {
        let known = |k: &str| KNOWN.iter().any(|n| k.strip_prefix(PREFIX) == Some(n));
        self.annotations.keys().filter(|k| !known(k)).cloned().collect()
    }
}

/// Everything the KPA policy needs for one revision, resolved from config and annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct KpaSpec {
    pub decider: DeciderSpec,
    pub aggregation: Aggregation,
    pub panic_window: Duration,
    pub min_scale: u32,
    /// 0 = unbounded.
    pub max_scale: u32,
    pub initial_scale: u32,
    pub enable_scale_to_zero: bool,
    pub scale_to_zero_grace_period: Duration,
    pub scale_to_zero_pod_retention_period: Duration,
    /// Annotations that were present but not read (reported, never fatal).
    pub ignored: Vec<String>,
}

impl KpaSpec {
    /// Validates the revision's annotations and overlays them on `config`.
    pub fn resolve(config: &KpaConfig, rev: &Revision) -> Result<KpaSpec, KpaError> {
        let class = rev.get(&["class"]).map(|(_, v)| v.to_string());
        let class = class.unwrap_or_else(|| config.pod_autoscaler_class.clone());
        if class != KPA_CLASS {
            let why = if class == HPA_CLASS { "; use the hpa policy for it" } else { "" };
            return Err(KpaError::Rule {
                key: format!("{PREFIX}class"),
                message: format!("is {class:?}: only the KPA class is modelled here{why}"),
            });
        }
        let metric = match rev.get(&["metric"]) {
            None => Metric::Concurrency,
            Some((_, "concurrency")) => Metric::Concurrency,
            Some((_, "rps")) => Metric::Rps,
            Some((key, v)) => {
                return Err(KpaError::invalid(
                    &key,
                    v,
                    format!(
                        "{v:?} is not a KPA metric (concurrency or rps; cpu and memory need the HPA class)"
                    ),
                ));
            }
        };
        let aggregation = match rev.get(&["metric-aggregation-algorithm"]) {
            None | Some((_, "linear")) => Aggregation::Linear,
            Some((_, "weightedExponential" | "weighted-exponential")) => {
                Aggregation::WeightedExponential
            }
            Some((key, v)) => {
                return Err(KpaError::invalid(
                    &key,
                    v,
                    format!("{v:?} is not linear or weightedExponential"),
                ));
            }
        };
        let float = |names: &[&str], lo: f64, hi: f64| -> Result<Option<f64>, KpaError> {
            let Some((key, v)) = rev.get(names) else { return Ok(None) };
            let x = go_float(v).map_err(|r| KpaError::invalid(&key, v, r))?;
            if x < lo || x > hi {
                let range = if hi == f64::MAX {
                    format!("at least {lo}")
                } else {
                    format!("in [{lo}, {hi}]")
                };
                return Err(KpaError::invalid(&key, v, format!("{v:?} must be {range}")));
            }
            Ok(Some(x))
        };
        let panic_window_pct = float(
            &["panic-window-percentage"],
            PANIC_WINDOW_PERCENTAGE_MIN,
            PANIC_WINDOW_PERCENTAGE_MAX,
        )?;
        let panic_threshold_pct = float(&["panic-threshold-percentage"], 110.0, 1000.0)?;
        let target = float(&["target"], TARGET_MIN, f64::MAX)?;
        let utilization_pct = float(&["target-utilization-percentage"], 1.0, 100.0)?;
        let tbc = match rev.get(&["target-burst-capacity"]) {
            None => config.target_burst_capacity,
            Some((key, v)) => match go_float(v) {
                Ok(x) if x >= 0.0 || x == -1.0 => x,
                _ => return Err(KpaError::invalid(&key, v, format!("{v:?} must be >= 0 or -1"))),
            },
        };
        let window =
            duration(rev, &["window"], WINDOW_MIN, WINDOW_MAX)?.unwrap_or(config.stable_window);
        let delay = duration(rev, &["scale-down-delay"], Duration::ZERO, WINDOW_MAX)?
            .unwrap_or(config.scale_down_delay);
        let retention =
            duration(rev, &["scale-to-zero-pod-retention-period"], Duration::ZERO, WINDOW_MAX)?
                .unwrap_or(config.scale_to_zero_pod_retention_period);
        let int = |names: &[&str]| -> Result<Option<(String, u32)>, KpaError> {
            let Some((key, v)) = rev.get(names) else { return Ok(None) };
            let x = go_int32(v).map_err(|r| KpaError::invalid(&key, v, r))?;
            let x = u32::try_from(x)
                .map_err(|_| KpaError::invalid(&key, v, format!("{v:?} must be at least 0")))?;
            Ok(Some((key, x)))
        };
        let min_scale = int(&["min-scale", "minScale"])?.map_or(0, |(_, v)| v);
        let max_ann = int(&["max-scale", "maxScale"])?;
        if let Some((key, max)) = &max_ann {
            if *max != 0 && *max < min_scale {
                return Err(KpaError::invalid(
                    key,
                    &max.to_string(),
                    format!("max-scale={max} is less than min-scale={min_scale}"),
                ));
            }
            if config.max_scale_limit > 0 && (*max == 0 || *max > config.max_scale_limit) {
                let limit = config.max_scale_limit;
                return Err(KpaError::invalid(
                    key,
                    &max.to_string(),
                    format!("must be in [1, {limit}] (max-scale-limit)"),
                ));
            }
        }
        let max_scale = max_ann.map_or(config.max_scale, |(_, v)| v);
        let initial_scale = match int(&["initial-scale", "initialScale"])? {
            Some((key, 0)) if !config.allow_zero_initial_scale => {
                return Err(KpaError::invalid(
                    &key,
                    "0",
                    "\"0\" needs allow-zero-initial-scale: true".into(),
                ));
            }
            Some((_, v)) => v,
            None => config.initial_scale,
        };
        let activation_scale = match int(&["activation-scale"])? {
            None => 0,
            Some((key, v)) if v < 2 => {
                return Err(KpaError::invalid(
                    &key,
                    &v.to_string(),
                    format!("\"{v}\" must be at least 2"),
                ));
            }
            Some((key, v)) if max_scale != 0 && v > max_scale => {
                return Err(KpaError::invalid(
                    &key,
                    &v.to_string(),
                    format!("\"{v}\" exceeds max-scale {max_scale}"),
                ));
            }
            Some((_, v)) => v,
        };

        // ResolveMetricTarget: total capacity per pod, then the utilisation share of it.
        let (mut total, mut utilization) = match metric {
            Metric::Rps => (config.requests_per_second_target_default, config.target_utilization),
            Metric::Concurrency => {
                let cc = rev.container_concurrency as f64;
                let total =
                    if cc == 0.0 { config.container_concurrency_target_default } else { cc };
                (total, config.container_concurrency_target_fraction)
            }
        };
        if let Some(t) = target {
            total = t;
            // Never aim above what containerConcurrency lets one pod take.
            if metric == Metric::Concurrency && rev.container_concurrency != 0 {
                total = t.min(rev.container_concurrency as f64);
            }
        }
        if let Some(pct) = utilization_pct {
            utilization = pct / 100.0;
        }
        let target_value = TARGET_MIN.max(total * utilization);

        let pct = panic_window_pct.unwrap_or(config.panic_window_percentage);
        // MakeMetric: rounded to the second, and never below one 1-s bucket.
        let panic_secs = (window.as_secs_f64() * pct / 100.0).round().max(1.0);
        Ok(KpaSpec {
            decider: DeciderSpec {
                metric,
                target_value,
                total_value: total,
                target_burst_capacity: tbc,
                activator_capacity: config.activator_capacity,
                panic_threshold: panic_threshold_pct.unwrap_or(config.panic_threshold_percentage)
                    / 100.0,
                max_scale_up_rate: config.max_scale_up_rate,
                max_scale_down_rate: config.max_scale_down_rate,
                stable_window: window,
                scale_down_delay: delay,
                activation_scale,
                reachable: true,
            },
            aggregation,
            panic_window: Duration::from_secs(panic_secs as u64),
            min_scale,
            max_scale,
            initial_scale,
            enable_scale_to_zero: config.enable_scale_to_zero,
            scale_to_zero_grace_period: config.scale_to_zero_grace_period,
            scale_to_zero_pod_retention_period: retention,
            ignored: rev.unknown_annotations(),
        })
    }
}

/// A duration annotation within [lo, hi], whole seconds (as upstream requires for windows).
fn duration(
    rev: &Revision,
    names: &[&str],
    lo: Duration,
    hi: Duration,
) -> Result<Option<Duration>, KpaError> {
    let Some((key, v)) = rev.get(names) else { return Ok(None) };
    let nanos = go_duration_nanos(v).map_err(|r| KpaError::invalid(&key, v, r))?;
    let out_of_range = || {
        KpaError::invalid(
            &key,
            v,
            format!("{v:?} must be in [{}s, {}s]", lo.as_secs(), hi.as_secs()),
        )
    };
    let d = Duration::from_nanos(u64::try_from(nanos).map_err(|_| out_of_range())?);
    if d < lo || d > hi {
        return Err(out_of_range());
    }
    if d.subsec_nanos() != 0 {
        return Err(KpaError::invalid(
            &key,
            v,
            format!("{v:?} must be specified with at most second precision"),
        ));
    }
    Ok(Some(d))
}
