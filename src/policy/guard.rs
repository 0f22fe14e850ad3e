//! The guard: `knowledge/constraints.yaml` applied outside every policy, so nothing reaches
//! the cluster without passing it. Fixed-replica services (always their count), min/max
//! replicas (per service over defaults), a maximum step per decision, cooldowns between
//! changes, and ranges for the parameters a policy or advisor may propose. The YAML is inert
//! serde data ([`ConstraintsConfig`]) that `build()`s the stateful [`Guard`].

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Deserialize;

use super::{Decision, Time};

mod params;

use params::{Parameter, parameter};
pub use params::{ParameterConfig, ParameterError, Scalar, Scope, ValueKind};

/// The shipped constraints, as a starting point and for tests.
pub const SHIPPED_CONSTRAINTS: &str = include_str!("../../knowledge/constraints.yaml");

/// `knowledge/constraints.yaml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintsConfig {
    /// Limits for every service without its own entry (and under the fields it leaves out).
    #[serde(default)]
    pub defaults: LimitsConfig,
    /// Per-service overrides, by Deployment / Knative Service name.
    #[serde(default)]
    pub services: BTreeMap<String, LimitsConfig>,
    /// Services that are never autoscaled: a name (1 replica) or `{name, replicas}`.
    #[serde(default)]
    pub fixed_replica_services: Vec<FixedReplicaEntry>,
    /// Parameter ranges, by a short name; `key` is the Knative key they constrain.
    #[serde(default)]
    pub parameters: BTreeMap<String, ParameterConfig>,
    /// Free-text policy notes (for humans and advisor prompts; not enforced).
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub min_replicas: Option<u32>,
    pub max_replicas: Option<u32>,
    pub max_step: Option<StepConfig>,
    /// `30s` for both directions, or `{up: 0s, down: 5m}`.
    pub cooldown: Option<CooldownConfig>,
}

/// Largest change per decision; when both are given the tighter one applies.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    pub replicas: Option<u32>,
    /// Percent of the current count, rounded up (so never below one replica).
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CooldownConfig {
    Both(String),
    Split(SplitCooldown),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitCooldown {
    pub up: Option<String>,
    pub down: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FixedReplicaEntry {
    Name(String),
    Counted(FixedCount),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedCount {
    pub name: String,
    #[serde(default = "one")]
    pub replicas: u32,
}

fn one() -> u32 {
    1
}

/// A constraints file that does not parse or does not make sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GuardError {
    #[error("{file}:{line}:{column}: {message}")]
    Syntax { file: String, line: usize, column: usize, message: String },
    #[error("{file}: {path}: {message}")]
    Invalid { file: String, path: String, message: String },
}

/// What the guard did with a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardedDecision {
    pub applied: u32,
    pub proposed: u32,
    /// Why the guard changed the proposal; `None` when it passed unchanged.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Limits {
    min: u32,
    max: u32,
    step_replicas: Option<u32>,
    step_percent: Option<f64>,
    cooldown_up: Duration,
    cooldown_down: Duration,
}

/// The running guard: limits per service and the time of each service's last change.
#[derive(Debug, Clone)]
pub struct Guard {
    defaults: Limits,
    services: BTreeMap<String, Limits>,
    fixed: BTreeMap<String, u32>,
    parameters: Vec<Parameter>,
    notes: Vec<String>,
    last_change: HashMap<String, Time>,
}

impl ConstraintsConfig {
    /// Parses a constraints file; `file` names it in errors (with line and column).
    pub fn from_yaml_str(file: &str, text: &str) -> Result<ConstraintsConfig, GuardError> {
        serde_yaml::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            let message = e.to_string();
            let message =
                message.find(" at line ").map_or(message.clone(), |i| message[..i].to_string());
            GuardError::Syntax { file: file.to_string(), line, column, message }
        })
    }

    /// Validates and builds the guard; errors name the field path.
    pub fn build(self, file: &str) -> Result<Guard, GuardError> {
        let invalid = |path: String, message: String| GuardError::Invalid {
            file: file.to_string(),
            path,
            message,
        };
        let base = Limits {
            min: 0,
            max: u32::MAX,
            step_replicas: None,
            step_percent: None,
            cooldown_up: Duration::ZERO,
            cooldown_down: Duration::ZERO,
        };
        let defaults =
            overlay(&base, &self.defaults, "defaults").map_err(|(p, m)| invalid(p, m))?;
        let mut services = BTreeMap::new();
        for (name, limits) in &self.services {
            let path = format!("services.{name}");
            services.insert(
                name.clone(),
                overlay(&defaults, limits, &path).map_err(|(p, m)| invalid(p, m))?,
            );
        }
        let mut fixed = BTreeMap::new();
        for (i, entry) in self.fixed_replica_services.into_iter().enumerate() {
            let (name, replicas) = match entry {
                FixedReplicaEntry::Name(name) => (name, 1),
                FixedReplicaEntry::Counted(c) => (c.name, c.replicas),
            };
            if name.trim().is_empty() {
                return Err(invalid(
                    format!("fixed_replica_services[{i}]"),
                    "empty service name".into(),
                ));
            }
            if services.contains_key(&name) {
                let message =
                    format!("{name} is fixed at {replicas} and also has limits under services");
                return Err(invalid(format!("fixed_replica_services[{i}]"), message));
            }
            fixed.insert(name, replicas);
        }
        let mut parameters = Vec::new();
        for (name, p) in self.parameters {
            parameters.push(parameter(&name, p).map_err(|(p, m)| invalid(p, m))?);
        }
        Ok(Guard {
            defaults,
            services,
            fixed,
            parameters,
            notes: self.notes,
            last_change: HashMap::new(),
        })
    }
}

