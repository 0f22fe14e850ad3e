//! `pkg/autoscaler/scaling/autoscaler_test.go`, case by case: the fake metric client becomes
//! the `observed` argument and the fake pod counter the `ready` argument.

use std::time::Duration;

use crate::policy::kpa::{Decider, DeciderSpec, Metric};

const TARGET_UTILIZATION: f64 = 0.75;
const ACTIVATOR_CAPACITY: f64 = 150.0;
/// An even Unix second, so 2-s delay-window buckets line up as from Go's zero time.
const T0: f64 = 1_700_000_000.0;

/// `newTestAutoscalerWithScalingMetric`: created with one ready pod (not panicking).
fn new_test(target: f64, tbc: f64, metric: Metric) -> Decider {
    Decider::new(spec(target, tbc, metric), 1, T0)
}

fn spec(target: f64, tbc: f64, metric: Metric) -> DeciderSpec {
    DeciderSpec {
        metric,
        target_value: target,
        total_value: target / TARGET_UTILIZATION,
        target_burst_capacity: tbc,
        activator_capacity: ACTIVATOR_CAPACITY,
        panic_threshold: 2.0,
        max_scale_up_rate: 10.0,
        max_scale_down_rate: 10.0,
        stable_window: Duration::from_secs(60),
        scale_down_delay: Duration::ZERO,
        activation_scale: 0,
        reachable: true,
    }
}

fn expected_ebc(tot_cap: f64, target_bc: f64, recorded: f64, pods: f64) -> i32 {
    (tot_cap / TARGET_UTILIZATION * pods - target_bc - recorded).floor() as i32
}

/// `expectScale`, with upstream's +-1 tolerance on the excess burst capacity.
#[track_caller]
fn expect(d: &mut Decider, now: f64, ready: u32, observed: (f64, f64), pods: i32, ebc: i32) {
    let got = d.scale(now, ready, Some(observed));
    assert!(got.scale_valid);
    assert_eq!(got.desired_pod_count, pods, "{got:?}");
    assert!(
        (got.excess_burst_capacity - ebc).abs() <= 1,
        "ebc {} want {ebc}",
        got.excess_burst_capacity
    );
}

#[track_caller]
fn expect_pods(d: &mut Decider, now: f64, ready: u32, observed: (f64, f64), pods: i32) {
    assert_eq!(d.scale(now, ready, Some(observed)).desired_pod_count, pods);
}

fn delay_spec(reachable: bool) -> DeciderSpec {
    DeciderSpec {
        target_value: 10.0,
        max_scale_down_rate: 10.0,
        max_scale_up_rate: 10.0,
        panic_threshold: 100.0,
        scale_down_delay: Duration::from_secs(300),
        reachable,
        ..DeciderSpec::default()
    }
}

#[test]
fn test_autoscaler_scale_down_delay() {
    // "simple": a fresh decider, no ready pods.
    let mut d = Decider::new(delay_spec(true), 0, T0);
    expect_pods(&mut d, T0 + 2.0, 0, (40.0, 40.0), 4);
    expect_pods(&mut d, T0 + 300.0, 0, (0.0, 0.0), 4);
    expect_pods(&mut d, T0 + 302.0, 0, (0.0, 0.0), 0);
    // "gradual", continuing on the same decider.
    expect_pods(&mut d, T0 + 540.0, 0, (40.0, 40.0), 4);
    expect_pods(&mut d, T0 + 600.0, 0, (30.0, 30.0), 4);
    expect_pods(&mut d, T0 + 660.0, 0, (0.0, 0.0), 4);
    expect_pods(&mut d, T0 + 840.0, 0, (0.0, 0.0), 3);
    expect_pods(&mut d, T0 + 900.0, 0, (0.0, 0.0), 0);
}

#[test]
fn test_autoscaler_scale_down_delay_not_reachable() {
    let mut d = Decider::new(delay_spec(true), 0, T0);
    expect_pods(&mut d, T0 + 2.0, 0, (40.0, 40.0), 4);
    expect_pods(&mut d, T0 + 60.0, 0, (0.0, 0.0), 4);
    d.update(delay_spec(false));
    expect_pods(&mut d, T0 + 2.0, 0, (0.0, 0.0), 0);
}

#[test]
fn test_autoscaler_scale_down_delay_zero() {
    let mut d =
        Decider::new(DeciderSpec { scale_down_delay: Duration::ZERO, ..delay_spec(true) }, 0, T0);
    expect_pods(&mut d, T0, 0, (40.0, 40.0), 4);
    expect_pods(&mut d, T0 + 0.5, 0, (20.0, 20.0), 2);
}

#[test]
fn test_autoscaler_no_data_no_autoscale() {
    let mut d = new_test(10.0, 100.0, Metric::Concurrency);
    let got = d.scale(T0, 1, None);
    assert!(!got.scale_valid);
    assert_eq!((got.desired_pod_count, got.excess_burst_capacity), (0, 0));
}

