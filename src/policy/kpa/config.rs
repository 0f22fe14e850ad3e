//! `KpaConfig`: the cluster-wide `config-autoscaler` ConfigMap of Knative Serving, parsed and
//! validated as `pkg/autoscaler/config/config.go` does (`NewConfigFromMap` and `validate`), with
//! Knative's defaults for missing keys. Per-revision annotations are overlaid in `revision.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::KpaError;
use super::parse::{go_bool, go_duration_nanos, go_float, go_int32, show};

/// Smallest target a metric may have (`autoscaling.TargetMin`).
pub const TARGET_MIN: f64 = 0.01;
/// Stable window bounds (`autoscaling.WindowMin`, `WindowMax`).
pub const WINDOW_MIN: Duration = Duration::from_secs(6);
pub const WINDOW_MAX: Duration = Duration::from_secs(3600);
/// `autoscaling.PanicWindowPercentageMin/Max`.
pub const PANIC_WINDOW_PERCENTAGE_MIN: f64 = 1.0;
pub const PANIC_WINDOW_PERCENTAGE_MAX: f64 = 100.0;
/// Utilisation used for the RPS metric: upstream's `TargetUtilization` is not a ConfigMap key.
pub const DEFAULT_TARGET_UTILIZATION: f64 = 0.7;

/// The `config-autoscaler` settings the KPA uses. Field names follow the ConfigMap keys.
#[derive(Debug, Clone, PartialEq)]
pub struct KpaConfig {
    pub enable_scale_to_zero: bool,
    pub allow_zero_initial_scale: bool,
    /// `container-concurrency-target-percentage`, as a fraction (70 and 0.7 both mean 0.7).
    pub container_concurrency_target_fraction: f64,
    pub container_concurrency_target_default: f64,
    /// Utilisation for the RPS metric (fixed at 0.7 upstream).
    pub target_utilization: f64,
    pub requests_per_second_target_default: f64,
    /// Requests of spare capacity to keep; 0 = activator only at zero, -1 = always in path.
    pub target_burst_capacity: f64,
    pub max_scale_up_rate: f64,
    pub max_scale_down_rate: f64,
    pub stable_window: Duration,
    pub panic_window_percentage: f64,
    pub panic_threshold_percentage: f64,
    pub activator_capacity: f64,
    pub scale_to_zero_grace_period: Duration,
    pub scale_to_zero_pod_retention_period: Duration,
    pub scale_down_delay: Duration,
    pub initial_scale: u32,
    /// Default max-scale for revisions without the annotation; 0 = unbounded.
    pub max_scale: u32,
    pub max_scale_limit: u32,
    pub pod_autoscaler_class: String,
    /// Keys present in `data` that the KPA does not read (typos such as `stable-windows`).
    pub ignored_keys: Vec<String>,
}

impl Default for KpaConfig {
    /// Knative's `defaultConfig()`.
    fn default() -> Self {
        KpaConfig {
            enable_scale_to_zero: true,
            allow_zero_initial_scale: false,
            container_concurrency_target_fraction: DEFAULT_TARGET_UTILIZATION,
            container_concurrency_target_default: 100.0,
            target_utilization: DEFAULT_TARGET_UTILIZATION,
            requests_per_second_target_default: 200.0,
            target_burst_capacity: 211.0,
            max_scale_up_rate: 1000.0,
            max_scale_down_rate: 2.0,
            stable_window: Duration::from_secs(60),
            panic_window_percentage: 10.0,
            panic_threshold_percentage: 200.0,
            activator_capacity: 100.0,
            scale_to_zero_grace_period: Duration::from_secs(30),
            scale_to_zero_pod_retention_period: Duration::ZERO,
            scale_down_delay: Duration::ZERO,
            initial_scale: 1,
            max_scale: 0,
            max_scale_limit: 0,
            pod_autoscaler_class: "kpa.autoscaling.knative.dev".to_string(),
            ignored_keys: Vec::new(),
        }
    }
}

/// Keys of `config-autoscaler` that are read elsewhere in Knative (not by the KPA decision),
/// so they are accepted silently rather than reported as ignored.
const KNOWN_OTHER_KEYS: &[&str] = &["enable-graceful-scaledown", "tick-interval", "panic-window"];

impl KpaConfig {
    /// Parses a `config-autoscaler` ConfigMap as pasted from `kubectl get cm -o yaml` or the
    /// Knative install manifests. `name` (a file name) prefixes every error.
    pub fn from_yaml_str(name: &str, text: &str) -> Result<KpaConfig, KpaError> {
        let doc: serde_yaml::Value =
            serde_yaml::from_str(text).map_err(|e| KpaError::yaml(name, &e))?;
        let data = configmap_data(name, &doc)?;
        Self::from_map(&data).map_err(|e| e.in_text(name, text))
    }

