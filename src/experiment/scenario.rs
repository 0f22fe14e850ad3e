//! The scenario file (`scenarios/*.yaml`): inert serde data with `deny_unknown_fields`. Errors
//! found by serde_yaml carry its location; errors found afterwards (cross-field checks, the
//! shape grammar) are placed with [`super::yaml_pos`], so every message starts with
//! `FILE:LINE:COLUMN:`. [`super::resolve`] turns a parsed scenario into the plan that runs.
//!
//! Time semantics (documented in `scenarios/README.md`): phases run one after the other on
//! the campaign clock; each phase starts with its stabilisation window (not measured) and
//! ends with its measurement window. Stress `start`/`stop` are relative to the start of each
//! phase the action applies to (so baseline and adaptation see the same stress at the same
//! phase time). The load shape runs on the campaign clock, once, across all phases.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::shape::TraceOptions;

/// A whole scenario file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Names the run folder: `runs/<label>-<YYYYmmdd-HHMMSS>/`. Letters, digits, `.`, `_`, `-`.
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub target: TargetSpec,
    pub load: LoadSpec,
    /// Stress actions, each applied in every phase it names (default: all phases).
    #[serde(default)]
    pub stress: Vec<StressAction>,
    /// The controller; phases with `control: true` need it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<ControlSpec>,
    #[serde(default)]
    pub slo: SloSpec,
    /// Default windows for phases that do not set their own.
    #[serde(default)]
    pub windows: WindowsSpec,
    /// Total length; phases without a `measurement` window share what the stabilisation
    /// windows leave of it equally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Dur>,
    /// Phases in order; default: one `adaptation` phase with control.
    #[serde(default = "default_phases")]
    pub phases: Vec<PhaseSpec>,
}

fn default_phases() -> Vec<PhaseSpec> {
    vec![PhaseSpec {
        name: "adaptation".into(),
        control: true,
        policy: None,
        stabilisation: None,
        measurement: None,
    }]
}

/// What the campaign runs against: the embedded cluster or a real one.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// Embedded cluster topology: a shipped name (`hotel`, `webapp`, `tasks`) or a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded: Option<String>,
    /// Seed of the embedded cluster's emulation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// A real cluster: kubeconfig file (`~` is not expanded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Base URL of the application under load (required with `kubeconfig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// The load: the same choices as `ctl load`'s flags.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    /// `ctl load --shape` syntax: `sin400.csv`, `const:50`, `steps:10@30s,100@2m`, ...
    pub shape: String,
    /// Trace options (`amplitude`, `shift`, `step`, `fit`, `locust_compat`, `no_loop`).
    #[serde(default, skip_serializing_if = "is_default_trace")]
    pub trace: TraceOptions,
    /// `users` or `rate`; default: users for traces, rate for inline shapes (as `ctl load`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelName>,
    /// Users model: `0.1`, `exp:0.42`, `between:2,4`; default: the workload's, else 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_time: Option<String>,
    /// Rate model: `uniform`, `poisson`, `weibull:K`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrivals: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<usize>,
    /// Task mix file; default: `GET /`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_seed() -> u64 {
    42
}

fn is_default_trace(t: &TraceOptions) -> bool {
    t.amplitude.is_none()
        && t.shift.is_none()
        && t.step.is_none()
        && !t.fit
        && !t.locust_compat
        && !t.no_loop
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelName {
    Users,
    Rate,
}

/// One stress action on the timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StressAction {
    /// A short name for the timeline and the report; default: the kind and its index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub kind: StressKind,
    /// Pods to stress: a label selector (`app=webapp`) or `deployment/NAME`.
    pub selector: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// CPU: busy workers per pod and their load in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<u32>,
    /// Memory: MiB per pod and where it is held (`shm` or `anon`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mb: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<MemoryMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pods: Option<u32>,
    /// Pod rediscovery interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<Dur>,
    /// Relative to the start of each phase it applies to.
    pub start: Dur,
    /// Relative to the phase start too; default: the end of the phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Dur>,
    /// Phases (by name) this action applies to; default: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StressKind {
    Cpu,
    Memory,
}

impl StressKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StressKind::Cpu => "cpu",
            StressKind::Memory => "memory",
        }
    }
}

pub use crate::stress::MemoryMode;

