//! `metrics.k8s.io` (metrics-server, or the embedded cluster's) through kube-rs. k8s-openapi
//! has no types for this aggregated API, so pods are listed as `DynamicObject`s (kube maps the
//! `PodMetrics` kind to the `pods` plural) and read into a small hand-written shape. Tries
//! `v1beta1` first and falls back to `v1` (GA in Kubernetes 1.37) on a 404. CPU is a rate over
//! the object's `window`; memory is the working set. No request metrics: those fields stay
//! `None`.

use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde::Deserialize;

use super::{MetricTarget, MetricsError, MetricsSample, PodUsage, TargetMetrics, usable};
use crate::policy::hpa::history::parse_time;
use crate::policy::hpa::quantity::{parse_go_duration, parse_milli};

const NAME: &str = "metrics-server";

#[derive(Debug, Deserialize)]
struct PodMetricsData {
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    window: Option<String>,
    #[serde(default)]
    containers: Vec<ContainerMetrics>,
}

#[derive(Debug, Deserialize)]
struct ContainerMetrics {
    #[serde(default)]
    usage: std::collections::BTreeMap<String, String>,
}

/// Reads pod metrics from the cluster the client talks to.
pub struct MetricsServerSource {
    client: kube::Client,
    /// The API version that answered last (`v1beta1` or `v1`).
    version: &'static str,
}

impl MetricsServerSource {
    pub fn new(client: kube::Client) -> Self {
        MetricsServerSource { client, version: "v1beta1" }
    }

    async fn list(&mut self, namespace: &str) -> Result<Vec<DynamicObject>, MetricsError> {
        let mut last = None;
        for version in [self.version, if self.version == "v1" { "v1beta1" } else { "v1" }] {
            let gvk = GroupVersionKind::gvk("metrics.k8s.io", version, "PodMetrics");
            let ar = ApiResource::from_gvk(&gvk);
            let api =
                kube::Api::<DynamicObject>::namespaced_with(self.client.clone(), namespace, &ar);
            match api.list(&ListParams::default()).await {
                Ok(list) => {
                    self.version = version;
                    return Ok(list.items);
                }
                Err(kube::Error::Api(s)) if s.code == 404 => last = Some(kube::Error::Api(s)),
                Err(e) => return Err(error(&gvk, namespace, &e)),
            }
        }
        let gvk = GroupVersionKind::gvk("metrics.k8s.io", "v1", "PodMetrics");
        Err(last.map_or_else(
            || MetricsError::NotReady { source_name: NAME, message: "no answer".into() },
            |e| error(&gvk, namespace, &e),
        ))
    }

    async fn sample_inner(
        &mut self,
        targets: &[MetricTarget],
        _now: f64,
    ) -> Result<MetricsSample, MetricsError> {
        let mut namespaces: Vec<&str> = targets.iter().map(|t| t.namespace.as_str()).collect();
        namespaces.sort_unstable();
        namespaces.dedup();
        // A pod whose object does not parse only matters when it is one of the targets'.
        let mut by_pod = std::collections::HashMap::new();
        for ns in namespaces {
            for object in self.list(ns).await? {
                let Some(name) = object.metadata.name.clone() else { continue };
                by_pod.insert((ns.to_string(), name), usage(&object));
            }
        }
        let mut out = MetricsSample::new();
        for t in targets {
            let mut m = TargetMetrics::default();
            for pod in &t.pods {
                match by_pod.get(&(t.namespace.clone(), pod.clone())) {
                    Some(Ok(u)) => {
                        m.pods.insert(pod.clone(), *u);
                    }
                    Some(Err(message)) => {
                        return Err(MetricsError::Malformed {
                            source_name: NAME,
                            url: format!("metrics.k8s.io pods/{}/{pod}", t.namespace),
                            message: message.clone(),
                        });
                    }
                    None => {}
                }
            }
            out.insert(t.deployment.clone(), m);
        }
        Ok(out)
    }
}

fn error(gvk: &GroupVersionKind, namespace: &str, e: &kube::Error) -> MetricsError {
    MetricsError::Unreachable {
        source_name: NAME,
        url: format!("/apis/{}/{}/namespaces/{namespace}/pods", gvk.group, gvk.version),
        message: e.to_string(),
    }
}

/// One pod's usage summed over containers; a quantity that does not parse is an error.
fn usage(object: &DynamicObject) -> Result<PodUsage, String> {
    let data: PodMetricsData = serde_json::from_value(object.data.clone())
        .map_err(|e| format!("expected {{timestamp, window, containers: [{{usage}}]}}: {e}"))?;
    let mut cpu_milli = 0i64;
    let mut memory_milli = 0i64;
    let (mut has_cpu, mut has_memory) = (false, false);
    for (i, c) in data.containers.iter().enumerate() {
        for (resource, text) in &c.usage {
            let v = parse_milli(text).ok_or_else(|| {
                format!("containers[{i}].usage.{resource}: expected a quantity, found '{text}'")
            })?;
            match resource.as_str() {
                "cpu" => {
                    cpu_milli = cpu_milli.saturating_add(v);
                    has_cpu = true;
                }
                "memory" => {
                    memory_milli = memory_milli.saturating_add(v);
                    has_memory = true;
                }
                _ => {}
            }
        }
    }
    Ok(PodUsage {
        cpu_millis: has_cpu.then_some(cpu_milli as f64).and_then(usable),
        memory_bytes: has_memory.then_some(memory_milli as f64 / 1000.0).and_then(usable),
        timestamp: data.timestamp.as_deref().and_then(parse_time),
        window_secs: data.window.as_deref().and_then(parse_go_duration),
    })
}

super::metric_source!(MetricsServerSource, NAME);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_usage_over_containers() {
        let object: DynamicObject = serde_json::from_str(
            r#"{"apiVersion":"metrics.k8s.io/v1beta1","kind":"PodMetrics",
                "metadata":{"name":"web-1","namespace":"default"},
                "timestamp":"2024-05-01T12:00:00Z","window":"15s",
                "containers":[{"name":"a","usage":{"cpu":"7338891n","memory":"14520Ki"}},
                              {"name":"b","usage":{"cpu":"100m","memory":"1Mi"}}]}"#,
        )
        .unwrap();
        let u = usage(&object).unwrap();
        // 7338891n rounds up to 8m (Quantity.MilliValue).
        assert_eq!(u.cpu_millis, Some(108.0));
        assert_eq!(u.memory_bytes, Some((14520.0 + 1024.0) * 1024.0));
        assert_eq!(u.window_secs, Some(15.0));
        assert_eq!(u.timestamp, Some(1_714_564_800.0));
    }
}