/// `limits` over `base`, field by field.
fn overlay(base: &Limits, limits: &LimitsConfig, path: &str) -> Result<Limits, (String, String)> {
    let mut out = base.clone();
    if let Some(min) = limits.min_replicas {
        out.min = min;
    }
    if let Some(max) = limits.max_replicas {
        out.max = max;
    }
    if out.min > out.max {
        let message = format!("min_replicas {} is above max_replicas {}", out.min, out.max);
        return Err((path.to_string(), message));
    }
    if let Some(step) = &limits.max_step {
        if step.replicas == Some(0) {
            return Err((format!("{path}.max_step.replicas"), "must be at least 1".into()));
        }
        if let Some(p) = step.percent
            && !(p.is_finite() && p > 0.0)
        {
            return Err((format!("{path}.max_step.percent"), format!("{p} must be above 0")));
        }
        out.step_replicas = step.replicas;
        out.step_percent = step.percent;
    }
    let parse = |field: &str, text: &str| {
        humantime::parse_duration(text.trim()).map_err(|e| {
            (format!("{path}.{field}"), format!("{text:?} is not a duration (30s, 5m): {e}"))
        })
    };
    match &limits.cooldown {
        None => {}
        Some(CooldownConfig::Both(text)) => {
            out.cooldown_up = parse("cooldown", text)?;
            out.cooldown_down = out.cooldown_up;
        }
        Some(CooldownConfig::Split(split)) => {
            if let Some(up) = &split.up {
                out.cooldown_up = parse("cooldown.up", up)?;
            }
            if let Some(down) = &split.down {
                out.cooldown_down = parse("cooldown.down", down)?;
            }
        }
    }
    Ok(out)
}

impl Guard {
    /// Parses and builds in one step.
    pub fn from_yaml_str(file: &str, text: &str) -> Result<Guard, GuardError> {
        ConstraintsConfig::from_yaml_str(file, text)?.build(file)
    }

    /// The free-text policy notes.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The fixed count of a fixed-replica service.
    pub fn fixed_replicas(&self, deployment: &str) -> Option<u32> {
        self.fixed.get(deployment).copied()
    }

    fn limits(&self, deployment: &str) -> &Limits {
        self.services.get(deployment).unwrap_or(&self.defaults)
    }

