//! JSON builders for the objects the API serves (Pod, Deployment, Scale, PodMetrics pieces,
//! server-side Tables for kubectl) and the `Status` errors, shaped as the real API server
//! shapes them so that k8s-openapi types and kubectl decode them unchanged.

use std::time::{Duration, UNIX_EPOCH};

use hyper::{Response, StatusCode};
use serde_json::{Value, json};

use crate::emulator::server::http::{self, Body};
use crate::emulator::{PodPhase, PodSnapshot};

/// The node every emulated pod runs on.
pub const NODE: &str = "ctl-embedded";

/// An API error, answered as a `Status` object with the matching HTTP code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{kind} \"{name}\" not found")]
    NotFound { kind: String, name: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("{kind} \"{name}\" is invalid: {field}: {message}")]
    Invalid { kind: String, name: String, field: String, message: String },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    #[error(
        "Operation cannot be fulfilled on {kind} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
    )]
    Conflict { kind: String, name: String },
}

impl ApiError {
    pub fn response(&self) -> Response<Body> {
        let (code, reason) = match self {
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "NotFound"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "BadRequest"),
            ApiError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "Invalid"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType")
            }
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, "Conflict"),
        };
        let message = match self {
            ApiError::NotFound { kind, .. } if kind.is_empty() => {
                "the server could not find the requested resource".to_owned()
            }
            other => other.to_string(),
        };
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code.as_u16(),
        });
        match self {
            ApiError::NotFound { kind, name } | ApiError::Conflict { kind, name }
                if !kind.is_empty() =>
            {
                status["details"] = json!({"name": name, "kind": kind});
            }
            ApiError::Invalid { kind, name, field, message } => {
                status["details"] = json!({
                    "name": name,
                    "kind": kind,
                    "causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}],
                });
            }
            _ => {}
        }
        http::json(code, &status)
    }
}

/// The object as JSON with status 200.
pub fn ok(value: &Value) -> Response<Body> {
    http::json(StatusCode::OK, value)
}

/// RFC 3339 (seconds) of a Unix time, as metav1.Time.
pub fn timestamp(unix_secs: f64) -> String {
    let time = UNIX_EPOCH + Duration::from_secs_f64(unix_secs.max(0.0));
    humantime::format_rfc3339_seconds(time).to_string()
}

/// Maps virtual cluster seconds to timestamps.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Unix seconds of virtual time 0.
    pub epoch_unix: f64,
}

impl Clock {
    pub fn at(self, virtual_secs: f64) -> String {
        timestamp(self.epoch_unix + virtual_secs)
    }
}

/// FNV-1a, for identifiers that must be stable per name across runs.
pub fn fnv(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A UUID-shaped uid derived from a kind and a name.
pub fn uid(kind: &str, name: &str) -> String {
    let a = fnv(&format!("{kind}/{name}"));
    let b = fnv(&format!("{name}/{kind}/uid"));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// A fake pod IP in 10.244.0.0/16, stable per pod name.
pub fn pod_ip(name: &str) -> String {
    let h = fnv(name);
    format!("10.244.{}.{}", (h >> 8) & 0xff, 1 + (h & 0xff) % 254)
}

/// The pod-template-hash in a pod name `<deployment>-<hash>-<suffix>`.
pub fn template_hash<'a>(pod: &'a str, deployment: &str) -> &'a str {
    pod.strip_prefix(deployment)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|rest| rest.rsplit_once('-'))
        .map_or("", |(hash, _)| hash)
}

/// A CPU quantity from millicores: `250m`, or whole cores as `2`.
pub fn cpu_quantity(millis: f64) -> String {
    let millis = millis.round().max(0.0) as u64;
    if millis.is_multiple_of(1000) { format!("{}", millis / 1000) } else { format!("{millis}m") }
}

