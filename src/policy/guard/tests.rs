//! Guard tests: one per rule, the error messages, and the shipped `knowledge/constraints.yaml`.

use super::*;

const T0: f64 = 1_700_000_000.0;

fn decision(n: u32) -> Decision {
    Decision { desired_replicas: n, reason: "test".into() }
}

fn guard(yaml: &str) -> Guard {
    Guard::from_yaml_str("c.yaml", yaml).unwrap()
}

#[test]
fn empty_file_passes_everything() {
    let mut g = guard("{}");
    let d = g.apply(T0, "svc", 3, decision(1000));
    assert_eq!(d, GuardedDecision { applied: 1000, proposed: 1000, reason: None });
}

#[test]
fn fixed_replica_services_always_get_their_count() {
    let mut g = guard("fixed_replica_services: [mongodb-geo, {name: redis, replicas: 3}]");
    let d = g.apply(T0, "mongodb-geo", 1, decision(4));
    assert_eq!((d.applied, d.proposed), (1, 4));
    assert_eq!(d.reason.as_deref(), Some("fixed-replica service: always 1"));
    // Restored even from another count, and unchanged proposals carry no reason.
    assert_eq!(g.apply(T0, "mongodb-geo", 0, decision(1)).applied, 1);
    assert_eq!(g.apply(T0, "mongodb-geo", 1, decision(1)).reason, None);
    assert_eq!(g.apply(T0, "redis", 1, decision(1)).applied, 3);
    assert_eq!(g.fixed_replicas("redis"), Some(3));
}

#[test]
fn min_and_max_replicas_per_service_over_defaults() {
    let yaml =
        "defaults: {min_replicas: 1, max_replicas: 5}\nservices:\n  big: {max_replicas: 20}\n";
    let mut g = guard(yaml);
    let d = g.apply(T0, "small", 2, decision(9));
    assert_eq!(d.applied, 5);
    assert_eq!(d.reason.as_deref(), Some("max_replicas 5"));
    let d = g.apply(T0, "small", 2, decision(0));
    assert_eq!(d.applied, 1);
    assert_eq!(d.reason.as_deref(), Some("min_replicas 1"));
    // The service entry keeps the default min and raises the max.
    assert_eq!(g.apply(T0, "big", 2, decision(9)).applied, 9);
    assert_eq!(g.apply(T0, "big", 2, decision(0)).applied, 1);
}

#[test]
fn max_step_absolute_percent_and_the_tighter_of_both() {
    let mut g = guard("defaults: {max_step: {replicas: 2}}");
    let d = g.apply(T0, "a", 3, decision(10));
    assert_eq!(d.applied, 5);
    assert_eq!(d.reason.as_deref(), Some("max_step: at most 2 per decision"));
    assert_eq!(g.apply(T0, "b", 10, decision(1)).applied, 8);

    // 50 % of 10 = 5; of 1 = 0.5, rounded up to 1 so a service can always move.
    let mut g = guard("defaults: {max_step: {percent: 50}}");
    assert_eq!(g.apply(T0, "a", 10, decision(30)).applied, 15);
    assert_eq!(g.apply(T0, "b", 1, decision(30)).applied, 2);
    assert_eq!(g.apply(T0, "c", 0, decision(30)).applied, 1);

    let mut g = guard("defaults: {max_step: {replicas: 3, percent: 100}}");
    assert_eq!(g.apply(T0, "a", 2, decision(30)).applied, 4);
    assert_eq!(g.apply(T0, "b", 10, decision(30)).applied, 13);
}

#[test]
fn cooldown_separate_up_and_down() {
    let mut g = guard("defaults: {cooldown: {up: 10s, down: 60s}}");
    assert_eq!(g.apply(T0, "a", 2, decision(4)).applied, 4);
    // 5 s later: up waits 10 s.
    let d = g.apply(T0 + 5.0, "a", 4, decision(6));
    assert_eq!(d.applied, 4);
    assert_eq!(d.reason.as_deref(), Some("cooldown: last change 5s ago, scale-up waits 10s"));
    assert_eq!(g.apply(T0 + 10.0, "a", 4, decision(6)).applied, 6);
    // Down waits 60 s after the last change (at +10 s).
    assert_eq!(g.apply(T0 + 40.0, "a", 6, decision(2)).applied, 6);
    assert_eq!(g.apply(T0 + 70.0, "a", 6, decision(2)).applied, 2);
    // Per service: another service is not held.
    assert_eq!(g.apply(T0 + 71.0, "b", 6, decision(2)).applied, 2);
    // A single value applies both ways.
    let mut g = guard("defaults: {cooldown: 30s}");
    g.apply(T0, "a", 1, decision(2));
    assert_eq!(g.apply(T0 + 1.0, "a", 2, decision(3)).applied, 2);
    assert_eq!(g.apply(T0 + 1.0, "a", 2, decision(1)).applied, 2);
}

#[test]
fn bounds_hold_even_during_a_cooldown() {
    let mut g = guard("defaults: {min_replicas: 2, cooldown: 1h, max_step: {replicas: 1}}");
    g.apply(T0, "a", 3, decision(4));
    // Currently below the minimum: restored to it despite the cooldown.
    let d = g.apply(T0 + 1.0, "a", 0, decision(0));
    assert_eq!(d.applied, 2);
    assert!(d.reason.unwrap().contains("min_replicas 2"));
}

