//! A direct scrape of a `/metrics` endpoint (Prometheus text format 0.0.4): the parser, and a
//! source that computes rates itself between two scrapes, as PromQL's `rate` would over one
//! interval: a counter that went down was reset (a restart) and counts from zero; a series
//! seen only once has no rate yet (its pod is "missing" for the HPA). Reads the series of the
//! metrics contract: cAdvisor CPU and working set, kube-state-metrics restarts and OOM kills,
//! Istio request counters and latency histograms, ctl's in-flight gauge.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::{
    MetricTarget, MetricsError, MetricsSample, PodUsage, TargetMetrics, get_text,
    histogram_quantile, http_client, unix_now, usable,
};

const NAME: &str = "scrape";

/// One sample line: metric name, labels as written, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The series identity: name and labels sorted by label name.
    fn key(&self) -> String {
        let mut labels: Vec<&(String, String)> = self.labels.iter().collect();
        labels.sort();
        let mut key = self.name.clone();
        for (k, v) in labels {
            key.push('\u{1}');
            key.push_str(k);
            key.push('=');
            key.push_str(v);
        }
        key
    }
}

/// Parses the text exposition format. Comments (`# HELP`, `# TYPE`) are skipped; errors name
/// `origin:line:column` and what was expected.
pub fn parse_text(text: &str, origin: &str) -> Result<Vec<Sample>, String> {
    let mut samples = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let indent = raw.len() - line.len();
        let sample = parse_line(line)
            .map_err(|(col, msg)| format!("{origin}:{}:{}: {msg}", i + 1, indent + col + 1))?;
        samples.push(sample);
    }
    Ok(samples)
}

/// One sample line; an error is (0-based column, message).
fn parse_line(line: &str) -> Result<Sample, (usize, String)> {
    let b = line.as_bytes();
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    if name_end == 0 || b[0].is_ascii_digit() {
        return Err((0, "expected a metric name".into()));
    }
    let name = line[..name_end].to_string();
    let mut pos = name_end;
    let mut labels = Vec::new();
    if b.get(pos) == Some(&b'{') {
        pos += 1;
        loop {
            while b.get(pos) == Some(&b' ') {
                pos += 1;
            }
            if b.get(pos) == Some(&b'}') {
                pos += 1;
                break;
            }
            let start = pos;
            while b.get(pos).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
                pos += 1;
            }
            if pos == start {
                return Err((pos, "expected a label name or '}'".into()));
            }
            let label = line[start..pos].to_string();
            if b.get(pos) != Some(&b'=') || b.get(pos + 1) != Some(&b'"') {
                return Err((pos, format!("expected =\"value\" after label {label}")));
            }
            pos += 2;
            let mut value = String::new();
            loop {
                let Some(&c) = b.get(pos) else {
                    return Err((pos, "unterminated label value".into()));
                };
                match c {
                    b'"' => {
                        pos += 1;
                        break;
                    }
                    b'\\' => {
                        match b.get(pos + 1) {
                            Some(b'n') => value.push('\n'),
                            Some(b'\\') => value.push('\\'),
                            Some(b'"') => value.push('"'),
                            _ => return Err((pos, "expected \\n, \\\\ or \\\" escape".into())),
                        }
                        pos += 2;
                    }
                    _ => {
                        // Copy one whole UTF-8 character.
                        let ch = line[pos..].chars().next().unwrap_or('?');
                        value.push(ch);
                        pos += ch.len_utf8();
                    }
                }
            }
            labels.push((label, value));
            while b.get(pos) == Some(&b' ') {
                pos += 1;
            }
            match b.get(pos) {
                Some(b',') => pos += 1,
                Some(b'}') => {
                    pos += 1;
                    break;
                }
                _ => return Err((pos, "expected ',' or '}' after a label".into())),
            }
        }
    }
    let rest = &line[pos..];
    let trimmed = rest.trim_start();
    let value_col = pos + rest.len() - trimmed.len();
    if trimmed.len() == rest.len() && !rest.is_empty() {
        return Err((pos, "expected a space before the value".into()));
    }
    let mut fields = trimmed.split_whitespace();
    let text = fields.next().ok_or((value_col, "expected a value".to_string()))?;
    let value =
        parse_value(text).ok_or((value_col, format!("expected a number, found '{text}'")))?;
    if let Some(ts) = fields.next()
        && ts.parse::<i64>().is_err()
    {
        return Err((
            value_col + text.len() + 1,
            format!("expected a timestamp (ms), found '{ts}'"),
        ));
    }
    Ok(Sample { name, labels, value })
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

