//! The HPA's inputs as plain data: the autoscaler spec after API defaulting, the pods of the
//! scale target and the metric samples. Independent of the Kubernetes JSON (see `k8s.rs`),
//! so the controller, the simulator and the tests all build the same values.

use crate::policy::{PodPhase, Time};

/// `spec` of an `autoscaling/v2` HorizontalPodAutoscaler, defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct HpaSpec {
    /// `minReplicas` (API default 1).
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// Never empty: the API fills in CPU at 80 % when none is given.
    pub metrics: Vec<MetricSpec>,
    /// `None` selects the legacy normalisation (no scale events, 2x / 4 scale-up limit).
    pub behavior: Option<Behavior>,
}

impl HpaSpec {
    /// The API default when `spec.metrics` is empty: CPU at 80 % average utilisation.
    pub fn default_metric() -> MetricSpec {
        MetricSpec::Resource {
            name: "cpu".into(),
            container: None,
            target: Target::Utilization(80),
        }
    }
}

/// One entry of `spec.metrics`.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricSpec {
    /// `Resource` (container `None`) or `ContainerResource` (container set).
    Resource { name: String, container: Option<String>, target: Target },
    /// `Pods`: a per-pod custom metric; the target is always an average value.
    Pods { metric: String, target_average: i64 },
    /// `Object`: one value describing another object (`Value` or `AverageValue` target).
    Object { metric: String, object: String, target: Target },
    /// `External`: values from outside the cluster, summed (`Value` or `AverageValue`).
    External { metric: String, target: Target },
}

impl MetricSpec {
    /// A short name as the controller logs it (e.g. "cpu resource utilization").
    pub fn describe(&self) -> String {
        match self {
            MetricSpec::Resource { name, container: None, target: Target::Utilization(_) } => {
                format!("{name} resource utilization (percentage of request)")
            }
            MetricSpec::Resource { name, container: Some(c), target: Target::Utilization(_) } => {
                format!("{name} container resource utilization (percentage of request) of {c}")
            }
            MetricSpec::Resource { name, container: None, .. } => format!("{name} resource"),
            MetricSpec::Resource { name, container: Some(c), .. } => {
                format!("{name} container resource of {c}")
            }
            MetricSpec::Pods { metric, .. } => format!("pods metric {metric}"),
            MetricSpec::Object { metric, object, .. } => format!("{object} metric {metric}"),
            MetricSpec::External { metric, .. } => format!("external metric {metric}"),
        }
    }
}

/// `MetricTarget`, with quantities as milli-values (Kubernetes `MilliValue()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `averageUtilization`: integer percent of the summed requests.
    Utilization(i32),
    /// `averageValue`, milli-units per pod.
    AverageValue(i64),
    /// `value`, milli-units in total.
    Value(i64),
}

/// `spec.behavior` after API defaulting (`pkg/apis/autoscaling/v2/defaults.go`).
#[derive(Debug, Clone, PartialEq)]
pub struct Behavior {
    pub scale_up: ScalingRules,
    pub scale_down: ScalingRules,
}

impl Default for Behavior {
    fn default() -> Self {
        Self { scale_up: ScalingRules::default_up(), scale_down: ScalingRules::default_down() }
    }
}

/// `HPAScalingRules` for one direction.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingRules {
    /// `None` only for scale-down: the controller's `--horizontal-pod-autoscaler-downscale-
    /// stabilization` (300 s) fills it in (`maybeInitScaleDownStabilizationWindow`).
    pub stabilization_window_seconds: Option<i32>,
    pub select_policy: SelectPolicy,
    pub policies: Vec<ScalingPolicy>,
    /// Per-HPA tolerance (KEP-4951); `None` = the controller's `--horizontal-pod-autoscaler-
    /// tolerance`.
    pub tolerance: Option<f64>,
}

