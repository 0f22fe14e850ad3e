//! The scale subresource of a Deployment: read `spec.replicas`, `status.replicas` and the
//! selector, and set `spec.replicas` with a merge patch (what `kubectl scale` and the HPA do;
//! it touches nothing else on the Deployment).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v1::Scale;
use kube::api::{Patch, PatchParams};

use super::Connection;

/// A Kubernetes API call that failed: the call and the server's (or transport's) answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ApiError(pub String);

/// What the scale subresource says about one Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleInfo {
    pub spec_replicas: u32,
    pub status_replicas: u32,
    /// The label query of the Deployment's pods (`app=web`), if the server reported it.
    pub selector: Option<String>,
}

fn api(conn: &Connection, namespace: &str) -> kube::Api<Deployment> {
    kube::Api::namespaced(conn.client.clone(), namespace)
}

fn count(v: Option<i32>) -> u32 {
    v.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

fn info(scale: Scale) -> ScaleInfo {
    let status = scale.status.unwrap_or_default();
    ScaleInfo {
        spec_replicas: count(scale.spec.and_then(|s| s.replicas)),
        status_replicas: u32::try_from(status.replicas).unwrap_or(0),
        selector: status.selector.filter(|s| !s.is_empty()),
    }
}

/// `GET .../deployments/{name}/scale`.
pub async fn get_scale(
    conn: &Connection,
    namespace: &str,
    name: &str,
) -> Result<ScaleInfo, ApiError> {
    let scale = api(conn, namespace)
        .get_scale(name)
        .await
        .map_err(|e| ApiError(format!("get deployments/{name}/scale in {namespace}: {e}")))?;
    Ok(info(scale))
}

/// `PATCH .../deployments/{name}/scale` with `{"spec":{"replicas":N}}`; returns the new scale.
pub async fn set_replicas(
    conn: &Connection,
    namespace: &str,
    name: &str,
    replicas: u32,
) -> Result<ScaleInfo, ApiError> {
    let patch = Patch::Merge(serde_json::json!({"spec": {"replicas": replicas}}));
    let scale =
        api(conn, namespace).patch_scale(name, &PatchParams::default(), &patch).await.map_err(
            |e| ApiError(format!("scale deployments/{name} in {namespace} to {replicas}: {e}")),
        )?;
    Ok(info(scale))
}

/// What a live `HorizontalPodAutoscaler` reports for its target (seed 004's
/// `hpa_current_replicas` / `hpa_desired_replicas`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HpaStatus {
    /// The Deployment it scales.
    pub target: String,
    pub current_replicas: Option<u32>,
    pub desired_replicas: u32,
}

/// The autoscaling/v2 HPAs of `namespace`. `Ok(None)` when the server does not serve them
/// (404: e.g. the embedded cluster), so callers can stop asking.
pub async fn list_hpas(
    conn: &Connection,
    namespace: &str,
) -> Result<Option<Vec<HpaStatus>>, ApiError> {
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
    let api: kube::Api<HorizontalPodAutoscaler> =
        kube::Api::namespaced(conn.client.clone(), namespace);
    match api.list(&kube::api::ListParams::default()).await {
        Ok(list) => Ok(Some(
            list.items
                .into_iter()
                .filter(|h| h.spec.scale_target_ref.kind == "Deployment")
                .map(|h| {
                    let status = h.status.unwrap_or_default();
                    HpaStatus {
                        target: h.spec.scale_target_ref.name,
                        current_replicas: status
                            .current_replicas
                            .and_then(|n| u32::try_from(n).ok()),
                        desired_replicas: u32::try_from(status.desired_replicas).unwrap_or(0),
                    }
                })
                .collect(),
        )),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(ApiError(format!("list horizontalpodautoscalers in {namespace}: {e}"))),
    }
}
