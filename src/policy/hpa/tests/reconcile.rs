//! Whole syncs (`reconcileAutoscaler`): the issue's examples, the invalid-metric rule
//! (`TestScaleUpOneMetricEmpty`, `TestNoScaleDownOneMetricInvalid`,
//! `TestNoScaleDownOneMetricEmpty`), min/max short-cuts, the behavior path with its scale
//! events, and `HpaPolicy` over an `Observation`.

use crate::policy::hpa::controller::{Config, Scale, reconcile};
use crate::policy::hpa::history::{History, Recommendation};
use crate::policy::hpa::model::{
    Behavior, ConditionStatus, ContainerRequests, HpaSpec, MetricData, MetricSpec, Pod, PodSample,
    ReadyCondition, Target,
};
use crate::policy::hpa::policy::HpaPolicy;
use crate::policy::{Observation, PodObservation, PodPhase, Policy};

const NOW: f64 = 1_700_000_000.0;

fn cpu(target: i32) -> MetricSpec {
    MetricSpec::Resource {
        name: "cpu".into(),
        container: None,
        target: Target::Utilization(target),
    }
}

fn spec(min: i32, max: i32, metrics: Vec<MetricSpec>) -> HpaSpec {
    HpaSpec { min_replicas: min, max_replicas: max, metrics, behavior: None }
}

/// Pods started 10 min ago, ready for 9 min, one container requesting `request` millicores.
fn pods(n: usize, request: i64) -> Vec<Pod> {
    (0..n)
        .map(|i| Pod {
            name: format!("web-{i}"),
            phase: PodPhase::Running,
            deleting: false,
            ready: Some(ReadyCondition {
                status: ConditionStatus::True,
                last_transition: NOW - 540.0,
            }),
            start_time: Some(NOW - 600.0),
            containers: vec![ContainerRequests {
                name: "app".into(),
                requests: vec![("cpu".into(), request)],
            }],
            pod_requests: vec![],
        })
        .collect()
}

fn usage(levels: &[i64]) -> MetricData {
    MetricData {
        pod_metrics: levels
            .iter()
            .enumerate()
            .map(|(i, &v)| PodSample {
                pod: format!("web-{i}"),
                timestamp: NOW - 10.0,
                window: 30.0,
                containers: vec![ContainerRequests {
                    name: "app".into(),
                    requests: vec![("cpu".into(), v)],
                }],
            })
            .collect(),
        ..MetricData::default()
    }
}

fn scale(n: i32) -> Scale {
    Scale { spec_replicas: n, status_replicas: n }
}

fn condition<'a>(
    o: &'a crate::policy::hpa::Outcome,
    kind: &str,
) -> &'a crate::policy::hpa::Condition {
    o.conditions
        .iter()
        .find(|c| c.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} in {:?}", o.conditions))
}

#[test]
fn issue_example_three_pods_at_20_percent_of_a_30_percent_target() {
    let s = spec(1, 10, vec![cpu(30)]);
    let (p, d) = (pods(3, 1000), usage(&[200, 200, 200]));
    // A controller that never saw this HPA remembers 3 and holds the scale-down.
    let mut fresh = History::default();
    let o = reconcile(&Config::default(), &s, &p, &d, scale(3), NOW, &mut fresh);
    let proposal = o.metrics[0].result.as_ref().unwrap();
    assert_eq!((proposal.replicas, proposal.utilization, proposal.usage), (2, Some(20), 200));
    assert_eq!((o.metric_replicas, o.desired_replicas), (Some(2), 3));
    assert_eq!(condition(&o, "AbleToScale").reason, "ScaleDownStabilized");
    // With only recommendations older than the 300 s window, 2 is applied.
    let mut old = History {
        recommendations: Some(vec![Recommendation { replicas: 3, timestamp: NOW - 301.0 }]),
        ..History::default()
    };
    let o = reconcile(&Config::default(), &s, &p, &d, scale(3), NOW, &mut old);
    assert_eq!((o.desired_replicas, o.rescale), (2, true));
    assert_eq!(condition(&o, "AbleToScale").reason, "SucceededRescale");
    assert_eq!(old.recommendations().len(), 1, "the expired slot is reused");
}

#[test]
fn issue_example_one_never_ready_pod_counts_as_zero_on_scale_up() {
    let s = spec(1, 10, vec![cpu(50)]);
    let mut p = pods(4, 1000);
    // Started 10 min ago, turned Ready=False 5 s after start, never ready since.
    p[3].ready =
        Some(ReadyCondition { status: ConditionStatus::False, last_transition: NOW - 595.0 });
    let d = usage(&[1000, 1000, 1000, 900]);
    let o = reconcile(&Config::default(), &s, &p, &d, scale(4), NOW, &mut History::default());
    let proposal = o.metrics[0].result.as_ref().unwrap();
    assert_eq!(proposal.utilization, Some(100), "the unready pod's sample is left out");
    assert_eq!(proposal.groups.unwrap().unready, 1);
    // Rebalanced: (3000 + 0) / 4000 = 75 % of a 50 % target -> ceil(1.5 x 4) = 6.
    assert!(proposal.rule.starts_with("rebalanced"), "{}", proposal.rule);
    assert_eq!((proposal.replicas, o.desired_replicas), (6, 6));
}

#[test]
fn issue_example_exactly_110_percent_does_not_scale() {
    let s = spec(1, 10, vec![cpu(100)]);
    let o = reconcile(
        &Config::default(),
        &s,
        &pods(3, 1000),
        &usage(&[1100, 1100, 1100]),
        scale(3),
        NOW,
        &mut History::default(),
    );
    assert_eq!(o.metrics[0].result.as_ref().unwrap().utilization, Some(110));
    assert_eq!((o.desired_replicas, o.rescale), (3, false));
}