/// A memory quantity from bytes in the largest binary unit that divides it.
pub fn memory_quantity(bytes: u64) -> String {
    for (unit, size) in [("Gi", 1u64 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if bytes > 0 && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

/// What the store remembers about a pod beyond the snapshot.
#[derive(Debug, Clone, Copy)]
pub struct PodHistory {
    /// Virtual seconds of the last Ready transition.
    pub ready_since: f64,
    /// Virtual seconds when the pod was first seen terminating.
    pub deleting_since: Option<f64>,
}

/// The Pod object (without resourceVersion: the store adds it).
pub fn pod(p: &PodSnapshot, namespace: &str, history: PodHistory, clock: Clock) -> Value {
    let hash = template_hash(&p.name, &p.deployment);
    let replica_set = format!("{}-{hash}", p.deployment);
    let image = image(&p.deployment);
    let running = p.phase == PodPhase::Running;
    let ready_status = if p.ready { "True" } else { "False" };
    let mut metadata = json!({
        "name": &*p.name,
        "generateName": format!("{replica_set}-"),
        "namespace": namespace,
        "uid": uid("Pod", &p.name),
        "creationTimestamp": clock.at(p.start_time),
        "labels": {"app": &*p.deployment, "pod-template-hash": hash},
        "ownerReferences": [{
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": replica_set,
            "uid": uid("ReplicaSet", &replica_set),
            "controller": true,
            "blockOwnerDeletion": true,
        }],
    });
    if let Some(since) = history.deleting_since {
        metadata["deletionTimestamp"] = json!(clock.at(since + 30.0));
        metadata["deletionGracePeriodSeconds"] = json!(30);
    }
    let state = if running {
        json!({"running": {"startedAt": clock.at(p.container_start_time)}})
    } else {
        json!({"waiting": {"reason": "ContainerCreating"}})
    };
    let mut container_status = json!({
        "name": p.container,
        "image": image,
        "imageID": "",
        "containerID": format!("emulated://{}", uid("Container", &p.name)),
        "ready": p.ready,
        "started": running,
        "restartCount": p.restarts,
        "state": state,
        "lastState": {},
    });
    if let Some(reason) = p.last_termination_reason {
        container_status["lastState"] = json!({"terminated": {
            "exitCode": 137,
            "reason": reason,
            "startedAt": clock.at(p.start_time),
            "finishedAt": clock.at(p.container_start_time),
        }});
    }
    let condition = |kind: &str, status: &str, since: f64| {
        json!({"type": kind, "status": status, "lastProbeTime": null,
               "lastTransitionTime": clock.at(since)})
    };
    let mut status = json!({
        "phase": if running { "Running" } else { "Pending" },
        "conditions": [
            condition("PodReadyToStartContainers", "True", p.start_time),
            condition("Initialized", "True", p.start_time),
            condition("Ready", ready_status, history.ready_since),
            condition("ContainersReady", ready_status, history.ready_since),
            condition("PodScheduled", "True", p.start_time),
        ],
        "hostIP": "127.0.0.1",
        "hostIPs": [{"ip": "127.0.0.1"}],
        "startTime": clock.at(p.start_time),
        "containerStatuses": [container_status],
        "qosClass": "Burstable",
    });
    if running {
        status["podIP"] = json!(pod_ip(&p.name));
        status["podIPs"] = json!([{"ip": pod_ip(&p.name)}]);
    }
    json!({
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": metadata,
        "spec": {
            "containers": [{
                "name": p.container,
                "image": image,
                "resources": {
                    "requests": {"cpu": cpu_quantity(p.cpu_request_millis),
                                 "memory": memory_quantity(p.memory_request_bytes)},
                    "limits": {"cpu": cpu_quantity(p.cpu_limit_millis),
                               "memory": memory_quantity(p.memory_limit_bytes)},
                },
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "imagePullPolicy": "IfNotPresent",
            }],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "nodeName": NODE,
            "schedulerName": "default-scheduler",
        },
        "status": status,
    })
}

/// The image shown for an emulated deployment.
pub fn image(deployment: &str) -> String {
    format!("ctl.local/emulated/{deployment}:latest")
}

/// What a Deployment object is built from.
pub struct DeploymentView<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub spec_replicas: u32,
    pub replicas: u32,
    pub ready_replicas: u32,
    /// Bumped when the spec changes.
    pub generation: u64,
    pub created: String,
    /// The pod template, from any of its pods (container, resources); `None` with no pods.
    pub template: Option<Value>,
}

pub fn deployment(d: &DeploymentView) -> Value {
    let selector = json!({"matchLabels": {"app": d.name}});
    let containers = d
        .template
        .as_ref()
        .map_or_else(|| json!([{"name": "app", "image": image(d.name)}]), Clone::clone);
    let available = d.ready_replicas >= d.spec_replicas.min(1);
    let mut status = json!({
        "observedGeneration": d.generation,
        "replicas": d.replicas,
        "updatedReplicas": d.replicas,
        "readyReplicas": d.ready_replicas,
        "availableReplicas": d.ready_replicas,
        "conditions": [
            {"type": "Available", "status": if available { "True" } else { "False" },
             "reason": if available { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
             "message": if available { "Deployment has minimum availability." }
                        else { "Deployment does not have minimum availability." }},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": format!("ReplicaSet \"{}\" has successfully progressed.", d.name)},
        ],
    });
    if d.replicas > d.ready_replicas {
        status["unavailableReplicas"] = json!(d.replicas - d.ready_replicas);
    }
    json!({
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {
            "name": d.name,
            "namespace": d.namespace,
            "uid": uid("Deployment", d.name),
            "generation": d.generation,
            "creationTimestamp": d.created,
            "labels": {"app": d.name},
            "annotations": {"deployment.kubernetes.io/revision": "1"},
        },
        "spec": {
            "replicas": d.spec_replicas,
            "selector": selector,
            "template": {
                "metadata": {"labels": {"app": d.name}},
                "spec": {"containers": containers},
            },
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": status,
    })
}

/// The autoscaling/v1 Scale of a Deployment object.
pub fn scale(deployment: &Value) -> Value {
    let metadata = &deployment["metadata"];
    let name = metadata["name"].as_str().unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": name,
            "namespace": metadata["namespace"],
            "uid": metadata["uid"],
            "resourceVersion": metadata["resourceVersion"],
            "creationTimestamp": metadata["creationTimestamp"],
        },
        "spec": {"replicas": deployment["spec"]["replicas"]},
        "status": {"replicas": deployment["status"]["replicas"], "selector": format!("app={name}")},
    })
}

