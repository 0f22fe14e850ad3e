//! `horizontal_test.go`'s `TestStoreScaleEvents` and
//! `TestNormalizeDesiredReplicasWithBehavior`, and the legacy path's
//! `convertDesiredReplicasWithRules` / `stabilizeRecommendation`.

use super::normalize::{NOW, rules};
use crate::policy::hpa::history::{History, Recommendation, ScaleEvent, change_in_period};
use crate::policy::hpa::model::ScalingRules;
use crate::policy::hpa::normalize;

#[test]
fn test_store_scale_events() {
    let ev = |change, age: f64| ScaleEvent { change, timestamp: NOW - age, outdated: false };
    // (name, previous events, rules (None = no behavior), new events (change, outdated), change in 60 s)
    let cases: Vec<(&str, Vec<ScaleEvent>, Option<ScalingRules>, Vec<(i32, bool)>, i32)> = vec![
        ("empty entries with default behavior", vec![], None, vec![], 0),
        (
            "empty entries with two-policy-behavior",
            vec![],
            Some(rules(10, 60, 100, 60, 0)),
            vec![(5, false)],
            0,
        ),
        (
            "one outdated entry to be kept untouched without behavior",
            vec![ev(7, 61.0)],
            None,
            vec![(7, false)],
            0,
        ),
        (
            "one outdated entry to be replaced with behavior",
            vec![ev(7, 61.0)],
            Some(rules(10, 60, 100, 60, 0)),
            vec![(5, false)],
            0,
        ),
        (
            "one actual entry to be not touched with behavior",
            vec![ev(7, 58.0)],
            Some(rules(10, 60, 100, 60, 0)),
            vec![(7, false), (5, false)],
            7,
        ),
        (
            "two entries, one of them to be replaced",
            vec![ev(7, 61.0), ev(6, 59.0)],
            Some(rules(10, 60, 0, 0, 0)),
            vec![(5, false), (6, false)],
            6,
        ),
        (
            "replace one entry, use policies with different periods",
            vec![ev(8, 29.0), ev(6, 59.0), ev(7, 61.0), ev(9, 61.0)],
            Some(rules(10, 60, 100, 30, 0)),
            vec![(8, false), (6, false), (7, true), (5, false)],
            14,
        ),
        (
            "two entries, both actual",
            vec![ev(7, 58.0), ev(6, 59.0)],
            Some(rules(10, 120, 100, 30, 0)),
            vec![(7, false), (6, false), (5, false)],
            13,
        ),
    ];
    for (name, prev, r, want, change) in cases {
        for up in [true, false] {
            let mut h = History::default();
            if up {
                h.scale_up_events = prev.clone()
            } else {
                h.scale_down_events = prev.clone()
            }
            let list = |h: &History| {
                if up { h.scale_up_events.clone() } else { h.scale_down_events.clone() }
            };
            assert_eq!(change_in_period(&list(&h), 60, NOW), change, "{name}");
            if let Some(r) = &r {
                // storeScaleEvent is only called with a behavior.
                let p = r.longest_policy_period();
                h.store_scale_event(p, p, 10, if up { 15 } else { 5 }, NOW);
            }
            let got: Vec<(i32, bool)> = list(&h).iter().map(|e| (e.change, e.outdated)).collect();
            assert_eq!(got, want, "{name} (up: {up})");
        }
    }
}