impl ScalingRules {
    /// Scale-up default: no window, "double or +4 every 15 s, whichever is larger".
    pub fn default_up() -> Self {
        Self {
            stabilization_window_seconds: Some(0),
            select_policy: SelectPolicy::Max,
            policies: vec![
                ScalingPolicy { kind: PolicyKind::Pods, value: 4, period_seconds: 15 },
                ScalingPolicy { kind: PolicyKind::Percent, value: 100, period_seconds: 15 },
            ],
            tolerance: None,
        }
    }

    /// Scale-down default: the controller's window, remove everything every 15 s.
    pub fn default_down() -> Self {
        Self {
            stabilization_window_seconds: None,
            select_policy: SelectPolicy::Max,
            policies: vec![ScalingPolicy {
                kind: PolicyKind::Percent,
                value: 100,
                period_seconds: 15,
            }],
            tolerance: None,
        }
    }

    /// The longest policy period: scale events older than this are never read again.
    pub fn longest_policy_period(&self) -> i32 {
        self.policies.iter().map(|p| p.period_seconds).fold(0, i32::max)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectPolicy {
    /// The policy that allows the largest change (the default).
    Max,
    /// The policy that allows the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScalingPolicy {
    pub kind: PolicyKind,
    pub value: i32,
    pub period_seconds: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Pods,
    Percent,
}

/// Status of the pod's Ready condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

/// The pod's Ready condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadyCondition {
    pub status: ConditionStatus,
    /// `lastTransitionTime`; Kubernetes' zero time when absent (see `ZERO_TIME`).
    pub last_transition: Time,
}

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) as Unix seconds: what an unset timestamp
/// compares as in the upstream code.
pub const ZERO_TIME: Time = -62_135_596_800.0;

/// A container's requests, in milli-units by resource name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerRequests {
    pub name: String,
    pub requests: Vec<(String, i64)>,
}

impl ContainerRequests {
    pub fn request(&self, resource: &str) -> Option<i64> {
        self.requests.iter().find(|(r, _)| r == resource).map(|(_, v)| *v)
    }
}

/// One pod matched by the target's selector.
#[derive(Debug, Clone, PartialEq)]
pub struct Pod {
    pub name: String,
    pub phase: PodPhase,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    pub ready: Option<ReadyCondition>,
    pub start_time: Option<Time>,
    /// `spec.containers` followed by restartable (`restartPolicy: Always`) init containers,
    /// the set whose requests the HPA sums.
    pub containers: Vec<ContainerRequests>,
    /// Pod-level `spec.resources.requests` (KEP-2837), used instead of the containers' sum.
    pub pod_requests: Vec<(String, i64)>,
}

impl Pod {
    /// `podutil.IsPodReady`: the Ready condition is True.
    pub fn is_ready(&self) -> bool {
        matches!(self.ready, Some(ReadyCondition { status: ConditionStatus::True, .. }))
    }
}

/// One item of a `metrics.k8s.io` PodMetricsList: usage per container.
#[derive(Debug, Clone, PartialEq)]
pub struct PodSample {
    pub pod: String,
    pub timestamp: Time,
    /// Seconds the sample averages over.
    pub window: f64,
    pub containers: Vec<ContainerRequests>,
}

/// A per-pod custom metric value (`custom.metrics.k8s.io`), milli-units.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomSample {
    pub pod: String,
    pub value: i64,
    pub timestamp: Time,
    pub window: f64,
}

/// Everything the metric APIs returned for one decision.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricData {
    /// `metrics.k8s.io` pod metrics (Resource and ContainerResource metrics).
    pub pod_metrics: Vec<PodSample>,
    /// Pods metrics by metric name.
    pub pods: Vec<(String, Vec<CustomSample>)>,
    /// Object metrics by metric name: the single value.
    pub objects: Vec<(String, i64)>,
    /// External metrics by metric name: every value the selector matched.
    pub external: Vec<(String, Vec<i64>)>,
}
