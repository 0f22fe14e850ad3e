//! `TestReplicaCalcResourceScale`: the table of `GetResourceReplicas` cases.

use super::fixture::*;

#[test]
fn test_replica_calc_resource_scale() {
    let c2 = Some("container2");
    let r3 = reqs(3, "1.0");
    let r4 = reqs(4, "1.0");
    let r5 = reqs(5, "1.0");
    let r7 = reqs(7, "1.0");
    let five_c2 =
        vec![vec![1000, 100], vec![1000, 300], vec![1000, 500], vec![1000, 250], vec![1000, 250]];
    let cases: Vec<ResourceCase> = vec![
        (
            "scale up",
            Fx { current: 3, requests: r3.clone(), levels: lv(&[300, 500, 700]), ..Fx::default() },
            30,
            5,
            50,
            1000,
        ),
        (
            "scale up: container metric",
            Fx {
                current: 3,
                container: c2,
                requests: r3.clone(),
                levels: vec![vec![1000, 300], vec![1000, 500], vec![1000, 700]],
                ..Fx::default()
            },
            30,
            5,
            50,
            500,
        ),
        (
            "scale up: unready pod scales less",
            Fx {
                current: 3,
                readiness: vec![F, T, T],
                requests: r3.clone(),
                levels: lv(&[300, 500, 700]),
                ..Fx::default()
            },
            30,
            4,
            60,
            1200,
        ),
        (
            "scale up: hot-CPU container scales less",
            Fx {
                current: 3,
                start: vec![HOT, COOL, COOL],
                container: c2,
                requests: r3.clone(),
                levels: vec![vec![0, 300], vec![0, 500], vec![0, 700]],
                ..Fx::default()
            },
            30,
            4,
            60,
            600,
        ),
        (
            "scale up: hot-CPU pod scales less",
            Fx {
                current: 3,
                start: vec![HOT, COOL, COOL],
                requests: r3.clone(),
                levels: lv(&[300, 500, 700]),
                ..Fx::default()
            },
            30,
            4,
            60,
            1200,
        ),
        (
            "no scale: unready pods ignored",
            Fx {
                current: 3,
                readiness: vec![T, F, F],
                requests: r3.clone(),
                levels: lv(&[400, 500, 700]),
                ..Fx::default()
            },
            30,
            3,
            40,
            800,
        ),
        (
            "no scale: hot-CPU pods ignored",
            Fx {
                current: 3,
                readiness: vec![T, F, F],
                start: vec![COOL, HOT, HOT],
                requests: r3.clone(),
                levels: lv(&[400, 500, 700]),
                ..Fx::default()
            },
            30,
            3,
            40,
            800,
        ),
        (
            "scale up: failed pods ignored",
            Fx {
                current: 2,
                readiness: vec![T, T, F, F],
                phase: vec![RUN, RUN, FAIL, FAIL],
                requests: r4.clone(),
                levels: lv(&[500, 700]),
                ..Fx::default()
            },
            30,
            4,
            60,
            1200,
        ),
        (
            "scale up: failed pods ignored with missing container metric",
            Fx {
                current: 2,
                readiness: vec![T, T, F, F],
                phase: vec![RUN, RUN, FAIL, FAIL],
                container: c2,
                requests: r4.clone(),
                levels: vec![vec![1000, 500], vec![9000, 700], vec![1000], vec![9000]],
                ..Fx::default()
            },
            30,
            4,
            60,
            600,
        ),
        (
            "scale up: container metrics with failed pods ignored",
            Fx {
                current: 2,
                readiness: vec![T, T, F, F],
                phase: vec![RUN, RUN, FAIL, FAIL],
                container: c2,
                requests: r4.clone(),
                levels: vec![vec![1000, 500], vec![9000, 700]],
                ..Fx::default()
            },
            30,
            4,
            60,
            600,
        ),
        (
            "scale up: pods being deleted are ignored",
            Fx {
                current: 2,
                readiness: vec![T, T, F, F],
                phase: vec![RUN; 4],
                deleted: vec![false, false, true, true],
                requests: r4.clone(),
                levels: lv(&[500, 700]),
                ..Fx::default()
            },
            30,
            4,
            60,
            1200,
        ),
        (
            "scale up: container metrics with pods being deleted ignored",
            Fx {
                current: 2,
                readiness: vec![T, T, F, F],
                phase: vec![RUN; 4],
                deleted: vec![false, false, true, true],
                container: Some("container1"),
                requests: r4.clone(),
                levels: lv(&[500, 700]),
                ..Fx::default()
            },
            30,
            4,
            60,
            600,
        ),
        (
            "scale down",
            Fx {
                current: 5,
                requests: r5.clone(),
                levels: lv(&[100, 300, 500, 250, 250]),
                ..Fx::default()
            },
            50,
            3,
            28,
            560,
        ),
        (
            "scale down: container metric",
            Fx {
                current: 5,
                container: c2,
                requests: r5.clone(),
                levels: five_c2.clone(),
                ..Fx::default()
            },
            50,
            3,
            28,
            280,
        ),
        (
            "scale down: exclude unready pods",
            Fx {
                current: 5,
                readiness: vec![T, T, T, F, F],
                requests: r5.clone(),
                levels: lv(&[100, 300, 500, 250, 250]),
                ..Fx::default()
            },
            50,
            2,
            30,
            600,
        ),
        (
            "scale down: container metric excludes unready pods",
            Fx {
                current: 5,
                readiness: vec![T, T, T, F, F],
                container: c2,
                requests: r5.clone(),
                levels: five_c2.clone(),
                ..Fx::default()
            },
            50,
            2,
            30,
            300,
        ),
        (
            "scale down: exclude unscheduled pods",
            Fx {
                current: 5,
                readiness: vec![T, F, F, F, F],
                phase: vec![RUN, PEND, PEND, PEND, PEND],
                requests: r5.clone(),
                levels: lv(&[100]),
                ..Fx::default()
            },
            50,
            1,
            10,
            200,
        ),
        (
            "scale down: container metric excludes unscheduled pods",
            Fx {
                current: 5,
                readiness: vec![T, F, F, F, F],
                phase: vec![RUN, PEND, PEND, PEND, PEND],
                container: c2,
                requests: r5.clone(),
                levels: five_c2.clone(),
                ..Fx::default()
            },
            50,
            1,
            10,
            100,
        ),
        (
            "scale down: ignore hot-CPU pods",
            Fx {
                current: 5,
                start: vec![COOL, COOL, COOL, HOT, HOT],
                requests: r5.clone(),
                levels: lv(&[100, 300, 500, 250, 250]),
                ..Fx::default()
            },
            50,
            2,
            30,
            600,
        ),
        (
            "scale down: container metric ignores hot-CPU pods",
            Fx {
                current: 5,
                start: vec![COOL, COOL, COOL, HOT, HOT],
                container: c2,
                requests: r5.clone(),
                levels: vec![
                    vec![1000, 100],
                    vec![1000, 300],
                    vec![1000, 500],
                    vec![1000, 1000],
                    vec![1000, 1000],
                ],
                ..Fx::default()
            },
            50,
            2,
            30,
            300,
        ),
        (
            "scale down: failed pods ignored",
            Fx {
                current: 5,
                readiness: vec![T, T, T, T, T, F, F],
                phase: vec![RUN, RUN, RUN, RUN, RUN, FAIL, FAIL],
                requests: r7.clone(),
                levels: lv(&[100, 300, 500, 250, 250]),
                ..Fx::default()
            },
            50,
            3,
            28,
            560,
        ),
        (
            "scale down: container metric with failed pods ignored",
            Fx {
                current: 5,
                readiness: vec![T, T, T, T, T, F, F],
                phase: vec![RUN, RUN, RUN, RUN, RUN, FAIL, FAIL],
                container: c2,
                requests: r7.clone(),
                levels: five_c2.clone(),
                ..Fx::default()
            },
            50,
            3,
            28,
            280,
        ),
        (
            "scale down: pods being deleted are ignored",
            Fx {
                current: 5,
                readiness: vec![T, T, T, T, T, F, F],
                phase: vec![RUN; 7],
                deleted: vec![false, false, false, false, false, true, true],
                requests: r7.clone(),
                levels: lv(&[100, 300, 500, 250, 250]),
                ..Fx::default()
            },
            50,
            3,
            28,
            560,
        ),
        (
            "scale down: still-running pods being deleted are ignored",
            Fx {
                current: 5,
                readiness: vec![T, T, T, T, T, F, F],
                phase: vec![RUN; 7],
                deleted: vec![false, false, false, false, false, true, true],
                container: c2,
                requests: r7,
                levels: five_c2,
                ..Fx::default()
            },
            50,
            3,
            28,
            280,
        ),
    ];
    check_resource(cases, tol());
}