/// One scrape: when it was taken and every sample, with an index by series for rates.
#[derive(Debug, Clone)]
pub struct Scrape {
    pub at: f64,
    pub samples: Vec<Sample>,
    /// `samples[i].key()`, computed once.
    keys: Vec<String>,
    by_key: HashMap<String, f64>,
}

impl Scrape {
    pub fn new(at: f64, samples: Vec<Sample>) -> Self {
        let keys: Vec<String> = samples.iter().map(Sample::key).collect();
        let by_key = keys.iter().cloned().zip(samples.iter().map(|s| s.value)).collect();
        Scrape { at, samples, keys, by_key }
    }
}

/// A counter's increase from `prev` to `cur`: a decrease means a reset, after which the
/// counter started again from zero (PromQL's rule). `None` when the series is new.
fn increase(prev: &Scrape, s: &Sample, key: &str) -> Option<f64> {
    let before = *prev.by_key.get(key)?;
    if !s.value.is_finite() || !before.is_finite() {
        return None;
    }
    Some(if s.value < before { s.value } else { s.value - before })
}

/// cAdvisor's pod-level aggregate (`container=""`) and the pause container are not containers
/// of the workload; summing them would count usage twice.
fn workload_container(s: &Sample) -> bool {
    !matches!(s.label("container"), Some("") | Some("POD"))
}

/// Per-target accumulators for one pass over a scrape.
#[derive(Default)]
struct Acc {
    cpu: BTreeMap<String, f64>,
    memory: BTreeMap<String, f64>,
    requests: f64,
    errors: f64,
    saw_requests: bool,
    buckets: BTreeMap<u64, (f64, f64)>,
    in_flight: Option<f64>,
    restarts: Option<f64>,
    oom: Option<u32>,
}

