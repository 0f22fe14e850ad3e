//! Deployments and their pods as the controller observes them: list Deployments (all, or by a
//! label selector), render a Deployment's pod selector as a label query, and read its pods
//! into `policy::PodObservation`s (phase, readiness and when it last changed, start time,
//! deletion, summed container requests) plus restarts and the last OOM kill.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time as KubeTime};
use kube::api::ListParams;

use super::Connection;
use super::scale::ApiError;
use crate::policy::hpa::quantity::parse_milli;
use crate::policy::{PodObservation, PodPhase, Time};

/// One Deployment: its name, pod selector and replica counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentInfo {
    pub name: String,
    /// `spec.selector` as a label query (`app=web,tier in (a,b)`).
    pub selector: String,
    pub spec_replicas: u32,
    pub ready_replicas: u32,
}

/// One pod with what the HPA needs and what the health columns need.
#[derive(Debug, Clone, PartialEq)]
pub struct PodInfo {
    pub observation: PodObservation,
    /// Container restarts, summed.
    pub restarts: u32,
    /// A container's last termination was `OOMKilled`.
    pub oom_killed: bool,
}

fn count(v: Option<i32>) -> u32 {
    v.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

fn seconds(t: &KubeTime) -> Time {
    t.0.as_millisecond() as f64 / 1000.0
}

/// A `LabelSelector` as a label query string.
pub fn selector_string(selector: &LabelSelector) -> Result<String, String> {
    let s = kube::core::Selector::try_from(selector.clone()).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

/// A lookup that failed: refused for what the user asked (a name that does not exist, a
/// selector the server cannot parse), or the API failing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LookupError {
    #[error("{0}")]
    Rejected(String),
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Deployments in `namespace`, all or those matching the label `selector`.
pub async fn list_deployments(
    conn: &Connection,
    namespace: &str,
    selector: Option<&str>,
) -> Result<Vec<DeploymentInfo>, LookupError> {
    let api: kube::Api<Deployment> = kube::Api::namespaced(conn.client.clone(), namespace);
    let mut params = ListParams::default();
    if let Some(s) = selector {
        params = params.labels(s);
    }
    let list = api.list(&params).await.map_err(|e| match e {
        // 400: the server cannot parse the selector, the user's input.
        kube::Error::Api(status) if status.code == 400 && selector.is_some() => {
            LookupError::Rejected(format!(
                "the API server rejects the label selector '{}': {}",
                selector.unwrap_or_default(),
                status.message
            ))
        }
        e => ApiError(format!("list deployments in {namespace}: {e}")).into(),
    })?;
    Ok(list.items.iter().map(deployment_info).collect::<Result<_, _>>()?)
}

/// One Deployment by name.
pub async fn get_deployment(
    conn: &Connection,
    namespace: &str,
    name: &str,
) -> Result<DeploymentInfo, LookupError> {
    let api: kube::Api<Deployment> = kube::Api::namespaced(conn.client.clone(), namespace);
    let d = api.get(name).await.map_err(|e| match e {
        kube::Error::Api(status) if status.code == 404 => {
            LookupError::Rejected(format!("deployment {name} not found in namespace {namespace}"))
        }
        e => ApiError(format!("get deployment {name} in {namespace}: {e}")).into(),
    })?;
    Ok(deployment_info(&d)?)
}

fn deployment_info(d: &Deployment) -> Result<DeploymentInfo, ApiError> {
    let name = d.metadata.name.clone().unwrap_or_default();
    let selector = selector_string(&d.spec.selector)
        .map_err(|e| ApiError(format!("deployment {name}: spec.selector: {e}")))?;
    Ok(DeploymentInfo {
        spec_replicas: count(d.spec.replicas),
        ready_replicas: count(d.status.as_ref().and_then(|s| s.ready_replicas)),
        name,
        selector,
    })
}

/// The pods matching `selector` in `namespace`.
pub async fn list_pods(
    conn: &Connection,
    namespace: &str,
    selector: &str,
) -> Result<Vec<PodInfo>, ApiError> {
    let api: kube::Api<Pod> = kube::Api::namespaced(conn.client.clone(), namespace);
    let list = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| ApiError(format!("list pods {selector} in {namespace}: {e}")))?;
    Ok(list.items.iter().map(pod_info).collect())
}

/// Sums a resource over containers; `None` when any container has no request for it (the HPA
/// then reports the missing request).
fn summed_request(pod: &Pod, resource: &str) -> Option<i64> {
    let containers = &pod.spec.as_ref()?.containers;
    let mut total = 0i64;
    for c in containers {
        let q = c.resources.as_ref()?.requests.as_ref()?.get(resource)?;
        total = total.saturating_add(parse_milli(&q.0)?);
    }
    (!containers.is_empty()).then_some(total)
}

/// A Pod object as the controller sees it.
pub fn pod_info(pod: &Pod) -> PodInfo {
    let status = pod.status.as_ref();
    let phase = match status.and_then(|s| s.phase.as_deref()) {
        Some("Pending") => PodPhase::Pending,
        Some("Running") => PodPhase::Running,
        Some("Succeeded") => PodPhase::Succeeded,
        Some("Failed") => PodPhase::Failed,
        _ => PodPhase::Unknown,
    };
    let ready_condition = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
    let container_statuses = status.and_then(|s| s.container_statuses.as_deref()).unwrap_or(&[]);
    // Saturating: the counts come from the server, and a plain sum could overflow.
    let restarts = container_statuses
        .iter()
        .map(|c| u32::try_from(c.restart_count).unwrap_or(0))
        .fold(0u32, u32::saturating_add);
    let oom_killed = container_statuses.iter().any(|c| {
        c.last_state.as_ref().and_then(|s| s.terminated.as_ref()).and_then(|t| t.reason.as_deref())
            == Some("OOMKilled")
    });
    let observation = PodObservation {
        name: pod.metadata.name.clone().unwrap_or_default(),
        phase,
        ready: ready_condition.is_some_and(|c| c.status == "True"),
        ready_transition: ready_condition
            .and_then(|c| c.last_transition_time.as_ref())
            .map(seconds),
        start_time: status.and_then(|s| s.start_time.as_ref()).map(seconds),
        deleting: pod.metadata.deletion_timestamp.is_some(),
        cpu_request_millis: summed_request(pod, "cpu").and_then(|m| u64::try_from(m).ok()),
        // Milli-bytes to bytes, rounded up as Kubernetes rounds quantities.
        memory_request_bytes: summed_request(pod, "memory")
            .and_then(|m| u64::try_from(m).ok())
            .map(|m| m.div_ceil(1000)),
        ..PodObservation::default()
    };
    PodInfo { observation, restarts, oom_killed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_pod_and_a_selector() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1"},
            "spec": {"containers": [
                {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}}]},
            "status": {"phase": "Running", "startTime": "2024-05-01T12:00:00Z",
                "conditions": [{"type": "Ready", "status": "True",
                                "lastTransitionTime": "2024-05-01T12:00:05Z"}],
                "containerStatuses": [{"name": "a", "ready": true, "restartCount": 2, "image": "x",
                    "imageID": "", "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}
        }))
        .unwrap();
        let p = pod_info(&pod);
        assert_eq!(p.observation.cpu_request_millis, Some(110));
        assert_eq!(p.observation.memory_request_bytes, Some(96 * 1024 * 1024));
        assert!(p.observation.ready && p.oom_killed);
        assert_eq!(p.restarts, 2);
        assert_eq!(p.observation.ready_transition, Some(1_714_564_805.0));
        let sel: LabelSelector = serde_json::from_value(serde_json::json!({
            "matchLabels": {"app": "web"}}))
        .unwrap();
        assert_eq!(selector_string(&sel).unwrap(), "app=web");
        let sel: LabelSelector = serde_json::from_str(
            r#"{"matchLabels":{"app":"web","tier":"fe"},"matchExpressions":[{"key":"env","operator":"In","values":["a","b"]},{"key":"canary","operator":"DoesNotExist"}]}"#,
        )
        .unwrap();
        assert_eq!(selector_string(&sel).unwrap(), "app=web,tier=fe,env in (a,b),!canary");
    }
}
