//! Knative's KPA as a [`Policy`]: `config-autoscaler` keys ([`KpaConfig`]) overlaid with a
//! revision's `autoscaling.knative.dev/*` annotations ([`Revision`]) into a [`KpaSpec`]; one
//! observation of concurrency (or RPS) per tick into 1-s buckets over the stable and panic
//! windows ([`aggregation`]); the decision of `autoscaler.go` ([`decider`]); then, as the KPA
//! reconciler does, min/max scale and scale to zero after the grace period.

pub mod aggregation;
pub mod config;
pub mod decider;
pub mod parse;
pub mod revision;

#[cfg(test)]
mod tests;

pub use config::KpaConfig;
pub use decider::{Decider, DeciderSpec, ScaleResult};
pub use revision::{KpaSpec, Revision};

use aggregation::TimedBuckets;

use super::{Decision, Observation, Policy, Time};

/// The metric the KPA scales on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Requests in flight (`Observation.concurrency`).
    Concurrency,
    /// Requests per second (`Observation.request_rate`).
    Rps,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Concurrency => "concurrency",
            Metric::Rps => "rps",
        }
    }
}

/// How window averages are computed (`metric-aggregation-algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    Linear,
    WeightedExponential,
}

/// Invalid KPA configuration; every variant names the key or file at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KpaError {
    /// YAML syntax; `message` carries serde_yaml's line and column.
    #[error("{file}: {message}")]
    Yaml { file: String, message: String },
    /// The document is not the expected object.
    #[error("{file}: {message}")]
    Shape { file: String, message: String },
    /// A value that does not parse or is out of range for its key.
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
    /// A cross-field rule of upstream's `validate`.
    #[error("{key} {message}")]
    Rule { key: String, message: String },
    #[error("{file}: {source}")]
    InFile { file: String, source: Box<KpaError> },
}

impl KpaError {
    fn yaml(file: &str, e: &serde_yaml::Error) -> KpaError {
        KpaError::Yaml { file: file.to_string(), message: e.to_string() }
    }

    /// `reason` already quotes the value; `_value` is kept in the signature for call sites.
    fn invalid(key: &str, _value: &str, reason: String) -> KpaError {
        KpaError::Invalid { key: key.to_string(), reason }
    }

    fn in_file(self, file: &str) -> KpaError {
        KpaError::InFile { file: file.to_string(), source: Box::new(self) }
    }

    /// As `in_file`, placing an invalid key at its `LINE:COLUMN` in `text` (the first line
    /// that sets it), as every other ctl parser reports.
    fn in_text(self, file: &str, text: &str) -> KpaError {
        let key = match &self {
            KpaError::Invalid { key, .. } | KpaError::Rule { key, .. } => Some(key.as_str()),
            _ => None,
        };
        let place = key.and_then(|key| {
            text.lines().enumerate().find_map(|(i, line)| {
                let body = line.trim_start();
                let unquoted = body.trim_start_matches(['"', '\'']);
                let rest = unquoted.strip_prefix(key)?;
                rest.trim_start_matches(['"', '\''])
                    .starts_with(':')
                    .then(|| format!("{file}:{}:{}", i + 1, line.len() - body.len() + 1))
            })
        });
        self.in_file(&place.unwrap_or_else(|| file.to_string()))
    }
}

/// The KPA for one revision: aggregation buckets, decider state and scale-to-zero timing.
#[derive(Debug, Clone)]
pub struct KpaPolicy {
    spec: KpaSpec,
    stable: TimedBuckets,
    panic: TimedBuckets,
    /// Created at the first decision, which tells it how many pods were ready at start.
    decider: Option<decider::Decider>,
    /// Second of the last recorded observation: the KPA scrapes once per 1-s bucket and sums
    /// what lands in one, so a second observation in the same second is not recorded.
    last_recorded: Option<i64>,
    /// Since when the bounded recommendation has been 0 (the revision is idle).
    idle_since: Option<Time>,
    last: Option<ScaleResult>,
}

impl KpaPolicy {
    pub fn new(spec: KpaSpec) -> KpaPolicy {
        let stable_secs = spec.decider.stable_window.as_secs();
        let panic_secs = spec.panic_window.as_secs();
        let (stable, panic) = match spec.aggregation {
            Aggregation::Linear => {
                (TimedBuckets::linear(stable_secs), TimedBuckets::linear(panic_secs))
            }
            Aggregation::WeightedExponential => {
                (TimedBuckets::weighted(stable_secs), TimedBuckets::weighted(panic_secs))
            }
        };
        KpaPolicy {
            spec,
            stable,
            panic,
            decider: None,
            last_recorded: None,
            idle_since: None,
            last: None,
        }
    }

    /// From the texts of a `config-autoscaler` ConfigMap and a Knative Service (or Revision).
    pub fn from_yaml_str(
        config_name: &str,
        config_text: &str,
        revision_name: &str,
        revision_text: &str,
    ) -> Result<KpaPolicy, KpaError> {
        let config = KpaConfig::from_yaml_str(config_name, config_text)?;
        let revision = Revision::from_yaml_str(revision_name, revision_text)?;
        let spec = KpaSpec::resolve(&config, &revision).map_err(|e| e.in_file(revision_name))?;
        Ok(KpaPolicy::new(spec))
    }

