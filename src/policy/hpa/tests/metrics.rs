//! Pods, Object and External metric cases of `replica_calculator_test.go`, plus
//! `TestGroupPods` and `TestCalculateRequests`.

use super::fixture::*;
use crate::policy::PodPhase;
use crate::policy::hpa::model::{
    ConditionStatus, ContainerRequests, CustomSample, Pod, ReadyCondition, ZERO_TIME,
};
use crate::policy::hpa::replicas::{self, Tolerances, custom_metrics, pod_index};

/// Per-pod custom metric cases: (name, fixture, levels, target, tolerances, replicas, usage).
#[test]
fn test_replica_calc_pods_metric() {
    let up = Tolerances { scale_down: 0.1, scale_up: 0.01 };
    let cases: Vec<(&str, Fx, Vec<i64>, i64, Tolerances, i32, i64)> = vec![
        (
            "TestReplicaCalcScaleUpCM",
            Fx { current: 3, ..Fx::default() },
            vec![20000, 10000, 30000],
            15000,
            tol(),
            4,
            20000,
        ),
        (
            "TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale",
            Fx {
                current: 3,
                readiness: vec![T, T, F],
                start: vec![COOL, COOL, HOT],
                ..Fx::default()
            },
            vec![50000, 10000, 30000],
            15000,
            tol(),
            6,
            30000,
        ),
        (
            "TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown",
            Fx {
                current: 3,
                readiness: vec![F, T, F],
                start: vec![HOT, COOL, HOT],
                ..Fx::default()
            },
            vec![50000, 15000, 30000],
            15000,
            tol(),
            7,
            31666,
        ),
        (
            "TestReplicaCalcScaleDownCM",
            Fx { current: 5, ..Fx::default() },
            vec![12000; 5],
            20000,
            tol(),
            3,
            12000,
        ),
        (
            "TestReplicaCalcToleranceCM",
            Fx { current: 3, ..Fx::default() },
            vec![20000, 21000, 21000],
            20000,
            tol(),
            3,
            20666,
        ),
        (
            "TestReplicaCalcConfigurableToleranceCM",
            Fx { current: 3, ..Fx::default() },
            vec![20000, 21000, 21000],
            20000,
            up,
            4,
            20666,
        ),
        (
            "TestPlainMetricReplicaCalcMissingMetricsNoChangeEq",
            Fx { current: 5, ..Fx::default() },
            vec![20000, 19000, 21000],
            20000,
            tol(),
            5,
            20000,
        ),
        (
            "TestReplicaCalcDuringRollingUpdateWithMaxSurgeCM",
            Fx { current: 2, phase: vec![RUN; 3], ..Fx::default() },
            vec![10000, 10000],
            17000,
            tol(),
            2,
            10000,
        ),
    ];
    for (name, fx, levels, target, t, replicas, usage) in cases {
        let pods = fx.pods();
        let samples: Vec<CustomSample> = levels
            .iter()
            .enumerate()
            .map(|(i, &v)| CustomSample {
                pod: format!("test-pod-{i}"),
                value: v,
                timestamp: ZERO_TIME,
                window: 60.0,
            })
            .collect();
        let info = custom_metrics(&samples, &pod_index(&pods), pods.len());
        let p = calc()
            .plain_replicas(fx.current, target, "", t, &pods, info, Some(ZERO_TIME), NOW)
            .expect(name);
        assert_eq!((p.replicas, p.usage), (replicas, usage), "{name}");
    }
}