/// The metrics of `targets` from two scrapes (`prev` earlier than `cur`).
pub fn compute(prev: &Scrape, cur: &Scrape, targets: &[MetricTarget]) -> MetricsSample {
    let dt = cur.at - prev.at;
    let mut pod_owner: HashMap<(&str, &str), usize> = HashMap::new();
    let mut workload: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, t) in targets.iter().enumerate() {
        workload.insert((t.namespace.as_str(), t.deployment.as_str()), i);
        for p in &t.pods {
            pod_owner.insert((t.namespace.as_str(), p.as_str()), i);
        }
    }
    let mut acc: Vec<Acc> = targets.iter().map(|_| Acc::default()).collect();
    // With a mesh reporting requests at all, a workload without series had no requests.
    let mut mesh = false;
    for (s, key) in cur.samples.iter().zip(&cur.keys) {
        let increase = |prev: &Scrape, s: &Sample| increase(prev, s, key);
        let ns = s.label("namespace").unwrap_or("");
        let owner = || s.label("pod").and_then(|p| pod_owner.get(&(ns, p)).map(|&i| (i, p)));
        match s.name.as_str() {
            "container_cpu_usage_seconds_total" if workload_container(s) => {
                if let (Some((i, pod)), Some(inc)) = (owner(), increase(prev, s)) {
                    *acc[i].cpu.entry(pod.to_string()).or_default() += inc;
                }
            }
            "container_memory_working_set_bytes" if workload_container(s) => {
                if let Some((i, pod)) = owner() {
                    *acc[i].memory.entry(pod.to_string()).or_default() += s.value;
                }
            }
            "kube_pod_container_status_restarts_total" => {
                if let (Some((i, _)), Some(inc)) = (owner(), increase(prev, s)) {
                    *acc[i].restarts.get_or_insert(0.0) += inc;
                }
            }
            "kube_pod_container_status_last_terminated_reason" => {
                if let Some((i, _)) = owner() {
                    let oom = s.label("reason") == Some("OOMKilled") && s.value >= 1.0;
                    *acc[i].oom.get_or_insert(0) += u32::from(oom);
                }
            }
            "ctl_emulator_requests_in_flight" => {
                if let Some((i, _)) = owner() {
                    *acc[i].in_flight.get_or_insert(0.0) += s.value;
                }
            }
            "istio_requests_total" | "istio_request_duration_milliseconds_bucket" => {
                if s.label("reporter").is_some_and(|r| r != "destination") {
                    continue;
                }
                mesh = true;
                let wns = s.label("destination_workload_namespace").unwrap_or(ns);
                let Some(&i) =
                    s.label("destination_workload").and_then(|w| workload.get(&(wns, w)))
                else {
                    continue;
                };
                let Some(inc) = increase(prev, s) else { continue };
                if s.name == "istio_requests_total" {
                    acc[i].saw_requests = true;
                    acc[i].requests += inc;
                    if s.label("response_code").is_some_and(|c| c.starts_with('5')) {
                        acc[i].errors += inc;
                    }
                } else if let Some(le) = s.label("le").and_then(parse_value) {
                    // Keyed by the bound's bits so equal bounds of several series add up.
                    acc[i].buckets.entry(le.to_bits()).or_insert((le, 0.0)).1 += inc;
                }
            }
            _ => {}
        }
    }
    let mut out = MetricsSample::new();
    for (t, a) in targets.iter().zip(acc) {
        let mut m = TargetMetrics::default();
        for pod in &t.pods {
            let cpu = a.cpu.get(pod).map(|inc| inc / dt * 1000.0).and_then(usable);
            let memory = a.memory.get(pod).copied().and_then(usable);
            if cpu.is_some() || memory.is_some() {
                let usage = PodUsage {
                    cpu_millis: cpu,
                    memory_bytes: memory,
                    timestamp: Some(cur.at),
                    window_secs: Some(dt),
                };
                m.pods.insert(pod.clone(), usage);
            }
        }
        if a.saw_requests || mesh {
            m.service.request_rate = usable(a.requests / dt);
            m.service.error_rate = (a.requests > 0.0).then(|| a.errors / a.requests);
        }
        let mut buckets: Vec<(f64, f64)> = a.buckets.into_values().collect();
        buckets.sort_by(|x, y| x.0.total_cmp(&y.0));
        m.service.latency_p50_ms = histogram_quantile(0.50, &buckets);
        m.service.latency_p95_ms = histogram_quantile(0.95, &buckets);
        m.service.latency_p99_ms = histogram_quantile(0.99, &buckets);
        m.service.concurrency = a.in_flight;
        m.service.restarts = a.restarts;
        m.service.oom_killed = a.oom;
        out.insert(t.deployment.clone(), m);
    }
    out
}

/// Scrapes `url` each interval and computes rates against the previous scrape. A rate needs
/// two scrapes, so the source takes a priming scrape in the background as soon as it is
/// created (inside a Tokio runtime): the first sample's rate then covers the time since
/// creation, and a controller's first interval is valid. If the priming scrape is less than
/// `min_gap` old (or failed, or there was no runtime), the first sample waits out the rest of
/// `min_gap` after a fresh one instead, so it still has a rate; [`MetricSource::ready`] does
/// that wait before a controller's first interval rather than inside it.
pub struct ScrapeSource {
    url: String,
    client: reqwest::Client,
    prev: Option<Scrape>,
    priming: Option<tokio::task::JoinHandle<Result<Scrape, MetricsError>>>,
    /// The shortest window a first rate is computed over (a shorter one is mostly noise).
    pub min_gap: Duration,
}

