//! `KpaPolicy` end to end: observations in, decisions out, with bounds and scale to zero.

use crate::policy::kpa::{KpaConfig, KpaPolicy, KpaSpec, Revision};
use crate::policy::{Observation, Policy};

const T0: f64 = 1_700_000_000.0;

fn observation(spec_replicas: u32, ready: u32, concurrency: Option<f64>) -> Observation {
    Observation {
        deployment: "srv-geo".into(),
        spec_replicas,
        ready_replicas: ready,
        concurrency,
        ..Observation::default()
    }
}

fn seed_policy() -> KpaPolicy {
    KpaPolicy::from_yaml_str(
        "config-autoscaler.yaml",
        include_str!("../../../../tests/fixtures/knative/config-autoscaler.yaml"),
        "srv-geo.yaml",
        include_str!("../../../../tests/fixtures/knative/srv-geo.yaml"),
    )
    .unwrap()
}

fn default_policy(annotations: &[(&str, &str)]) -> KpaPolicy {
    let rev = Revision {
        name: "r".into(),
        annotations: annotations
            .iter()
            .map(|(k, v)| (format!("autoscaling.knative.dev/{k}"), v.to_string()))
            .collect(),
        container_concurrency: 0,
    };
    KpaPolicy::new(KpaSpec::resolve(&KpaConfig::default(), &rev).unwrap())
}

#[test]
fn no_data_keeps_the_current_scale() {
    let mut p = seed_policy();
    let d = p.decide(T0, &observation(2, 2, None));
    assert_eq!(d.desired_replicas, 2);
    assert!(d.reason.contains("no concurrency data"), "{}", d.reason);
}

#[test]
fn seed_service_scales_with_activation_scale_and_max_scale() {
    let mut p = seed_policy();
    // 14 in flight at target 7: 2 pods, but activation-scale lifts it to 3.
    let d = p.decide(T0, &observation(1, 1, Some(14.0)));
    assert_eq!(d.desired_replicas, 3, "{}", d.reason);
    // 70 in flight: 10 wanted, max-scale-up-rate 2 allows 6 from 3 ready, max-scale 3 bounds it.
    let d = p.decide(T0 + 1.0, &observation(3, 3, Some(70.0)));
    assert_eq!(d.desired_replicas, 3, "{}", d.reason);
    assert!(d.reason.contains("bounded to [0, 3]"), "{}", d.reason);
    let r = p.last_result().unwrap();
    assert_eq!(r.desired_pod_count, 6);
}

#[test]
fn panics_on_a_burst_and_holds_the_high_water_mark() {
    let mut p = default_policy(&[("target", "10"), ("target-utilization-percentage", "100")]);
    let mut t = T0;
    for _ in 0..60 {
        let d = p.decide(t, &observation(1, 1, Some(10.0)));
        assert_eq!(d.desired_replicas, 1);
        t += 1.0;
    }
    // A burst of 200: the 6-s panic window averages (5 x 10 + 200) / 6 = 41.7 -> 5 pods,
    // >= 2 x 1 ready, while the 60-s stable window only sees 13.2 -> 2.
    let d = p.decide(t, &observation(1, 1, Some(200.0)));
    assert!(p.last_result().unwrap().in_panic);
    assert_eq!(d.desired_replicas, 5, "{}", d.reason);
    // Load back to 10 at once: the panic mode never scales down.
    t += 1.0;
    let d = p.decide(t, &observation(5, 5, Some(10.0)));
    assert_eq!(d.desired_replicas, 5, "{}", d.reason);
    // A stable window after the last over-threshold tick, panic ends and the count drops.
    for _ in 0..62 {
        t += 1.0;
        p.decide(t, &observation(5, 5, Some(10.0)));
    }
    assert!(!p.last_result().unwrap().in_panic);
    let d = p.decide(t + 1.0, &observation(5, 5, Some(10.0)));
    assert!(d.desired_replicas < 5, "{}", d.reason);
}

#[test]
fn scales_to_zero_only_after_the_grace_period() {
    let mut p = default_policy(&[]);
    // Idle from the start: the decider wants 0 at once; the grace period (30 s) holds 1.
    for s in 0..30 {
        let d = p.decide(T0 + s as f64, &observation(1, 1, Some(0.0)));
        assert_eq!(d.desired_replicas, 1, "t={s}: {}", d.reason);
    }
    let d = p.decide(T0 + 30.0, &observation(1, 1, Some(0.0)));
    assert_eq!(d.desired_replicas, 0, "{}", d.reason);
    assert!(d.reason.contains("scale to zero"), "{}", d.reason);
    // Traffic again: back to one pod at once.
    let d = p.decide(T0 + 31.0, &observation(0, 0, Some(5.0)));
    assert_eq!(d.desired_replicas, 1, "{}", d.reason);
}

#[test]
fn min_scale_and_disabled_scale_to_zero_keep_pods() {
    let mut p = default_policy(&[("min-scale", "2")]);
    let d = p.decide(T0, &observation(2, 2, Some(0.0)));
    assert_eq!(d.desired_replicas, 2, "{}", d.reason);

    let config = KpaConfig { enable_scale_to_zero: false, ..KpaConfig::default() };
    let mut p = KpaPolicy::new(KpaSpec::resolve(&config, &Revision::default()).unwrap());
    let d = p.decide(T0 + 100.0, &observation(1, 1, Some(0.0)));
    assert_eq!(d.desired_replicas, 1, "{}", d.reason);
}

#[test]
fn rps_metric_reads_the_request_rate() {
    let mut p = default_policy(&[("metric", "rps"), ("target", "100")]);
    let mut o = observation(1, 1, Some(1.0));
    o.request_rate = Some(250.0);
    // 250 RPS at a target of 70 per pod (100 x 70 %): 4 pods.
    let d = p.decide(T0, &o);
    assert_eq!(d.desired_replicas, 4, "{}", d.reason);
}
