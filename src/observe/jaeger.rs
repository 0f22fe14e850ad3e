//! Jaeger JSON: the query API's `{"data": [trace, ...]}` (also what the Jaeger UI downloads),
//! a bare array of traces, or one trace object; from a file or fetched from the query API
//! (`/api/traces?service=...`). Each span's `CHILD_OF` reference (or the legacy
//! `parentSpanID`) gives its parent; `processes[processID].serviceName` its service.

use super::ObserveError;
use crate::anomaly::{Span, Trace};
use serde::Deserialize;
use std::collections::HashMap;

/// How long a query API call may take.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The top level: either the API envelope or one trace.
#[derive(Deserialize)]
struct Document {
    data: Option<Vec<JaegerTrace>>,
    errors: Option<Vec<serde_json::Value>>,
    #[serde(rename = "traceID")]
    trace_id: Option<String>,
    spans: Option<Vec<JaegerSpan>>,
    processes: Option<HashMap<String, Process>>,
}

#[derive(Deserialize)]
struct JaegerTrace {
    #[serde(rename = "traceID")]
    trace_id: String,
    #[serde(default)]
    spans: Vec<JaegerSpan>,
    #[serde(default)]
    processes: Option<HashMap<String, Process>>,
}

#[derive(Deserialize)]
struct JaegerSpan {
    #[serde(rename = "spanID")]
    span_id: String,
    #[serde(rename = "operationName")]
    operation_name: String,
    #[serde(default)]
    references: Option<Vec<Reference>>,
    #[serde(rename = "parentSpanID", default)]
    parent_span_id: Option<String>,
    duration: f64,
    #[serde(rename = "processID", default)]
    process_id: Option<String>,
    #[serde(default)]
    process: Option<Process>,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(rename = "refType")]
    ref_type: String,
    #[serde(rename = "spanID")]
    span_id: String,
}

#[derive(Deserialize, Clone)]
struct Process {
    #[serde(rename = "serviceName")]
    service_name: String,
}

fn convert(t: JaegerTrace, index: usize, origin: &str) -> Result<Trace, ObserveError> {
    let processes = t.processes.unwrap_or_default();
    let mut spans = Vec::with_capacity(t.spans.len());
    for (j, s) in t.spans.into_iter().enumerate() {
        if !s.duration.is_finite() || s.duration < 0.0 {
            return Err(ObserveError::input(
                origin,
                format!(
                    "data[{index}].spans[{j}].duration: expected µs >= 0, found {}",
                    s.duration
                ),
            ));
        }
        let parent = s
            .references
            .unwrap_or_default()
            .into_iter()
            .find(|r| r.ref_type == "CHILD_OF")
            .map(|r| r.span_id)
            .or(s.parent_span_id.filter(|p| !p.is_empty() && p != "0"));
        let service = s
            .process
            .or_else(|| s.process_id.and_then(|p| processes.get(&p).cloned()))
            .map(|p| p.service_name);
        spans.push(Span {
            span_id: s.span_id,
            operation: s.operation_name,
            parent,
            duration_us: s.duration,
            service,
        });
    }
    Ok(Trace { trace_id: t.trace_id, spans })
}

/// Parses Jaeger JSON; `origin` (a path or URL) prefixes every error. Traces without spans
/// are dropped; none left is an error.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Trace>, ObserveError> {
    let expected = "expected Jaeger JSON: {\"data\": [{\"traceID\", \"spans\": [{\"spanID\", \
                    \"operationName\", \"references\", \"duration\", \"processID\"}], \"processes\"}]}";
    let raw: Vec<JaegerTrace> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text).map_err(|e| {
            ObserveError::input(
                &format!("{origin}:{}:{}", e.line(), e.column()),
                format!("{expected}: {e}"),
            )
        })?
    } else {
        let doc: Document = serde_json::from_str(text).map_err(|e| {
            ObserveError::input(
                &format!("{origin}:{}:{}", e.line(), e.column()),
                format!("{expected}: {e}"),
            )
        })?;
        if let Some(errors) = doc.errors.filter(|e| !e.is_empty()) {
            let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            return Err(ObserveError::input(
                origin,
                format!("the Jaeger API answered errors: {}", text.join("; ")),
            ));
        }
        match (doc.data, doc.trace_id, doc.spans) {
            (Some(data), _, _) => data,
            (None, Some(trace_id), Some(spans)) => {
                vec![JaegerTrace { trace_id, spans, processes: doc.processes }]
            }
            _ => return Err(ObserveError::input(origin, format!("no \"data\" array: {expected}"))),
        }
    };
    let mut traces = Vec::with_capacity(raw.len());
    for (i, t) in raw.into_iter().enumerate() {
        if !t.spans.is_empty() {
            traces.push(convert(t, i, origin)?);
        }
    }
    if traces.is_empty() {
        return Err(ObserveError::input(origin, "no traces with spans"));
    }
    Ok(traces)
}