#[test]
fn test_autoscaler_metrics() {
    let mut d = new_test(10.0, 100.0, Metric::Concurrency);
    expect(&mut d, T0, 1, (50.0, 50.0), 5, expected_ebc(10.0, 100.0, 50.0, 1.0));
}

#[test]
fn test_autoscaler_metrics_with_rps() {
    let mut d = new_test(10.0, 100.0, Metric::Rps);
    expect(&mut d, T0 + 61.0, 1, (100.0, 99.0), 10, expected_ebc(10.0, 100.0, 99.0, 1.0));
}

#[test]
fn test_autoscaler_stable_mode_increase_with_concurrency_default() {
    let mut d = new_test(10.0, 101.0, Metric::Concurrency);
    expect(&mut d, T0, 1, (50.0, 10.0), 5, expected_ebc(10.0, 101.0, 10.0, 1.0));
    expect(&mut d, T0, 1, (100.0, 10.0), 10, expected_ebc(10.0, 101.0, 10.0, 1.0));
}

#[test]
fn test_autoscaler_stable_mode_increase_with_rps() {
    let mut d = new_test(10.0, 101.0, Metric::Rps);
    expect(&mut d, T0, 1, (50.0, 50.0), 5, expected_ebc(10.0, 101.0, 50.0, 1.0));
    expect(&mut d, T0, 1, (100.0, 99.0), 10, expected_ebc(10.0, 101.0, 99.0, 1.0));
}

#[test]
fn test_autoscaler_unpanic_after_slow_increase() {
    let mut d = new_test(1.0, 98.0, Metric::Concurrency);
    let start = T0;
    expect(&mut d, start, 10, (11.0, 25.0), 25, expected_ebc(1.0, 98.0, 25.0, 10.0));
    assert_eq!(d.panic_time, Some(start));
    // Half the stable window later, +1 pod per cycle: 40 ready.
    let tm = start + 30.0;
    expect(&mut d, tm, 40, (30.0, 41.0), 41, expected_ebc(1.0, 98.0, 41.0, 40.0));
    assert_eq!(d.panic_time, Some(start), "panic time should not have moved");
    // At the end of the window (plus a tick) panic must end.
    let tm = tm + 30.0 + 2.0;
    expect(&mut d, tm, 55, (50.0, 56.0), 50, expected_ebc(1.0, 98.0, 56.0, 55.0));
    assert_eq!(d.panic_time, None);
}

#[test]
fn test_autoscaler_extend_panic_window() {
    let mut d = new_test(1.0, 98.0, Metric::Concurrency);
    expect(&mut d, T0, 10, (11.0, 25.0), 25, expected_ebc(1.0, 98.0, 25.0, 10.0));
    assert_eq!(d.panic_time, Some(T0));
    let tm = T0 + 30.0;
    expect(&mut d, tm, 40, (30.0, 80.0), 80, expected_ebc(1.0, 98.0, 80.0, 40.0));
    assert_eq!(d.panic_time, Some(tm));
}

#[test]
fn test_autoscaler_stable_mode_decrease() {
    let mut d = new_test(10.0, 98.0, Metric::Concurrency);
    expect(&mut d, T0, 8, (100.0, 100.0), 10, expected_ebc(10.0, 98.0, 100.0, 8.0));
    expect(&mut d, T0, 8, (50.0, 50.0), 5, expected_ebc(10.0, 98.0, 50.0, 8.0));
}

#[test]
fn test_autoscaler_stable_mode_no_traffic_scale_to_zero() {
    let mut d = new_test(10.0, 75.0, Metric::Concurrency);
    expect(&mut d, T0, 1, (1.0, 0.0), 1, expected_ebc(10.0, 75.0, 0.0, 1.0));
    expect(&mut d, T0, 1, (0.0, 0.0), 0, expected_ebc(10.0, 75.0, 0.0, 1.0));
}

#[test]
fn test_autoscaler_activation_scale() {
    let mut d = new_test(10.0, 75.0, Metric::Concurrency);
    d.spec.activation_scale = 2;
    expect(&mut d, T0, 1, (0.0, 0.0), 0, expected_ebc(10.0, 75.0, 0.0, 1.0));
    expect(&mut d, T0, 1, (1.0, 0.0), 2, expected_ebc(10.0, 75.0, 0.0, 1.0));
}