#[test]
fn parameters_are_checked_with_knative_parsers() {
    let g = Guard::from_yaml_str("constraints.yaml", SHIPPED_CONSTRAINTS).unwrap();
    assert_eq!(g.check_parameter("autoscaling.knative.dev/window", "60s"), Ok(()));
    assert_eq!(g.check_parameter("stable_window", "1m30s"), Ok(()));
    let err = g.check_parameter("autoscaling.knative.dev/window", "5s").unwrap_err();
    assert_eq!(err.to_string(), "autoscaling.knative.dev/window: \"5s\" is below the minimum 6s");
    assert!(g.check_parameter("autoscaling.knative.dev/window", "2h").is_err());
    assert!(g.check_parameter("autoscaling.knative.dev/window", "soon").is_err());
    assert_eq!(g.check_parameter("autoscaling.knative.dev/min-scale", "0"), Ok(()));
    assert!(g.check_parameter("autoscaling.knative.dev/min-scale", "1.5").is_err());
    assert!(g.check_parameter("autoscaling.knative.dev/min-scale", "-1").is_err());
    assert_eq!(
        g.check_parameter("autoscaling.knative.dev/panic-threshold-percentage", "200.0"),
        Ok(())
    );
    assert!(
        g.check_parameter("autoscaling.knative.dev/panic-threshold-percentage", "100").is_err()
    );
    assert_eq!(g.check_parameter("max-scale-up-rate", "1.5"), Ok(()));
    let err = g.check_parameter("max-scale-up-rate", "1.0").unwrap_err();
    assert!(err.to_string().contains("must be greater than 1"), "{err}");
    assert_eq!(g.check_parameter("autoscaling.knative.dev/metric", "rps"), Ok(()));
    assert!(g.check_parameter("autoscaling.knative.dev/metric", "cpu").is_err());
    let err = g.check_parameter("autoscaling.knative.dev/magic", "1").unwrap_err();
    assert!(matches!(err, ParameterError::Unknown { .. }));
    // Fixed-replica services: min/max-scale only at their count.
    assert!(
        g.check_service_parameter("mongodb-geo", "autoscaling.knative.dev/max-scale", "3").is_err()
    );
    assert_eq!(
        g.check_service_parameter("mongodb-geo", "autoscaling.knative.dev/max-scale", "1"),
        Ok(())
    );
    assert_eq!(
        g.check_service_parameter("srv-geo", "autoscaling.knative.dev/max-scale", "3"),
        Ok(())
    );
}

#[test]
fn shipped_constraints_load() {
    let mut g = Guard::from_yaml_str("knowledge/constraints.yaml", SHIPPED_CONSTRAINTS).unwrap();
    for name in
        ["mongodb-rate", "mongodb-user", "mongodb-reservation", "mongodb-profile", "mongodb-geo"]
    {
        assert_eq!(g.fixed_replicas(name), Some(1), "{name}");
        assert_eq!(g.fixed_replicas(&format!("{name}-deployment")), Some(1), "{name}");
    }
    assert_eq!(g.notes().len(), 5);
    assert!(g.notes()[0].starts_with("CRITICAL: MongoDB"));
    // Defaults: max 10, doubling per decision, scale-downs 30 s apart; frontend never at 0.
    assert_eq!(g.apply(T0, "srv-geo", 1, decision(50)).applied, 2);
    assert_eq!(g.apply(T0, "frontend", 1, decision(0)).applied, 1);
    assert_eq!(g.apply(T0, "srv-rate", 1, decision(0)).applied, 0);
    assert_eq!(g.apply(T0, "srv-search", 8, decision(40)).applied, 10);
    assert_eq!(g.apply(T0 + 1.0, "srv-search", 10, decision(5)).applied, 10);
}

#[test]
fn errors_name_file_line_column_or_field_path() {
    let err = Guard::from_yaml_str("c.yaml", "defaults:\n  min_replica: 1\n").unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("c.yaml:2:3: "), "{text}");
    assert!(text.contains("unknown field `min_replica`"), "{text}");

    let err =
        Guard::from_yaml_str("c.yaml", "defaults: {min_replicas: 5, max_replicas: 2}").unwrap_err();
    assert_eq!(err.to_string(), "c.yaml: defaults: min_replicas 5 is above max_replicas 2");
    let err =
        Guard::from_yaml_str("c.yaml", "services:\n  a: {max_step: {replicas: 0}}").unwrap_err();
    assert_eq!(err.to_string(), "c.yaml: services.a.max_step.replicas: must be at least 1");
    let err = Guard::from_yaml_str("c.yaml", "defaults: {cooldown: {down: soon}}").unwrap_err();
    assert!(err.to_string().starts_with("c.yaml: defaults.cooldown.down: \"soon\""), "{err}");
    let err = Guard::from_yaml_str("c.yaml", "parameters:\n  w: {range: [1h, 6s]}").unwrap_err();
    assert!(err.to_string().starts_with("c.yaml: parameters.w: min 3600 is above max 6"), "{err}");
    let err = Guard::from_yaml_str("c.yaml", "parameters:\n  w: {type: duration, min: later}")
        .unwrap_err();
    assert!(err.to_string().starts_with("c.yaml: parameters.w.min: "), "{err}");
    let err = Guard::from_yaml_str("c.yaml", "fixed_replica_services: [a]\nservices: {a: {}}")
        .unwrap_err();
    assert!(err.to_string().starts_with("c.yaml: fixed_replica_services[0]: "), "{err}");
}
