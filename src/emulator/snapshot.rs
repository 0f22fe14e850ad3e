//! A point-in-time copy of the cluster for the views to come (Prometheus exposition,
//! Kubernetes pods/deployments, metrics.k8s.io): pods, deployments and per-service request
//! counters with a cumulative latency histogram in milliseconds, and `Cluster::snapshot` that
//! fills them. Plain data; must not depend on `control/`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::cluster::Cluster;

/// Istio's default `istio_request_duration_milliseconds` bucket bounds (ms).
pub const LATENCY_BUCKETS_MS: [f64; 19] = [
    0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
    60000.0, 300000.0, 600000.0, 1800000.0, 3600000.0,
];

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSnapshot {
    /// Virtual seconds the snapshot describes.
    pub time: f64,
    pub namespace: String,
    pub pods: Vec<PodSnapshot>,
    pub deployments: Vec<DeploymentSnapshot>,
    pub services: Vec<ServiceStats>,
}

/// Kubernetes pod phases the emulation produces. A restarting container keeps its pod `Running`
/// (not ready), as Kubernetes shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodPhase {
    /// Created, not yet past its first startup delay.
    Pending,
    Running,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodSnapshot {
    pub name: Arc<str>,
    pub deployment: Arc<str>,
    pub container: String,
    pub phase: PodPhase,
    pub ready: bool,
    /// Draining after a scale-down (kubectl shows `Terminating`).
    pub terminating: bool,
    /// Virtual seconds when the pod was created.
    pub start_time: f64,
    /// Virtual seconds when the current container started (differs after a restart).
    pub container_start_time: f64,
    pub restarts: u32,
    pub last_termination_reason: Option<&'static str>,
    pub cpu_usage_seconds: f64,
    /// Seconds with at least one request computing (utilisation = busy / elapsed).
    pub busy_seconds: f64,
    pub memory_working_set_bytes: u64,
    pub in_flight: usize,
    pub cpu_request_millis: f64,
    pub cpu_limit_millis: f64,
    pub memory_request_bytes: u64,
    pub memory_limit_bytes: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentSnapshot {
    pub name: Arc<str>,
    pub spec_replicas: u32,
    /// Pods that are not terminating.
    pub replicas: u32,
    pub ready_replicas: u32,
}

/// Requests served by one service (every span it served counts, as Istio's destination metrics).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceStats {
    pub name: Arc<str>,
    pub requests_by_status: BTreeMap<u16, u64>,
    pub latency: LatencyHistogram,
}

/// Prometheus-style histogram: `cumulative[i]` counts observations <= `LATENCY_BUCKETS_MS[i]`,
/// the last entry is `+Inf` (equal to `count`).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyHistogram {
    pub cumulative: Vec<u64>,
    pub sum_ms: f64,
    pub count: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self { cumulative: vec![0; LATENCY_BUCKETS_MS.len() + 1], sum_ms: 0.0, count: 0 }
    }
}

impl LatencyHistogram {
    pub fn observe(&mut self, ms: f64) {
        // Cumulative on write: scrapes are rare, observations frequent, but the bucket count is
        // small enough that keeping the exposition form directly is the simpler choice.
        let first = LATENCY_BUCKETS_MS
            .iter()
            .position(|&bound| ms <= bound)
            .unwrap_or(LATENCY_BUCKETS_MS.len());
        for bucket in &mut self.cumulative[first..] {
            *bucket += 1;
        }
        self.sum_ms += ms;
        self.count += 1;
    }

    pub fn mean_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_ms / self.count as f64)
    }
}

impl Cluster {
    /// The state at `self.now()`.
    pub fn snapshot(&self) -> ClusterSnapshot {
        let pods = self
            .replicas
            .iter()
            .flatten()
            .map(|r| {
                let spec = &self.topology.services[r.deployment];
                let (cpu_usage_seconds, busy_seconds) = r.cpu.totals_at(self.now);
                PodSnapshot {
                    name: r.name.clone(),
                    deployment: spec.name.clone(),
                    container: spec.container.clone(),
                    phase: if r.started { PodPhase::Running } else { PodPhase::Pending },
                    ready: r.ready,
                    terminating: r.draining,
                    start_time: r.created,
                    container_start_time: r.container_started,
                    restarts: r.restarts,
                    last_termination_reason: r.last_termination,
                    cpu_usage_seconds,
                    busy_seconds,
                    memory_working_set_bytes: r.working_set(),
                    in_flight: r.in_flight.len(),
                    cpu_request_millis: spec.cpu_request_millis,
                    cpu_limit_millis: spec.cpu_limit_millis,
                    memory_request_bytes: spec.memory_request_bytes,
                    memory_limit_bytes: spec.memory_limit_bytes,
                }
            })
            .collect();
        let deployments = self
            .deployments
            .iter()
            .map(|dep| {
                let live = dep
                    .replicas
                    .iter()
                    .filter_map(|&id| self.replicas[id].as_ref())
                    .filter(|r| !r.draining);
                let (replicas, ready) =
                    live.fold((0, 0), |(n, ready), r| (n + 1, ready + u32::from(r.ready)));
                DeploymentSnapshot {
                    name: dep.name.clone(),
                    spec_replicas: dep.spec_replicas,
                    replicas,
                    ready_replicas: ready,
                }
            })
            .collect();
        ClusterSnapshot {
            time: self.now,
            namespace: self.topology.namespace.clone(),
            pods,
            deployments,
            services: self.stats.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_with_inf_last() {
        let mut h = LatencyHistogram::default();
        h.observe(0.2);
        h.observe(3.0);
        h.observe(1e9);
        assert_eq!(h.cumulative[0], 1);
        assert_eq!(h.cumulative[2], 2);
        assert_eq!(h.cumulative[LATENCY_BUCKETS_MS.len() - 1], 2);
        assert_eq!(*h.cumulative.last().unwrap(), 3);
        assert_eq!(h.count, 3);
    }
}
