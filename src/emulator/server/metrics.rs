//! `GET /metrics` on the metrics port: the embedded cluster in the Prometheus text format, with
//! the series names and labels of cAdvisor, kube-state-metrics and Istio's destination metrics
//! plus ctl's own (`/work/notes/metrics-contract.md` is the list). Everything comes from one
//! [`ClusterSnapshot`] taken under one lock, so a scrape is consistent across families.

mod exposition;

use hyper::{Method, StatusCode};

use super::http::{self, Handler};
use crate::emulator::live::LiveCluster;
use crate::emulator::snapshot::{ClusterSnapshot, LATENCY_BUCKETS_MS, PodPhase};
pub use exposition::{Exposition, Kind, format_value};

/// The content type Prometheus expects for the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Quantiles of `ctl_emulator_timing_error_seconds`.
const TIMING_QUANTILES: [f64; 3] = [0.5, 0.99, 0.999];

/// The emulator's event-timing error (how late due events were processed), summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct TimingSummary {
    /// (quantile, seconds); NaN when nothing was recorded, as Prometheus clients report it.
    pub quantiles: Vec<(f64, f64)>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl TimingSummary {
    fn of(histogram: &hdrhistogram::Histogram<u64>) -> Self {
        let count = histogram.len();
        let quantiles = TIMING_QUANTILES
            .iter()
            .map(|&q| {
                let seconds = match count {
                    0 => f64::NAN,
                    _ => histogram.value_at_quantile(q) as f64 / 1e6,
                };
                (q, seconds)
            })
            .collect();
        // The histogram keeps no exact sum; its mean is exact to its 3 significant digits.
        let sum_seconds = histogram.mean() * count as f64 / 1e6;
        Self { quantiles, count, sum_seconds }
    }
}

pub fn handler(live: LiveCluster) -> Handler {
    std::sync::Arc::new(move |req| {
        let live = live.clone();
        Box::pin(async move {
            if req.uri().path() != "/metrics" {
                return http::text(StatusCode::NOT_FOUND, "not found: metrics are at /metrics\n");
            }
            if req.method() != Method::GET && req.method() != Method::HEAD {
                return http::text(StatusCode::METHOD_NOT_ALLOWED, "use GET /metrics\n");
            }
            let (snapshot, timing) = {
                let state = live.lock();
                (state.cluster.snapshot(), TimingSummary::of(&state.timing_error_us))
            };
            http::respond(StatusCode::OK, CONTENT_TYPE, render(&snapshot, &timing))
        })
    })
}

/// The whole exposition for one snapshot.
pub fn render(snapshot: &ClusterSnapshot, timing: &TimingSummary) -> String {
    let mut e = Exposition::new();
    cadvisor(&mut e, snapshot);
    kube_state_pods(&mut e, snapshot);
    kube_state_deployments(&mut e, snapshot);
    istio(&mut e, snapshot);
    own(&mut e, snapshot, timing);
    e.finish()
}

fn cadvisor(e: &mut Exposition, s: &ClusterSnapshot) {
    let ns = s.namespace.as_str();
    let name = "container_cpu_usage_seconds_total";
    e.family(name, Kind::Counter, "Cumulative cpu time consumed in seconds.");
    for pod in &s.pods {
        let labels = [("namespace", ns), ("pod", &pod.name), ("container", &pod.container)];
        e.sample(name, &labels, pod.cpu_usage_seconds);
    }
    let name = "container_memory_working_set_bytes";
    e.family(name, Kind::Gauge, "Current working set in bytes.");
    for pod in &s.pods {
        let labels = [("namespace", ns), ("pod", &pod.name), ("container", &pod.container)];
        e.sample(name, &labels, pod.memory_working_set_bytes as f64);
    }
}

