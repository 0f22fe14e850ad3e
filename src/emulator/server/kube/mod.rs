//! The embedded cluster's Kubernetes API subset, plain HTTP on loopback: discovery, pods (list,
//! get, watch, label and field selectors, server-side tables for kubectl), deployments (list,
//! get, watch, patch), `deployments/{name}/scale`, `pods/{name}/exec` over WebSocket (v4/v5
//! channel protocols) emulating ctl's stressor scripts, and `metrics.k8s.io` pod metrics; plus
//! the kubeconfig that points kubectl and kube-rs at it. Everything reads and drives one
//! [`LiveCluster`]; must not depend on `control/`.
//!
//! Files: `discovery.rs` (API groups and resource lists), `objects.rs` (JSON builders and the
//! `Status` errors), `selector.rs`, `watch.rs` (the object store with resourceVersions and the
//! watch stream), `pods.rs`, `deployments.rs`, `scale.rs`, `exec.rs` (WebSocket framing),
//! `stressors.rs` (the stressor contract), `podmetrics.rs`.

mod deployments;
mod discovery;
mod exec;
mod objects;
mod podmetrics;
mod pods;
mod scale;
mod selector;
pub mod stressors;
mod watch;

use std::collections::HashMap;
use std::sync::{Arc, Once};

use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, header};

use super::http::{self, Body, Handler};
use crate::emulator::live::LiveCluster;

pub use objects::ApiError;

/// Largest request body accepted (patches and Scale objects are tiny).
const MAX_BODY_BYTES: usize = 1 << 20;

/// What every route shares: the cluster, the object store behind resourceVersions and watches,
/// and the CPU samples behind pod metrics.
pub(crate) struct Api {
    pub live: LiveCluster,
    pub store: watch::Store,
    pub samples: podmetrics::Samples,
    background: Once,
}

impl Api {
    fn new(live: LiveCluster) -> Self {
        Self {
            store: watch::Store::default(),
            samples: podmetrics::Samples::default(),
            live,
            background: Once::new(),
        }
    }

    /// Starts the background tasks (metric sampling, stressor TTLs and OOM reaping) on the
    /// server's runtime, at the first request: `handler` is called outside any runtime.
    fn start_background(self: &Arc<Self>) {
        self.background.call_once(|| {
            tokio::spawn(podmetrics::sample_forever(self.clone()));
            tokio::spawn(stressors::reap_forever(self.live.clone()));
        });
    }
}

/// The Kubernetes API endpoint.
pub fn handler(live: LiveCluster) -> Handler {
    let api = Arc::new(Api::new(live));
    Arc::new(move |req| {
        let api = api.clone();
        Box::pin(async move {
            api.start_background();
            route(api, req).await.unwrap_or_else(|error| error.response())
        })
    })
}

/// A kubeconfig for the endpoint at `url` (plain HTTP, no credentials).
pub fn kubeconfig(url: &str, namespace: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ctl-embedded\n  cluster:\n    server: {url}\ncontexts:\n- name: ctl-embedded\n  context:\n    cluster: ctl-embedded\n    user: ctl\n    namespace: {namespace}\ncurrent-context: ctl-embedded\npreferences: {{}}\nusers:\n- name: ctl\n  user: {{}}\n"
    )
}

/// The parsed parts of a request every route looks at.
pub(crate) struct Call {
    pub method: Method,
    pub query: Query,
    /// The client asked for a server-side table (kubectl's human-readable output).
    pub table: bool,
}