/// The controller, as `ctl control`'s flags.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlSpec {
    /// Deployments under control (or `selector`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    pub policy: PolicyName,
    #[serde(default = "default_mode")]
    pub mode: ControlMode,
    #[serde(default = "default_interval")]
    pub interval: Dur,
    /// Guard constraints; default: the shipped `knowledge/constraints.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knowledge: Option<String>,
    /// `prometheus:URL`, `metrics-server`, `scrape:URL`, or `scrape` (the embedded cluster's
    /// `/metrics`, which has request rates and latencies too); default: metrics-server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<String>,
    /// `jaeger:URL` or `none`; default: the embedded cluster's Jaeger API, else none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traces: Option<String>,
    /// Isolation-forest model (`ctl anomaly train`) for the trace detector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_model: Option<String>,
    /// HPA manifest (`autoscaling/v2`) for the hpa policy; default: seed 004's hpa.yaml.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hpa: Option<String>,
    /// CPU ~ load model (`ctl model train`), required by the predictive policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    /// Knative `config-autoscaler` ConfigMap for the kpa policy; default: Knative's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpa_config: Option<String>,
    /// A Knative Service (or Revision) whose `autoscaling.knative.dev/*` annotations the kpa
    /// policy applies to every controlled Deployment; default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpa_service: Option<String>,
}

fn default_mode() -> ControlMode {
    ControlMode::Act
}

fn default_interval() -> Dur {
    Dur(Duration::from_secs(15))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyName {
    Hpa,
    Kpa,
    Predictive,
    None,
}

impl PolicyName {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyName::Hpa => "hpa",
            PolicyName::Kpa => "kpa",
            PolicyName::Predictive => "predictive",
            PolicyName::None => "none",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlMode {
    Observe,
    Act,
    Compare,
}

impl ControlMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlMode::Observe => "observe",
            ControlMode::Act => "act",
            ControlMode::Compare => "compare",
        }
    }
}

/// The service level objective each measured second is checked against.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    /// Latency percentile checked each second (50, 90, 95 or 99).
    #[serde(default = "default_percentile")]
    pub percentile: u8,
    /// A second violates the SLO when its percentile latency is at or above this.
    #[serde(default = "default_latency")]
    pub latency: Dur,
    /// ... or when more than this share of its requests failed (0.01 = 1 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_error_rate: Option<f64>,
    /// Fail the run (exit 1) when a phase's violation share exceeds `max_violation`.
    #[serde(default)]
    pub fail_run: bool,
    /// Allowed share of measured seconds in violation (0.05 = 5 %), with `fail_run`.
    #[serde(default)]
    pub max_violation: f64,
}

impl Default for SloSpec {
    fn default() -> Self {
        Self {
            percentile: default_percentile(),
            latency: default_latency(),
            max_error_rate: None,
            fail_run: false,
            max_violation: 0.0,
        }
    }
}

fn default_percentile() -> u8 {
    95
}

fn default_latency() -> Dur {
    Dur(Duration::from_millis(200))
}

/// Seed 000's windows: a stabilisation window (not measured) then a measurement window.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsSpec {
    #[serde(default = "default_stabilisation")]
    pub stabilisation: Dur,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement: Option<Dur>,
}

impl Default for WindowsSpec {
    fn default() -> Self {
        Self { stabilisation: default_stabilisation(), measurement: None }
    }
}

fn default_stabilisation() -> Dur {
    Dur(Duration::from_secs(30))
}

/// One phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSpec {
    pub name: String,
    /// Whether the controller acts in this phase (it observes in every phase).
    #[serde(default = "yes")]
    pub control: bool,
    /// Overrides `control.policy` in this phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stabilisation: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement: Option<Dur>,
}

fn yes() -> bool {
    true
}

/// A duration written as `90s`, `2m`, `1h30m`, `500ms` or bare seconds; written back in
/// humantime form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl Dur {
    pub fn secs(self) -> f64 {
        self.0.as_secs_f64()
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            return f.write_str("0s");
        }
        f.write_str(&humantime::format_duration(self.0).to_string().replace(' ', ""))
    }
}

/// The longest duration a scenario may name: a campaign of more than a week is a mistake.
const MAX_DURATION: Duration = Duration::from_secs(7 * 86_400);

fn parse_dur(text: &str) -> Result<Duration, String> {
    crate::shape::parse_bounded_duration(text, MAX_DURATION)
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor (not an untagged enum) so serde_yaml places errors on the value itself.
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration like 30s, 2m or 1h30m")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_dur(v).map(Dur).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Dur, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Dur, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Dur, E> {
                self.visit_str(&v.to_string())
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_back() {
        assert_eq!(parse_dur("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_dur("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_dur("-1").is_err());
        assert!(parse_dur("8days").is_err());
        assert_eq!(Dur(Duration::from_secs(150)).to_string(), "2m30s");
        assert_eq!(Dur(Duration::ZERO).to_string(), "0s");
    }
}
