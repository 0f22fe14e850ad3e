//! The replica calculator (`replica_calculator.go` and `metrics/utilization.go`): one
//! proposal per metric from pods and samples. Pod grouping (ready / unready / missing /
//! ignored), the CPU initialisation and readiness-delay rules, requests summed over
//! containers (or one container, or the pod-level request), integer-percent utilisation, the
//! "0 % on scale-up, max(100 %, target) on scale-down" rebalancing with its direction guards,
//! and the Object / External paths. Float operations follow the Go code's order so every
//! `ceil` lands on the same side.

use super::metrics::saturate_i64;
pub use super::metrics::{
    MetricsInfo, PodMetric, calculate_requests, custom_metrics, metric_usage_ratio, pod_index,
    resource_metrics, resource_utilization_ratio,
};
use super::model::{ConditionStatus, Pod, PodSample};
use crate::policy::{PodPhase, Time};

/// Scale-up and scale-down tolerances (`Tolerances{scaleDown, scaleUp}` upstream).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    pub scale_down: f64,
    pub scale_up: f64,
}

impl Tolerances {
    pub fn symmetric(t: f64) -> Self {
        Self { scale_down: t, scale_up: t }
    }

    /// The newest rule (KEP-4951): no change while `1 - down <= ratio <= 1 + up`. At exactly
    /// 110 % of target with 0.1 this is "within" (the old `|1 - ratio| <= 0.1` said outside).
    pub fn is_within(&self, ratio: f64) -> bool {
        (1.0 - self.scale_down) <= ratio && ratio <= (1.0 + self.scale_up)
    }
}

/// A calculator error: the upstream message, and the condition reason it leads to.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct MetricError {
    pub message: String,
}

impl MetricError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

/// What one metric proposes.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub replicas: i32,
    /// Integer percent of requests (utilisation targets only).
    pub utilization: Option<i32>,
    /// Raw average (resource and pods metrics) or total / per-pod usage, in milli-units.
    pub usage: i64,
    /// Timestamp of the first sample, when the source has one.
    pub timestamp: Option<Time>,
    /// How the pods were grouped (per-pod metrics only).
    pub groups: Option<GroupCounts>,
    /// Which branch of the calculator decided, in words.
    pub rule: String,
}

/// Sizes of the pod groups, for explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupCounts {
    pub ready: usize,
    pub unready: usize,
    pub missing: usize,
    pub ignored: usize,
}

/// The indices of pods in each group, as `groupPods` returns them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodGroups {
    pub ready_count: usize,
    pub unready: Vec<usize>,
    pub missing: Vec<usize>,
    pub ignored: Vec<usize>,
}

impl PodGroups {
    pub fn counts(&self) -> GroupCounts {
        GroupCounts {
            ready: self.ready_count,
            unready: self.unready.len(),
            missing: self.missing.len(),
            ignored: self.ignored.len(),
        }
    }
}

/// Bundles the controller's pod-readiness settings (kube-controller-manager flags).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplicaCalculator {
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (5 min).
    pub cpu_initialization_period: f64,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30 s).
    pub delay_of_initial_readiness_status: f64,
}

impl Default for ReplicaCalculator {
    fn default() -> Self {
        Self { cpu_initialization_period: 300.0, delay_of_initial_readiness_status: 30.0 }
    }
}

impl ReplicaCalculator {
    /// `groupPods`. Deleted or failed pods are ignored; pending pods are unready; pods
    /// without a sample are missing. Only for CPU: a pod is also unready while it has no
    /// full metric window since it became ready within its initialisation period, or when it
    /// never became ready (its Ready=False transition came within the readiness delay).
    pub fn group_pods(
        &self,
        pods: &[Pod],
        metrics: &MetricsInfo,
        resource: &str,
        now: Time,
    ) -> PodGroups {
        let mut g = PodGroups::default();
        for (i, pod) in pods.iter().enumerate() {
            if pod.deleting || pod.phase == PodPhase::Failed {
                g.ignored.push(i);
                continue;
            }
            if pod.phase == PodPhase::Pending {
                g.unready.push(i);
                continue;
            }
            let Some(metric) = metrics.per_pod[i] else {
                g.missing.push(i);
                continue;
            };
            if resource == "cpu" {
                let unready = match (pod.ready, pod.start_time) {
                    (Some(cond), Some(start)) => {
                        if start + self.cpu_initialization_period > now {
                            cond.status == ConditionStatus::False
                                || metric.timestamp < cond.last_transition + metric.window
                        } else {
                            cond.status == ConditionStatus::False
                                && start + self.delay_of_initial_readiness_status
                                    > cond.last_transition
                        }
                    }
                    _ => true,
                };
                if unready {
                    g.unready.push(i);
                    continue;
                }
            }
            g.ready_count += 1;
        }
        g
    }