async fn route(api: Arc<Api>, req: Request<Incoming>) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let call = Call {
        method: req.method().clone(),
        query: Query::parse(req.uri().query().unwrap_or("")),
        table: req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("as=Table")),
    };
    let ns = api.live.namespace().to_owned();
    match segments.as_slice() {
        ["version"] => discovery::version(&call),
        ["api"] => discovery::core_versions(&call),
        ["apis"] => discovery::groups(&call),
        ["api", "v1"] => discovery::resources(&call, "v1"),
        ["apis", group, version] => discovery::resources(&call, &format!("{group}/{version}")),
        ["api", "v1", "namespaces"] => pods::namespaces(&api, &call, None),
        ["api", "v1", "namespaces", name] => pods::namespaces(&api, &call, Some(name)),
        ["api", "v1", "pods"] => pods::collection(&api, &call, None).await,
        ["api", "v1", "namespaces", n, "pods"] => pods::collection(&api, &call, Some(n)).await,
        ["api", "v1", "namespaces", n, "pods", name] => {
            pods::one(&api, &call, in_ns(n, &ns)?, name)
        }
        ["api", "v1", "namespaces", n, "pods", name, "exec"] => {
            in_ns(n, &ns)?;
            exec::exec(&api, &call, name, req)
        }
        ["apis", "apps", "v1", "deployments"] => deployments::collection(&api, &call, None).await,
        ["apis", "apps", "v1", "namespaces", n, "deployments"] => {
            deployments::collection(&api, &call, Some(n)).await
        }
        ["apis", "apps", "v1", "namespaces", n, "deployments", name] => {
            in_ns(n, &ns)?;
            let body = read_body(&call, req).await?;
            deployments::one(&api, &call, name, body)
        }
        ["apis", "apps", "v1", "namespaces", n, "deployments", name, "scale"] => {
            in_ns(n, &ns)?;
            let body = read_body(&call, req).await?;
            scale::scale(&api, &call, name, body)
        }
        ["apis", "metrics.k8s.io", "v1beta1", "pods"] => podmetrics::list(&api, &call, None),
        ["apis", "metrics.k8s.io", "v1beta1", "namespaces", n, "pods"] => {
            podmetrics::list(&api, &call, Some(n))
        }
        ["apis", "metrics.k8s.io", "v1beta1", "namespaces", n, "pods", name] => {
            in_ns(n, &ns)?;
            podmetrics::get(&api, &call, name)
        }
        _ => Err(ApiError::NotFound { kind: String::new(), name: path.clone() }),
    }
}

/// The object lives in the cluster's only namespace; elsewhere it does not exist.
fn in_ns<'a>(requested: &'a str, namespace: &str) -> Result<&'a str, ApiError> {
    if requested == namespace {
        Ok(requested)
    } else {
        Err(ApiError::NotFound { kind: "namespaces".into(), name: requested.into() })
    }
}

/// The request body with its content type, for methods that carry one.
pub(crate) struct RequestBody {
    pub content_type: String,
    pub bytes: Bytes,
}

async fn read_body(call: &Call, req: Request<Incoming>) -> Result<RequestBody, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if matches!(call.method, Method::GET | Method::HEAD | Method::DELETE) {
        return Ok(RequestBody { content_type, bytes: Bytes::new() });
    }
    let bytes = Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| ApiError::BadRequest(format!("cannot read the request body: {e}")))?
        .to_bytes();
    Ok(RequestBody { content_type, bytes })
}

/// Query parameters (form-urlencoded; repeated keys such as exec's `command` keep every value).
#[derive(Debug, Default)]
pub(crate) struct Query(HashMap<String, Vec<String>>);

impl Query {
    pub fn parse(query: &str) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            map.entry(http::percent_decode(key)).or_default().push(http::percent_decode(value));
        }
        Self(map)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.first()).map(String::as_str)
    }

    pub fn all(&self, key: &str) -> &[String] {
        self.0.get(key).map_or(&[], Vec::as_slice)
    }

    pub fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| v == "true" || v == "1")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decodes_repeated_keys_plus_and_escapes() {
        let q = Query::parse("&command=sh&command=-c&command=%23+ctl-stressor%20kind%3Dcpu&x=%zz");
        assert_eq!(q.all("command"), ["sh", "-c", "# ctl-stressor kind=cpu"]);
        assert_eq!(q.get("x"), Some("%zz"));
        assert_eq!(q.get("missing"), None);
        assert_eq!(http::percent_decode("100%"), "100%");
        assert_eq!(http::percent_decode("a%2"), "a%2");
    }
}