/// GETs `url` (the Jaeger query API) and returns the body. Runs its own single-threaded
/// runtime: the CLI calls it once, before any other async work.
pub fn fetch(url: &str) -> Result<String, ObserveError> {
    let http = |message: String| ObserveError::Http { url: url.to_string(), message };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| http(format!("cannot start the HTTP runtime: {e}")))?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| http(format!("cannot build an HTTP client: {e}")))?;
        let response =
            client.get(url).send().await.map_err(|e| http(format!("request failed: {e}")))?;
        let status = response.status();
        let body =
            response.text().await.map_err(|e| http(format!("reading the body failed: {e}")))?;
        if !status.is_success() {
            let head: String = body.chars().take(300).collect();
            return Err(http(format!("HTTP {status}: {head}")));
        }
        Ok(body)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"{"data":[{"traceID":"t1","spans":[
        {"traceID":"t1","spanID":"a","operationName":"HTTP GET /hotels","references":[],
         "startTime":1700000000000000,"duration":900,"processID":"p1","tags":[],"logs":[]},
        {"traceID":"t1","spanID":"b","operationName":"/geo.Geo/Nearby",
         "references":[{"refType":"CHILD_OF","traceID":"t1","spanID":"a"}],
         "startTime":1700000000000100,"duration":300,"processID":"p2","warnings":null}],
        "processes":{"p1":{"serviceName":"frontend","tags":[]},"p2":{"serviceName":"geo"}},
        "warnings":null}],"total":0,"limit":0,"offset":0,"errors":null}"#;

    #[test]
    fn parses_the_api_envelope_with_parents_and_services() {
        let t = parse(ONE, "f.json").unwrap();
        assert_eq!(t.len(), 1);
        let s = &t[0].spans;
        assert_eq!(s[1].parent.as_deref(), Some("a"));
        assert_eq!(s[1].service.as_deref(), Some("geo"));
        assert_eq!(s[0].parent, None);
        assert_eq!(s[0].duration_us, 900.0);
    }

    #[test]
    fn accepts_a_bare_array_and_a_single_trace() {
        let v: serde_json::Value = serde_json::from_str(ONE).unwrap();
        let trace = v["data"][0].to_string();
        assert_eq!(parse(&format!("[{trace}]"), "x").unwrap().len(), 1);
        assert_eq!(parse(&trace, "x").unwrap()[0].trace_id, "t1");
    }

    #[test]
    fn errors_name_the_origin_and_what_was_expected() {
        let e = parse("{\"data\": [{\"spans\": []}]}", "in.json").unwrap_err().to_string();
        assert!(e.starts_with("in.json:1:") && e.contains("traceID"), "{e}");
        let e = parse("{\"data\": []}", "in.json").unwrap_err().to_string();
        assert_eq!(e, "in.json: no traces with spans");
        let e = parse("{\"foo\": 1}", "in.json").unwrap_err().to_string();
        assert!(e.contains("no \"data\" array"), "{e}");
        let e =
            parse(r#"{"data":null,"errors":[{"code":400,"msg":"bad service"}]}"#, "u").unwrap_err();
        assert!(e.to_string().contains("bad service"));
        let neg = ONE.replace("\"duration\":300", "\"duration\":-3");
        assert!(parse(&neg, "n").unwrap_err().to_string().contains("data[0].spans[1].duration"));
    }
}
