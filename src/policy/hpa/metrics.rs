//! Per-pod samples and the utilisation arithmetic (upstream `metrics/client.go` and
//! `metrics/utilization.go`, plus `calculateRequests`): samples keyed by pod, requests per
//! pod, integer-percent utilisation of summed requests, and plain averages. Sums run in
//! i128 and saturate, so no input can wrap or panic.

use super::model::{CustomSample, Pod, PodSample};
use super::replicas::MetricError;
use crate::policy::Time;
use std::collections::HashMap;

/// One pod's sample (`PodMetric`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PodMetric {
    pub value: i64,
    pub timestamp: Time,
    pub window: f64,
}

/// `PodMetricsInfo`: samples keyed by pod. Samples naming no listed pod are kept apart:
/// they count in `len(metrics)` and in plain averages, as in the Go map.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricsInfo {
    pub per_pod: Vec<Option<PodMetric>>,
    pub extras: Vec<i64>,
}

impl MetricsInfo {
    pub fn len(&self) -> usize {
        self.per_pod.iter().filter(|m| m.is_some()).count() + self.extras.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn remove(&mut self, pods: &[usize]) {
        for &i in pods {
            self.per_pod[i] = None;
        }
    }

    pub(super) fn set(&mut self, pods: &[usize], value: impl Fn(usize) -> i64) {
        for &i in pods {
            self.per_pod[i] = Some(PodMetric { value: value(i), timestamp: 0.0, window: 0.0 });
        }
    }
}

/// Maps pod names to their index in the pod list (the last pod wins a duplicate name).
pub fn pod_index(pods: &[Pod]) -> HashMap<&str, usize> {
    pods.iter().enumerate().map(|(i, p)| (p.name.as_str(), i)).collect()
}

/// `getPodMetrics` / `getContainerMetrics`: per-pod values of `resource` from the resource
/// metrics API. A pod lacking the resource in any container (or lacking the named container)
/// has no sample, so it counts as missing.
pub fn resource_metrics(
    samples: &[PodSample],
    index: &HashMap<&str, usize>,
    pod_count: usize,
    resource: &str,
    container: Option<&str>,
) -> MetricsInfo {
    let mut info = MetricsInfo { per_pod: vec![None; pod_count], extras: Vec::new() };
    for s in samples {
        let value = match container {
            Some(name) => {
                s.containers.iter().find(|c| c.name == name).and_then(|c| c.request(resource))
            }
            None if s.containers.is_empty() => None,
            None => s
                .containers
                .iter()
                .map(|c| c.request(resource))
                .try_fold(0i64, |sum, v| v.map(|v| sum.saturating_add(v))),
        };
        let Some(value) = value else { continue };
        match index.get(s.pod.as_str()) {
            Some(&i) => {
                info.per_pod[i] =
                    Some(PodMetric { value, timestamp: s.timestamp, window: s.window })
            }
            None => info.extras.push(value),
        }
    }
    info
}

/// Per-pod custom metric samples as `PodMetricsInfo`.
pub fn custom_metrics(
    samples: &[CustomSample],
    index: &HashMap<&str, usize>,
    pod_count: usize,
) -> MetricsInfo {
    let mut info = MetricsInfo { per_pod: vec![None; pod_count], extras: Vec::new() };
    for s in samples {
        let m = PodMetric { value: s.value, timestamp: s.timestamp, window: s.window };
        match index.get(s.pod.as_str()) {
            Some(&i) => info.per_pod[i] = Some(m),
            None => info.extras.push(s.value),
        }
    }
    info
}

/// `calculateRequests`: per pod, the pod-level request if set (and no container is named),
/// else the named container's request, else the sum over containers and restartable init
/// containers. Any container without a request is an error.
pub fn calculate_requests(
    pods: &[Pod],
    container: Option<&str>,
    resource: &str,
) -> Result<Vec<i64>, MetricError> {
    pods.iter()
        .map(|pod| {
            // Pod-level requests (KEP-2837) win unless a container is named.
            let pod_level = pod.pod_requests.iter().find(|(r, _)| r == resource);
            if let (None, Some((_, v))) = (container, pod_level) {
                return Ok(*v);
            }
            let mut sum = 0i64;
            for c in &pod.containers {
                if container.is_none() || container == Some(c.name.as_str()) {
                    let Some(v) = c.request(resource) else {
                        return Err(MetricError::new(format!(
                            "missing request for {resource} in container {} of Pod {}",
                            c.name, pod.name
                        )));
                    };
                    sum = sum.saturating_add(v);
                }
                if container == Some(c.name.as_str()) {
                    return Ok(sum);
                }
            }
            match container {
                Some(name) => {
                    Err(MetricError::new(format!("container {name} not found in Pod {}", pod.name)))
                }
                None => Ok(sum),
            }
        })
        .collect()
}

/// `GetResourceUtilizationRatio`: `util = trunc(100 x sum(usage) / sum(request))` over pods
/// with both, clamped to int32; the ratio divides that integer by the target. Summed in
/// i128 so huge values cannot wrap.
pub fn resource_utilization_ratio(
    metrics: &MetricsInfo,
    requests: &[i64],
    target_utilization: i32,
) -> Result<(f64, i32, i64), MetricError> {
    let mut metrics_total = 0i128;
    let mut requests_total = 0i128;
    let mut entries = 0i128;
    for (i, m) in metrics.per_pod.iter().enumerate() {
        if let Some(m) = m {
            metrics_total += i128::from(m.value);
            requests_total += i128::from(requests[i]);
            entries += 1;
        }
    }
    if requests_total == 0 {
        return Err(MetricError::new("no metrics returned matched known pods"));
    }
    let percent = metrics_total * 100 / requests_total;
    let utilization = percent.clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32;
    let raw = saturate_i64(metrics_total / entries);
    Ok((f64::from(utilization) / f64::from(target_utilization), utilization, raw))
}

/// `GetMetricUsageRatio`: integer average of every sample (extras included), then a float
/// ratio to the target.
pub fn metric_usage_ratio(metrics: &MetricsInfo, target_usage: i64) -> (f64, i64) {
    let total: i128 = metrics.per_pod.iter().flatten().map(|m| i128::from(m.value)).sum::<i128>()
        + metrics.extras.iter().map(|&v| i128::from(v)).sum::<i128>();
    let usage = saturate_i64(total / metrics.len().max(1) as i128);
    (usage as f64 / target_usage as f64, usage)
}

pub(super) fn saturate_i64(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}
