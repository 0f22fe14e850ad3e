//! The HPA object a user already has, parsed from text: an `autoscaling/v2`
//! HorizontalPodAutoscaler (`kubectl get hpa -o yaml`); `k8s_pods` reads the PodList and
//! the PodMetricsList. Only the fields the HPA reads are modelled; everything else is
//! ignored. Type errors carry the field path (serde_yaml reports it, and
//! it reads JSON too); semantic errors build the same path by hand. API defaults
//! (`minReplicas` 1, CPU 80 %, behavior rules) are applied here.

use super::model::{
    Behavior, HpaSpec, MetricData, MetricSpec, PolicyKind, ScalingPolicy, ScalingRules,
    SelectPolicy, Target,
};
use super::quantity::{parse_f64, parse_milli};
use serde::{Deserialize, Deserializer, de};

/// An input error: the path of the bad field and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

pub(super) fn err(path: &str, what: impl std::fmt::Display) -> InputError {
    InputError(format!("{path}: {what}"))
}

/// Parses YAML or JSON text into `T`, keeping serde_yaml's field path and line.
pub(super) fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, InputError> {
    serde_yaml::from_str(text).map_err(|e| InputError(e.to_string()))
}

/// A quantity field: a string or a number, kept as text until converted.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Quantity {
    Text(String),
    Int(i64),
    Float(f64),
}

impl Quantity {
    pub(super) fn text(&self) -> String {
        match self {
            Quantity::Text(s) => s.clone(),
            Quantity::Int(i) => i.to_string(),
            Quantity::Float(f) => f.to_string(),
        }
    }

    pub(super) fn milli(&self, path: &str) -> Result<i64, InputError> {
        parse_milli(&self.text()).ok_or_else(|| {
            err(path, format!("expected a quantity like 500m, 2 or 1Gi, found '{}'", self.text()))
        })
    }
}

/// An int32 field whose error says "expected an integer".
fn int32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    struct V;
    impl de::Visitor<'_> for V {
        type Value = i32;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an integer")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i32, E> {
            i32::try_from(v)
                .map_err(|_| E::custom(format!("expected an integer within int32, found {v}")))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i32, E> {
            i32::try_from(v)
                .map_err(|_| E::custom(format!("expected an integer within int32, found {v}")))
        }
    }
    d.deserialize_any(V)
}

fn opt_int32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "int32")] i32);
    Option::<W>::deserialize(d).map(|o| o.map(|w| w.0))
}