impl ScrapeSource {
    pub fn new(url: &str) -> Result<Self, MetricsError> {
        let client = http_client(NAME, url)?;
        let priming = tokio::runtime::Handle::try_current().ok().map(|rt| {
            let (client, url) = (client.clone(), url.to_string());
            rt.spawn(async move { scrape(&client, &url).await })
        });
        Ok(ScrapeSource {
            url: url.to_string(),
            client,
            prev: None,
            priming,
            min_gap: Duration::from_secs(1),
        })
    }

    /// The scrape to compute the next rate from: the previous one, else the priming one,
    /// else one taken now; at least `min_gap` old when this returns.
    async fn previous(&mut self) -> Result<Scrape, MetricsError> {
        if let Some(prev) = self.prev.take() {
            return Ok(prev);
        }
        let primed = match self.priming.take() {
            Some(task) => match task.await {
                Ok(Ok(s)) => Some(s),
                Ok(Err(e)) => {
                    log::debug!("priming scrape: {e}");
                    None
                }
                Err(e) => {
                    log::debug!("priming scrape: {e}");
                    None
                }
            },
            None => None,
        };
        let first = match primed {
            Some(s) => s,
            None => scrape(&self.client, &self.url).await?,
        };
        let age = Duration::from_secs_f64((unix_now() - first.at).max(0.0));
        if age < self.min_gap {
            tokio::time::sleep(self.min_gap - age).await;
        }
        Ok(first)
    }

    /// Takes (or awaits) the scrape the first rate starts from, so that sample is at once.
    async fn ready_inner(&mut self) {
        if self.prev.is_none() {
            match self.previous().await {
                Ok(first) => self.prev = Some(first),
                // The first sample will try again and report the failure.
                Err(e) => log::debug!("first scrape: {e}"),
            }
        }
    }

    async fn sample_inner(
        &mut self,
        targets: &[MetricTarget],
        _now: f64,
    ) -> Result<MetricsSample, MetricsError> {
        let prev = self.previous().await?;
        let cur = scrape(&self.client, &self.url).await?;
        if cur.at - prev.at <= 0.0 {
            self.prev = Some(cur);
            return Err(MetricsError::NotReady {
                source_name: NAME,
                message: "two scrapes at the same instant: no rate".into(),
            });
        }
        let out = compute(&prev, &cur, targets);
        self.prev = Some(cur);
        Ok(out)
    }
}

impl Drop for ScrapeSource {
    fn drop(&mut self) {
        if let Some(task) = &self.priming {
            task.abort();
        }
    }
}

/// One scrape of `url`, stamped with the time it answered.
async fn scrape(client: &reqwest::Client, url: &str) -> Result<Scrape, MetricsError> {
    let text = get_text(client, NAME, url).await?;
    let at = unix_now();
    let samples = parse_text(&text, url).map_err(|message| MetricsError::Malformed {
        source_name: NAME,
        url: url.to_string(),
        message,
    })?;
    Ok(Scrape::new(at, samples))
}

