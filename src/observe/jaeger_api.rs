//! Traces of a time window from the Jaeger query API: `GET /api/services` (unless services
//! are given), then `GET /api/traces?service=S&start=µs&end=µs&limit=N` per service, merged
//! and de-duplicated by trace id (a trace through two services comes back for both). Seed
//! 000 asks for service `frontend` with limit 1000 and pads the window by ±5 s; the padding
//! is the caller's choice here. Parsing is `jaeger::parse`.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::ObserveError;
use super::jaeger;
use super::metrics::{MetricsError, get_text};
use crate::anomaly::Trace;

/// How long one API call may take.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A Jaeger query API client.
pub struct JaegerApi {
    base: String,
    client: reqwest::Client,
    /// Services to ask for; empty = every service `/api/services` lists.
    pub services: Vec<String>,
    /// Most traces per service and window.
    pub limit: usize,
}

#[derive(Deserialize)]
struct Services {
    #[serde(default)]
    data: Option<Vec<String>>,
}

impl JaegerApi {
    /// `base` is the query service root, e.g. `http://127.0.0.1:16686`.
    pub fn new(base: &str) -> Result<Self, ObserveError> {
        let base = base.trim_end_matches('/').to_string();
        let client = reqwest::Client::builder().timeout(TIMEOUT).build().map_err(|e| {
            ObserveError::Http { url: base.clone(), message: format!("cannot build a client: {e}") }
        })?;
        Ok(JaegerApi { base, client, services: Vec::new(), limit: 1000 })
    }

    async fn get(&self, url: &str) -> Result<String, ObserveError> {
        get_text(&self.client, "jaeger", url).await.map_err(|e| ObserveError::Http {
            url: url.to_string(),
            message: match e {
                MetricsError::Unreachable { message, .. } => message,
                other => other.to_string(),
            },
        })
    }

    /// The services the API knows.
    pub async fn list_services(&self) -> Result<Vec<String>, ObserveError> {
        let url = format!("{}/api/services", self.base);
        let body = self.get(&url).await?;
        let s: Services = serde_json::from_str(&body).map_err(|e| {
            ObserveError::input(&url, format!("expected {{\"data\": [service, ...]}}: {e}"))
        })?;
        Ok(s.data.unwrap_or_default())
    }

    /// Every trace that started in [start, end) (Unix seconds), over the configured services.
    pub async fn traces(&self, start: f64, end: f64) -> Result<Vec<Trace>, ObserveError> {
        let services = if self.services.is_empty() {
            self.list_services().await?
        } else {
            self.services.clone()
        };
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for service in services {
            let url = reqwest::Url::parse_with_params(
                &format!("{}/api/traces", self.base),
                &[
                    ("service", service.clone()),
                    ("start", format!("{}", (start * 1e6).floor() as i64)),
                    ("end", format!("{}", (end * 1e6).ceil() as i64)),
                    ("limit", self.limit.to_string()),
                ],
            )
            .map_err(|e| ObserveError::Http { url: self.base.clone(), message: e.to_string() })?;
            let body = self.get(url.as_str()).await?;
            let traces = match jaeger::parse(&body, url.as_str()) {
                Ok(t) => t,
                // An empty window is not an error for a controller.
                Err(ObserveError::Input { message, .. }) if message == "no traces with spans" => {
                    Vec::new()
                }
                Err(e) => return Err(e),
            };
            for t in traces {
                if seen.insert(t.trace_id.clone()) {
                    out.push(t);
                }
            }
        }
        Ok(out)
    }
}