    pub fn spec(&self) -> &KpaSpec {
        &self.spec
    }

    /// The decider's result at the last decision (window averages, panic state, EBC).
    pub fn last_result(&self) -> Option<&ScaleResult> {
        self.last.as_ref()
    }

    fn observed_value(&self, observation: &Observation) -> Option<f64> {
        let value = match self.spec.decider.metric {
            Metric::Concurrency => observation.concurrency,
            Metric::Rps => observation.request_rate,
        };
        value.filter(|v| v.is_finite() && *v >= 0.0)
    }

    /// Min/max scale, then scale to zero only after the revision has been idle for the grace
    /// period (and the pod retention period), as the KPA reconciler's scaler does.
    fn apply_bounds_and_zero(
        &mut self,
        now: Time,
        current: u32,
        desired: u32,
        why: &mut String,
    ) -> u32 {
        let spec = &self.spec;
        let mut bounded = desired.max(spec.min_scale);
        if spec.max_scale != 0 {
            bounded = bounded.min(spec.max_scale);
        }
        if bounded != desired {
            why.push_str(&format!(
                "; bounded to [{}, {}]",
                spec.min_scale,
                max_text(spec.max_scale)
            ));
        }
        if bounded != 0 {
            self.idle_since = None;
            return bounded;
        }
        if !spec.enable_scale_to_zero {
            why.push_str("; scale to zero disabled: 1");
            return 1;
        }
        let since = *self.idle_since.get_or_insert(now);
        let wait = spec
            .scale_to_zero_grace_period
            .max(spec.scale_to_zero_pod_retention_period)
            .as_secs_f64();
        let idle = now - since;
        if idle >= wait || current == 0 {
            why.push_str(&format!("; scale to zero (idle {idle:.0}s >= {wait:.0}s)"));
            0
        } else {
            why.push_str(&format!(
                "; idle {idle:.0}s: scale to zero after {wait:.0}s, keeping {current}"
            ));
            current
        }
    }
}

fn max_text(max: u32) -> String {
    if max == 0 { "unbounded".to_string() } else { max.to_string() }
}

/// Which rule produced the decider's count, in words.
fn explain(r: &ScaleResult, spec: &DeciderSpec, metric: Metric) -> String {
    let m = metric.name();
    let mut why = format!(
        "stable {m} {:.2} / target {:.2} -> {}",
        r.observed_stable, spec.target_value, r.stable_pods
    );
    if r.in_panic {
        why.push_str(&format!(
            "; panic (panic {m} {:.2} -> {} pods, threshold {:.0}% of ready): high-water {}",
            r.observed_panic,
            r.panic_pods,
            spec.panic_threshold * 100.0,
            r.desired_pod_count.max(r.delayed_from.unwrap_or(0))
        ));
    }
    let wanted = (r.observed_stable / spec.target_value).ceil();
    if wanted > r.max_scale_up {
        why.push_str(&format!("; max-scale-up-rate caps at {}", r.max_scale_up));
    } else if wanted < r.max_scale_down && !r.in_panic {
        why.push_str(&format!("; max-scale-down-rate keeps {}", r.max_scale_down));
    }
    if let Some(from) = r.delayed_from {
        why.push_str(&format!(
            "; scale-down-delay holds {} instead of {from}",
            r.desired_pod_count
        ));
    }
    why
}

impl Policy for KpaPolicy {
    fn name(&self) -> &str {
        "kpa"
    }

    fn decide(&mut self, now: Time, observation: &Observation) -> Decision {
        if let Some(value) = self.observed_value(observation) {
            let second = now.floor() as i64;
            if self.last_recorded != Some(second) {
                self.stable.record(now, value);
                self.panic.record(now, value);
                self.last_recorded = Some(second);
            }
        }
        let ready = observation.ready_replicas;
        let current = observation.spec_replicas;
        let spec = self.spec.decider.clone();
        let decider = self.decider.get_or_insert_with(|| Decider::new(spec.clone(), ready, now));
        let observed = (!self.stable.is_empty(now))
            .then(|| (self.stable.window_average(now), self.panic.window_average(now)));
        let result = decider.scale(now, ready, observed);
        let metric = self.spec.decider.metric;
        if !result.scale_valid {
            self.last = Some(result);
            return Decision {
                desired_replicas: current,
                reason: format!(
                    "no {} data in the stable window yet: keeping {current}",
                    metric.name()
                ),
            };
        }
        let mut why = explain(&result, &spec, metric);
        let desired = u32::try_from(result.desired_pod_count).unwrap_or(0);
        let desired_replicas = self.apply_bounds_and_zero(now, current, desired, &mut why);
        self.last = Some(result);
        Decision { desired_replicas, reason: why }
    }
}