super::metric_source!(ScrapeSource, NAME, ready_inner);

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(at: f64, text: &str) -> Scrape {
        Scrape::new(at, parse_text(text, "t").unwrap())
    }

    #[test]
    fn parses_labels_escapes_special_values_and_timestamps() {
        let text = "# HELP x help\n# TYPE x counter\nx 1\ny{a=\"b\",c=\"q\\\"uo\\\\te\\n\",} 2.5e3 1700000000000\n  z{le=\"+Inf\"} +Inf\nn NaN\n";
        let s = parse_text(text, "m").unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(s[0], Sample { name: "x".into(), labels: vec![], value: 1.0 });
        assert_eq!(s[1].label("c"), Some("q\"uo\\te\n"));
        assert_eq!(s[1].value, 2500.0);
        assert!(s[2].value.is_infinite() && s[3].value.is_nan());
    }

    #[test]
    fn errors_name_line_column_and_expectation() {
        let e = parse_text("ok 1\nbad{a=1} 2\n", "http://h/metrics").unwrap_err();
        assert_eq!(e, "http://h/metrics:2:6: expected =\"value\" after label a");
        let e = parse_text("x{a=\"b\"} one\n", "m").unwrap_err();
        assert_eq!(e, "m:1:10: expected a number, found 'one'");
        assert!(parse_text("x{a=\"b\n", "m").unwrap_err().contains("unterminated"));
    }

    const A: &str = "container_cpu_usage_seconds_total{namespace=\"default\",pod=\"web-1\",container=\"nginx\"} 10\n\
container_cpu_usage_seconds_total{namespace=\"default\",pod=\"web-1\",container=\"\"} 10\n\
container_cpu_usage_seconds_total{namespace=\"default\",pod=\"web-2\",container=\"nginx\"} 50\n\
container_memory_working_set_bytes{namespace=\"default\",pod=\"web-1\",container=\"nginx\"} 1000\n\
istio_requests_total{reporter=\"destination\",destination_workload=\"web\",destination_workload_namespace=\"default\",response_code=\"200\"} 100\n\
istio_requests_total{reporter=\"destination\",destination_workload=\"web\",destination_workload_namespace=\"default\",response_code=\"503\"} 0\n\
istio_request_duration_milliseconds_bucket{reporter=\"destination\",destination_workload=\"web\",destination_workload_namespace=\"default\",le=\"10\"} 50\n\
istio_request_duration_milliseconds_bucket{reporter=\"destination\",destination_workload=\"web\",destination_workload_namespace=\"default\",le=\"100\"} 100\n\
istio_request_duration_milliseconds_bucket{reporter=\"destination\",destination_workload=\"web\",destination_workload_namespace=\"default\",le=\"+Inf\"} 100\n\
kube_pod_container_status_restarts_total{namespace=\"default\",pod=\"web-2\",container=\"nginx\"} 3\n";

    #[test]
    fn rates_between_two_scrapes_with_a_counter_reset() {
        let prev = scrape(100.0, A);
        // Two seconds later: web-1 used 0.5 s of CPU, web-2 restarted (counter reset to 0.2),
        // 40 more requests of which 10 failed, all of them in (10, 100] ms.
        let b = A
            .replace("container=\"nginx\"} 10\n", "container=\"nginx\"} 10.5\n")
            .replace("} 50\ncontainer_memory", "} 0.2\ncontainer_memory")
            .replace("response_code=\"200\"} 100", "response_code=\"200\"} 130")
            .replace("response_code=\"503\"} 0", "response_code=\"503\"} 10")
            .replace("le=\"100\"} 100", "le=\"100\"} 140")
            .replace("le=\"+Inf\"} 100", "le=\"+Inf\"} 140")
            .replace("container=\"nginx\"} 3", "container=\"nginx\"} 4");
        let cur = scrape(102.0, &b);
        let t = MetricTarget {
            namespace: "default".into(),
            deployment: "web".into(),
            pods: vec!["web-1".into(), "web-2".into(), "web-3".into()],
        };
        let other =
            MetricTarget { namespace: "default".into(), deployment: "db".into(), pods: vec![] };
        let out = compute(&prev, &cur, &[t, other]);
        assert_eq!(out["db"].service.request_rate, Some(0.0), "meshed, no requests");
        assert_eq!(out["db"].service.latency_p95_ms, None);
        let m = &out["web"];
        assert_eq!(m.pods["web-1"].cpu_millis, Some(250.0));
        assert_eq!(m.pods["web-1"].memory_bytes, Some(1000.0));
        assert_eq!(m.pods["web-2"].cpu_millis, Some(100.0), "reset counts from zero");
        assert!(!m.pods.contains_key("web-3"));
        assert_eq!(m.service.request_rate, Some(20.0));
        assert_eq!(m.service.error_rate, Some(0.25));
        // All 40 new requests in (10, 100]: p50 at rank 20 of 40 -> 10 + 90 * 20/40.
        assert_eq!(m.service.latency_p50_ms, Some(55.0));
        assert_eq!(m.service.restarts, Some(1.0));
    }
}