/// Kubernetes' short human duration (as `kubectl get` shows AGE).
pub fn human_duration(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    let (m, h, d) = (s / 60, s / 3600, s / 86_400);
    match () {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 && s.is_multiple_of(60) => format!("{m}m"),
        _ if m < 10 => format!("{m}m{}s", s % 60),
        _ if m < 180 => format!("{m}m"),
        _ if h < 8 && m.is_multiple_of(60) => format!("{h}h"),
        _ if h < 8 => format!("{h}h{}m", m % 60),
        _ if h < 48 => format!("{h}h"),
        _ if h < 192 && h.is_multiple_of(24) => format!("{d}d"),
        _ if h < 192 => format!("{d}d{}h", h % 24),
        _ => format!("{d}d"),
    }
}

/// A meta.k8s.io/v1 Table of `objects`, with `columns` as (name, type, priority) and `cells`
/// building a row.
pub fn table(
    columns: &[(&str, &str, u8)],
    objects: &[&Value],
    resource_version: u64,
    cells: impl Fn(&Value) -> Vec<Value>,
) -> Value {
    let column_definitions: Vec<Value> = columns
        .iter()
        .map(|&(name, kind, priority)| {
            json!({"name": name, "type": kind, "format": if name == "Name" { "name" } else { "" },
                   "description": "", "priority": priority})
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            json!({
                "cells": cells(object),
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": object["metadata"],
                },
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version.to_string()},
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_use_the_largest_exact_unit() {
        assert_eq!(cpu_quantity(250.0), "250m");
        assert_eq!(cpu_quantity(2000.0), "2");
        assert_eq!(memory_quantity(64 << 20), "64Mi");
        assert_eq!(memory_quantity(1536), "1536");
        assert_eq!(memory_quantity(3 << 10), "3Ki");
        assert_eq!(memory_quantity(1 << 30), "1Gi");
    }

    #[test]
    fn template_hash_is_the_middle_part() {
        assert_eq!(template_hash("frontend-7d4b9c8f5d-x2k9q", "frontend"), "7d4b9c8f5d");
        assert_eq!(template_hash("geo-db-abc-x2k9q", "geo-db"), "abc");
        assert_eq!(template_hash("other", "frontend"), "");
    }

    #[test]
    fn human_duration_matches_kubectl() {
        assert_eq!(human_duration(5.4), "5s");
        assert_eq!(human_duration(125.0), "2m5s");
        assert_eq!(human_duration(600.0), "10m");
        assert_eq!(human_duration(3.0 * 3600.0 + 120.0), "3h2m");
        assert_eq!(human_duration(50.0 * 3600.0), "2d2h");
    }

    #[test]
    fn uids_are_stable_and_distinct() {
        assert_eq!(uid("Pod", "a"), uid("Pod", "a"));
        assert_ne!(uid("Pod", "a"), uid("Pod", "b"));
        assert_eq!(uid("Pod", "a").len(), 36);
    }

    #[test]
    fn not_found_is_a_status_with_details() {
        let error = ApiError::NotFound { kind: "pods".into(), name: "x".into() };
        assert_eq!(error.to_string(), "pods \"x\" not found");
        assert_eq!(error.response().status(), StatusCode::NOT_FOUND);
    }
}
