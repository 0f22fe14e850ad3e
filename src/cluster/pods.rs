//! Pod discovery: which Running pods a target names, by label selector (`app=webapp`,
//! `app.kubernetes.io/name=webapp`) or by `deployment/NAME` (the Deployment's own selector).
//! Pods are keyed by UID, not name.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;

#[derive(Debug, thiserror::Error)]
pub enum PodsError {
    #[error("--selector: {0}")]
    Target(String),
    #[error("deployment {name} not found in namespace {namespace}")]
    NoDeployment { name: String, namespace: String },
    #[error("deployment {0} has no selector")]
    NoSelector(String),
    #[error("listing pods ({selector}): {message}")]
    List { selector: String, message: String },
}

/// What to stress: pods matching a label selector, or the pods of a Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Selector(String),
    Deployment(String),
}

impl Target {
    /// Parses `deployment/NAME` (also `deploy/`, `deployments/`, `deployment.apps/`, as
    /// kubectl spells them) or a label selector. Only a bare `KIND/NAME` with one of those
    /// kinds names a Deployment; anything else is a label selector, including keys with a DNS
    /// prefix (`app.kubernetes.io/name=webapp`), which the API server checks.
    pub fn parse(text: &str) -> Result<Target, PodsError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PodsError::Target(
                "expected a label selector like app=webapp or deployment/NAME".into(),
            ));
        }
        if let Some((kind, name)) = text.split_once('/')
            && DEPLOYMENT_KINDS.contains(&kind)
            && !has_operator(text)
        {
            if name.is_empty() || name.contains('/') {
                return Err(PodsError::Target(format!("expected deployment/NAME, found '{text}'")));
            }
            return Ok(Target::Deployment(name.to_owned()));
        }
        Ok(Target::Selector(text.to_owned()))
    }

    /// For a selector that looks like `KIND/NAME` of a kind ctl does not resolve (no operator,
    /// e.g. `statefulset/db`): a hint that it was read as a label selector.
    pub fn hint(&self) -> Option<String> {
        let Target::Selector(s) = self else { return None };
        let (kind, _) = s.split_once('/')?;
        let bare = !has_operator(s) && !kind.contains('.');
        bare.then(|| {
            format!(
                "'{s}' was read as a label selector (key exists); only deployment/NAME names a workload"
            )
        })
    }
}

/// Whether `text` has a label selector operator (`=`, `!=`, `!`, `in (..)`, `,`) or space.
fn has_operator(text: &str) -> bool {
    text.contains(|c: char| "=!,()".contains(c) || c.is_whitespace())
}

/// The spellings of the Deployment kind accepted before `/NAME`.
const DEPLOYMENT_KINDS: [&str; 5] =
    ["deployment", "deploy", "deployments", "deployment.apps", "deployments.apps"];

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Selector(s) => f.write_str(s),
            Target::Deployment(d) => write!(f, "deployment/{d}"),
        }
    }
}

/// A Running pod and the container to use in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    pub name: String,
    pub uid: String,
    /// The container asked for, else the pod's default-container annotation, else its first.
    pub container: String,
    /// Every container of the pod, for messages.
    pub containers: Vec<String>,
}

/// The label selector a target stands for (a Deployment's is read from the API).
pub async fn selector(
    client: &kube::Client,
    namespace: &str,
    target: &Target,
) -> Result<String, PodsError> {
    match target {
        Target::Selector(s) => Ok(s.clone()),
        Target::Deployment(name) => {
            let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
            let deployment = api.get_opt(name).await.map_err(|e| PodsError::List {
                selector: target.to_string(),
                message: e.to_string(),
            })?;
            let deployment = deployment.ok_or_else(|| PodsError::NoDeployment {
                name: name.clone(),
                namespace: namespace.to_owned(),
            })?;
            let selector = deployment.spec.selector;
            let text = super::deployments::selector_string(&selector)
                .map_err(|message| PodsError::List { selector: target.to_string(), message })?;
            if text.is_empty() {
                return Err(PodsError::NoSelector(name.clone()));
            }
            Ok(text)
        }
    }
}

