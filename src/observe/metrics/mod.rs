//! Metric sources for the controller: one trait, [`MetricSource`], and three implementations
//! that answer the same question ("what did each target's pods use, and how did its service
//! do, over the last interval?"): the Prometheus HTTP API with PromQL templates
//! ([`prometheus`]), `metrics.k8s.io` through kube-rs ([`metrics_server`]) and a direct scrape
//! of a `/metrics` endpoint in the Prometheus text format ([`scrape`]). Pod lists, readiness
//! and requests come from the Kubernetes API (`cluster::deployments`), not from here.

pub mod metrics_server;
pub mod prometheus;
pub mod scrape;

use std::collections::BTreeMap;

use futures::future::BoxFuture;

pub use metrics_server::MetricsServerSource;
pub use prometheus::{PrometheusSource, QueryTemplates};
pub use scrape::ScrapeSource;

/// Why a source could not answer. The controller holds replicas on any of these.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    /// The endpoint could not be reached, refused, or answered an HTTP error.
    #[error("{source_name}: {url}: {message}")]
    Unreachable { source_name: &'static str, url: String, message: String },
    /// The endpoint answered something that is not what the protocol promises.
    #[error("{source_name}: {url}: {message}")]
    Malformed { source_name: &'static str, url: String, message: String },
    /// The source answered but has no usable data yet (e.g. one scrape, no rate).
    #[error("{source_name}: {message}")]
    NotReady { source_name: &'static str, message: String },
}

/// One scale target as the sources see it: its namespace, name and current pods.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricTarget {
    pub namespace: String,
    pub deployment: String,
    /// Names of the target's pods (from the Kubernetes API); sources keep samples of these.
    pub pods: Vec<String>,
}

/// Usage of one pod, summed over its containers.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PodUsage {
    pub cpu_millis: Option<f64>,
    pub memory_bytes: Option<f64>,
    /// Unix seconds the sample describes (its end) and the window the CPU rate covers.
    pub timestamp: Option<f64>,
    pub window_secs: Option<f64>,
}

/// Request metrics of a target's service over the interval (`None` = the source has none).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ServiceMetrics {
    /// Requests per second into the service.
    pub request_rate: Option<f64>,
    /// Fraction of requests answered 5xx (0..1).
    pub error_rate: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    /// Mean requests in flight, summed over the pods (the KPA's concurrency).
    pub concurrency: Option<f64>,
    /// Container restarts during the interval.
    pub restarts: Option<f64>,
    /// Containers whose last termination was an OOM kill.
    pub oom_killed: Option<u32>,
}

/// What a source saw for one target.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetMetrics {
    /// Pod name -> usage; a pod without an entry had no sample ("missing" for the HPA).
    pub pods: BTreeMap<String, PodUsage>,
    pub service: ServiceMetrics,
}

/// One answer of a source: per deployment name.
pub type MetricsSample = BTreeMap<String, TargetMetrics>;

/// A source of pod usage and service metrics. `sample` is called once per controller
/// interval with the targets and their current pods; `now` is Unix seconds.
pub trait MetricSource: Send {
    /// A short name for logs and the CSV (`prometheus`, `metrics-server`, `scrape`).
    fn name(&self) -> &'static str;
    fn sample<'a>(
        &'a mut self,
        targets: &'a [MetricTarget],
        now: f64,
    ) -> BoxFuture<'a, Result<MetricsSample, MetricsError>>;

    /// Waits until the first `sample` can answer at once with rates (a scrape source needs
    /// an earlier scrape). The controller calls it before its first interval so that the
    /// interval is not delayed; most sources are ready at once.
    fn ready(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// Implements [`MetricSource`] for a source with a `NAME` constant and an inherent
/// `async fn sample_inner(&mut self, targets: &[MetricTarget], now: f64)`.
/// `metric_source!(T, NAME, ready_inner)` also forwards [`MetricSource::ready`] to an inherent
/// `async fn ready_inner(&mut self)`.
macro_rules! metric_source {
    ($source:ty, $name:expr $(, $ready:ident)?) => {
        impl $crate::observe::metrics::MetricSource for $source {
            $(
                fn ready(&mut self) -> futures::future::BoxFuture<'_, ()> {
                    Box::pin(self.$ready())
                }
            )?

            fn name(&self) -> &'static str {
                $name
            }

            fn sample<'a>(
                &'a mut self,
                targets: &'a [$crate::observe::metrics::MetricTarget],
                now: f64,
            ) -> futures::future::BoxFuture<
                'a,
                Result<
                    $crate::observe::metrics::MetricsSample,
                    $crate::observe::metrics::MetricsError,
                >,
            > {
                Box::pin(self.sample_inner(targets, now))
            }
        }
    };
}
pub(crate) use metric_source;

