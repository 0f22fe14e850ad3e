//! Scaling policies: pure decision functions over an [`Observation`] of one scale target.
//! `hpa` (the exact Kubernetes HPA algorithm), `kpa` (Knative's KPA) and the `guard` that
//! applies `knowledge/` constraints to every decision. No IO, no clock, no tokio: `now` is
//! always a parameter (seconds since the Unix epoch), so the same code runs live, in tests
//! and in fast-forward simulations.

pub mod guard;
pub mod hpa;
pub mod kpa;
pub mod predictive;

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch. Plain `f64` so observations serialize and replay as-is.
pub type Time = f64;

/// Lifecycle phase of a pod, as Kubernetes reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PodPhase {
    Pending,
    #[default]
    Running,
    Succeeded,
    Failed,
    Unknown,
}

/// One pod of the scale target, with its requests and (if the metrics source had them) usage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PodObservation {
    pub name: String,
    pub phase: PodPhase,
    /// The pod's Ready condition.
    pub ready: bool,
    /// When the Ready condition last changed (`lastTransitionTime`).
    pub ready_transition: Option<Time>,
    /// `status.startTime`.
    pub start_time: Option<Time>,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// Summed container requests; None when a container has no request.
    pub cpu_request_millis: Option<u64>,
    pub memory_request_bytes: Option<u64>,
    /// Usage from the metrics source; None = no sample for this pod (a "missing" pod).
    pub cpu_usage_millis: Option<u64>,
    pub memory_usage_bytes: Option<u64>,
    /// When the usage sample was taken and over which window (metrics.k8s.io semantics).
    pub metrics_timestamp: Option<Time>,
    pub metrics_window_secs: Option<f64>,
}

/// What the controller observed about one scale target (a Deployment) at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Observation {
    pub namespace: String,
    pub deployment: String,
    /// `spec.replicas` of the target (what the scale subresource says now).
    pub spec_replicas: u32,
    pub ready_replicas: u32,
    pub pods: Vec<PodObservation>,
    /// Requests per second into the service over the interval, if known.
    pub request_rate: Option<f64>,
    /// Mean requests in flight (concurrency) over the interval, if known (KPA's metric).
    pub concurrency: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub error_rate: Option<f64>,
    /// Anomalies detected in this interval, as short descriptions (a policy may use them).
    pub anomalies: Vec<String>,
}

/// What a policy proposes for one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub desired_replicas: u32,
    /// Which rule decided, in words (e.g. "ScaleUpLimit: capped at 2 x current").
    pub reason: String,
}

/// A scaling policy: one instance per scale target; it may keep history between calls.
pub trait Policy: Send {
    fn name(&self) -> &str;
    fn decide(&mut self, now: Time, observation: &Observation) -> Decision;
}
