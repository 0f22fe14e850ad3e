//! `metrics.k8s.io/v1beta1` PodMetrics (list and get, as metrics-server serves them for
//! `kubectl top pods`): CPU is the rate of the pod's cumulative CPU seconds over the last
//! [`WINDOW`] (5 s, from per-pod samples taken every second, interpolated to the exact window;
//! with less history, over the history there is, or the pod's life so far), memory the working
//! set now.
//! Pods that have not started yet (Pending) have no metrics, as with metrics-server.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::{Method, Response};
use serde_json::{Value, json};

use super::objects::{self, ApiError};
use super::selector::Selectors;
use super::{Api, Call};
use crate::emulator::PodPhase;
use crate::emulator::server::http::Body;

/// The window CPU usage is averaged over.
pub const WINDOW: f64 = 5.0;
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// Samples older than this are dropped.
const KEEP: f64 = WINDOW + 3.0;

/// Per pod: (virtual seconds, cumulative CPU seconds), oldest first.
#[derive(Default)]
pub struct Samples(Mutex<HashMap<String, VecDeque<(f64, f64)>>>);

impl Samples {
    fn record(&self, time: f64, pods: impl Iterator<Item = (String, f64)>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut seen = HashMap::new();
        for (pod, usage) in pods {
            let series = map.entry(pod.clone()).or_default();
            series.push_back((time, usage));
            while series.front().is_some_and(|&(t, _)| t < time - KEEP) {
                series.pop_front();
            }
            seen.insert(pod, ());
        }
        map.retain(|pod, _| seen.contains_key(pod));
    }

    /// Cumulative CPU seconds at `time`, interpolated between samples; `None` before the
    /// first sample.
    fn usage_at(&self, pod: &str, time: f64) -> Option<f64> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let series = map.get(pod)?;
        let after = series.iter().position(|&(t, _)| t > time)?;
        if after == 0 {
            return None;
        }
        let (t0, u0) = series[after - 1];
        let (t1, u1) = series[after];
        Some(u0 + (u1 - u0) * (time - t0) / (t1 - t0))
    }

    fn oldest(&self, pod: &str) -> Option<(f64, f64)> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(pod)?.front().copied()
    }
}

/// Samples every pod's CPU counter every second, for the life of the server.
pub async fn sample_forever(api: Arc<Api>) {
    let mut ticker = tokio::time::interval(SAMPLE_EVERY);
    loop {
        ticker.tick().await;
        let snapshot = api.live.snapshot();
        let pods = snapshot.pods.iter().map(|p| (p.name.to_string(), p.cpu_usage_seconds));
        api.samples.record(snapshot.time, pods);
    }
}

fn metrics(api: &Arc<Api>, selectors: &Selectors) -> Vec<Value> {
    let snapshot = api.live.snapshot();
    let now = snapshot.time;
    let timestamp = objects::timestamp(api.live.unix_time(now));
    snapshot
        .pods
        .iter()
        .filter(|p| p.phase == PodPhase::Running)
        .filter_map(|p| {
            let (window, since) = match api.samples.usage_at(&p.name, now - WINDOW) {
                Some(usage) => (WINDOW, usage),
                None => match api.samples.oldest(&p.name) {
                    Some((t, usage)) if now - t >= 1.0 => (now - t, usage),
                    _ => (now - p.start_time, 0.0),
                },
            };
            let cores = if window > 0.0 { (p.cpu_usage_seconds - since) / window } else { 0.0 };
            let hash = objects::template_hash(&p.name, &p.deployment);
            let item = json!({
                "kind": "PodMetrics",
                "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": {
                    "name": &*p.name,
                    "namespace": snapshot.namespace,
                    "creationTimestamp": timestamp,
                    "labels": {"app": &*p.deployment, "pod-template-hash": hash},
                },
                "timestamp": timestamp,
                "window": format!("{window:.3}s"),
                "containers": [{
                    "name": p.container,
                    "usage": {
                        "cpu": format!("{}n", (cores.max(0.0) * 1e9).round() as u64),
                        "memory": format!("{}Ki", p.memory_working_set_bytes / 1024),
                    },
                }],
            });
            selectors.matches(&item).then_some(item)
        })
        .collect()
}

pub fn list(
    api: &Arc<Api>,
    call: &Call,
    namespace: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    if call.method != Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let selectors = Selectors::from_query(&call.query)?;
    let items = match namespace {
        Some(ns) if ns != api.live.namespace() => Vec::new(),
        _ => metrics(api, &selectors),
    };
    Ok(objects::ok(&json!({
        "kind": "PodMetricsList",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {},
        "items": items,
    })))
}

pub fn get(api: &Arc<Api>, call: &Call, name: &str) -> Result<Response<Body>, ApiError> {
    if call.method != Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    metrics(api, &Selectors::default())
        .into_iter()
        .find(|m| m["metadata"]["name"] == name)
        .map(|m| objects::ok(&m))
        .ok_or_else(|| ApiError::NotFound {
            kind: "podmetrics.metrics.k8s.io".into(),
            name: name.into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_interpolated_between_samples() {
        let samples = Samples::default();
        samples.record(1.0, [("p".to_string(), 0.5)].into_iter());
        samples.record(2.0, [("p".to_string(), 1.5)].into_iter());
        assert_eq!(samples.usage_at("p", 1.5), Some(1.0));
        assert_eq!(samples.usage_at("p", 0.5), None);
        assert_eq!(samples.usage_at("p", 2.5), None);
        samples.record(3.0, std::iter::empty());
        assert_eq!(samples.usage_at("p", 1.5), None, "gone pods are forgotten");
    }
}
