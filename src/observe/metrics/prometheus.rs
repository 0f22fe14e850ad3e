//! The Prometheus HTTP API (`/api/v1/query`) as a metric source. One PromQL template per
//! quantity, with placeholders `{namespace}`, `{deployment}`, `{pod_regex}` (the target's pod
//! names, `web-1|web-2`, so a Deployment `web` never counts `web-api`'s pods; `<deployment>-.*`
//! as the seeds wrote it while the pods are unknown) and `{window}` (the rate window). The defaults are seed 004's
//! queries (CPU, memory; grouped `by (pod)` because the HPA needs per-pod values, and on the
//! working set the HPA uses) and seed 001's (request rate, errors as non-2xx/5xx share,
//! latency percentiles from the Istio histogram, `[{window}]` instead of a fixed `[120s]`).
//! Empty results and NaN / ±Inf values (e.g. `histogram_quantile` over no traffic) read as
//! "no data"; counter resets are PromQL's `rate`/`increase` business.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{
    MetricTarget, MetricsError, MetricsSample, PodUsage, TargetMetrics, get_text, http_client,
    usable,
};

const NAME: &str = "prometheus";

/// PromQL per quantity. Per-pod queries must return one series per pod with a `pod` label;
/// the others one series (or none).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryTemplates {
    /// The `[window]` of rates, e.g. `1m` (seed 004) or `120s` (seed 001).
    pub window: String,
    /// Millicores per pod.
    pub cpu_millicores: String,
    /// Bytes per pod.
    pub memory_bytes: String,
    pub request_rate: String,
    /// Requests per second answered 5xx.
    pub error_rate: String,
    /// Milliseconds; `{quantile}` is replaced by 0.5, 0.95 and 0.99.
    pub latency_ms: String,
    pub concurrency: String,
    pub restarts: String,
    pub oom_killed: String,
}

impl Default for QueryTemplates {
    fn default() -> Self {
        let pods = r#"namespace="{namespace}",pod=~"{pod_regex}""#;
        let istio = r#"reporter="destination",destination_workload_namespace="{namespace}",destination_workload="{deployment}""#;
        QueryTemplates {
            window: "1m".into(),
            cpu_millicores: format!(
                r#"sum by (pod) (rate(container_cpu_usage_seconds_total{{{pods},container!="",container!="POD"}}[{{window}}])) * 1000"#
            ),
            memory_bytes: format!(
                r#"sum by (pod) (container_memory_working_set_bytes{{{pods},container!="",container!="POD"}})"#
            ),
            request_rate: format!(r#"sum(rate(istio_requests_total{{{istio}}}[{{window}}]))"#),
            error_rate: format!(
                r#"sum(rate(istio_requests_total{{{istio},response_code=~"5.."}}[{{window}}]))"#
            ),
            latency_ms: format!(
                r#"histogram_quantile({{quantile}}, sum by (le) (rate(istio_request_duration_milliseconds_bucket{{{istio}}}[{{window}}])))"#
            ),
            concurrency: format!(r#"sum(ctl_emulator_requests_in_flight{{{pods}}})"#),
            restarts: format!(
                r#"sum(increase(kube_pod_container_status_restarts_total{{{pods}}}[{{window}}]))"#
            ),
            oom_killed: format!(
                r#"sum(kube_pod_container_status_last_terminated_reason{{{pods},reason="OOMKilled"}})"#
            ),
        }
    }
}

impl QueryTemplates {
    /// Reads templates from YAML (keys as the fields; missing ones keep their defaults).
    pub fn from_yaml_str(file: &str, text: &str) -> Result<Self, String> {
        serde_yaml::from_str(text).map_err(|e| {
            let at =
                e.location().map_or(String::new(), |l| format!(":{}:{}", l.line(), l.column()));
            format!("{file}{at}: {e}")
        })
    }

    /// A template with the target's values filled in.
    pub fn render(&self, template: &str, target: &MetricTarget) -> String {
        let pods = if target.pods.is_empty() {
            format!("{}-.*", regex_escape(&target.deployment))
        } else {
            target.pods.iter().map(|p| regex_escape(p)).collect::<Vec<_>>().join("|")
        };
        template
            .replace("{namespace}", &target.namespace)
            .replace("{deployment}", &target.deployment)
            .replace("{pod_regex}", &pods)
            .replace("{window}", &self.window)
    }
}

/// Escapes RE2 metacharacters (deployment names only have `-` and `.`, but be safe).
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push_str("\\\\");
        }
        out.push(c);
    }
    out
}

