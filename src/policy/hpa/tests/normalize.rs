//! `horizontal_test.go`'s `TestScalingWithRules` (the behavior rate policies), with the
//! table helpers `generateScalingRules` and `generateEventsUniformDistribution`.

use crate::policy::hpa::history::{History, ScaleEvent};
use crate::policy::hpa::model::{PolicyKind, ScalingPolicy, ScalingRules, SelectPolicy};
use crate::policy::hpa::normalize::{self, BehaviorArgs};

pub(super) const NOW: f64 = 1_700_000_000.0;

/// `generateScalingRules(pods, podsPeriod, percent, percentPeriod, stabilizationWindow)`.
pub(super) fn rules(
    pods: i32,
    pods_period: i32,
    percent: i32,
    percent_period: i32,
    window: i32,
) -> ScalingRules {
    let mut policies = Vec::new();
    if pods != 0 {
        policies.push(ScalingPolicy {
            kind: PolicyKind::Pods,
            value: pods,
            period_seconds: pods_period,
        });
    }
    if percent != 0 {
        policies.push(ScalingPolicy {
            kind: PolicyKind::Percent,
            value: percent,
            period_seconds: percent_period,
        });
    }
    ScalingRules {
        stabilization_window_seconds: Some(window),
        select_policy: SelectPolicy::Max,
        policies,
        tolerance: None,
    }
}

/// `generateEventsUniformDistribution`: event i of n at age period - (period/n)(i+1) + period/(2n).
pub(super) fn events(changes: &[i32], period: i32) -> Vec<ScaleEvent> {
    let n = changes.len() as f64;
    let p = f64::from(period);
    changes
        .iter()
        .enumerate()
        .map(|(i, &change)| {
            let age = p - (p / n) * (i as f64 + 1.0) + p / (2.0 * n);
            ScaleEvent { change, timestamp: NOW - age, outdated: false }
        })
        .collect()
}