// ---- HorizontalPodAutoscaler ----------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HorizontalPodAutoscaler {
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: HpaSpecJson,
    #[serde(default)]
    pub status: Option<HpaStatusJson>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub deletion_timestamp: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaSpecJson {
    #[serde(default, deserialize_with = "opt_int32")]
    pub min_replicas: Option<i32>,
    #[serde(deserialize_with = "int32")]
    pub max_replicas: i32,
    #[serde(default)]
    pub metrics: Vec<MetricSpecJson>,
    #[serde(default)]
    pub behavior: Option<BehaviorJson>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSpecJson {
    #[serde(rename = "type")]
    pub kind: String,
    pub resource: Option<ResourceSourceJson>,
    pub container_resource: Option<ResourceSourceJson>,
    pub pods: Option<CustomSourceJson>,
    pub object: Option<CustomSourceJson>,
    pub external: Option<CustomSourceJson>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSourceJson {
    pub name: String,
    #[serde(default)]
    pub container: Option<String>,
    pub target: MetricTargetJson,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomSourceJson {
    pub metric: MetricIdentifierJson,
    #[serde(default)]
    pub described_object: Option<DescribedObjectJson>,
    pub target: MetricTargetJson,
}

#[derive(Debug, Deserialize)]
pub struct MetricIdentifierJson {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct DescribedObjectJson {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricTargetJson {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub value: Option<Quantity>,
    #[serde(default)]
    pub average_value: Option<Quantity>,
    #[serde(default, deserialize_with = "opt_int32")]
    pub average_utilization: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BehaviorJson {
    #[serde(default)]
    pub scale_up: Option<RulesJson>,
    #[serde(default)]
    pub scale_down: Option<RulesJson>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RulesJson {
    #[serde(default, deserialize_with = "opt_int32")]
    pub stabilization_window_seconds: Option<i32>,
    #[serde(default)]
    pub select_policy: Option<String>,
    #[serde(default)]
    pub policies: Option<Vec<PolicyJson>>,
    #[serde(default)]
    pub tolerance: Option<Quantity>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyJson {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "int32")]
    pub value: i32,
    #[serde(deserialize_with = "int32")]
    pub period_seconds: i32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaStatusJson {
    #[serde(default, deserialize_with = "opt_int32")]
    pub current_replicas: Option<i32>,
    #[serde(default)]
    pub current_metrics: Vec<MetricStatusJson>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricStatusJson {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub object: Option<CustomStatusJson>,
    #[serde(default)]
    pub external: Option<CustomStatusJson>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomStatusJson {
    pub metric: MetricIdentifierJson,
    pub current: MetricValueStatusJson,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricValueStatusJson {
    #[serde(default)]
    pub value: Option<Quantity>,
    #[serde(default)]
    pub average_value: Option<Quantity>,
}

/// A parsed HPA: the spec with defaults, `status.currentReplicas`, and the Object /
/// External metric values its status reports (the only source `ctl hpa` has for them).
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedHpa {
    pub name: String,
    pub spec: HpaSpec,
    pub status_current_replicas: Option<i32>,
    pub status_values: MetricData,
}

/// Parses `kubectl get hpa NAME -o yaml` (or JSON).
pub fn parse_hpa(text: &str) -> Result<ParsedHpa, InputError> {
    let hpa: HorizontalPodAutoscaler = parse(text)?;
    if let Some(v) = hpa.api_version.as_ref().filter(|v| *v != "autoscaling/v2") {
        return Err(err("apiVersion", format!("expected autoscaling/v2, found '{v}'")));
    }
    let s = &hpa.spec;
    let min_replicas = s.min_replicas.unwrap_or(1);
    if min_replicas < 0 {
        return Err(err("spec.minReplicas", "expected an integer >= 0"));
    }
    if s.max_replicas < 1 || s.max_replicas < min_replicas {
        return Err(err("spec.maxReplicas", "expected an integer >= 1 and >= minReplicas"));
    }
    let mut metrics = Vec::with_capacity(s.metrics.len().max(1));
    for (i, m) in s.metrics.iter().enumerate() {
        metrics.push(metric_spec(m, &format!("spec.metrics[{i}]"))?);
    }
    if metrics.is_empty() {
        metrics.push(HpaSpec::default_metric());
    }
    let behavior = match &s.behavior {
        None => None,
        Some(b) => Some(Behavior {
            scale_up: rules(
                b.scale_up.as_ref(),
                ScalingRules::default_up(),
                "spec.behavior.scaleUp",
            )?,
            scale_down: rules(
                b.scale_down.as_ref(),
                ScalingRules::default_down(),
                "spec.behavior.scaleDown",
            )?,
        }),
    };
    let mut status_values = MetricData::default();
    if let Some(st) = &hpa.status {
        let replicas = i64::from(st.current_replicas.unwrap_or(1).max(1));
        for (i, m) in st.current_metrics.iter().enumerate() {
            let path = format!("status.currentMetrics[{i}]");
            if let Some(o) = &m.object {
                status_values
                    .objects
                    .push((o.metric.name.clone(), status_value(&o.current, &path, replicas)?));
            }
            if let Some(e) = &m.external {
                status_values.external.push((
                    e.metric.name.clone(),
                    vec![status_value(&e.current, &path, replicas)?],
                ));
            }
        }
    }
    Ok(ParsedHpa {
        name: hpa.metadata.name.clone(),
        spec: HpaSpec { min_replicas, max_replicas: s.max_replicas, metrics, behavior },
        status_current_replicas: hpa.status.as_ref().and_then(|s| s.current_replicas),
        status_values,
    })
}

/// The total a metric status reports: `value`, or `averageValue` times the replicas it was
/// averaged over (upstream rounded that average up, so the total can be a little high).
fn status_value(v: &MetricValueStatusJson, path: &str, replicas: i64) -> Result<i64, InputError> {
    match (&v.value, &v.average_value) {
        (Some(q), _) => q.milli(&format!("{path}.current.value")),
        (None, Some(q)) => {
            Ok(q.milli(&format!("{path}.current.averageValue"))?.saturating_mul(replicas))
        }
        (None, None) => Err(err(&format!("{path}.current"), "expected value or averageValue")),
    }
}

fn metric_spec(m: &MetricSpecJson, path: &str) -> Result<MetricSpec, InputError> {
    let missing = |field: &str| err(path, format!("type {} needs the field {field}", m.kind));
    Ok(match m.kind.as_str() {
        "Resource" | "ContainerResource" => {
            let (src, field) = if m.kind == "Resource" {
                (m.resource.as_ref().ok_or_else(|| missing("resource"))?, "resource")
            } else {
                (
                    m.container_resource.as_ref().ok_or_else(|| missing("containerResource"))?,
                    "containerResource",
                )
            };
            let container =
                if m.kind == "ContainerResource" {
                    Some(src.container.clone().ok_or_else(|| {
                        err(&format!("{path}.{field}"), "expected a container name")
                    })?)
                } else {
                    None
                };
            let target = target(&src.target, &format!("{path}.{field}.target"), true)?;
            MetricSpec::Resource { name: src.name.clone(), container, target }
        }
        "Pods" => {
            let src = m.pods.as_ref().ok_or_else(|| missing("pods"))?;
            let tpath = format!("{path}.pods.target");
            match target(&src.target, &tpath, false)? {
                Target::AverageValue(v) => {
                    MetricSpec::Pods { metric: src.metric.name.clone(), target_average: v }
                }
                _ => return Err(err(&tpath, "a Pods metric needs type AverageValue")),
            }
        }
        "Object" => {
            let src = m.object.as_ref().ok_or_else(|| missing("object"))?;
            let object = src
                .described_object
                .as_ref()
                .map(|o| format!("{} {}", o.kind, o.name))
                .unwrap_or_default();
            MetricSpec::Object {
                metric: src.metric.name.clone(),
                object,
                target: target(&src.target, &format!("{path}.object.target"), false)?,
            }
        }
        "External" => {
            let src = m.external.as_ref().ok_or_else(|| missing("external"))?;
            MetricSpec::External {
                metric: src.metric.name.clone(),
                target: target(&src.target, &format!("{path}.external.target"), false)?,
            }
        }
        other => {
            return Err(err(
                &format!("{path}.type"),
                format!(
                    "expected Resource, ContainerResource, Pods, Object or External, found '{other}'"
                ),
            ));
        }
    })
}

fn target(t: &MetricTargetJson, path: &str, resource: bool) -> Result<Target, InputError> {
    let positive = |v: i64, field: &str| {
        if v > 0 { Ok(v) } else { Err(err(&format!("{path}.{field}"), "expected a quantity > 0")) }
    };
    match t.kind.as_str() {
        "Utilization" if resource => match t.average_utilization {
            Some(u) if u > 0 => Ok(Target::Utilization(u)),
            Some(_) => Err(err(&format!("{path}.averageUtilization"), "expected an integer > 0")),
            None => Err(err(path, "type Utilization needs averageUtilization")),
        },
        "AverageValue" => match &t.average_value {
            Some(q) => Ok(Target::AverageValue(positive(
                q.milli(&format!("{path}.averageValue"))?,
                "averageValue",
            )?)),
            None => Err(err(path, "type AverageValue needs averageValue")),
        },
        "Value" if !resource => match &t.value {
            Some(q) => Ok(Target::Value(positive(q.milli(&format!("{path}.value"))?, "value")?)),
            None => Err(err(path, "type Value needs value")),
        },
        other => Err(err(
            &format!("{path}.type"),
            if resource {
                format!("expected Utilization or AverageValue, found '{other}'")
            } else {
                format!("expected Value or AverageValue, found '{other}'")
            },
        )),
    }
}

/// `GenerateHPAScaleUpRules` / `GenerateHPAScaleDownRules`: given fields override defaults.
fn rules(
    r: Option<&RulesJson>,
    default: ScalingRules,
    path: &str,
) -> Result<ScalingRules, InputError> {
    let Some(r) = r else { return Ok(default) };
    let mut out = default;
    if let Some(w) = r.stabilization_window_seconds {
        if !(0..=3600).contains(&w) {
            return Err(err(&format!("{path}.stabilizationWindowSeconds"), "expected 0 to 3600"));
        }
        out.stabilization_window_seconds = Some(w);
    }
    if let Some(p) = &r.select_policy {
        out.select_policy = match p.as_str() {
            "Max" => SelectPolicy::Max,
            "Min" => SelectPolicy::Min,
            "Disabled" => SelectPolicy::Disabled,
            other => {
                return Err(err(
                    &format!("{path}.selectPolicy"),
                    format!("expected Max, Min or Disabled, found '{other}'"),
                ));
            }
        };
    }
    if let Some(ps) = &r.policies {
        out.policies = ps
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let ppath = format!("{path}.policies[{i}]");
                let kind = match p.kind.as_str() {
                    "Pods" => PolicyKind::Pods,
                    "Percent" => PolicyKind::Percent,
                    other => {
                        return Err(err(
                            &format!("{ppath}.type"),
                            format!("expected Pods or Percent, found '{other}'"),
                        ));
                    }
                };
                if p.value <= 0 {
                    return Err(err(&format!("{ppath}.value"), "expected an integer > 0"));
                }
                if !(1..=1800).contains(&p.period_seconds) {
                    return Err(err(&format!("{ppath}.periodSeconds"), "expected 1 to 1800"));
                }
                Ok(ScalingPolicy { kind, value: p.value, period_seconds: p.period_seconds })
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(t) = &r.tolerance {
        match parse_f64(&t.text()) {
            Some(v) if v >= 0.0 => out.tolerance = Some(v),
            _ => {
                return Err(err(
                    &format!("{path}.tolerance"),
                    "expected a quantity >= 0 like 0.05",
                ));
            }
        }
    }
    Ok(out)
}