    /// `NewConfigFromMap`: defaults for missing keys, then validation.
    pub fn from_map(data: &BTreeMap<String, String>) -> Result<KpaConfig, KpaError> {
        let mut c = KpaConfig::default();
        for (key, raw) in data {
            let raw = raw.trim();
            let invalid = |reason: String| KpaError::invalid(key, raw, reason);
            match key.as_str() {
                "pod-autoscaler-class" => c.pod_autoscaler_class = raw.to_string(),
                "enable-scale-to-zero" => c.enable_scale_to_zero = go_bool(raw).map_err(invalid)?,
                "allow-zero-initial-scale" => {
                    c.allow_zero_initial_scale = go_bool(raw).map_err(invalid)?
                }
                "max-scale-up-rate" => c.max_scale_up_rate = go_float(raw).map_err(invalid)?,
                "max-scale-down-rate" => c.max_scale_down_rate = go_float(raw).map_err(invalid)?,
                "container-concurrency-target-percentage" => {
                    c.container_concurrency_target_fraction = go_float(raw).map_err(invalid)?
                }
                "container-concurrency-target-default" => {
                    c.container_concurrency_target_default = go_float(raw).map_err(invalid)?
                }
                "requests-per-second-target-default" => {
                    c.requests_per_second_target_default = go_float(raw).map_err(invalid)?
                }
                "target-burst-capacity" => {
                    c.target_burst_capacity = go_float(raw).map_err(invalid)?
                }
                "panic-window-percentage" => {
                    c.panic_window_percentage = go_float(raw).map_err(invalid)?
                }
                "activator-capacity" => c.activator_capacity = go_float(raw).map_err(invalid)?,
                "panic-threshold-percentage" => {
                    c.panic_threshold_percentage = go_float(raw).map_err(invalid)?
                }
                "initial-scale" => c.initial_scale = non_negative(key, raw)?,
                "max-scale" => c.max_scale = non_negative(key, raw)?,
                "max-scale-limit" => c.max_scale_limit = non_negative(key, raw)?,
                "stable-window" => c.stable_window = duration(key, raw, false)?,
                "scale-down-delay" => c.scale_down_delay = duration(key, raw, false)?,
                "scale-to-zero-grace-period" => {
                    c.scale_to_zero_grace_period = duration(key, raw, true)?
                }
                "scale-to-zero-pod-retention-period" => {
                    c.scale_to_zero_pod_retention_period = duration(key, raw, false)?
                }
                k if k.starts_with('_') || KNOWN_OTHER_KEYS.contains(&k) => {}
                _ => c.ignored_keys.push(key.clone()),
            }
        }
        // For legacy reasons values in (0, 1] are fractions; anything larger is a percentage.
        if c.container_concurrency_target_fraction > 1.0 {
            c.container_concurrency_target_fraction /= 100.0;
        }
        c.validate()?;
        Ok(c)
    }

