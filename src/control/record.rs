//! What one controller interval produced, as plain serialisable data: one
//! [`DeploymentRecord`] per target (a `control.csv` row), the anomalies and the events. The
//! campaign runner plots these; the CSV and JSON-lines writers print them.

use serde::Serialize;

/// One target in one interval: seed 004's columns plus ctl's.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct DeploymentRecord {
    /// Unix seconds of the interval.
    pub time: f64,
    pub deployment: String,
    pub mode: String,
    /// `spec.replicas` when the interval started.
    pub current_replicas: u32,
    pub ready_replicas: u32,
    /// Mean usage per pod with a sample.
    pub cpu_millicores: Option<f64>,
    pub memory_mebibytes: Option<f64>,
    /// Usage summed over the pods with a sample (what the predictive policy feeds its model,
    /// and seed 001's `cpu_usage` x 1000).
    pub cpu_total_millicores: Option<f64>,
    /// Mean request per pod.
    pub cpu_request_millicores: Option<f64>,
    pub memory_request_mebibytes: Option<f64>,
    /// Running pods not being deleted.
    pub pod_count: u32,
    /// The exact HPA in shadow (`hpa_sim_*`, named as seed 004's simulator columns).
    pub hpa_sim_desired: Option<u32>,
    pub hpa_sim_raw_desired: Option<u32>,
    pub hpa_sim_cpu_desired: Option<u32>,
    pub hpa_sim_mem_desired: Option<u32>,
    /// `scale_up`, `scale_down` or `no_change`.
    pub hpa_sim_action: Option<String>,
    /// Utilisation over its target (seed 004's ratio).
    pub hpa_sim_cpu_ratio: Option<f64>,
    pub hpa_sim_mem_ratio: Option<f64>,
    /// The live `HorizontalPodAutoscaler` object, when the cluster has one for the target.
    pub hpa_current_replicas: Option<u32>,
    pub hpa_desired_replicas: Option<u32>,
    /// The predictive policy (seed 004's AI columns): its own proposal, the CPU it expects per
    /// pod at the current count, and its reasoning.
    pub ai_recommended_replicas: Option<u32>,
    pub ai_predicted_cpu_millicores: Option<f64>,
    pub ai_predicted_memory_mebibytes: Option<f64>,
    pub ai_confidence: Option<f64>,
    pub ai_reasoning: Option<String>,
    /// The KPA in shadow (observe / compare).
    pub kpa_desired: Option<u32>,
    /// `spec.replicas` after the interval.
    pub applied_replicas: u32,
    /// The acting policy when it changed the count, `<policy>_no_change`, `observation_only`
    /// in observe mode, or `none` (held, or no policy).
    pub applied_by: String,
    pub policy: String,
    pub desired_by_policy: Option<u32>,
    /// Why the guard changed the proposal, or why replicas were held.
    pub guard_reason: Option<String>,
    /// Anomalies attributed to this target in the interval.
    pub anomalies: u32,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub rps: Option<f64>,
    /// Error rate (fraction of requests answered 5xx).
    pub errors: Option<f64>,
    pub restarts: Option<f64>,
    pub oom_killed: Option<u32>,
    /// The policy's explanation.
    pub reason: String,
    /// False when the metrics were missing or invalid (replicas held).
    pub valid: bool,
}

/// An anomaly, from a streaming detector (`metric`) or the trace model (`trace`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnomalyRecord {
    pub time: f64,
    pub kind: &'static str,
    /// The target it is attributed to, if any.
    pub deployment: Option<String>,
    /// Metric series, or the span operation most responsible.
    pub series: String,
    /// `raised` / `cleared` for metrics, `anomalous` for traces.
    pub state: &'static str,
    pub value: Option<f64>,
    pub baseline: Option<f64>,
    pub z: Option<f64>,
    pub trace_id: Option<String>,
    pub service: Option<String>,
    pub score: Option<f64>,
    pub message: String,
}

/// Something the controller did or could not do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRecord {
    pub time: f64,
    /// `start`, `scale`, `scale_failed`, `hold`, `traces_failed`, `stop`.
    pub kind: &'static str,
    pub deployment: Option<String>,
    pub from: Option<u32>,
    pub to: Option<u32>,
    pub policy: Option<String>,
    pub message: String,
}

impl EventRecord {
    pub fn new(time: f64, kind: &'static str, message: impl Into<String>) -> Self {
        EventRecord {
            time,
            kind,
            deployment: None,
            from: None,
            to: None,
            policy: None,
            message: message.into(),
        }
    }
}

/// Everything one interval produced.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct IntervalRecord {
    pub time: f64,
    pub deployments: Vec<DeploymentRecord>,
    pub anomalies: Vec<AnomalyRecord>,
    pub events: Vec<EventRecord>,
    /// Why the metric source failed this interval, if it did.
    pub metrics_error: Option<String>,
    /// Traces fetched for the window.
    pub traces: usize,
    /// Wall time of the step spent waiting on the network, and the rest (the controller's own
    /// overhead).
    pub io_secs: f64,
    pub compute_secs: f64,
}