/// Object and External metrics: Value targets multiply the Running and Ready pods,
/// AverageValue targets divide by the target per pod.
#[test]
fn test_replica_calc_object_and_external_metrics() {
    let up = Tolerances { scale_down: 0.1, scale_up: 0.01 };
    let max = i64::MAX;
    // (name, current, readiness, usage, target, per-pod?, tolerances, replicas, usage out)
    let cases: Vec<(&str, i32, Vec<ConditionStatus>, i64, i64, bool, Tolerances, i32, i64)> = vec![
        ("TestReplicaCalcScaleUpCMObject", 3, vec![], 20000, 15000, false, tol(), 4, 20000),
        ("TestReplicaCalcScaleUpCMPerPodObject", 3, vec![], 20000, 5000, true, tol(), 4, 6667),
        (
            "TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods",
            3,
            vec![F, T, F],
            50000,
            10000,
            false,
            tol(),
            5,
            50000,
        ),
        (
            "TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods",
            3,
            vec![F, T, F],
            8600,
            4400,
            false,
            tol(),
            2,
            8600,
        ),
        ("TestReplicaCalcScaleUpPerPodCMExternal", 3, vec![], 8600, 2150, true, tol(), 4, 2867),
        ("TestReplicaCalcScaleDownPerPodCMObject", 5, vec![], 6000, 2000, true, tol(), 3, 1200),
        ("TestReplicaCalcScaleDownCMObject", 5, vec![], 12000, 20000, false, tol(), 3, 12000),
        ("TestReplicaCalcScaleDownCMExternal", 5, vec![], 8600, 14334, false, tol(), 3, 8600),
        ("TestReplicaCalcScaleDownPerPodCMExternal", 5, vec![], 8600, 2867, true, tol(), 3, 1720),
        ("TestReplicaCalcToleranceCMObject", 3, vec![], 20666, 20000, false, tol(), 3, 20666),
        ("TestReplicaCalcTolerancePerPodCMObject", 4, vec![], 20166, 5000, true, tol(), 4, 5042),
        ("TestReplicaCalcToleranceCMExternal", 3, vec![], 8600, 8888, false, tol(), 3, 8600),
        ("TestReplicaCalcTolerancePerPodCMExternal", 3, vec![], 8600, 2900, true, tol(), 3, 2867),
        (
            "TestReplicaCalcConfigurableToleranceCMObject",
            3,
            vec![],
            20666,
            20000,
            false,
            up,
            4,
            20666,
        ),
        (
            "TestReplicaCalcConfigurableTolerancePerPodCMObject",
            4,
            vec![],
            20208,
            5000,
            true,
            up,
            5,
            5052,
        ),
        (
            "TestReplicaCalcConfigurableToleranceCMExternal",
            3,
            vec![],
            8900,
            8800,
            false,
            up,
            4,
            8900,
        ),
        (
            "TestReplicaCalcConfigurableTolerancePerPodCMExternal",
            3,
            vec![],
            8600,
            2800,
            true,
            up,
            4,
            2867,
        ),
        ("TestReplicaCalcScaleUpOverflow", 3, vec![], max, 1, false, tol(), i32::MAX, max),
        ("TestExternalPerPodMetricReplicaOverflow", 1, vec![], max, 1, true, tol(), i32::MAX, max),
        ("TestExternalPerPodMetricUsageOverflow", 1, vec![], max, max, true, tol(), 1, max),
        (
            "TestReplicaCalcExternalMetricUsageOverflow",
            3,
            vec![],
            replicas::sum_saturating(&[max / 2 + 1, max / 2 + 1]),
            max,
            false,
            tol(),
            3,
            max,
        ),
    ];
    for (name, current, readiness, usage, target, per_pod, t, replicas, usage_out) in cases {
        let pods = Fx { current, readiness, ..Fx::default() }.pods();
        let p = if per_pod {
            replicas::average_value_replicas(current, usage, target, t)
        } else {
            replicas::value_replicas(current, usage, target, t, &pods).expect(name)
        };
        assert_eq!((p.replicas, p.usage), (replicas, usage_out), "{name}");
    }
}