/// A finite, non-negative value, else `None` (NaN and ±Inf from PromQL mean "no data").
pub(crate) fn usable(v: f64) -> Option<f64> {
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// Seconds since the Unix epoch now (the load engine's clock, so every file agrees).
pub(crate) use crate::load::unix_now;

/// How long one HTTP call of a source may take.
pub(crate) const HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// An HTTP client for plain-HTTP loopback or cluster endpoints.
pub(crate) fn http_client(
    source_name: &'static str,
    url: &str,
) -> Result<reqwest::Client, MetricsError> {
    reqwest::Client::builder().timeout(HTTP_TIMEOUT).build().map_err(|e| {
        MetricsError::Unreachable {
            source_name,
            url: url.to_string(),
            message: format!("cannot build an HTTP client: {e}"),
        }
    })
}

/// GETs `url` and returns the body of a 2xx answer.
pub(crate) async fn get_text(
    client: &reqwest::Client,
    source_name: &'static str,
    url: &str,
) -> Result<String, MetricsError> {
    let unreachable =
        |message: String| MetricsError::Unreachable { source_name, url: url.to_string(), message };
    let response =
        client.get(url).send().await.map_err(|e| unreachable(format!("request failed: {e}")))?;
    let status = response.status();
    let body =
        response.text().await.map_err(|e| unreachable(format!("reading the body failed: {e}")))?;
    if !status.is_success() {
        let head: String = body.chars().take(300).collect();
        return Err(unreachable(format!("HTTP {status}: {}", head.trim())));
    }
    Ok(body)
}

/// `histogram_quantile` as Prometheus computes it: `buckets` are (upper bound, cumulative
/// count) sorted by bound, the last `+Inf`. Linear interpolation inside the bucket; a rank in
/// the `+Inf` bucket answers the highest finite bound. `None` when there are no observations.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last().map(|b| b.1)?;
    if total.is_nan() || total <= 0.0 || !q.is_finite() || buckets.len() < 2 {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * total;
    let i = buckets.iter().position(|b| b.1 >= rank)?;
    if i == buckets.len() - 1 {
        return Some(buckets[buckets.len() - 2].0);
    }
    let (upper, count) = buckets[i];
    let (lower, below) =
        if i == 0 { (if upper > 0.0 { 0.0 } else { upper }, 0.0) } else { buckets[i - 1] };
    let in_bucket = count - below;
    if in_bucket <= 0.0 {
        return Some(upper);
    }
    Some(lower + (upper - lower) * (rank - below) / in_bucket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_like_prometheus() {
        let inf = f64::INFINITY;
        // 10 observations: 4 in (0,1], 6 in (1,5]. Rank 9.5 lies 5.5/6 into (1,5].
        let b = [(1.0, 4.0), (5.0, 10.0), (inf, 10.0)];
        let p95 = histogram_quantile(0.95, &b).unwrap();
        assert!((p95 - (1.0 + 4.0 * 5.5 / 6.0)).abs() < 1e-12, "{p95}");
        assert_eq!(histogram_quantile(0.2, &b), Some(0.5));
        // Everything above the last finite bound: that bound.
        assert_eq!(histogram_quantile(0.99, &[(1.0, 0.0), (inf, 3.0)]), Some(1.0));
        assert_eq!(histogram_quantile(0.5, &[(1.0, 0.0), (inf, 0.0)]), None);
    }
}