    /// `GetResourceReplicas`: a utilisation target in percent of requests.
    #[allow(clippy::too_many_arguments)]
    pub fn resource_replicas(
        &self,
        current_replicas: i32,
        target_utilization: i32,
        resource: &str,
        container: Option<&str>,
        tolerances: Tolerances,
        pods: &[Pod],
        samples: &[PodSample],
        now: Time,
    ) -> Result<Proposal, MetricError> {
        if samples.is_empty() {
            return Err(MetricError::new(format!(
                "unable to get metrics for resource {resource}: no metrics returned from resource metrics API"
            )));
        }
        let timestamp = samples[0].timestamp;
        if pods.is_empty() {
            return Err(no_pods());
        }
        let index = pod_index(pods);
        let mut metrics = resource_metrics(samples, &index, pods.len(), resource, container);
        let groups = self.group_pods(pods, &metrics, resource, now);
        metrics.remove(&groups.ignored);
        metrics.remove(&groups.unready);
        if metrics.is_empty() {
            return Err(MetricError::new(
                "did not receive metrics for targeted pods (pods might be unready)",
            ));
        }
        let requests = calculate_requests(pods, container, resource)?;
        let (ratio, utilization, raw) =
            resource_utilization_ratio(&metrics, &requests, target_utilization)?;
        let proposal = |replicas: i32, rule: String| Proposal {
            replicas,
            utilization: Some(utilization),
            usage: raw,
            timestamp: Some(timestamp),
            groups: Some(groups.counts()),
            rule,
        };

        let scale_up_with_unready = !groups.unready.is_empty() && ratio > 1.0;
        if !scale_up_with_unready && groups.missing.is_empty() {
            if tolerances.is_within(ratio) {
                return Ok(proposal(current_replicas, within(ratio, tolerances)));
            }
            let n = ceil_i32(ratio * groups.ready_count as f64);
            return Ok(proposal(n, format!("ceil({ratio} x {} ready pods)", groups.ready_count)));
        }

        if !groups.missing.is_empty() {
            if ratio < 1.0 {
                // Scale-down: a missing pod is assumed at 100 % of its request, or at the
                // target when that is higher (so it never argues for shrinking).
                let fallback = i64::from(target_utilization.max(100));
                metrics.set(&groups.missing, |i| {
                    saturate_i64(i128::from(requests[i]) * i128::from(fallback) / 100)
                });
            } else if ratio > 1.0 {
                metrics.set(&groups.missing, |_| 0);
            }
        }
        if scale_up_with_unready {
            metrics.set(&groups.unready, |_| 0);
        }
        let (new_ratio, _, _) =
            resource_utilization_ratio(&metrics, &requests, target_utilization)?;
        rebalanced(current_replicas, ratio, new_ratio, metrics.len(), tolerances)
            .map(|(n, rule)| proposal(n, rule))
    }

    /// `GetRawResourceReplicas` / `GetMetricReplicas` (`calcPlainMetricReplicas`): an
    /// average-value target over per-pod samples. `resource` is the resource name for
    /// resource metrics (CPU readiness rules apply) and "" for Pods metrics.
    #[allow(clippy::too_many_arguments)]
    pub fn plain_replicas(
        &self,
        current_replicas: i32,
        target_usage: i64,
        resource: &str,
        tolerances: Tolerances,
        pods: &[Pod],
        mut metrics: MetricsInfo,
        timestamp: Option<Time>,
        now: Time,
    ) -> Result<Proposal, MetricError> {
        if pods.is_empty() {
            return Err(no_pods());
        }
        let groups = self.group_pods(pods, &metrics, resource, now);
        metrics.remove(&groups.ignored);
        metrics.remove(&groups.unready);
        if metrics.is_empty() {
            return Err(MetricError::new(
                "did not receive metrics for targeted pods (pods might be unready)",
            ));
        }
        let (ratio, usage) = metric_usage_ratio(&metrics, target_usage);
        let proposal = |replicas: i32, rule: String| Proposal {
            replicas,
            utilization: None,
            usage,
            timestamp,
            groups: Some(groups.counts()),
            rule,
        };
        let scale_up_with_unready = !groups.unready.is_empty() && ratio > 1.0;
        if !scale_up_with_unready && groups.missing.is_empty() {
            if tolerances.is_within(ratio) {
                return Ok(proposal(current_replicas, within(ratio, tolerances)));
            }
            let n = ceil_i32(ratio * groups.ready_count as f64);
            return Ok(proposal(n, format!("ceil({ratio} x {} ready pods)", groups.ready_count)));
        }
        if !groups.missing.is_empty() {
            if ratio < 1.0 {
                // Scale-down: a missing pod is assumed exactly at the target.
                metrics.set(&groups.missing, |_| target_usage);
            } else if ratio > 1.0 {
                metrics.set(&groups.missing, |_| 0);
            }
        }
        if scale_up_with_unready {
            metrics.set(&groups.unready, |_| 0);
        }
        let (new_ratio, _) = metric_usage_ratio(&metrics, target_usage);
        rebalanced(current_replicas, ratio, new_ratio, metrics.len(), tolerances)
            .map(|(n, rule)| proposal(n, rule))
    }
}