#[test]
fn test_autoscaler_panic_mode_exponential_track_and_stabilize() {
    let mut d = new_test(1.0, 101.0, Metric::Concurrency);
    expect(&mut d, T0, 1, (6.0, 6.0), 6, expected_ebc(1.0, 101.0, 6.0, 1.0));
    let tm = T0 + 0.1;
    expect(&mut d, tm, 6, (36.0, 36.0), 36, expected_ebc(1.0, 101.0, 36.0, 6.0));
    assert_eq!(d.panic_time, Some(tm));
    let tm = tm + 1.0;
    expect(&mut d, tm, 36, (216.0, 216.0), 216, expected_ebc(1.0, 101.0, 216.0, 36.0));
    assert_eq!(d.panic_time, Some(tm));
    expect(&mut d, tm, 216, (1296.0, 1296.0), 1296, expected_ebc(1.0, 101.0, 1296.0, 216.0));
    assert_eq!(d.panic_time, Some(tm));
    expect(
        &mut d,
        tm + 1.0,
        1296,
        (1296.0, 1296.0),
        1296,
        expected_ebc(1.0, 101.0, 1296.0, 1296.0),
    );
}

#[test]
fn test_autoscaler_scale() {
    struct Case {
        label: &'static str,
        target: f64,
        tbc: f64,
        observed: (f64, f64),
        base_scale: u32,
        prep: fn(&mut Decider),
        want_scale: i32,
        want_ebc: i32,
    }
    fn none(_: &mut Decider) {}
    fn panicking_at_5(d: &mut Decider) {
        d.panic_time = Some(T0 - 5.0);
        d.max_panic_pods = 5;
    }
    let cases = [
        Case {
            label: "AutoscalerNoDataAtZeroNoAutoscale",
            target: 10.0,
            tbc: 100.0,
            observed: (0.0, 0.0),
            base_scale: 1,
            prep: none,
            want_scale: 0,
            want_ebc: expected_ebc(10.0, 100.0, 0.0, 1.0),
        },
        Case {
            label: "AutoscalerNoDataAtZeroNoAutoscaleWithExplicitEPs",
            target: 10.0,
            tbc: 100.0,
            observed: (0.0, 0.0),
            base_scale: 1,
            prep: none,
            want_scale: 0,
            want_ebc: expected_ebc(10.0, 100.0, 0.0, 1.0),
        },
        Case {
            label: "AutoscalerStableModeUnlimitedTBC",
            target: 181.0,
            tbc: -1.0,
            observed: (21.0, 26.0),
            base_scale: 1,
            prep: none,
            want_scale: 1,
            want_ebc: -1,
        },
        Case {
            label: "Autoscaler0TBC",
            target: 10.0,
            tbc: 0.0,
            observed: (50.0, 49.0),
            base_scale: 1,
            prep: none,
            want_scale: 5,
            want_ebc: 0,
        },
        Case {
            label: "AutoscalerStableModeNoChange",
            target: 10.0,
            tbc: 100.0,
            observed: (50.0, 50.0),
            base_scale: 1,
            prep: none,
            want_scale: 5,
            want_ebc: expected_ebc(10.0, 100.0, 50.0, 1.0),
        },
        // The stable value decides when it is the larger one.
        Case {
            label: "AutoscalerPanicStableLargerThanPanic",
            target: 1.0,
            tbc: 100.0,
            observed: (50.0, 30.0),
            base_scale: 5,
            prep: panicking_at_5,
            want_scale: 50,
            want_ebc: expected_ebc(1.0, 100.0, 30.0, 5.0),
        },
        Case {
            label: "AutoscalerPanicStableLessThanPanic",
            target: 1.0,
            tbc: 100.0,
            observed: (20.0, 30.0),
            base_scale: 5,
            prep: panicking_at_5,
            want_scale: 30,
            want_ebc: expected_ebc(1.0, 100.0, 30.0, 5.0),
        },
        Case {
            label: "AutoscalerStableModeNoChangeAlreadyScaled",
            target: 10.0,
            tbc: 100.0,
            observed: (50.0, 50.0),
            base_scale: 5,
            prep: none,
            want_scale: 5,
            want_ebc: expected_ebc(10.0, 100.0, 50.0, 5.0),
        },
        Case {
            label: "AutoscalerStableModeIncreaseWithSmallScaleUpRate",
            target: 1.0,
            tbc: 1982.0,
            observed: (3.0, 3.1),
            base_scale: 2,
            prep: |d| d.spec.max_scale_up_rate = 1.1,
            want_scale: 3,
            want_ebc: expected_ebc(1.0, 1982.0, 3.1, 2.0),
        },
        Case {
            label: "AutoscalerStableModeDecreaseWithSmallScaleDownRate",
            target: 10.0,
            tbc: 1982.0,
            observed: (1.0, 1.0),
            base_scale: 100,
            prep: |d| d.spec.max_scale_down_rate = 1.1,
            want_scale: 90,
            want_ebc: expected_ebc(10.0, 1982.0, 1.0, 100.0),
        },
        Case {
            label: "AutoscalerStableModeDecreaseNonReachable",
            target: 10.0,
            tbc: 1982.0,
            observed: (1.0, 1.0),
            base_scale: 100,
            prep: |d| {
                d.spec.max_scale_down_rate = 1.1;
                d.spec.reachable = false;
            },
            want_scale: 1,
            want_ebc: expected_ebc(10.0, 1982.0, 1.0, 100.0),
        },
        // The panic value takes precedence.
        Case {
            label: "AutoscalerPanicModeDoublePodCount",
            target: 10.0,
            tbc: 84.0,
            observed: (50.0, 100.0),
            base_scale: 1,
            prep: none,
            want_scale: 10,
            want_ebc: expected_ebc(10.0, 84.0, 100.0, 1.0),
        },
    ];
    for c in cases {
        let mut d = new_test(c.target, c.tbc, Metric::Concurrency);
        (c.prep)(&mut d);
        let got = d.scale(T0, c.base_scale, Some(c.observed));
        assert_eq!(got.desired_pod_count, c.want_scale, "{}: {got:?}", c.label);
        assert!((got.excess_burst_capacity - c.want_ebc).abs() <= 1, "{}: ebc {got:?}", c.label);
    }
}