/// `TestGroupPods` (test-only periods: 2 min CPU initialisation, 10 s readiness delay).
#[test]
fn test_group_pods() {
    let pod = |name: &str, phase, start: Option<f64>, ready: Option<(ConditionStatus, f64)>| Pod {
        name: name.into(),
        phase,
        deleting: false,
        ready: ready.map(|(status, t)| ReadyCondition { status, last_transition: t }),
        start_time: start,
        containers: vec![],
        pod_requests: vec![],
    };
    let sample = |ts: f64, window: f64| replicas::PodMetric { value: 1, timestamp: ts, window };
    let ok = PodPhase::Succeeded;
    // (name, pod, sample, resource, expected group: r/u/m/i)
    let cases: Vec<(&str, Pod, Option<replicas::PodMetric>, &str, char)> = vec![
        (
            "count in a ready pod - memory",
            pod("bentham", ok, None, None),
            Some(sample(NOW, 60.0)),
            "memory",
            'r',
        ),
        (
            "unready a pod without ready condition - CPU",
            pod("lucretius", ok, Some(NOW), None),
            Some(sample(ZERO_TIME, 0.0)),
            "cpu",
            'u',
        ),
        (
            "count in a ready pod with fresh metrics during initialization period - CPU",
            pod("bentham", ok, Some(NOW - 60.0), Some((T, NOW - 30.0))),
            Some(sample(NOW, 30.0)),
            "cpu",
            'r',
        ),
        (
            "unready a ready pod without fresh metrics during initialization period - CPU",
            pod("bentham", ok, Some(NOW - 60.0), Some((T, NOW - 30.0))),
            Some(sample(NOW, 60.0)),
            "cpu",
            'u',
        ),
        (
            "unready an unready pod during initialization period - CPU",
            pod("lucretius", ok, Some(NOW - 600.0), Some((F, NOW - 594.0))),
            Some(sample(ZERO_TIME, 0.0)),
            "cpu",
            'u',
        ),
        (
            "count in a ready pod without fresh metrics after initialization period - CPU",
            pod("bentham", ok, Some(NOW - 180.0), Some((T, NOW - 180.0))),
            Some(sample(NOW - 120.0, 60.0)),
            "cpu",
            'r',
        ),
        (
            "count in an unready pod that was ready after initialization period - CPU",
            pod("lucretius", ok, Some(NOW - 600.0), Some((F, NOW - 540.0))),
            Some(sample(ZERO_TIME, 0.0)),
            "cpu",
            'r',
        ),
        (
            "unready pod that has never been ready after initialization period - CPU",
            pod("lucretius", ok, Some(NOW - 600.0), Some((F, NOW - 590.0))),
            Some(sample(ZERO_TIME, 0.0)),
            "cpu",
            'r',
        ),
        ("a missing pod", pod("epicurus", ok, Some(NOW - 180.0), None), None, "cpu", 'm'),
        ("pending pods are unreadied", pod("unscheduled", PEND, None, None), None, "cpu", 'u'),
        (
            "ignore pods with deletion timestamps",
            Pod { deleting: true, ..pod("deleted", PEND, None, None) },
            Some(sample(ZERO_TIME, 0.0)),
            "cpu",
            'i',
        ),
        (
            "ignore pods in a failed state",
            pod("failed", FAIL, None, None),
            Some(sample(ZERO_TIME, 0.0)),
            "cpu",
            'i',
        ),
    ];
    for (name, p, m, resource, want) in cases {
        let metrics = replicas::MetricsInfo { per_pod: vec![m], extras: vec![] };
        let g = calc().group_pods(std::slice::from_ref(&p), &metrics, resource, NOW);
        let got = if g.ready_count == 1 {
            'r'
        } else if !g.unready.is_empty() {
            'u'
        } else if !g.missing.is_empty() {
            'm'
        } else {
            'i'
        };
        assert_eq!(got, want, "{name}");
    }
}

/// `TestCalculateRequests` and `TestCalculatePodRequestsFromContainers_NonExistentContainer`.
#[test]
fn test_calculate_requests() {
    let c = |name: &str, cpu: Option<i64>| ContainerRequests {
        name: name.into(),
        requests: cpu.map(|v| vec![("cpu".to_string(), v)]).unwrap_or_default(),
    };
    let pod = |containers: Vec<ContainerRequests>, pod_level: Option<i64>| Pod {
        name: "test-pod".into(),
        phase: RUN,
        deleting: false,
        ready: None,
        start_time: None,
        containers,
        pod_requests: pod_level.map(|v| vec![("cpu".to_string(), v)]).unwrap_or_default(),
    };
    let two = || vec![c("container1", Some(100)), c("container2", Some(50))];
    let cases: Vec<(&str, Pod, Option<&str>, Result<i64, &str>)> = vec![
        (
            "Sum container requests if pod-level feature is disabled",
            pod(two(), None),
            None,
            Ok(150),
        ),
        (
            "Pod-level resources override container requests when feature enabled and pod resources specified",
            pod(two(), Some(800)),
            None,
            Ok(800),
        ),
        (
            "Fail if at least one of the containers is missing requests and pod-level feature/requests are not set",
            pod(vec![c("container1", None), c("container2", Some(50))], None),
            None,
            Err("missing request for cpu in container container1 of Pod test-pod"),
        ),
        (
            "Pod-level resources override missing container requests when feature enabled and pod resources specified",
            pod(vec![c("container1", None), c("container2", Some(50))], Some(800)),
            None,
            Ok(800),
        ),
        (
            "Container: if a container name is specified, calculate requests only for that container",
            pod(two(), None),
            Some("container1"),
            Ok(100),
        ),
        (
            "Container: if a container name is specified, calculate requests only for that container and ignore pod-level requests",
            pod(two(), Some(800)),
            Some("container1"),
            Ok(100),
        ),
        (
            "pod with restartable init containers",
            pod(vec![c("container1", Some(100)), c("restartable-container1", Some(50))], None),
            None,
            Ok(150),
        ),
        (
            "NonExistentContainer",
            pod(vec![c("container1", Some(100))], None),
            Some("non-existent-container"),
            Err("container non-existent-container not found in Pod test-pod"),
        ),
    ];
    for (name, p, container, want) in cases {
        let got = replicas::calculate_requests(std::slice::from_ref(&p), container, "cpu");
        match want {
            Ok(v) => assert_eq!(got, Ok(vec![v]), "{name}"),
            Err(msg) => assert_eq!(got.unwrap_err().message, msg, "{name}"),
        }
    }
}