    /// Applies the constraints to one decision for `deployment`, currently at `current`
    /// replicas. Fixed services always get their count; otherwise the proposal is clamped to
    /// [min, max], held during a cooldown, and limited to the maximum step; the bounds hold
    /// in the end even when a cooldown or step would leave the count outside them.
    pub fn apply(
        &mut self,
        now: Time,
        deployment: &str,
        current: u32,
        decision: Decision,
    ) -> GuardedDecision {
        let proposed = decision.desired_replicas;
        if let Some(fixed) = self.fixed_replicas(deployment) {
            let reason =
                (proposed != fixed).then(|| format!("fixed-replica service: always {fixed}"));
            return self.finish(
                now,
                deployment,
                current,
                proposed,
                fixed,
                reason.into_iter().collect(),
            );
        }
        let l = self.limits(deployment).clone();
        let mut reasons = Vec::new();
        let mut target = proposed.clamp(l.min, l.max);
        let clamped = target != proposed;
        if target > proposed {
            reasons.push(format!("min_replicas {}", l.min));
        } else if target < proposed {
            reasons.push(format!("max_replicas {}", l.max));
        }
        if target != current
            && let Some(&last) = self.last_change.get(deployment)
        {
            let (wait, direction) =
                if target > current { (l.cooldown_up, "up") } else { (l.cooldown_down, "down") };
            let since = now - last;
            if since < wait.as_secs_f64() {
                reasons.push(format!(
                    "cooldown: last change {since:.0}s ago, scale-{direction} waits {}s",
                    wait.as_secs_f64()
                ));
                target = current;
            }
        }
        if target != current {
            let step = max_step(&l, current);
            if target.abs_diff(current) > step {
                target =
                    if target > current { current.saturating_add(step) } else { current - step };
                reasons.push(format!("max_step: at most {step} per decision"));
            }
        }
        let bounded = target.clamp(l.min, l.max);
        if bounded != target && !clamped {
            reasons.push(format!("bounds [{}, {}]", l.min, l.max));
        }
        self.finish(now, deployment, current, proposed, bounded, reasons)
    }

    fn finish(
        &mut self,
        now: Time,
        deployment: &str,
        current: u32,
        proposed: u32,
        applied: u32,
        reasons: Vec<String>,
    ) -> GuardedDecision {
        if applied != current {
            self.last_change.insert(deployment.to_string(), now);
        }
        let reason = (applied != proposed || !reasons.is_empty()).then(|| reasons.join("; "));
        GuardedDecision { applied, proposed, reason: reason.filter(|r| !r.is_empty()) }
    }

    /// Checks a proposed value for a parameter, by its Knative key
    /// (`autoscaling.knative.dev/window`) or its short name (`stable_window`). Values are
    /// strings, as annotations and ConfigMap data are, read with Knative's (Go) parsers.
    pub fn check_parameter(&self, key: &str, value: &str) -> Result<(), ParameterError> {
        let p = self
            .parameters
            .iter()
            .find(|p| p.key == key || p.name == key)
            .ok_or_else(|| ParameterError::Unknown { key: key.to_string() })?;
        p.check(value)
    }

    /// [`Guard::check_parameter`] for one service: a fixed-replica service may only be given
    /// min-scale = max-scale = its fixed count (the seed's `enforce_fixed_replica_policy`).
    pub fn check_service_parameter(
        &self,
        service: &str,
        key: &str,
        value: &str,
    ) -> Result<(), ParameterError> {
        if let Some(fixed) = self.fixed_replicas(service) {
            let short = key.rsplit('/').next().unwrap_or(key);
            if matches!(
                short,
                "min-scale" | "max-scale" | "minScale" | "maxScale" | "min_scale" | "max_scale"
            ) && value.trim() != fixed.to_string()
            {
                return Err(ParameterError::Rejected {
                    key: key.to_string(),
                    message: format!(
                        "{service} is a fixed-replica service: only {fixed} is allowed"
                    ),
                });
            }
        }
        self.check_parameter(key, value)
    }
}

/// The largest change allowed from `current`: the tighter of the absolute and percent limits.
fn max_step(l: &Limits, current: u32) -> u32 {
    let percent = l.step_percent.map(|p| ((current as f64 * p / 100.0).ceil() as u32).max(1));
    match (l.step_replicas, percent) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => u32::MAX,
    }
}

#[cfg(test)]
mod tests;