#[test]
fn test_scaling_with_rules() {
    struct Case {
        name: &'static str,
        up_events: Vec<ScaleEvent>,
        down_events: Vec<ScaleEvent>,
        min: i32,
        max: i32,
        up: Option<ScalingRules>,
        down: Option<ScalingRules>,
        current: i32,
        desired: i32,
        expected: i32,
        condition: &'static str,
    }
    let c = |name, min, max, up, down, current, desired, expected, condition| Case {
        name,
        up_events: vec![],
        down_events: vec![],
        min,
        max,
        up,
        down,
        current,
        desired,
        expected,
        condition,
    };
    let e159 = || events(&[1, 5, 9], 120);
    let e8 = || events(&[8, 12, 9, 11], 120);
    let cases = vec![
        c(
            "scaleUp with pod policy limitation",
            1,
            1000,
            Some(rules(30, 60, 0, 0, 0)),
            None,
            10,
            50,
            40,
            "ScaleUpLimit",
        ),
        c(
            "scaleUp with percent policy limitation",
            1,
            1000,
            Some(rules(0, 0, 200, 60, 0)),
            None,
            10,
            50,
            30,
            "ScaleUpLimit",
        ),
        c(
            "scaleDown with percent policy larger than pod policy",
            1,
            1000,
            None,
            Some(rules(20, 60, 1, 60, 300)),
            100,
            2,
            80,
            "ScaleDownLimit",
        ),
        c(
            "scaleDown with pod policy larger than percent policy",
            1,
            1000,
            None,
            Some(rules(2, 60, 1, 60, 300)),
            100,
            2,
            98,
            "ScaleDownLimit",
        ),
        c(
            "scaleDown with spec MinReplicas=nil limitation with large pod policy",
            1,
            1000,
            None,
            Some(rules(100, 60, 0, 0, 300)),
            10,
            0,
            1,
            "TooFewReplicas",
        ),
        c(
            "scaleDown with spec MinReplicas limitation with large percent policy",
            5,
            1000,
            None,
            Some(rules(0, 0, 100, 60, 300)),
            10,
            2,
            5,
            "TooFewReplicas",
        ),
        c(
            "scaleDown with pod policy limitation",
            1,
            1000,
            None,
            Some(rules(5, 60, 0, 0, 300)),
            10,
            2,
            5,
            "ScaleDownLimit",
        ),
        c(
            "scaleDown with percent policy limitation",
            1,
            1000,
            None,
            Some(rules(0, 0, 50, 60, 300)),
            10,
            5,
            5,
            "DesiredWithinRange",
        ),
        Case {
            up_events: e159(),
            ..c(
                "scaleUp with spec MaxReplicas limitation with large pod policy and events",
                1,
                200,
                Some(rules(300, 60, 0, 0, 0)),
                None,
                100,
                500,
                200,
                "TooManyReplicas",
            )
        },
        Case {
            up_events: e159(),
            ..c(
                "scaleUp with spec MaxReplicas limitation with large percent policy and events",
                1,
                200,
                Some(rules(0, 0, 10000, 60, 0)),
                None,
                100,
                500,
                200,
                "TooManyReplicas",
            )
        },
        Case {
            up_events: e159(),
            ..c(
                "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events",
                1,
                1000,
                Some(rules(5, 120, 0, 0, 0)),
                None,
                100,
                500,
                100,
                "ScaleUpLimit",
            )
        },
        Case {
            up_events: e159(),
            ..c(
                "scaleUp with pod policy and previous scale up events",
                1,
                1000,
                Some(rules(150, 120, 0, 0, 0)),
                None,
                100,
                500,
                235,
                "ScaleUpLimit",
            )
        },
        Case {
            up_events: e159(),
            ..c(
                "scaleUp with percent policy and previous scale up events",
                1,
                1000,
                Some(rules(0, 0, 200, 120, 0)),
                None,
                100,
                500,
                255,
                "ScaleUpLimit",
            )
        },
        Case {
            down_events: e159(),
            ..c(
                "scaleDown with default policy and previous events",
                1,
                1000,
                None,
                None,
                10,
                5,
                5,
                "DesiredWithinRange",
            )
        },
        Case {
            down_events: e159(),
            ..c(
                "scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events",
                1,
                1000,
                None,
                Some(rules(115, 120, 0, 0, 300)),
                100,
                0,
                1,
                "TooFewReplicas",
            )
        },
        Case {
            down_events: e159(),
            ..c(
                "scaleDown with spec MinReplicas limitation with large pod policy and previous events",
                5,
                1000,
                None,
                Some(rules(130, 120, 0, 0, 300)),
                100,
                0,
                5,
                "TooFewReplicas",
            )
        },
        Case {
            down_events: e159(),
            ..c(
                "scaleDown with spec MinReplicas limitation with large percent policy and previous events",
                5,
                1000,
                None,
                Some(rules(0, 0, 100, 120, 300)),
                100,
                2,
                5,
                "TooFewReplicas",
            )
        },
        Case {
            down_events: e159(),
            ..c(
                "scaleDown with pod policy limitation and previous events",
                1,
                1000,
                None,
                Some(rules(5, 120, 0, 0, 300)),
                100,
                2,
                100,
                "ScaleDownLimit",
            )
        },
        Case {
            down_events: events(&[2, 4, 6], 120),
            ..c(
                "scaleDown with percent policy limitation and previous events",
                1,
                1000,
                None,
                Some(rules(0, 0, 50, 120, 300)),
                100,
                0,
                56,
                "ScaleDownLimit",
            )
        },
        Case {
            down_events: events(&[10, 10, 10], 120),
            ..c(
                "scaleDown with previous events preventing further scale down",
                1,
                1000,
                None,
                Some(rules(0, 0, 10, 120, 300)),
                100,
                0,
                100,
                "ScaleDownLimit",
            )
        },
        Case {
            down_events: events(&[10, 10, 10], 120),
            ..c(
                "scaleDown with with previous events still allowing more scale down",
                1,
                1000,
                None,
                Some(rules(0, 0, 1000, 120, 300)),
                10,
                5,
                5,
                "DesiredWithinRange",
            )
        },
        Case {
            up_events: e8(),
            ..c(
                "check 'outdated' flag for events for one behavior for up",
                1,
                1000,
                Some(rules(1000, 60, 0, 0, 0)),
                None,
                100,
                200,
                200,
                "DesiredWithinRange",
            )
        },
        Case {
            up_events: e8(),
            ..c(
                "check that events were not marked 'outdated' for two different policies in the behavior for up",
                1,
                1000,
                Some(rules(1000, 120, 100, 60, 0)),
                None,
                100,
                200,
                200,
                "DesiredWithinRange",
            )
        },
        Case {
            up_events: e8(),
            ..c(
                "check that events were marked 'outdated' for two different policies in the behavior for up",
                1,
                1000,
                Some(rules(1000, 30, 100, 60, 0)),
                None,
                100,
                200,
                200,
                "DesiredWithinRange",
            )
        },
        Case {
            down_events: e8(),
            ..c(
                "check 'outdated' flag for events for one behavior for down",
                1,
                1000,
                None,
                Some(rules(1000, 60, 0, 0, 300)),
                100,
                5,
                5,
                "DesiredWithinRange",
            )
        },
        Case {
            down_events: e8(),
            ..c(
                "check that events were not marked 'outdated' for two different policies in the behavior for down",
                1,
                1000,
                None,
                Some(rules(1000, 120, 100, 60, 300)),
                100,
                5,
                5,
                "DesiredWithinRange",
            )
        },
        Case {
            down_events: e8(),
            ..c(
                "check that events were marked 'outdated' for two different policies in the behavior for down",
                1,
                1000,
                None,
                Some(rules(1000, 30, 100, 60, 300)),
                100,
                5,
                5,
                "DesiredWithinRange",
            )
        },
    ];
    for tc in cases {
        let history = History {
            recommendations: None,
            scale_up_events: tc.up_events,
            scale_down_events: tc.down_events,
        };
        let up = tc.up.unwrap_or_else(ScalingRules::default_up);
        let down = tc.down.unwrap_or_else(ScalingRules::default_down);
        let args = BehaviorArgs {
            scale_up: &up,
            scale_down: &down,
            default_down_window: 300,
            min: tc.min,
            max: tc.max,
            current: tc.current,
            desired: tc.desired,
        };
        let (replicas, reason) = normalize::convert_with_behavior_rate(&history, args, NOW);
        assert_eq!((replicas, reason.reason), (tc.expected, tc.condition), "{}", tc.name);
    }
}