#[test]
fn test_scale_up_one_metric_empty() {
    let external = MetricSpec::External { metric: "qps".into(), target: Target::Value(100) };
    let s = spec(2, 6, vec![cpu(30), external]);
    let o = reconcile(
        &Config::default(),
        &s,
        &pods(3, 1000),
        &usage(&[300, 400, 500]),
        scale(3),
        NOW,
        &mut History::default(),
    );
    assert_eq!(o.desired_replicas, 4, "an invalid metric never blocks a scale-up");
    assert!(o.metrics[1].result.is_err());
    assert_eq!(condition(&o, "ScalingActive").reason, "ValidMetricFound");
}

#[test]
fn test_no_scale_down_one_metric_invalid_and_empty() {
    let five = usage(&[100, 300, 500, 250, 250]);
    let external = MetricSpec::External { metric: "qps".into(), target: Target::Value(1000) };
    let pods_metric = MetricSpec::Pods { metric: "missing".into(), target_average: 1000 };
    for (name, extra, reason) in [
        ("TestNoScaleDownOneMetricEmpty", external, "FailedGetExternalMetric"),
        ("TestNoScaleDownOneMetricInvalid", pods_metric, "FailedGetPodsMetric"),
    ] {
        let s = spec(2, 6, vec![cpu(50), extra]);
        let mut h = History { recommendations: Some(vec![]), ..History::default() };
        let o = reconcile(&Config::default(), &s, &pods(5, 1000), &five, scale(5), NOW, &mut h);
        assert_eq!(o.metrics[0].result.as_ref().unwrap().replicas, 3, "{name}");
        assert_eq!((o.desired_replicas, o.rescale), (5, false), "{name}");
        let c = condition(&o, "ScalingActive");
        assert_eq!((c.status, c.reason.as_str()), (false, reason), "{name}");
        assert!(h.recommendations().is_empty(), "{name}: nothing is recorded on failure");
    }
}

#[test]
fn min_max_short_cuts_and_disabled_scaling() {
    let s = spec(2, 4, vec![cpu(50)]);
    let d = usage(&[100; 6]);
    let o = reconcile(
        &Config::default(),
        &s,
        &pods(6, 1000),
        &d,
        scale(6),
        NOW,
        &mut History::default(),
    );
    assert_eq!((o.desired_replicas, o.metrics.len()), (4, 0), "above max: straight to max");
    let o = reconcile(
        &Config::default(),
        &s,
        &pods(1, 1000),
        &d,
        scale(1),
        NOW,
        &mut History::default(),
    );
    assert_eq!(o.desired_replicas, 2, "below min: straight to min");
    let o = reconcile(&Config::default(), &s, &[], &d, scale(0), NOW, &mut History::default());
    assert_eq!(
        (o.desired_replicas, condition(&o, "ScalingActive").reason.as_str()),
        (0, "ScalingDisabled")
    );
}

#[test]
fn behavior_path_limits_scale_up_and_records_events() {
    let mut s = spec(1, 100, vec![cpu(50)]);
    s.behavior = Some(Behavior::default());
    let mut h = History::default();
    // 2 pods at 500 % of request: metrics propose 10; the default policies allow max(+4, x2) = 6.
    let o = reconcile(
        &Config::default(),
        &s,
        &pods(2, 100),
        &usage(&[250, 250]),
        scale(2),
        NOW,
        &mut h,
    );
    assert_eq!((o.metric_replicas, o.desired_replicas), (Some(10), 6));
    assert_eq!(condition(&o, "ScalingLimited").reason, "ScaleUpLimit");
    assert_eq!((h.scale_up_events.len(), h.scale_up_events[0].change), (1, 4));
    // 10 s later, from 6: the +4 made within the 15 s period counts against the budget:
    // period start 2 -> max(2 + 4, 2 x 2) = 6, so no further growth yet.
    let o = reconcile(
        &Config::default(),
        &s,
        &pods(6, 100),
        &usage(&[250; 6]),
        scale(6),
        NOW + 10.0,
        &mut h,
    );
    assert_eq!(o.desired_replicas, 6);
    // 20 s later the period has passed: 6 -> 12.
    let o = reconcile(
        &Config::default(),
        &s,
        &pods(6, 100),
        &usage(&[250; 6]),
        scale(6),
        NOW + 20.0,
        &mut h,
    );
    assert_eq!(o.desired_replicas, 12);
}

#[test]
fn hpa_policy_decides_from_an_observation() {
    let mut policy = HpaPolicy::cpu(50, 1, 10);
    let pod = |i: usize, usage| PodObservation {
        name: format!("p{i}"),
        ready: true,
        ready_transition: Some(NOW - 500.0),
        start_time: Some(NOW - 600.0),
        cpu_request_millis: Some(200),
        cpu_usage_millis: Some(usage),
        metrics_timestamp: Some(NOW - 5.0),
        metrics_window_secs: Some(30.0),
        ..PodObservation::default()
    };
    let obs = Observation {
        spec_replicas: 2,
        ready_replicas: 2,
        pods: vec![pod(0, 200), pod(1, 200)],
        ..Observation::default()
    };
    let d = policy.decide(NOW, &obs);
    assert_eq!(d.desired_replicas, 4, "{}", d.reason);
    assert!(d.reason.contains("cpu resource utilization"), "{}", d.reason);
}
