//! The pods side of `ctl hpa`'s inputs: a PodList (`kubectl get pods -o json`: requests per
//! container, phase, Ready condition, start and deletion times) and a `metrics.k8s.io`
//! PodMetricsList (usage per container, timestamp, window). Errors name the item's path.

use super::history::parse_time;
use super::k8s::{InputError, ObjectMeta, Quantity, err, parse};
use super::model::{ConditionStatus, ContainerRequests, Pod, PodSample, ReadyCondition, ZERO_TIME};
use super::quantity::parse_go_duration;
use crate::policy::{PodPhase, Time};
use serde::Deserialize;
use std::collections::BTreeMap;

// ---- PodList ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct PodListJson {
    #[serde(default)]
    pub items: Vec<PodJson>,
}

#[derive(Debug, Deserialize)]
pub struct PodJson {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PodSpecJson,
    #[serde(default)]
    pub status: PodStatusJson,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpecJson {
    #[serde(default)]
    pub containers: Vec<ContainerJson>,
    #[serde(default)]
    pub init_containers: Vec<ContainerJson>,
    #[serde(default)]
    pub resources: Option<ResourcesJson>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerJson {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub restart_policy: Option<String>,
    #[serde(default)]
    pub resources: Option<ResourcesJson>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ResourcesJson {
    #[serde(default)]
    pub requests: BTreeMap<String, Quantity>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatusJson {
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub conditions: Vec<PodConditionJson>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodConditionJson {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    #[serde(default)]
    pub last_transition_time: Option<String>,
}

fn time_field(text: &str, path: &str) -> Result<Time, InputError> {
    parse_time(text).ok_or_else(|| {
        err(path, format!("expected an RFC 3339 time like 2024-05-01T12:00:00Z, found '{text}'"))
    })
}

fn requests(r: Option<&ResourcesJson>, path: &str) -> Result<Vec<(String, i64)>, InputError> {
    let Some(r) = r else { return Ok(Vec::new()) };
    r.requests
        .iter()
        .map(|(k, q)| Ok((k.clone(), q.milli(&format!("{path}.requests.{k}"))?)))
        .collect()
}

/// Parses `kubectl get pods -o json` (a PodList, or a List of pods).
pub fn parse_pods(text: &str) -> Result<Vec<Pod>, InputError> {
    let list: PodListJson = parse(text)?;
    list.items
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let path = format!("items[{i}]");
            let phase = match p.status.phase.as_deref() {
                None | Some("Running") => PodPhase::Running,
                Some("Pending") => PodPhase::Pending,
                Some("Succeeded") => PodPhase::Succeeded,
                Some("Failed") => PodPhase::Failed,
                Some("Unknown") => PodPhase::Unknown,
                Some(other) => return Err(err(&format!("{path}.status.phase"), format!("expected Pending, Running, Succeeded, Failed or Unknown, found '{other}'"))),
            };
            let mut ready = None;
            for (j, c) in p.status.conditions.iter().enumerate() {
                if c.kind != "Ready" {
                    continue;
                }
                let cpath = format!("{path}.status.conditions[{j}]");
                let status = match c.status.as_str() {
                    "True" => ConditionStatus::True,
                    "False" => ConditionStatus::False,
                    "Unknown" => ConditionStatus::Unknown,
                    other => return Err(err(&format!("{cpath}.status"), format!("expected True, False or Unknown, found '{other}'"))),
                };
                let last_transition = match &c.last_transition_time {
                    Some(t) => time_field(t, &format!("{cpath}.lastTransitionTime"))?,
                    None => ZERO_TIME,
                };
                ready = Some(ReadyCondition { status, last_transition });
                break;
            }
            let start_time = match &p.status.start_time {
                Some(t) => Some(time_field(t, &format!("{path}.status.startTime"))?),
                None => None,
            };
            let mut containers = Vec::new();
            for (j, c) in p.spec.containers.iter().enumerate() {
                let cpath = format!("{path}.spec.containers[{j}].resources");
                containers.push(ContainerRequests { name: c.name.clone(), requests: requests(c.resources.as_ref(), &cpath)? });
            }
            for (j, c) in p.spec.init_containers.iter().enumerate() {
                // Only restartable (sidecar) init containers run beside the app.
                if c.restart_policy.as_deref() == Some("Always") {
                    let cpath = format!("{path}.spec.initContainers[{j}].resources");
                    containers.push(ContainerRequests { name: c.name.clone(), requests: requests(c.resources.as_ref(), &cpath)? });
                }
            }
            Ok(Pod {
                name: p.metadata.name.clone(),
                phase,
                deleting: p.metadata.deletion_timestamp.is_some(),
                ready,
                start_time,
                containers,
                pod_requests: requests(p.spec.resources.as_ref(), &format!("{path}.spec.resources"))?,
            })
        })
        .collect()
}

// ---- PodMetricsList --------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct PodMetricsListJson {
    #[serde(default)]
    pub items: Vec<PodMetricsJson>,
}

#[derive(Debug, Deserialize)]
pub struct PodMetricsJson {
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub timestamp: String,
    #[serde(default)]
    pub window: Option<String>,
    #[serde(default)]
    pub containers: Vec<ContainerMetricsJson>,
}

#[derive(Debug, Deserialize)]
pub struct ContainerMetricsJson {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub usage: BTreeMap<String, Quantity>,
}

/// Parses `kubectl get --raw /apis/metrics.k8s.io/v1beta1/namespaces/NS/pods`.
pub fn parse_pod_metrics(text: &str) -> Result<Vec<PodSample>, InputError> {
    let list: PodMetricsListJson = parse(text)?;
    list.items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let path = format!("items[{i}]");
            let window = match &m.window {
                // metrics-server's default window when it reports none.
                None => 60.0,
                Some(w) => parse_go_duration(w).ok_or_else(|| {
                    err(
                        &format!("{path}.window"),
                        format!("expected a duration like 30s or 1m0s, found '{w}'"),
                    )
                })?,
            };
            let containers = m
                .containers
                .iter()
                .enumerate()
                .map(|(j, c)| {
                    let usage = c
                        .usage
                        .iter()
                        .map(|(k, q)| {
                            Ok((k.clone(), q.milli(&format!("{path}.containers[{j}].usage.{k}"))?))
                        })
                        .collect::<Result<_, InputError>>()?;
                    Ok(ContainerRequests { name: c.name.clone(), requests: usage })
                })
                .collect::<Result<_, InputError>>()?;
            Ok(PodSample {
                pod: m.metadata.name.clone(),
                timestamp: time_field(&m.timestamp, &format!("{path}.timestamp"))?,
                window,
                containers,
            })
        })
        .collect()
}