fn kube_state_pods(e: &mut Exposition, s: &ClusterSnapshot) {
    let ns = s.namespace.as_str();
    let name = "kube_pod_info";
    e.family(name, Kind::Gauge, "Information about pod.");
    for pod in &s.pods {
        // Pods are `<deployment>-<template hash>-<suffix>`; their ReplicaSet drops the suffix.
        let replica_set = pod.name.rsplit_once('-').map_or(&*pod.name, |(rs, _)| rs);
        let labels = [
            ("namespace", ns),
            ("pod", &pod.name),
            ("created_by_kind", "ReplicaSet"),
            ("created_by_name", replica_set),
        ];
        e.sample(name, &labels, 1.0);
    }
    let name = "kube_pod_labels";
    e.family(name, Kind::Gauge, "Kubernetes labels converted to Prometheus labels.");
    for pod in &s.pods {
        e.sample(
            name,
            &[("namespace", ns), ("pod", &pod.name), ("label_app", &pod.deployment)],
            1.0,
        );
    }
    for (name, help, is_limit) in [
        (
            "kube_pod_container_resource_requests",
            "The number of requested request resource by a container.",
            false,
        ),
        (
            "kube_pod_container_resource_limits",
            "The number of requested limit resource by a container.",
            true,
        ),
    ] {
        e.family(name, Kind::Gauge, help);
        for pod in &s.pods {
            let (cpu_millis, memory) = match is_limit {
                false => (pod.cpu_request_millis, pod.memory_request_bytes),
                true => (pod.cpu_limit_millis, pod.memory_limit_bytes),
            };
            let base = [("namespace", ns), ("pod", &*pod.name), ("container", &pod.container)];
            let cpu = [base[0], base[1], base[2], ("resource", "cpu"), ("unit", "core")];
            e.sample(name, &cpu, cpu_millis / 1000.0);
            let mem = [base[0], base[1], base[2], ("resource", "memory"), ("unit", "byte")];
            e.sample(name, &mem, memory as f64);
        }
    }
    let name = "kube_pod_container_status_restarts_total";
    e.family(name, Kind::Counter, "The number of container restarts per container.");
    for pod in &s.pods {
        let labels = [("namespace", ns), ("pod", &pod.name), ("container", &pod.container)];
        e.sample(name, &labels, f64::from(pod.restarts));
    }
    let name = "kube_pod_container_status_last_terminated_reason";
    e.family(name, Kind::Gauge, "Describes the last reason the container was in terminated state.");
    for pod in &s.pods {
        if let Some(reason) = pod.last_termination_reason {
            let labels = [
                ("namespace", ns),
                ("pod", &pod.name),
                ("container", &pod.container),
                ("reason", reason),
            ];
            e.sample(name, &labels, 1.0);
        }
    }
    let name = "kube_pod_container_status_ready";
    e.family(name, Kind::Gauge, "Describes whether the containers readiness check succeeded.");
    for pod in &s.pods {
        let labels = [("namespace", ns), ("pod", &pod.name), ("container", &pod.container)];
        e.sample(name, &labels, if pod.ready { 1.0 } else { 0.0 });
    }
    let name = "kube_pod_status_phase";
    e.family(name, Kind::Gauge, "The pods current phase.");
    for pod in &s.pods {
        let current = match pod.phase {
            PodPhase::Pending => "Pending",
            PodPhase::Running => "Running",
        };
        for phase in ["Pending", "Running", "Succeeded", "Failed", "Unknown"] {
            let labels = [("namespace", ns), ("pod", &*pod.name), ("phase", phase)];
            e.sample(name, &labels, if phase == current { 1.0 } else { 0.0 });
        }
    }
}

fn kube_state_deployments(e: &mut Exposition, s: &ClusterSnapshot) {
    let ns = s.namespace.as_str();
    type Field = fn(&crate::emulator::snapshot::DeploymentSnapshot) -> u32;
    let families: [(&str, &str, Field); 3] = [
        ("kube_deployment_spec_replicas", "Number of desired pods for a deployment.", |d| {
            d.spec_replicas
        }),
        ("kube_deployment_status_replicas", "The number of replicas per deployment.", |d| {
            d.replicas
        }),
        (
            "kube_deployment_status_replicas_ready",
            "The number of ready replicas per deployment.",
            |d| d.ready_replicas,
        ),
    ];
    for (name, help, field) in families {
        e.family(name, Kind::Gauge, help);
        for dep in &s.deployments {
            e.sample(name, &[("namespace", ns), ("deployment", &dep.name)], f64::from(field(dep)));
        }
    }
}

fn istio(e: &mut Exposition, s: &ClusterSnapshot) {
    let ns = s.namespace.as_str();
    let destination = |service: &'_ str| -> Vec<(&'static str, String)> {
        vec![
            ("reporter", "destination".to_string()),
            ("destination_workload", service.to_string()),
            ("destination_workload_namespace", ns.to_string()),
            ("destination_service_name", service.to_string()),
        ]
    };
    let name = "istio_requests_total";
    e.family(name, Kind::Counter, "Total requests.");
    for service in &s.services {
        for (status, count) in &service.requests_by_status {
            let mut labels = destination(&service.name);
            labels.push(("response_code", status.to_string()));
            e.sample(name, &borrow(&labels), *count as f64);
        }
    }
    let family = "istio_request_duration_milliseconds";
    e.family(family, Kind::Histogram, "Request duration in milliseconds.");
    for service in &s.services {
        let labels = destination(&service.name);
        let bounds = LATENCY_BUCKETS_MS.iter().map(|&b| format_value(b));
        let bounds = bounds.chain(std::iter::once("+Inf".to_string()));
        for (le, count) in bounds.zip(&service.latency.cumulative) {
            let mut with_le = labels.clone();
            with_le.push(("le", le));
            e.sample(&format!("{family}_bucket"), &borrow(&with_le), *count as f64);
        }
        e.sample(&format!("{family}_sum"), &borrow(&labels), service.latency.sum_ms);
        e.sample(&format!("{family}_count"), &borrow(&labels), service.latency.count as f64);
    }
}

fn borrow<'a>(labels: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    labels.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn own(e: &mut Exposition, s: &ClusterSnapshot, timing: &TimingSummary) {
    let family = "ctl_emulator_timing_error_seconds";
    e.family(
        family,
        Kind::Summary,
        "How late the emulator processed due events on the real clock (seconds).",
    );
    for &(q, seconds) in &timing.quantiles {
        e.sample(family, &[("quantile", &format_value(q))], seconds);
    }
    e.sample(&format!("{family}_sum"), &[], timing.sum_seconds);
    e.sample(&format!("{family}_count"), &[], timing.count as f64);
    let name = "ctl_emulator_requests_in_flight";
    e.family(name, Kind::Gauge, "Requests admitted on the pod and not yet finished.");
    for pod in &s.pods {
        e.sample(
            name,
            &[("namespace", s.namespace.as_str()), ("pod", &pod.name)],
            pod.in_flight as f64,
        );
    }
}

#[cfg(test)]
mod tests;