#[derive(Deserialize)]
struct Response {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
    #[serde(rename = "errorType", default)]
    error_type: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct VectorItem {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

/// Series of an instant-query answer: labels and value.
pub type Series = Vec<(BTreeMap<String, String>, f64)>;

/// The series of an instant-query answer as (labels, value); a scalar is one unlabelled
/// series. NaN and infinities are kept (callers decide); a value that is not a number is an
/// error.
pub fn parse_response(body: &str) -> Result<Series, String> {
    let r: Response = serde_json::from_str(body).map_err(|e| {
        format!("{}:{}: expected a Prometheus API answer: {e}", e.line(), e.column())
    })?;
    if r.status != "success" {
        return Err(format!(
            "query failed: {}: {}",
            r.error_type.unwrap_or_default(),
            r.error.unwrap_or_default()
        ));
    }
    let data = r.data.ok_or("\"data\" missing from a successful answer")?;
    let number = |s: &str| -> Result<f64, String> {
        match s {
            "NaN" => Ok(f64::NAN),
            "+Inf" | "Inf" => Ok(f64::INFINITY),
            "-Inf" => Ok(f64::NEG_INFINITY),
            _ => s.parse().map_err(|_| format!("expected a number, found \"{s}\"")),
        }
    };
    match data.result_type.as_str() {
        "vector" => {
            let items: Vec<VectorItem> = serde_json::from_value(data.result).map_err(|e| {
                format!("data.result: expected [{{metric, value: [t, \"v\"]}}]: {e}")
            })?;
            items.into_iter().map(|i| Ok((i.metric, number(&i.value.1)?))).collect()
        }
        "scalar" => {
            let (_, v): (f64, String) = serde_json::from_value(data.result)
                .map_err(|e| format!("data.result: expected [t, \"v\"]: {e}"))?;
            Ok(vec![(BTreeMap::new(), number(&v)?)])
        }
        other => Err(format!("resultType {other}: expected an instant vector or scalar")),
    }
}

/// Queries a Prometheus server at `base` (e.g. `http://127.0.0.1:9090`).
pub struct PrometheusSource {
    base: String,
    client: reqwest::Client,
    pub templates: QueryTemplates,
}

impl PrometheusSource {
    pub fn new(base: &str, templates: QueryTemplates) -> Result<Self, MetricsError> {
        let base = base.trim_end_matches('/').to_string();
        let client = http_client(NAME, &base)?;
        Ok(PrometheusSource { base, client, templates })
    }

    /// One instant query at `time` (Unix seconds).
    pub async fn query(&self, promql: &str, time: f64) -> Result<Series, MetricsError> {
        let url = format!("{}/api/v1/query", self.base);
        let full = reqwest::Url::parse_with_params(
            &url,
            &[("query", promql.to_string()), ("time", format!("{time:.3}"))],
        )
        .map_err(|e| MetricsError::Unreachable {
            source_name: NAME,
            url: url.clone(),
            message: format!("bad URL: {e}"),
        })?;
        // An HTTP 4xx/5xx from Prometheus carries the JSON error; read it either way.
        let body = match get_text(&self.client, NAME, full.as_str()).await {
            Ok(body) => body,
            Err(MetricsError::Unreachable { message, .. }) if message.starts_with("HTTP 4") => {
                let json = message.split_once(": ").map_or("", |(_, j)| j).to_string();
                return Err(MetricsError::Malformed {
                    source_name: NAME,
                    url,
                    message: parse_response(&json)
                        .err()
                        .map_or(message, |e| format!("{promql}: {e}")),
                });
            }
            Err(e) => return Err(e),
        };
        parse_response(&body).map_err(|message| MetricsError::Malformed {
            source_name: NAME,
            url,
            message: format!("{promql}: {message}"),
        })
    }

    /// The single value of a one-series query; empty, NaN or negative is `None`.
    async fn scalar(
        &self,
        template: &str,
        target: &MetricTarget,
        now: f64,
    ) -> Result<Option<f64>, MetricsError> {
        let series = self.query(&self.templates.render(template, target), now).await?;
        Ok(series.first().and_then(|(_, v)| usable(*v)))
    }

    async fn target(&self, target: &MetricTarget, now: f64) -> Result<TargetMetrics, MetricsError> {
        let t = &self.templates;
        let mut m = TargetMetrics::default();
        let cpu = self.query(&t.render(&t.cpu_millicores, target), now).await?;
        let memory = self.query(&t.render(&t.memory_bytes, target), now).await?;
        let window = humantime::parse_duration(&t.window).ok().map(|d| d.as_secs_f64());
        for pod in &target.pods {
            let find = |series: &[(BTreeMap<String, String>, f64)]| {
                series.iter().find(|(l, _)| l.get("pod") == Some(pod)).and_then(|(_, v)| usable(*v))
            };
            let usage = PodUsage {
                cpu_millis: find(&cpu),
                memory_bytes: find(&memory),
                timestamp: Some(now),
                window_secs: window,
            };
            if usage.cpu_millis.is_some() || usage.memory_bytes.is_some() {
                m.pods.insert(pod.clone(), usage);
            }
        }
        let s = &mut m.service;
        s.request_rate = self.scalar(&t.request_rate, target, now).await?;
        let errors = self.scalar(&t.error_rate, target, now).await?;
        s.error_rate = match (errors, s.request_rate) {
            (Some(e), Some(r)) if r > 0.0 => Some(e / r),
            (None, Some(r)) if r > 0.0 => Some(0.0),
            _ => None,
        };
        for (q, slot) in [
            (0.5, &mut s.latency_p50_ms),
            (0.95, &mut s.latency_p95_ms),
            (0.99, &mut s.latency_p99_ms),
        ] {
            let template = t.latency_ms.replace("{quantile}", &q.to_string());
            *slot = self.scalar(&template, target, now).await?;
        }
        s.concurrency = self.scalar(&t.concurrency, target, now).await?;
        s.restarts = self.scalar(&t.restarts, target, now).await?;
        s.oom_killed = self.scalar(&t.oom_killed, target, now).await?.map(|v| v.round() as u32);
        Ok(m)
    }

    async fn sample_inner(
        &self,
        targets: &[MetricTarget],
        now: f64,
    ) -> Result<MetricsSample, MetricsError> {
        let mut out = MetricsSample::new();
        for t in targets {
            out.insert(t.deployment.clone(), self.target(t, now).await?);
        }
        Ok(out)
    }
}

super::metric_source!(PrometheusSource, NAME);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_render_the_seed_queries_for_a_target() {
        let t = QueryTemplates::default();
        let target =
            MetricTarget { namespace: "default".into(), deployment: "webapp".into(), pods: vec![] };
        assert_eq!(
            t.render(&t.cpu_millicores, &target),
            r#"sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="default",pod=~"webapp-.*",container!="",container!="POD"}[1m])) * 1000"#
        );
        assert_eq!(
            t.render(&t.request_rate, &target),
            r#"sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="default",destination_workload="webapp"}[1m]))"#
        );
        let known = MetricTarget { pods: vec!["webapp-1".into(), "webapp-a.b".into()], ..target };
        assert!(
            t.render(&t.concurrency, &known).contains(r#"pod=~"webapp-1|webapp-a\\.b""#),
            "{}",
            t.render(&t.concurrency, &known)
        );
        let t2 = QueryTemplates::from_yaml_str("q.yaml", "window: 120s\n").unwrap();
        assert_eq!(t2.window, "120s");
        let e = QueryTemplates::from_yaml_str("q.yaml", "windw: 1m\n").unwrap_err();
        assert!(e.starts_with("q.yaml:1:1: unknown field `windw`"), "{e}");
    }

    #[test]
    fn parses_vectors_scalars_nan_and_errors() {
        let v = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"pod":"a"},"value":[1700000000.1,"12.5"]},
            {"metric":{"pod":"b"},"value":[1700000000.1,"NaN"]}]}}"#;
        let s = parse_response(v).unwrap();
        assert_eq!(s[0].0["pod"], "a");
        assert_eq!(s[0].1, 12.5);
        assert!(s[1].1.is_nan());
        let empty = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(parse_response(empty).unwrap().is_empty());
        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"+Inf"]}}"#;
        assert!(parse_response(scalar).unwrap()[0].1.is_infinite());
        let err = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert_eq!(parse_response(err).unwrap_err(), "query failed: bad_data: parse error");
        assert!(parse_response("<html>").unwrap_err().starts_with("1:1: expected a Prometheus"));
    }
}
