//! `HpaPolicy`: the exact HPA as a `Policy`. It maps the controller's `Observation` (pods
//! with CPU and memory requests and usage) onto the HPA inputs, runs one sync with the spec
//! it was built with, and keeps the controller's memory between calls.

use super::controller::{Config, Scale, reconcile};
use super::history::History;
use super::model::{
    ConditionStatus, ContainerRequests, HpaSpec, MetricData, Pod, PodSample, ReadyCondition,
    ZERO_TIME,
};
use crate::policy::{Decision, Observation, PodObservation, Policy, Time};

/// The Kubernetes HPA for one scale target.
#[derive(Debug, Clone)]
pub struct HpaPolicy {
    pub spec: HpaSpec,
    pub config: Config,
    pub history: History,
}

impl HpaPolicy {
    /// A controller that has not seen this target yet (it records the first replica count
    /// as a recommendation, like a freshly started kube-controller-manager).
    pub fn new(spec: HpaSpec) -> Self {
        Self { spec, config: Config::default(), history: History::default() }
    }

    /// The simplest HPA: CPU at `target_percent` of requests, legacy normalisation.
    pub fn cpu(target_percent: i32, min_replicas: i32, max_replicas: i32) -> Self {
        Self::new(HpaSpec {
            min_replicas,
            max_replicas,
            metrics: vec![super::model::MetricSpec::Resource {
                name: "cpu".into(),
                container: None,
                target: super::model::Target::Utilization(target_percent),
            }],
            behavior: None,
        })
    }
}

/// The observation's pods and samples as HPA inputs. A pod's requests and usage are one
/// container ("main"); a `None` request becomes a container without one (an HPA error).
pub fn inputs(observation: &Observation, now: Time) -> (Vec<Pod>, MetricData) {
    let pods = observation.pods.iter().map(pod).collect();
    let samples = observation.pods.iter().filter_map(|p| sample(p, now)).collect();
    (pods, MetricData { pod_metrics: samples, ..MetricData::default() })
}

fn milli(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn pod(p: &PodObservation) -> Pod {
    let mut requests = Vec::new();
    if let Some(cpu) = p.cpu_request_millis {
        requests.push(("cpu".to_string(), milli(cpu)));
    }
    if let Some(mem) = p.memory_request_bytes {
        requests.push(("memory".to_string(), milli(mem).saturating_mul(1000)));
    }
    Pod {
        name: p.name.clone(),
        phase: p.phase,
        deleting: p.deleting,
        ready: Some(ReadyCondition {
            status: if p.ready { ConditionStatus::True } else { ConditionStatus::False },
            last_transition: p.ready_transition.unwrap_or(ZERO_TIME),
        }),
        start_time: p.start_time,
        containers: vec![ContainerRequests { name: "main".into(), requests }],
        pod_requests: Vec::new(),
    }
}

fn sample(p: &PodObservation, now: Time) -> Option<PodSample> {
    let mut usage = Vec::new();
    if let Some(cpu) = p.cpu_usage_millis {
        usage.push(("cpu".to_string(), milli(cpu)));
    }
    if let Some(mem) = p.memory_usage_bytes {
        usage.push(("memory".to_string(), milli(mem).saturating_mul(1000)));
    }
    if usage.is_empty() {
        return None;
    }
    Some(PodSample {
        pod: p.name.clone(),
        timestamp: p.metrics_timestamp.unwrap_or(now),
        window: p.metrics_window_secs.unwrap_or(60.0),
        containers: vec![ContainerRequests { name: "main".into(), requests: usage }],
    })
}

impl Policy for HpaPolicy {
    fn name(&self) -> &str {
        "hpa"
    }

    fn decide(&mut self, now: Time, observation: &Observation) -> Decision {
        let (pods, data) = inputs(observation, now);
        let replicas = i32::try_from(observation.spec_replicas).unwrap_or(i32::MAX);
        let scale = Scale { spec_replicas: replicas, status_replicas: replicas };
        let outcome =
            reconcile(&self.config, &self.spec, &pods, &data, scale, now, &mut self.history);
        Decision {
            desired_replicas: u32::try_from(outcome.desired_replicas).unwrap_or(0),
            reason: outcome.explanation,
        }
    }
}
