//! One sync of the HPA controller (`reconcileAutoscaler` and `computeReplicasForMetrics` in
//! `horizontal.go`), pure: the current scale, min/max short-cuts, one proposal per metric
//! and the max over them (invalid metrics may block a scale-down, never a scale-up), then
//! normalisation, the conditions the controller sets and a sentence saying which rule
//! decided. The history is the controller's memory and is updated in place.

use super::history::History;
use super::model::{HpaSpec, MetricData, MetricSpec, Pod, Target};
use super::normalize::{self, BehaviorArgs, Normalized};
use super::replicas::{self, MetricError, Proposal, ReplicaCalculator, Tolerances};
use crate::policy::Time;

/// kube-controller-manager's HPA flags.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// `--horizontal-pod-autoscaler-tolerance`.
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-downscale-stabilization`, seconds.
    pub downscale_stabilization: f64,
    pub calculator: ReplicaCalculator,
}

impl Default for Config {
    fn default() -> Self {
        Self { tolerance: 0.1, downscale_stabilization: 300.0, calculator: Default::default() }
    }
}

/// The scale subresource as the controller reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    /// `spec.replicas`: "current" for resource and pods metrics and for normalisation.
    pub spec_replicas: i32,
    /// `status.replicas`: what per-pod Object and External targets divide by.
    pub status_replicas: i32,
}

/// What one metric proposed, or why it could not.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricOutcome {
    pub spec: MetricSpec,
    pub result: Result<Proposal, MetricError>,
    /// The `ScalingActive` reason this metric's failure would set.
    pub failure_reason: &'static str,
}

/// An HPA status condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub kind: &'static str,
    pub status: bool,
    pub reason: String,
    pub message: String,
}

/// The result of one sync.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub current_replicas: i32,
    pub desired_replicas: i32,
    /// The max over valid metric proposals (before normalisation), if metrics were read.
    pub metric_replicas: Option<i32>,
    pub metrics: Vec<MetricOutcome>,
    pub normalized: Option<Normalized>,
    pub conditions: Vec<Condition>,
    /// The controller would update the scale.
    pub rescale: bool,
    /// Which rule decided, in words.
    pub explanation: String,
}

/// Runs one sync at `now`. `history` is read and updated as the controller would.
pub fn reconcile(
    config: &Config,
    spec: &HpaSpec,
    pods: &[Pod],
    data: &MetricData,
    scale: Scale,
    now: Time,
    history: &mut History,
) -> Outcome {
    let current = scale.spec_replicas;
    history.record_initial(current, now);
    let mut out = Outcome {
        current_replicas: current,
        desired_replicas: current,
        metric_replicas: None,
        metrics: Vec::new(),
        normalized: None,
        conditions: Vec::new(),
        rescale: false,
        explanation: String::new(),
    };
    set(
        &mut out,
        "AbleToScale",
        true,
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale".into(),
    );
    let min = spec.min_replicas;
    if current == 0 && min != 0 {
        set(
            &mut out,
            "ScalingActive",
            false,
            "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero".into(),
        );
        out.desired_replicas = 0;
        out.explanation =
            "the target has 0 replicas and minReplicas is not 0: autoscaling is disabled".into();
        return out;
    }
    let desired = if current > spec.max_replicas {
        out.explanation =
            format!("current replicas {current} above maxReplicas: scale to {}", spec.max_replicas);
        spec.max_replicas
    } else if current < min {
        out.explanation = format!("current replicas {current} below minReplicas: scale to {min}");
        min
    } else {
        match compute_for_metrics(config, spec, pods, data, scale, now, &mut out, history) {
            Some(d) => d,
            None => return out,
        }
    };
    out.desired_replicas = desired;
    out.rescale = desired != current;
    if out.rescale {
        set(
            &mut out,
            "AbleToScale",
            true,
            "SucceededRescale",
            format!("the HPA controller was able to update the target scale to {desired}"),
        );
        if let Some(b) = &spec.behavior {
            history.store_scale_event(
                b.scale_up.longest_policy_period(),
                b.scale_down.longest_policy_period(),
                current,
                desired,
                now,
            );
        }
        out.explanation.push_str(&format!("; scale {current} -> {desired}"));
    } else {
        out.explanation.push_str(&format!("; stay at {current}"));
    }
    out
}

/// `computeReplicasForMetrics` plus normalisation; `None` when the invalid metrics forbid
/// any change (all invalid, or some invalid and the valid ones would scale down).
#[allow(clippy::too_many_arguments)]
fn compute_for_metrics(
    config: &Config,
    spec: &HpaSpec,
    pods: &[Pod],
    data: &MetricData,
    scale: Scale,
    now: Time,
    out: &mut Outcome,
    history: &mut History,
) -> Option<i32> {
    let tolerances = tolerances(config, spec);
    let mut replicas = 0i32;
    let mut chosen: Option<usize> = None;
    let mut first_invalid: Option<usize> = None;
    let mut invalid = 0usize;
    for (i, m) in spec.metrics.iter().enumerate() {
        let outcome = compute_metric(config, m, pods, data, scale, tolerances, now);
        match &outcome.result {
            Ok(p) => {
                if replicas == 0 || p.replicas > replicas {
                    replicas = p.replicas;
                    chosen = Some(i);
                }
            }
            Err(_) => {
                invalid += 1;
                first_invalid.get_or_insert(i);
            }
        }
        out.metrics.push(outcome);
    }
    if invalid >= spec.metrics.len() || (invalid > 0 && replicas < scale.spec_replicas) {
        let first = &out.metrics[first_invalid.unwrap_or(0)];
        let message = match &first.result {
            Err(e) => format!("the HPA was unable to compute the replica count: {e}"),
            Ok(_) => String::new(),
        };
        let reason = first.failure_reason;
        set(out, "ScalingActive", false, reason, message);
        out.explanation = if invalid >= spec.metrics.len() {
            format!("no metric could be computed ({invalid} invalid): no change")
        } else {
            format!(
                "{invalid} of {} metrics invalid and the valid ones propose {replicas} < {}: \
                 an invalid metric may block a scale-down, so no change",
                spec.metrics.len(),
                scale.spec_replicas
            )
        };
        return None;
    }
    let chosen_name = chosen.map(|i| out.metrics[i].spec.describe()).unwrap_or_default();
    set(
        out,
        "ScalingActive",
        true,
        "ValidMetricFound",
        format!("the HPA was able to successfully calculate a replica count from {chosen_name}"),
    );
    out.metric_replicas = Some(replicas);
    let mut text = match chosen.and_then(|i| out.metrics[i].result.as_ref().ok()) {
        Some(p) => format!("{chosen_name} proposes {} ({})", p.replicas, p.rule),
        None => String::new(),
    };
    if invalid > 0 {
        text.push_str(&format!(
            " ({invalid} invalid metric(s) ignored: they never block a scale-up)"
        ));
    }
    let desired = replicas.max(0);
    let current = scale.spec_replicas;
    let n = normalize(config, spec, history, current, desired, now);
    set(out, "AbleToScale", true, n.able_to_scale.reason, n.able_to_scale.message.into());
    let limited = n.replicas != n.stabilized;
    set(out, "ScalingLimited", limited, n.scaling_limited.reason, n.scaling_limited.message.into());
    text.push_str(&match &spec.behavior {
        None => format!(
            "; legacy path (no behavior): downscale stabilisation {}s",
            config.downscale_stabilization
        ),
        Some(b) => format!(
            "; behavior path: stabilisation windows up {}s / down {}s",
            b.scale_up.stabilization_window_seconds.unwrap_or(0),
            b.scale_down
                .stabilization_window_seconds
                .unwrap_or(config.downscale_stabilization as i32)
        ),
    });
    if n.stabilized != desired {
        text.push_str(&format!(" -> {} ({})", n.stabilized, n.able_to_scale.reason));
    } else {
        text.push_str(&format!(" -> {} (unchanged)", n.stabilized));
    }
    text.push_str(&format!(
        "; limits [{}, {}]: {} ({})",
        spec.min_replicas, spec.max_replicas, n.replicas, n.scaling_limited.reason
    ));
    let result = n.replicas;
    out.normalized = Some(n);
    out.explanation = text;
    Some(result)
}

/// The tolerances for this HPA: per-direction `behavior` tolerances override the flag.
pub fn tolerances(config: &Config, spec: &HpaSpec) -> Tolerances {
    let mut t = Tolerances::symmetric(config.tolerance);
    if let Some(b) = &spec.behavior {
        if let Some(up) = b.scale_up.tolerance {
            t.scale_up = up;
        }
        if let Some(down) = b.scale_down.tolerance {
            t.scale_down = down;
        }
    }
    t
}

/// `computeReplicasForMetric` for one metric spec.
fn compute_metric(
    config: &Config,
    spec: &MetricSpec,
    pods: &[Pod],
    data: &MetricData,
    scale: Scale,
    tolerances: Tolerances,
    now: Time,
) -> MetricOutcome {
    let calc = &config.calculator;
    let current = scale.spec_replicas;
    let (failure_reason, result) = match spec {
        MetricSpec::Resource { name, container, target } => {
            let reason = if container.is_some() {
                "FailedGetContainerResourceMetric"
            } else {
                "FailedGetResourceMetric"
            };
            let c = container.as_deref();
            let result = match *target {
                Target::Utilization(u) => calc.resource_replicas(
                    current,
                    u,
                    name,
                    c,
                    tolerances,
                    pods,
                    &data.pod_metrics,
                    now,
                ),
                Target::AverageValue(v) => {
                    if data.pod_metrics.is_empty() {
                        Err(MetricError::new(format!(
                            "unable to get metrics for resource {name}: no metrics returned from resource metrics API"
                        )))
                    } else {
                        let index = replicas::pod_index(pods);
                        let info = replicas::resource_metrics(
                            &data.pod_metrics,
                            &index,
                            pods.len(),
                            name,
                            c,
                        );
                        let ts = data.pod_metrics.first().map(|s| s.timestamp);
                        calc.plain_replicas(current, v, name, tolerances, pods, info, ts, now)
                    }
                }
                Target::Value(_) => Err(MetricError::new(
                    "invalid resource metric source: neither an average utilization target nor an average value target was set",
                )),
            };
            (
                reason,
                result.map_err(|e| {
                    MetricError::new(format!("failed to get {name} utilization: {e}"))
                }),
            )
        }
        MetricSpec::Pods { metric, target_average } => {
            let samples = data.pods.iter().find(|(n, _)| n == metric).map(|(_, s)| s.as_slice());
            let result = match samples {
                Some(s) if !s.is_empty() => {
                    let index = replicas::pod_index(pods);
                    let info = replicas::custom_metrics(s, &index, pods.len());
                    calc.plain_replicas(
                        current,
                        *target_average,
                        "",
                        tolerances,
                        pods,
                        info,
                        Some(s[0].timestamp),
                        now,
                    )
                }
                _ => Err(MetricError::new(format!(
                    "unable to get metric {metric}: no metrics returned from custom metrics API"
                ))),
            };
            (
                "FailedGetPodsMetric",
                result
                    .map_err(|e| MetricError::new(format!("failed to get pods metric value: {e}"))),
            )
        }
        MetricSpec::Object { metric, target, .. } => {
            let value = data.objects.iter().find(|(n, _)| n == metric).map(|(_, v)| *v);
            let result = match (value, *target) {
                (None, _) => Err(MetricError::new(format!(
                    "unable to get metric {metric}: no value for the described object"
                ))),
                (Some(v), Target::Value(t)) => {
                    replicas::value_replicas(current, v, t, tolerances, pods)
                }
                (Some(v), Target::AverageValue(t)) => {
                    Ok(replicas::average_value_replicas(scale.status_replicas, v, t, tolerances))
                }
                (Some(_), Target::Utilization(_)) => Err(MetricError::new(
                    "invalid object metric source: neither a value target nor an average value target was set",
                )),
            };
            (
                "FailedGetObjectMetric",
                result.map_err(|e| {
                    MetricError::new(format!("failed to get object metric value: {e}"))
                }),
            )
        }
        MetricSpec::External { metric, target } => {
            let values = data.external.iter().find(|(n, _)| n == metric).map(|(_, v)| v.as_slice());
            let result = match (values, *target) {
                (None, _) | (Some([]), _) => Err(MetricError::new(format!(
                    "unable to get external metric {metric}: no metrics returned from external metrics API"
                ))),
                (Some(v), Target::Value(t)) => replicas::value_replicas(
                    current,
                    replicas::sum_saturating(v),
                    t,
                    tolerances,
                    pods,
                ),
                (Some(v), Target::AverageValue(t)) => Ok(replicas::average_value_replicas(
                    scale.status_replicas,
                    replicas::sum_saturating(v),
                    t,
                    tolerances,
                )),
                (Some(_), Target::Utilization(_)) => Err(MetricError::new(
                    "invalid external metric source: neither a value target nor an average value target was set",
                )),
            };
            (
                "FailedGetExternalMetric",
                result.map_err(|e| {
                    MetricError::new(format!("failed to get external metric value: {e}"))
                }),
            )
        }
    };
    MetricOutcome { spec: spec.clone(), result, failure_reason }
}

/// `setCondition`: replaces the condition of the same type or appends it.
fn set(out: &mut Outcome, kind: &'static str, status: bool, reason: &str, message: String) {
    let c = Condition { kind, status, reason: reason.to_string(), message };
    match out.conditions.iter_mut().find(|x| x.kind == kind) {
        Some(x) => *x = c,
        None => out.conditions.push(c),
    }
}

/// Normalises `desired` through the path the spec selects.
pub fn normalize(
    config: &Config,
    spec: &HpaSpec,
    history: &mut History,
    current: i32,
    desired: i32,
    now: Time,
) -> Normalized {
    match &spec.behavior {
        None => normalize::legacy(
            history,
            current,
            desired,
            spec.min_replicas,
            spec.max_replicas,
            config.downscale_stabilization,
            now,
        ),
        Some(b) => normalize::with_behavior(
            history,
            BehaviorArgs {
                scale_up: &b.scale_up,
                scale_down: &b.scale_down,
                default_down_window: config.downscale_stabilization as i32,
                min: spec.min_replicas,
                max: spec.max_replicas,
                current,
                desired,
            },
            now,
        ),
    }
}