#[test]
fn test_autoscaler_panic_then_un_panic_scale_down() {
    let mut d = new_test(10.0, 93.0, Metric::Concurrency);
    expect(&mut d, T0, 1, (100.0, 100.0), 10, expected_ebc(10.0, 93.0, 100.0, 1.0));
    let panic_time = T0 + 1.0;
    expect(&mut d, panic_time, 10, (100.0, 1000.0), 100, expected_ebc(10.0, 93.0, 1000.0, 10.0));
    // Traffic dropped off; the count stays while panicking.
    expect(&mut d, panic_time + 30.0, 10, (1.0, 1.0), 100, expected_ebc(10.0, 93.0, 1.0, 10.0));
    // Scale down after the stable window.
    expect(&mut d, panic_time + 61.0, 10, (1.0, 1.0), 1, expected_ebc(10.0, 93.0, 1.0, 10.0));
}

#[test]
fn test_autoscaler_rate_limit_scale_up() {
    let mut d = new_test(10.0, 61.0, Metric::Concurrency);
    // Needs 100 pods but may only grow x10.
    expect(&mut d, T0, 1, (1000.0, 1001.0), 10, expected_ebc(10.0, 61.0, 1001.0, 1.0));
    expect(&mut d, T0, 10, (1000.0, 1001.0), 100, expected_ebc(10.0, 61.0, 1001.0, 10.0));
}

#[test]
fn test_autoscaler_rate_limit_scale_down() {
    let mut d = new_test(10.0, 61.0, Metric::Concurrency);
    expect(&mut d, T0, 100, (1.0, 1.0), 10, expected_ebc(10.0, 61.0, 1.0, 100.0));
    expect(&mut d, T0, 10, (1.0, 1.0), 1, expected_ebc(10.0, 61.0, 1.0, 10.0));
}

#[test]
fn test_autoscaler_use_one_pod_as_minimum_if_endpoints_not_found() {
    let mut d = new_test(10.0, 81.0, Metric::Concurrency);
    expect(&mut d, T0, 0, (1000.0, 888.0), 10, expected_ebc(10.0, 81.0, 888.0, 0.0));
}

#[test]
fn test_autoscaler_update_target() {
    let mut d = new_test(10.0, 77.0, Metric::Concurrency);
    expect(&mut d, T0, 1, (100.0, 101.0), 10, expected_ebc(10.0, 77.0, 101.0, 1.0));
    d.update(DeciderSpec {
        target_value: 1.0,
        total_value: 1.0 / TARGET_UTILIZATION,
        activator_capacity: 21.0,
        target_burst_capacity: 71.0,
        ..spec(1.0, 71.0, Metric::Concurrency)
    });
    expect(&mut d, T0, 10, (100.0, 101.0), 100, expected_ebc(1.0, 71.0, 101.0, 10.0));
}

#[test]
fn test_start_in_panic_mode() {
    let spec = DeciderSpec {
        target_value: 100.0,
        total_value: 120.0,
        target_burst_capacity: 11.0,
        panic_threshold: 220.0,
        max_scale_up_rate: 10.0,
        max_scale_down_rate: 10.0,
        ..DeciderSpec::default()
    };
    for ready in 0..2 {
        let d = Decider::new(spec.clone(), ready, T0);
        assert_eq!(d.panic_time, None, "created at scale {ready} had panic mode on");
        assert_eq!(d.max_panic_pods, ready as i32);
    }
    let d = Decider::new(spec, 2, T0);
    assert!(d.panic_time.is_some(), "created at scale 2 had panic mode off");
    assert_eq!(d.max_panic_pods, 2);
}
