//! `pkg/autoscaler/config/config_test.go` (`TestNewConfig`), case by case, plus the seed's
//! `config-autoscaler.yaml` and the annotation rules of `annotation_validation.go`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::policy::kpa::{KpaConfig, KpaError, KpaSpec, Metric, Revision};

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn with(f: impl FnOnce(&mut KpaConfig)) -> KpaConfig {
    let mut c = KpaConfig::default();
    f(&mut c);
    c
}

/// (name, ConfigMap data, expected config).
type OkCase = (&'static str, Vec<(&'static str, &'static str)>, KpaConfig);
/// (name, ConfigMap data, the key the error must name).
type BadCase = (&'static str, &'static [(&'static str, &'static str)], &'static str);

#[test]
fn test_new_config() {
    let ok: Vec<OkCase> = vec![
        ("default", vec![], KpaConfig::default()),
        (
            "overridden",
            vec![
                ("enable-scale-to-zero", "true"),
                ("max-scale-down-rate", "3.0"),
                ("max-scale-up-rate", "1.01"),
                ("container-concurrency-target-percentage", "0.71"),
                ("container-concurrency-target-default", "10.5"),
                ("requests-per-second-target-default", "10.11"),
                ("target-burst-capacity", "12345"),
                ("scale-down-delay", "15m"),
                ("stable-window", "5m"),
                ("tick-interval", "2s"),
                ("panic-window-percentage", "10"),
                ("panic-threshold-percentage", "200"),
                ("pod-autoscaler-class", "some.class"),
                ("activator-capacity", "905"),
                ("scale-to-zero-pod-retention-period", "2m3s"),
            ],
            with(|c| {
                c.target_burst_capacity = 12345.0;
                c.container_concurrency_target_default = 10.5;
                c.container_concurrency_target_fraction = 0.71;
                c.requests_per_second_target_default = 10.11;
                c.max_scale_down_rate = 3.0;
                c.max_scale_up_rate = 1.01;
                c.scale_down_delay = Duration::from_secs(900);
                c.stable_window = Duration::from_secs(300);
                c.activator_capacity = 905.0;
                c.pod_autoscaler_class = "some.class".into();
                c.scale_to_zero_pod_retention_period = Duration::from_secs(123);
            }),
        ),
        (
            "minimum",
            vec![
                ("max-scale-up-rate", "1.001"),
                ("container-concurrency-target-percentage", "0.5"),
                ("container-concurrency-target-default", "10.0"),
                ("target-burst-capacity", "0"),
                ("stable-window", "5m"),
                ("tick-interval", "2s"),
                ("panic-window-percentage", "10"),
                ("panic-threshold-percentage", "200"),
                ("activator-capacity", "1"),
            ],
            with(|c| {
                c.container_concurrency_target_fraction = 0.5;
                c.container_concurrency_target_default = 10.0;
                c.max_scale_up_rate = 1.001;
                c.target_burst_capacity = 0.0;
                c.stable_window = Duration::from_secs(300);
                c.activator_capacity = 1.0;
            }),
        ),
        (
            "concurrencty target percentage as percent",
            vec![("container-concurrency-target-percentage", "55")],
            with(|c| c.container_concurrency_target_fraction = 0.55),
        ),
        (
            "with -1 tbc",
            vec![("target-burst-capacity", "-1")],
            with(|c| c.target_burst_capacity = -1.0),
        ),
        (
            "with toggles on strange casing",
            vec![("enable-scale-to-zero", "TRUE")],
            KpaConfig::default(),
        ),
        (
            "with toggles explicitly flipped",
            vec![("enable-scale-to-zero", "false")],
            with(|c| c.enable_scale_to_zero = false),
        ),
        (
            "with explicit grace period",
            vec![("enable-scale-to-zero", "false"), ("scale-to-zero-grace-period", "33s")],
            with(|c| {
                c.enable_scale_to_zero = false;
                c.scale_to_zero_grace_period = Duration::from_secs(33);
            }),
        ),
        (
            "with valid default initial scale",
            vec![("allow-zero-initial-scale", "true"), ("initial-scale", "0")],
            with(|c| {
                c.allow_zero_initial_scale = true;
                c.initial_scale = 0;
            }),
        ),
        ("with valid default max scale", vec![("max-scale", "10")], with(|c| c.max_scale = 10)),
    ];
    for (name, input, want) in ok {
        let got = KpaConfig::from_map(&map(&input));
        assert_eq!(got.as_ref().ok(), Some(&want), "{name}: {got:?}");
    }

    // Each error must name the key at fault.
    let bad: &[BadCase] = &[
        ("malformed float", &[("max-scale-up-rate", "not a float")], "max-scale-up-rate"),
        ("invalid scale-down-delay", &[("scale-down-delay", "-1m23s")], "scale-down-delay"),
        (
            "invalid pod retention period",
            &[("scale-to-zero-pod-retention-period", "-4m11s")],
            "scale-to-zero-pod-retention-period",
        ),
        ("malformed duration", &[("stable-window", "not a duration")], "stable-window"),
        (
            "invalid target burst capacity",
            &[("target-burst-capacity", "-11")],
            "target-burst-capacity",
        ),
        (
            "invalid target %, too small",
            &[("container-concurrency-target-percentage", "-42")],
            "container-concurrency-target-percentage",
        ),
        (
            "invalid target %, too big",
            &[("container-concurrency-target-percentage", "142.4")],
            "container-concurrency-target-percentage",
        ),
        (
            "invalid RPS target, too small",
            &[("requests-per-second-target-default", "-5.25")],
            "requests-per-second-target-default",
        ),
        ("max scale up rate 1.0", &[("max-scale-up-rate", "1")], "max-scale-up-rate"),
        ("max down down rate negative", &[("max-scale-down-rate", "-55")], "max-scale-down-rate"),
        ("max down down rate 1.0", &[("max-scale-down-rate", "1")], "max-scale-down-rate"),
        ("stable window too big", &[("stable-window", "1h1s")], "stable-window"),
        ("stable window too small", &[("stable-window", "1s")], "stable-window"),
        ("stable not seconds", &[("stable-window", "61984ms")], "stable-window"),
        ("scale-down-delay not seconds", &[("scale-down-delay", "61984ms")], "scale-down-delay"),
        ("activator-capacity invalid", &[("activator-capacity", "0.95")], "activator-capacity"),
        (
            "panic window percentage too small",
            &[("panic-window-percentage", "0.1")],
            "panic-window-percentage",
        ),
        (
            "panic window percentage too big",
            &[("stable-window", "12s"), ("panic-window", "3s"), ("panic-window-percentage", "110")],
            "panic-window-percentage",
        ),
        (
            "TU*CC < 0.01",
            &[
                ("container-concurrency-target-percentage", "1"),
                ("container-concurrency-target-default", "0.001"),
            ],
            "container-concurrency-target-default",
        ),
        // The newest config.go only demands a positive grace period (older releases: >= 6s).
        (
            "grace window too small",
            &[("scale-to-zero-grace-period", "0s")],
            "scale-to-zero-grace-period",
        ),
        (
            "with prohibited default initial scale",
            &[("allow-zero-initial-scale", "false"), ("initial-scale", "0")],
            "initial-scale",
        ),
        (
            "with negative default initial scale",
            &[("allow-zero-initial-scale", "false"), ("initial-scale", "-1")],
            "initial-scale",
        ),
        (
            "with non-parseable default initial scale",
            &[("allow-zero-initial-scale", "false"), ("initial-scale", "invalid")],
            "initial-scale",
        ),
        (
            "with non-parseable allow-zero-initial-scale",
            &[("allow-zero-initial-scale", "invalid")],
            "allow-zero-initial-scale",
        ),
        ("with negative default max scale", &[("max-scale", "-1")], "max-scale"),
    ];
    for (name, input, key) in bad {
        let err = KpaConfig::from_map(&map(input)).expect_err(name);
        assert!(err.to_string().starts_with(key), "{name}: {err}");
    }
}

#[test]
fn seed_config_autoscaler_yaml() {
    let text = include_str!("../../../../tests/fixtures/knative/config-autoscaler.yaml");
    let c = KpaConfig::from_yaml_str("config-autoscaler.yaml", text).unwrap();
    assert_eq!(c.max_scale_up_rate, 2.0);
    assert_eq!(c.max_scale_down_rate, 2.0);
    assert_eq!(c.scale_to_zero_grace_period, Duration::from_secs(30));
    assert_eq!(c.scale_to_zero_pod_retention_period, Duration::ZERO);
    assert!(c.enable_scale_to_zero);
    assert!(c.ignored_keys.is_empty());
    // Everything else keeps Knative's defaults.
    assert_eq!(c.stable_window, Duration::from_secs(60));
    assert_eq!(c.target_burst_capacity, 211.0);
}

#[test]
fn configmap_errors_name_file_and_key() {
    let text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  max-scale-up-rate: \"fast\"\n";
    let err = KpaConfig::from_yaml_str("cm.yaml", text).unwrap_err();
    assert_eq!(err.to_string(), "cm.yaml:4:3: max-scale-up-rate: \"fast\" is not a number");
    // A key set in a comment or in another key's value is not taken for the key's line.
    let text = "# max-scale-up-rate: 2\ndata:\n  x: \"max-scale-up-rate: 1\"\n  \"max-scale-up-rate\": \"fast\"\n";
    let err = KpaConfig::from_yaml_str("cm.yaml", text).unwrap_err();
    assert!(err.to_string().starts_with("cm.yaml:4:3: max-scale-up-rate:"), "{err}");
    let err = KpaConfig::from_yaml_str("cm.yaml", "data: [1, 2]").unwrap_err();
    assert!(err.to_string().contains("data: expected a mapping"), "{err}");
    let err = KpaConfig::from_yaml_str("cm.yaml", "kind: Secret\n").unwrap_err();
    assert!(err.to_string().contains("kind: Secret"), "{err}");
    let err = KpaConfig::from_yaml_str("cm.yaml", "data:\n  a: [\n").unwrap_err();
    assert!(matches!(err, KpaError::Yaml { .. }), "{err}");
    assert!(err.to_string().contains("line"), "{err}");
    // Unquoted numbers are read as their text; unknown keys are reported, not fatal.
    let c =
        KpaConfig::from_yaml_str("cm.yaml", "data:\n  max-scale-up-rate: 3\n  stable-windw: 6s\n")
            .unwrap();
    assert_eq!(c.max_scale_up_rate, 3.0);
    assert_eq!(c.ignored_keys, vec!["stable-windw".to_string()]);
}

#[test]
fn seed_services_resolve() {
    let config = KpaConfig::from_yaml_str(
        "config-autoscaler.yaml",
        include_str!("../../../../tests/fixtures/knative/config-autoscaler.yaml"),
    )
    .unwrap();
    let services = [
        ("srv-geo", include_str!("../../../../tests/fixtures/knative/srv-geo.yaml")),
        ("srv-profile", include_str!("../../../../tests/fixtures/knative/srv-profile.yaml")),
        ("srv-rate", include_str!("../../../../tests/fixtures/knative/srv-rate.yaml")),
        (
            "srv-recommendation",
            include_str!("../../../../tests/fixtures/knative/srv-recommendation.yaml"),
        ),
        (
            "srv-reservation",
            include_str!("../../../../tests/fixtures/knative/srv-reservation.yaml"),
        ),
        ("srv-search", include_str!("../../../../tests/fixtures/knative/srv-search.yaml")),
        ("srv-user", include_str!("../../../../tests/fixtures/knative/srv-user.yaml")),
    ];
    for (name, text) in services {
        let rev = Revision::from_yaml_str(&format!("{name}.yaml"), text).unwrap();
        assert_eq!(rev.name, name);
        let spec = KpaSpec::resolve(&config, &rev).unwrap();
        let d = &spec.decider;
        assert_eq!(d.metric, Metric::Concurrency);
        // target 10 at the default 70 % utilisation.
        assert_eq!((d.total_value, d.target_value), (10.0, 7.0));
        assert_eq!(d.stable_window, Duration::from_secs(6));
        // 1 % of 6 s rounds to 0 s, raised to one 1-s bucket.
        assert_eq!(spec.panic_window, Duration::from_secs(1));
        assert_eq!(d.panic_threshold, 5.0);
        assert_eq!((d.max_scale_up_rate, d.max_scale_down_rate), (2.0, 2.0));
        assert_eq!(d.activation_scale, 3);
        assert_eq!((spec.min_scale, spec.max_scale, spec.initial_scale), (0, 3, 1));
        assert_eq!(d.scale_down_delay, Duration::ZERO);
        // `stable-window` is not a Knative annotation: reported, not applied.
        assert_eq!(spec.ignored, vec!["autoscaling.knative.dev/stable-window".to_string()]);
    }
}

fn resolve(annotations: &[(&str, &str)], container_concurrency: u32) -> Result<KpaSpec, KpaError> {
    let rev = Revision {
        name: "r".into(),
        annotations: annotations
            .iter()
            .map(|(k, v)| (format!("autoscaling.knative.dev/{k}"), v.to_string()))
            .collect(),
        container_concurrency,
    };
    KpaSpec::resolve(&KpaConfig::default(), &rev)
}

#[test]
fn annotations_resolve_targets_as_upstream() {
    // Defaults: 70 of 100 concurrent requests; 140 of 200 RPS.
    let d = resolve(&[], 0).unwrap().decider;
    assert_eq!((d.target_value, d.total_value), (70.0, 100.0));
    let d = resolve(&[("metric", "rps")], 0).unwrap().decider;
    assert_eq!((d.target_value, d.total_value), (140.0, 200.0));
    // containerConcurrency is the capacity, and caps a larger target annotation.
    let d = resolve(&[], 10).unwrap().decider;
    assert_eq!(d.target_value, 7.0);
    let d = resolve(&[("target", "50")], 10).unwrap().decider;
    assert_eq!(d.total_value, 10.0);
    let d =
        resolve(&[("target", "50"), ("target-utilization-percentage", "80")], 0).unwrap().decider;
    assert_eq!(d.target_value, 40.0);
    // Legacy camelCase aliases.
    let s = resolve(&[("minScale", "2"), ("maxScale", "5")], 0).unwrap();
    assert_eq!((s.min_scale, s.max_scale), (2, 5));
    let s = resolve(
        &[("window", "2m"), ("panic-window-percentage", "25"), ("scale-down-delay", "30s")],
        0,
    )
    .unwrap();
    assert_eq!(s.panic_window, Duration::from_secs(30));
    assert_eq!(s.decider.scale_down_delay, Duration::from_secs(30));
}

#[test]
fn annotation_errors_name_the_annotation() {
    for (annotations, key) in [
        (vec![("window", "5s")], "window"),
        (vec![("window", "6500ms")], "window"),
        (vec![("panic-window-percentage", "0.5")], "panic-window-percentage"),
        (vec![("panic-threshold-percentage", "100")], "panic-threshold-percentage"),
        (vec![("target", "0")], "target"),
        (vec![("target-utilization-percentage", "120")], "target-utilization-percentage"),
        (vec![("target-burst-capacity", "-2")], "target-burst-capacity"),
        (vec![("min-scale", "-1")], "min-scale"),
        (vec![("min-scale", "3"), ("max-scale", "2")], "max-scale"),
        (vec![("initial-scale", "0")], "initial-scale"),
        (vec![("activation-scale", "1")], "activation-scale"),
        (vec![("scale-down-delay", "2h")], "scale-down-delay"),
        (vec![("metric", "cpu")], "metric"),
        (vec![("metric-aggregation-algorithm", "median")], "metric-aggregation-algorithm"),
        (vec![("class", "hpa.autoscaling.knative.dev")], "class"),
    ] {
        let err = resolve(&annotations, 0).expect_err(key);
        let text = err.to_string();
        assert!(text.starts_with(&format!("autoscaling.knative.dev/{key}")), "{key}: {text}");
    }
}