/// `GetObjectMetricReplicas` / `GetExternalMetricReplicas` (`getUsageRatioReplicaCount`):
/// a `Value` target; the ratio multiplies the Running and Ready pods. From zero replicas the
/// result is `ceil(ratio)` with no tolerance, so a target can scale from zero.
pub fn value_replicas(
    current_replicas: i32,
    usage: i64,
    target: i64,
    tolerances: Tolerances,
    pods: &[Pod],
) -> Result<Proposal, MetricError> {
    let ratio = usage as f64 / target as f64;
    let mut p = Proposal {
        replicas: current_replicas,
        utilization: None,
        usage,
        timestamp: None,
        groups: None,
        rule: String::new(),
    };
    if current_replicas != 0 {
        if tolerances.is_within(ratio) {
            p.rule = within(ratio, tolerances);
            return Ok(p);
        }
        if pods.is_empty() {
            return Err(MetricError::new(format!("unable to calculate ready pods: {}", no_pods())));
        }
        let ready = pods.iter().filter(|p| p.phase == PodPhase::Running && p.is_ready()).count();
        p.replicas = ceil_i32(ratio * ready as f64);
        p.rule = format!("ceil({ratio} x {ready} running and ready pods)");
    } else {
        p.replicas = ceil_i32(ratio);
        p.rule = format!("from zero replicas: ceil({ratio})");
    }
    Ok(p)
}

/// `GetObjectPerPodMetricReplicas` / `GetExternalPerPodMetricReplicas`: an `AverageValue`
/// target over `status.replicas`; outside tolerance the answer is `ceil(usage / target)`.
pub fn average_value_replicas(
    status_replicas: i32,
    usage: i64,
    target_per_pod: i64,
    tolerances: Tolerances,
) -> Proposal {
    let ratio = usage as f64 / (target_per_pod as f64 * f64::from(status_replicas));
    let (replicas, rule) = if tolerances.is_within(ratio) {
        (status_replicas, within(ratio, tolerances))
    } else {
        let q = usage as f64 / target_per_pod as f64;
        (ceil_i32(q), format!("ceil({usage} / {target_per_pod} per pod)"))
    };
    // The per-pod usage reported in the status saturates at MaxInt64.
    let per_pod = if usage as f64 >= i64::MAX as f64 {
        i64::MAX
    } else {
        (usage as f64 / f64::from(status_replicas)).ceil() as i64
    };
    Proposal { replicas, utilization: None, usage: per_pod, timestamp: None, groups: None, rule }
}

/// Sums external metric values, saturating at MaxInt64 like the newest upstream code.
pub fn sum_saturating(values: &[i64]) -> i64 {
    values.iter().fold(0i64, |a, &v| a.saturating_add(v))
}

/// The second half of both per-pod paths: after filling in missing and unready pods, keep
/// the current count when the change is small or would flip direction.
fn rebalanced(
    current: i32,
    ratio: f64,
    new_ratio: f64,
    count: usize,
    tolerances: Tolerances,
) -> Result<(i32, String), MetricError> {
    if tolerances.is_within(new_ratio) {
        return Ok((
            current,
            format!("rebalanced ratio {new_ratio}: {}", within(new_ratio, tolerances)),
        ));
    }
    if (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0) {
        return Ok((
            current,
            format!(
                "rebalancing flipped the direction (ratio {ratio} -> {new_ratio}): keep current"
            ),
        ));
    }
    let n = ceil_i32(new_ratio * count as f64);
    if (new_ratio < 1.0 && n > current) || (new_ratio > 1.0 && n < current) {
        return Ok((
            current,
            format!("ceil({new_ratio} x {count}) = {n} moves against the ratio: keep current"),
        ));
    }
    Ok((n, format!("rebalanced: ceil({new_ratio} x {count} pods)")))
}

fn within(ratio: f64, t: Tolerances) -> String {
    format!(
        "ratio {ratio} within tolerance [{}, {}]: keep current",
        1.0 - t.scale_down,
        1.0 + t.scale_up
    )
}

fn no_pods() -> MetricError {
    MetricError::new("no pods returned by selector while calculating replica count")
}

/// `int32(math.Ceil(x))`, saturating instead of wrapping (NaN gives 0).
pub fn ceil_i32(x: f64) -> i32 {
    x.ceil() as i32
}
