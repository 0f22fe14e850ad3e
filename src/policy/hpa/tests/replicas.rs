//! The single `TestReplicaCalc*` resource cases of `replica_calculator_test.go`, the
//! configurable-tolerance table and the 110 % boundary.

use super::fixture::*;
use crate::policy::hpa::replicas::Tolerances;

#[test]
fn test_replica_calc_resource_single_cases() {
    let r3 = reqs(3, "1.0");
    let r4 = reqs(4, "1.0");
    let tol_reqs = vec!["0.9", "1.0", "1.1"];
    let cases: Vec<ResourceCase> = vec![
        (
            "TestReplicaCalcTolerance",
            Fx {
                current: 3,
                requests: tol_reqs.clone(),
                levels: lv(&[1010, 1030, 1020]),
                ..Fx::default()
            },
            100,
            3,
            102,
            2040,
        ),
        (
            "TestReplicaCalcSuperfluousMetrics",
            Fx {
                current: 4,
                requests: r4.clone(),
                levels: lv(&[4000, 9500, 3000, 7000, 3200, 2000]),
                ..Fx::default()
            },
            100,
            24,
            587,
            11750,
        ),
        (
            "TestReplicaCalcMissingMetrics",
            Fx { current: 4, requests: r4.clone(), levels: lv(&[400, 95]), ..Fx::default() },
            100,
            3,
            24,
            495,
        ),
        (
            "TestReplicaCalcMissingMetricsNoChangeEq",
            Fx { current: 2, requests: reqs(2, "1.0"), levels: lv(&[1000]), ..Fx::default() },
            100,
            2,
            100,
            2000,
        ),
        (
            "TestReplicaCalcMissingMetricsNoChangeGt",
            Fx { current: 2, requests: reqs(2, "1.0"), levels: lv(&[1900]), ..Fx::default() },
            100,
            2,
            190,
            3800,
        ),
        (
            "TestReplicaCalcMissingMetricsNoChangeLt",
            Fx { current: 2, requests: reqs(2, "1.0"), levels: lv(&[600]), ..Fx::default() },
            100,
            2,
            60,
            1200,
        ),
        (
            "TestReplicaCalcMissingMetricsUnreadyChange",
            Fx {
                current: 3,
                readiness: vec![F, T, T],
                requests: r3.clone(),
                levels: lv(&[100, 450]),
                ..Fx::default()
            },
            50,
            3,
            45,
            900,
        ),
        (
            "TestReplicaCalcMissingMetricsHotCpuNoChange",
            Fx {
                current: 3,
                start: vec![HOT, COOL, COOL],
                requests: r3.clone(),
                levels: lv(&[100, 450]),
                ..Fx::default()
            },
            50,
            3,
            45,
            900,
        ),
        (
            "TestReplicaCalcMissingMetricsUnreadyScaleUp",
            Fx {
                current: 3,
                readiness: vec![F, T, T],
                requests: r3.clone(),
                levels: lv(&[100, 2000]),
                ..Fx::default()
            },
            50,
            4,
            200,
            4000,
        ),
        (
            "TestReplicaCalcMissingMetricsHotCpuScaleUp",
            Fx {
                current: 3,
                readiness: vec![F, T, T],
                start: vec![HOT, COOL, COOL],
                requests: r3.clone(),
                levels: lv(&[100, 2000]),
                ..Fx::default()
            },
            50,
            4,
            200,
            4000,
        ),
        (
            "TestReplicaCalcMissingMetricsUnreadyScaleDown",
            Fx {
                current: 4,
                readiness: vec![F, T, T, T],
                requests: r4.clone(),
                levels: lv(&[100, 100, 100]),
                ..Fx::default()
            },
            50,
            3,
            10,
            200,
        ),
        (
            "TestReplicaCalcMissingMetricsScaleDownTargetOver100",
            Fx {
                current: 4,
                readiness: vec![F, T, T, T],
                requests: vec!["1.0", "1.0", "2.0", "2.0"],
                levels: lv(&[200, 100, 100]),
                ..Fx::default()
            },
            300,
            2,
            6,
            200,
        ),
        (
            "TestReplicaCalcDuringRollingUpdateWithMaxSurge",
            Fx {
                current: 2,
                phase: vec![RUN; 3],
                requests: r3.clone(),
                levels: lv(&[100, 100]),
                ..Fx::default()
            },
            50,
            2,
            10,
            200,
        ),
    ];
    check_resource(cases, tol());

    // TestReplicaCalcConfigurableTolerance: Tolerances{scaleDown, scaleUp}.
    let configurable: Vec<(&str, Tolerances, Vec<i64>, i32, i32)> = vec![
        (
            "Outside of a 0% tolerance",
            Tolerances { scale_down: 0.0, scale_up: 0.0 },
            vec![909, 1010, 1111],
            4,
            101,
        ),
        (
            "Within a 200% scale-up tolerance",
            Tolerances { scale_down: 0.1, scale_up: 2.0 },
            vec![1890, 1910, 1900],
            3,
            190,
        ),
        (
            "Outside 8% scale-up tolerance (and superfuous scale-down tolerance)",
            Tolerances { scale_down: 2.0, scale_up: 0.08 },
            vec![1100, 1080, 1090],
            4,
            109,
        ),
        (
            "Within a 36% scale-down tolerance",
            Tolerances { scale_down: 0.36, scale_up: 0.1 },
            vec![660, 640, 650],
            3,
            65,
        ),
        (
            "Outside a 34% scale-down tolerance",
            Tolerances { scale_down: 0.34, scale_up: 0.1 },
            vec![660, 640, 650],
            2,
            65,
        ),
    ];
    for (name, t, levels, replicas, util) in configurable {
        let raw = 2 * levels.iter().sum::<i64>() / 3;
        let fx =
            Fx { current: 3, requests: tol_reqs.clone(), levels: lv(&levels), ..Fx::default() };
        check_resource(vec![(name, fx, 100, replicas, util, raw)], t);
    }
}

