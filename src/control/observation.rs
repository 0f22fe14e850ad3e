//! One target's observation in an interval: the Kubernetes API's pods merged with the metric
//! source's usage into the policies' `Observation`, the observed columns of its CSV row, and
//! the validity check that stands between the data and any scaling decision.

use super::record::DeploymentRecord;
use crate::cluster::deployments::PodInfo;
use crate::observe::metrics::TargetMetrics;
use crate::policy::{Observation, PodPhase};

/// What the Kubernetes API said about one target this interval.
pub(crate) struct Observed {
    pub spec_replicas: u32,
    pub pods: Vec<PodInfo>,
}

/// The policy input: the API's pods with the source's usage.
pub(crate) fn build_observation(
    namespace: &str,
    name: &str,
    o: &Observed,
    metrics: Option<&TargetMetrics>,
) -> Observation {
    let pods = o
        .pods
        .iter()
        .map(|p| {
            let mut obs = p.observation.clone();
            if let Some(u) = metrics.and_then(|m| m.pods.get(&obs.name)) {
                obs.cpu_usage_millis = u.cpu_millis.map(|c| c.round() as u64);
                obs.memory_usage_bytes = u.memory_bytes.map(|b| b.round() as u64);
                obs.metrics_timestamp = u.timestamp;
                obs.metrics_window_secs = u.window_secs;
            }
            obs
        })
        .collect::<Vec<_>>();
    let ready = pods.iter().filter(|p| p.ready && !p.deleting).count();
    let service = metrics.map(|m| m.service).unwrap_or_default();
    Observation {
        namespace: namespace.to_string(),
        deployment: name.to_string(),
        spec_replicas: o.spec_replicas,
        ready_replicas: u32::try_from(ready).unwrap_or(u32::MAX),
        pods,
        request_rate: service.request_rate,
        concurrency: service.concurrency,
        latency_p95_ms: service.latency_p95_ms,
        error_rate: service.error_rate,
        anomalies: Vec::new(),
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// The observed columns of a row.
pub(crate) fn fill_observed(
    row: &mut DeploymentRecord,
    obs: &Observation,
    o: &Observed,
    metrics: Option<&TargetMetrics>,
) {
    const MIB: f64 = 1024.0 * 1024.0;
    row.current_replicas = obs.spec_replicas;
    row.ready_replicas = obs.ready_replicas;
    let live = || obs.pods.iter().filter(|p| !p.deleting);
    row.pod_count = live().filter(|p| p.phase == PodPhase::Running).count() as u32;
    row.cpu_millicores = mean(live().filter_map(|p| p.cpu_usage_millis).map(|v| v as f64));
    row.cpu_total_millicores = row
        .cpu_millicores
        .map(|_| live().filter_map(|p| p.cpu_usage_millis).map(|v| v as f64).sum::<f64>());
    row.memory_mebibytes =
        mean(live().filter_map(|p| p.memory_usage_bytes).map(|v| v as f64 / MIB));
    row.cpu_request_millicores =
        mean(live().filter_map(|p| p.cpu_request_millis).map(|v| v as f64));
    row.memory_request_mebibytes =
        mean(live().filter_map(|p| p.memory_request_bytes).map(|v| v as f64 / MIB));
    if let Some(m) = metrics {
        let s = &m.service;
        row.p50_ms = s.latency_p50_ms;
        row.p95_ms = s.latency_p95_ms;
        row.p99_ms = s.latency_p99_ms;
        row.rps = s.request_rate;
        row.errors = s.error_rate;
        row.restarts = s.restarts;
        row.oom_killed = s.oom_killed;
    }
    if row.oom_killed.is_none() {
        row.oom_killed = Some(o.pods.iter().filter(|p| p.oom_killed).count() as u32);
    }
}

/// Data a policy may act on: at least one running pod has a CPU sample (or the target has no
/// pods at all), and every sample is a finite, non-negative number (the sources guarantee
/// the latter; checked again because a policy must never see garbage).
pub(crate) fn validate(obs: &Observation) -> Result<(), String> {
    let live: Vec<_> =
        obs.pods.iter().filter(|p| !p.deleting && p.phase == PodPhase::Running).collect();
    if live.is_empty() {
        return Ok(());
    }
    if !live.iter().any(|p| p.cpu_usage_millis.is_some()) {
        return Err(format!("no CPU sample for any of the {} running pods", live.len()));
    }
    for v in [obs.request_rate, obs.latency_p95_ms, obs.error_rate, obs.concurrency]
        .into_iter()
        .flatten()
    {
        if !v.is_finite() || v < 0.0 {
            return Err(format!("invalid value {v}"));
        }
    }
    Ok(())
}
