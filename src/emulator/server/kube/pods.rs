//! Pods (`/api/v1/pods`, `/api/v1/namespaces/{ns}/pods[/{name}]`): list with label and field
//! selectors, get, watch, and kubectl's server-side table; plus the one Namespace.

use std::sync::Arc;

use hyper::{Method, Response};
use serde_json::{Value, json};

use super::objects::{self, ApiError};
use super::selector::Selectors;
use super::watch::{self, Kind};
use super::{Api, Call};
use crate::emulator::server::http::Body;

/// List or watch pods, in one namespace or (`None`) in all.
pub async fn collection(
    api: &Arc<Api>,
    call: &Call,
    namespace: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    list_or_watch(api, call, namespace, Kind::Pod, "PodList", "v1", table)
}

/// Shared by pods and deployments.
pub fn list_or_watch(
    api: &Arc<Api>,
    call: &Call,
    namespace: Option<&str>,
    kind: Kind,
    list_kind: &str,
    api_version: &str,
    table: watch::TableFn,
) -> Result<Response<Body>, ApiError> {
    if call.method != Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let mut selectors = Selectors::from_query(&call.query)?;
    if namespace.is_some_and(|ns| ns != api.live.namespace()) {
        // Another namespace exists but is empty, as on a real cluster.
        selectors.labels = super::selector::LabelSelector::parse("ctl-embedded-no-such-label")?;
    }
    if call.query.flag("watch") {
        return watch::watch(api, call, kind, selectors, call.table.then_some(table));
    }
    let (rv, objects) = api.store.list(&api.live, kind, &selectors);
    if call.table {
        let refs: Vec<&Value> = objects.iter().map(|o| &**o).collect();
        return Ok(objects::ok(&table(&refs, rv)));
    }
    Ok(objects::ok(&json!({
        "kind": list_kind,
        "apiVersion": api_version,
        "metadata": {"resourceVersion": rv.to_string()},
        "items": objects.iter().map(|o| &**o).collect::<Vec<_>>(),
    })))
}

/// Get one pod.
pub fn one(api: &Arc<Api>, call: &Call, _ns: &str, name: &str) -> Result<Response<Body>, ApiError> {
    if call.method != Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let pod = api
        .store
        .get(&api.live, Kind::Pod, name)
        .ok_or_else(|| ApiError::NotFound { kind: "pods".into(), name: name.into() })?;
    if call.table {
        let rv = rv_of(&pod);
        return Ok(objects::ok(&table(&[&pod], rv)));
    }
    Ok(objects::ok(&pod))
}

pub fn rv_of(object: &Value) -> u64 {
    object["metadata"]["resourceVersion"].as_str().and_then(|rv| rv.parse().ok()).unwrap_or(0)
}

/// kubectl's pod columns: NAME READY STATUS RESTARTS AGE (and IP, NODE with -o wide).
fn table(pods: &[&Value], rv: u64) -> Value {
    let columns = [
        ("Name", "string", 0),
        ("Ready", "string", 0),
        ("Status", "string", 0),
        ("Restarts", "string", 0),
        ("Age", "string", 0),
        ("IP", "string", 1),
        ("Node", "string", 1),
        ("Nominated Node", "string", 1),
        ("Readiness Gates", "string", 1),
    ];
    objects::table(&columns, pods, rv, |pod| {
        let container = &pod["status"]["containerStatuses"][0];
        let ready = u8::from(container["ready"].as_bool().unwrap_or(false));
        let status = if pod["metadata"].get("deletionTimestamp").is_some() {
            "Terminating"
        } else if pod["status"]["phase"] == "Pending" {
            "ContainerCreating"
        } else {
            "Running"
        };
        let restarts = container["restartCount"].as_u64().unwrap_or(0);
        let restarts = match container.pointer("/lastState/terminated/finishedAt") {
            Some(_) if restarts > 0 => format!(
                "{restarts} ({} ago)",
                objects::human_duration(watch::age(container, "/lastState/terminated/finishedAt"))
            ),
            _ => restarts.to_string(),
        };
        vec![
            pod["metadata"]["name"].clone(),
            json!(format!("{ready}/1")),
            json!(status),
            json!(restarts),
            json!(objects::human_duration(watch::age(pod, "/metadata/creationTimestamp"))),
            pod["status"].get("podIP").cloned().unwrap_or_else(|| json!("<none>")),
            pod["spec"]["nodeName"].clone(),
            json!("<none>"),
            json!("<none>"),
        ]
    })
}

/// `/api/v1/namespaces[/{name}]`: the cluster's one namespace.
pub fn namespaces(
    api: &Arc<Api>,
    call: &Call,
    name: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    if call.method != Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let ns = api.live.namespace();
    let created = objects::timestamp(api.live.unix_time(0.0));
    let namespace = json!({
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": ns, "uid": objects::uid("Namespace", ns), "resourceVersion": "1",
                     "creationTimestamp": created,
                     "labels": {"kubernetes.io/metadata.name": ns}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    });
    let items: Vec<&Value> = match name {
        Some(name) if name != ns => {
            return Err(ApiError::NotFound { kind: "namespaces".into(), name: name.into() });
        }
        _ => vec![&namespace],
    };
    if call.table {
        let columns = [("Name", "string", 0), ("Status", "string", 0), ("Age", "string", 0)];
        return Ok(objects::ok(&objects::table(&columns, &items, 1, |n| {
            vec![
                n["metadata"]["name"].clone(),
                n["status"]["phase"].clone(),
                json!(objects::human_duration(watch::age(n, "/metadata/creationTimestamp"))),
            ]
        })));
    }
    match name {
        Some(_) => Ok(objects::ok(&namespace)),
        None => Ok(objects::ok(&json!({"kind": "NamespaceList", "apiVersion": "v1",
                                       "metadata": {"resourceVersion": "1"},
                                       "items": items}))),
    }
}