/// The Running pods matching `selector`, sorted by name, with the container chosen.
pub async fn running(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
    container: Option<&str>,
) -> Result<Vec<PodRef>, PodsError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = api.list(&ListParams::default().labels(selector)).await.map_err(|e| match e {
        // The API server rejects a selector it cannot parse with 400: the user's input.
        kube::Error::Api(status) if status.code == 400 => PodsError::Target(format!(
            "the API server rejects the label selector '{selector}': {}",
            status.message
        )),
        e => PodsError::List { selector: selector.to_owned(), message: e.to_string() },
    })?;
    let mut pods: Vec<PodRef> = list.items.iter().filter_map(|p| pod_ref(p, container)).collect();
    pods.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(pods)
}

/// A pod that is Running and not being deleted, as a [`PodRef`].
pub fn pod_ref(pod: &Pod, container: Option<&str>) -> Option<PodRef> {
    let meta = &pod.metadata;
    if meta.deletion_timestamp.is_some() {
        return None;
    }
    if pod.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Running") {
        return None;
    }
    let containers: Vec<String> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let default = meta
        .annotations
        .as_ref()
        .and_then(|a| a.get("kubectl.kubernetes.io/default-container"))
        .cloned()
        .or_else(|| containers.first().cloned());
    let container = container.map(str::to_owned).or(default)?;
    Some(PodRef {
        name: meta.name.clone()?,
        uid: meta.uid.clone().or_else(|| meta.name.clone())?,
        container,
        containers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_targets_parse() {
        for text in ["deployment/web", "deploy/web", "deployments/web", "deployment.apps/web"] {
            assert_eq!(Target::parse(text).unwrap(), Target::Deployment("web".into()), "{text}");
        }
        assert_eq!(Target::parse(" deploy/web ").unwrap(), Target::Deployment("web".into()));
        assert!(Target::parse("deployment/").is_err());
        assert!(Target::parse("deployment/a/b").is_err());
        assert!(Target::parse(" ").is_err());
    }

    #[test]
    fn selectors_with_prefixed_keys_are_selectors() {
        let selector = |s: &str| Target::Selector(s.to_owned());
        for text in [
            "app=webapp",
            "app.kubernetes.io/name=webapp",
            "app.kubernetes.io/name==webapp",
            "app.kubernetes.io/name!=webapp",
            "app.kubernetes.io/name in (webapp,api)",
            "app.kubernetes.io/name notin (db)",
            "!app.kubernetes.io/canary",
            "app.kubernetes.io/name=webapp,tier=fe",
            "app.kubernetes.io/name",
            // A Deployment kind before the slash but an operator after it: a prefixed key.
            "deployment/name=web",
            "deploy/tier in (fe)",
            "statefulset/db",
        ] {
            assert_eq!(Target::parse(text).unwrap(), selector(text), "{text}");
        }
    }

    #[test]
    fn bare_kind_slash_name_selectors_get_a_hint() {
        assert!(Target::parse("statefulset/db").unwrap().hint().unwrap().contains("deployment/"));
        assert_eq!(Target::parse("app.kubernetes.io/name").unwrap().hint(), None);
        assert_eq!(Target::parse("app.kubernetes.io/name=webapp").unwrap().hint(), None);
        assert_eq!(Target::parse("app=webapp").unwrap().hint(), None);
        assert_eq!(Target::parse("deploy/web").unwrap().hint(), None);
    }

    #[test]
    fn only_running_pods_count_and_the_container_defaults_to_the_first() {
        let pod = |phase: &str| -> Pod {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "web-1", "uid": "u1"},
                "spec": {"containers": [{"name": "nginx"}, {"name": "exporter"}]},
                "status": {"phase": phase}
            }))
            .unwrap()
        };
        let r = pod_ref(&pod("Running"), None).unwrap();
        assert_eq!(
            (r.name.as_str(), r.uid.as_str(), r.container.as_str()),
            ("web-1", "u1", "nginx")
        );
        assert_eq!(pod_ref(&pod("Running"), Some("exporter")).unwrap().container, "exporter");
        assert!(pod_ref(&pod("Pending"), None).is_none());
    }
}