    /// Upstream's `validate`, rule for rule, each error naming its key.
    fn validate(&self) -> Result<(), KpaError> {
        let rule =
            |key: &str, message: String| Err(KpaError::Rule { key: key.to_string(), message });
        if self.target_burst_capacity < 0.0 && self.target_burst_capacity != -1.0 {
            return rule(
                "target-burst-capacity",
                format!(
                    "must be either non-negative or -1 (for unlimited), was: {}",
                    self.target_burst_capacity
                ),
            );
        }
        let fraction = self.container_concurrency_target_fraction;
        if fraction <= 0.0 || fraction > 1.0 {
            return rule(
                "container-concurrency-target-percentage",
                format!("= {} is outside of valid range of (0, 100]", fraction),
            );
        }
        let target = fraction * self.container_concurrency_target_default;
        if target < TARGET_MIN {
            return rule(
                "container-concurrency-target-default",
                format!(
                    "with container-concurrency-target-percentage yields a target concurrency of {target}, can't be less than {TARGET_MIN}"
                ),
            );
        }
        if self.requests_per_second_target_default < TARGET_MIN {
            return rule(
                "requests-per-second-target-default",
                format!(
                    "must be at least {TARGET_MIN}, was: {}",
                    self.requests_per_second_target_default
                ),
            );
        }
        if self.activator_capacity < 1.0 {
            return rule(
                "activator-capacity",
                format!("= {}, must be at least 1", self.activator_capacity),
            );
        }
        if self.max_scale_up_rate <= 1.0 {
            return rule(
                "max-scale-up-rate",
                format!("= {}, must be greater than 1.0", self.max_scale_up_rate),
            );
        }
        if self.max_scale_down_rate <= 1.0 {
            return rule(
                "max-scale-down-rate",
                format!("= {}, must be greater than 1.0", self.max_scale_down_rate),
            );
        }
        // The stable window must cover the aggregation buckets, and not be so long that the
        // decisions become imprecise.
        if self.stable_window < WINDOW_MIN || self.stable_window > WINDOW_MAX {
            return rule(
                "stable-window",
                format!("= {}, must be in [6s; 1h] range", show(self.stable_window)),
            );
        }
        if self.stable_window.subsec_nanos() != 0 {
            return rule("stable-window", "must be specified with at most second precision".into());
        }
        if self.scale_down_delay.subsec_nanos() != 0 {
            return rule(
                "scale-down-delay",
                "must be specified with at most second precision".into(),
            );
        }
        let pwp = self.panic_window_percentage;
        if !(PANIC_WINDOW_PERCENTAGE_MIN..=PANIC_WINDOW_PERCENTAGE_MAX).contains(&pwp) {
            return rule(
                "panic-window-percentage",
                format!("= {pwp}, must be in [1, 100] interval"),
            );
        }
        if self.initial_scale == 0 && !self.allow_zero_initial_scale {
            return rule(
                "initial-scale",
                "= 0, must be at least 1 when allow-zero-initial-scale is false".into(),
            );
        }
        // A default max-scale is required once a limit is set, and may not exceed it.
        if self.max_scale_limit > 0 && (self.max_scale < 1 || self.max_scale > self.max_scale_limit)
        {
            return rule(
                "max-scale",
                format!(
                    "= {}, must be in [1, max-scale-limit({})] range",
                    self.max_scale, self.max_scale_limit
                ),
            );
        }
        Ok(())
    }

    /// The panic threshold as a fraction of ready pods (200 % = 2.0), before annotations.
    pub fn panic_threshold(&self) -> f64 {
        self.panic_threshold_percentage / 100.0
    }
}

fn non_negative(key: &str, raw: &str) -> Result<u32, KpaError> {
    let v = go_int32(raw).map_err(|r| KpaError::invalid(key, raw, r))?;
    u32::try_from(v).map_err(|_| KpaError::invalid(key, raw, format!("{raw:?} must be at least 0")))
}

/// A Go duration; `positive` demands > 0 (the grace period), otherwise >= 0.
fn duration(key: &str, raw: &str, positive: bool) -> Result<Duration, KpaError> {
    let nanos = go_duration_nanos(raw).map_err(|r| KpaError::invalid(key, raw, r))?;
    if nanos < 0 || (positive && nanos == 0) {
        let want = if positive { "must be positive" } else { "cannot be negative" };
        return Err(KpaError::invalid(key, raw, format!("{raw:?} {want}")));
    }
    Ok(Duration::from_nanos(nanos as u64))
}

/// The `data:` map of a ConfigMap document, values as strings. Unquoted numbers and booleans
/// (which `kubectl apply` would reject) are accepted as their text, since the intent is clear.
fn configmap_data(
    name: &str,
    doc: &serde_yaml::Value,
) -> Result<BTreeMap<String, String>, KpaError> {
    let shape = |message: String| KpaError::Shape { file: name.to_string(), message };
    let root = match doc {
        serde_yaml::Value::Mapping(m) => m,
        serde_yaml::Value::Null => return Ok(BTreeMap::new()),
        _ => return Err(shape("expected a ConfigMap (a mapping with `data:`)".into())),
    };
    if let Some(kind) = root.get("kind").and_then(|k| k.as_str())
        && kind != "ConfigMap"
    {
        return Err(shape(format!("kind: {kind}: expected kind: ConfigMap")));
    }
    let data = match root.get("data") {
        None | Some(serde_yaml::Value::Null) => return Ok(BTreeMap::new()),
        Some(serde_yaml::Value::Mapping(m)) => m,
        Some(_) => return Err(shape("data: expected a mapping of key: \"value\"".into())),
    };
    string_map(data).map_err(|m| shape(format!("data.{m}")))
}

/// A YAML mapping of scalars as strings; the error names the offending key.
pub(super) fn string_map(map: &serde_yaml::Mapping) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let key = scalar_text(k).ok_or_else(|| "<key>: keys must be strings".to_string())?;
        let value = scalar_text(v).ok_or_else(|| format!("{key}: expected a string value"))?;
        out.insert(key, value);
    }
    Ok(out)
}

fn scalar_text(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