#[test]
fn test_replica_calc_resource_errors() {
    let cases: Vec<(&str, Fx, &str)> = vec![
        (
            "TestReplicaCalcDisjointResourcesMetrics",
            Fx {
                current: 1,
                requests: vec!["1.0"],
                levels: lv(&[100]),
                pod_names: vec!["an-older-pod-name"],
                ..Fx::default()
            },
            "no metrics returned matched known pods",
        ),
        (
            "TestReplicaCalcEmptyMetrics",
            Fx { current: 4, requests: reqs(3, "1.0"), levels: vec![], ..Fx::default() },
            "unable to get metrics for resource cpu: no metrics returned from resource metrics API",
        ),
        (
            "TestReplicaCalcEmptyCPURequest",
            Fx { current: 1, requests: vec![], levels: lv(&[200]), ..Fx::default() },
            "missing request for",
        ),
    ];
    for (name, fx, msg) in cases {
        let e = fx.resource(100, tol()).expect_err(name);
        assert!(e.message.contains(msg), "{name}: {e}");
    }
}

/// `TestReplicaCalcComputedToleranceAlgImplementation`, with the same arithmetic.
#[test]
fn test_replica_calc_computed_tolerance_alg_implementation() {
    let start_pods = 10i32;
    let total_used = i64::from(start_pods) * 150;
    let total_requested = 2 * total_used as i32;
    let requested_to_used = f64::from(total_requested / total_used as i32);
    let per_pod = total_requested / start_pods;
    let mut target = (1.0 / (requested_to_used * (1.0 - 0.1))).abs() + 0.01;
    let used_ratio = total_used as f64 / (f64::from(total_requested) * target);
    let final_pods = (used_ratio * f64::from(start_pods)).ceil() as i32;
    let offsets = [100, -100, 10, -10, 2, -2, 1, -1, 0, 0];
    let requests: Vec<&'static str> =
        offsets.iter().map(|o| &*Box::leak(format!("{}m", per_pod + o).into_boxed_str())).collect();
    let fx =
        Fx { current: start_pods, requests, levels: lv(&[total_used / 10; 10]), ..Fx::default() };
    let util = (total_used * 100) as i32 / total_requested;
    check_resource(
        vec![("scale", fx.clone(), (target * 100.0) as i32, final_pods, util, 300)],
        tol(),
    );
    target = (1.0 / (requested_to_used * (1.0 - 0.1))).abs() + 0.004;
    check_resource(vec![("no scale", fx, (target * 100.0) as i32, start_pods, util, 300)], tol());
}

/// The boundary: exactly 110 % of a 100 % target is within the 0.1 tolerance
/// under the newest interval rule (it was outside under `|1 - ratio| <= 0.1`).
#[test]
fn exactly_110_percent_is_within_the_default_tolerance() {
    let fx = Fx { current: 4, requests: reqs(4, "500m"), levels: lv(&[550; 4]), ..Fx::default() };
    let p = fx.resource(100, tol()).unwrap();
    assert_eq!((p.replicas, p.utilization), (4, Some(110)));
    assert!((1.0f64 - 110.0 / 100.0).abs() > 0.1, "the pre-1.33 rule would have scaled");
}
