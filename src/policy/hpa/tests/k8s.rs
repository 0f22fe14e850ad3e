//! Reading `kubectl` objects: API defaults and field paths in errors.

use crate::policy::hpa::k8s::parse_hpa;
use crate::policy::hpa::model::{PolicyKind, SelectPolicy};

const HPA: &str = r#"
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: queue}
spec:
  maxReplicas: 20
  metrics:
  - type: External
    external:
      metric: {name: backlog}
      target: {type: AverageValue, averageValue: "30"}
  behavior:
    scaleUp:
      tolerance: 0.05
      policies: [{type: Pods, value: 2, periodSeconds: 60}]
    scaleDown:
      selectPolicy: Disabled
status:
  currentReplicas: 4
  currentMetrics:
  - type: External
    external:
      metric: {name: backlog}
      current: {averageValue: "25"}
"#;

#[test]
fn defaults_fill_what_the_yaml_leaves_out() {
    let h = parse_hpa(HPA).unwrap();
    assert_eq!((h.spec.min_replicas, h.spec.max_replicas), (1, 20));
    let b = h.spec.behavior.unwrap();
    assert_eq!(b.scale_up.stabilization_window_seconds, Some(0));
    assert_eq!(b.scale_up.tolerance, Some(0.05));
    assert_eq!(b.scale_up.policies[0].kind, PolicyKind::Pods);
    assert_eq!(b.scale_down.select_policy, SelectPolicy::Disabled);
    assert_eq!(b.scale_down.stabilization_window_seconds, None, "the controller's 300 s");
    assert_eq!(b.scale_down.policies.len(), 1, "default: 100 % per 15 s");
    // The status average (25 per pod over 4 pods) is the only source of the value.
    assert_eq!(h.status_values.external, vec![("backlog".to_string(), vec![100_000])]);
    assert_eq!(h.status_current_replicas, Some(4));
    let no_metrics = parse_hpa("spec: {maxReplicas: 3}").unwrap();
    assert_eq!(no_metrics.spec.metrics, vec![crate::policy::hpa::HpaSpec::default_metric()]);
    assert!(no_metrics.spec.behavior.is_none(), "no behavior: the legacy path");
}

#[test]
fn errors_name_the_field() {
    let cases = [
        ("spec: {maxReplicas: three}", "spec.maxReplicas"),
        (
            "spec: {maxReplicas: 3, metrics: [{type: Resource, resource: {name: cpu, target: {type: Value, value: 1}}}]}",
            "spec.metrics[0].resource.target.type",
        ),
        (
            "spec: {maxReplicas: 3, behavior: {scaleUp: {selectPolicy: Most}}}",
            "spec.behavior.scaleUp.selectPolicy",
        ),
        (
            "spec: {maxReplicas: 3, behavior: {scaleDown: {policies: [{type: Pods, value: 1, periodSeconds: 0}]}}}",
            "spec.behavior.scaleDown.policies[0].periodSeconds",
        ),
        (
            "spec: {maxReplicas: 3, metrics: [{type: Pods, pods: {metric: {name: q}, target: {type: AverageValue, averageValue: 1x}}}]}",
            "spec.metrics[0].pods.target.averageValue",
        ),
    ];
    for (text, path) in cases {
        let e = parse_hpa(text).unwrap_err().to_string();
        assert!(e.starts_with(path), "{path}: {e}");
    }
}