#[test]
fn test_normalize_desired_replicas_with_behavior() {
    let rec = |replicas, age_minutes: f64| Recommendation {
        replicas,
        timestamp: NOW - age_minutes * 60.0,
    };
    // (name, recommendations, current, desired, stabilized, stored, up window, down window)
    let cases: Vec<(&str, Vec<Recommendation>, i32, i32, i32, Vec<i32>, i32, i32)> = vec![
        ("empty recommendations for scaling down", vec![], 100, 5, 5, vec![5], 0, 0),
        (
            "simple scale down stabilization",
            vec![rec(4, 2.0), rec(5, 1.0)],
            100,
            3,
            5,
            vec![4, 5, 3],
            0,
            180,
        ),
        (
            "simple scale up stabilization",
            vec![rec(4, 2.0), rec(5, 1.0)],
            1,
            7,
            4,
            vec![4, 5, 7],
            300,
            0,
        ),
        (
            "no scale down stabilization",
            vec![rec(1, 2.0), rec(2, 1.0)],
            100,
            3,
            3,
            vec![1, 2, 3],
            300,
            0,
        ),
        (
            "no scale up stabilization",
            vec![rec(4, 2.0), rec(5, 1.0)],
            1,
            3,
            3,
            vec![4, 5, 3],
            0,
            300,
        ),
        (
            "no scale down stabilization, reuse recommendation element",
            vec![rec(10, 10.0), rec(9, 9.0)],
            100,
            3,
            3,
            vec![10, 3],
            0,
            0,
        ),
        (
            "no scale up stabilization, reuse recommendation element",
            vec![rec(10, 10.0), rec(9, 9.0)],
            1,
            100,
            100,
            vec![10, 100],
            0,
            0,
        ),
        (
            "scale down stabilization, reuse one of obsolete recommendation element",
            vec![rec(10, 10.0), rec(4, 1.0), rec(5, 2.0), rec(9, 9.0)],
            100,
            3,
            5,
            vec![10, 4, 5, 3],
            0,
            180,
        ),
        (
            "scale up stabilization, reuse one of obsolete recommendation element",
            vec![rec(10, 100.0), rec(6, 1.0), rec(5, 2.0), rec(9, 3.0)],
            1,
            100,
            5,
            vec![100, 6, 5, 9],
            300,
            0,
        ),
    ];
    for (name, recs, current, desired, stabilized, stored, up, down) in cases {
        let mut h = History { recommendations: Some(recs), ..History::default() };
        let (got, _) = normalize::stabilize_with_behavior(&mut h, current, desired, up, down, NOW);
        assert_eq!(got, stabilized, "{name}");
        let kept: Vec<i32> = h.recommendations().iter().map(|r| r.replicas).collect();
        assert_eq!(kept, stored, "{name}");
    }
}

/// `convertDesiredReplicasWithRules` with the production limit max(2 x current, 4).
#[test]
fn test_convert_desired_replicas_with_rules() {
    let cases: Vec<(&str, i32, i32, i32, i32, i32, &str)> = vec![
        ("within range", 3, 5, 1, 10, 5, "DesiredWithinRange"),
        ("from 1 the limit is 4", 1, 10, 1, 100, 4, "ScaleUpLimit"),
        ("from 3 the limit is 6", 3, 10, 1, 100, 6, "ScaleUpLimit"),
        ("from 100 the limit is 200", 100, 500, 1, 1000, 200, "ScaleUpLimit"),
        ("max below the rate limit", 3, 10, 1, 5, 5, "TooManyReplicas"),
        ("below min", 5, 1, 2, 10, 2, "TooFewReplicas"),
    ];
    for (name, current, desired, min, max, want, reason) in cases {
        let (got, r) = normalize::convert_with_rules(current, desired, min, max);
        assert_eq!((got, r.reason), (want, reason), "{name}");
    }
}

/// The legacy stabilisation: max over the last 300 s; the expired slot is reused.
#[test]
fn test_stabilize_recommendation_legacy() {
    let rec = |replicas, age: f64| Recommendation { replicas, timestamp: NOW - age };
    let mut h = History {
        recommendations: Some(vec![rec(9, 400.0), rec(5, 200.0), rec(4, 100.0)]),
        ..History::default()
    };
    assert_eq!(normalize::stabilize_legacy(&mut h, 2, 300.0, NOW), 5);
    let kept: Vec<i32> = h.recommendations().iter().map(|r| r.replicas).collect();
    assert_eq!(kept, vec![2, 5, 4]);
    let n = normalize::legacy(&mut h, 5, 1, 1, 10, 300.0, NOW + 250.0);
    // At +250 s only the recommendation of 2 is within the window.
    assert_eq!((n.stabilized, n.replicas, n.able_to_scale.reason), (2, 2, "ScaleDownStabilized"));
}
