//! The embedded cluster's application front end: every HTTP request is matched to a route of
//! the topology (query string ignored), submitted to the [`LiveCluster`] and answered when its
//! root span ends, with the emulated status. Unknown paths get 404 naming the known routes, a
//! known path with another method 405 with `Allow`.
//!
//! Responses carry `x-ctl-latency-ms`: the emulated latency (virtual time from arrival to the
//! root span's end), so a client can tell emulated time from its own network overhead.

use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};

use super::http::{self, Body, Handler};
use crate::emulator::live::LiveCluster;
use crate::emulator::topology::Topology;

/// Response header with the emulated latency in milliseconds.
pub const LATENCY_HEADER: &str = "x-ctl-latency-ms";

/// The routes, read once: they never change while the cluster runs, so matching needs no lock.
struct Routes {
    routes: Vec<(hyper::Method, String)>,
    /// "GET /hotels, GET /recommendations, ...", for the 404 body.
    listing: String,
}

impl Routes {
    fn new(topology: &Topology) -> Self {
        let routes: Vec<(hyper::Method, String)> = topology
            .routes
            .iter()
            .map(|r| {
                let method = hyper::Method::from_bytes(r.method.to_ascii_uppercase().as_bytes())
                    .unwrap_or(hyper::Method::GET);
                (method, r.path.clone())
            })
            .collect();
        let listing = routes.iter().map(|(m, p)| format!("{m} {p}")).collect::<Vec<_>>().join(", ");
        Self { routes, listing }
    }

    /// The route index, or the methods the path allows when only the method is wrong.
    fn find(&self, method: &hyper::Method, path: &str) -> Result<usize, Vec<&hyper::Method>> {
        let mut allowed = Vec::new();
        for (index, (m, p)) in self.routes.iter().enumerate() {
            if p == path {
                if m == method {
                    return Ok(index);
                }
                allowed.push(m);
            }
        }
        Err(allowed)
    }
}

/// The front end's handler over `live`.
pub fn handler(live: LiveCluster) -> Handler {
    let routes = Arc::new(Routes::new(live.lock().cluster.topology()));
    Arc::new(move |req| {
        let live = live.clone();
        let routes = routes.clone();
        Box::pin(async move { answer(&live, &routes, req).await })
    })
}

async fn answer(live: &LiveCluster, routes: &Routes, req: Request<Incoming>) -> Response<Body> {
    let route = match routes.find(req.method(), req.uri().path()) {
        Ok(route) => route,
        Err(allowed) if allowed.is_empty() => {
            let body = format!(
                "404 not found: {} {}\nroutes: {}\n",
                req.method(),
                req.uri().path(),
                routes.listing
            );
            return http::text(StatusCode::NOT_FOUND, body);
        }
        Err(allowed) => {
            let allow = allowed.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ");
            let mut response = http::text(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "405 method not allowed: {} {}\nallowed: {allow}\n",
                    req.method(),
                    req.uri().path()
                ),
            );
            if let Ok(value) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            return response;
        }
    };
    // The request arrives when its body has: read and drop it (keep-alive needs it consumed).
    let mut body = req.into_body();
    while let Some(frame) = body.frame().await {
        if frame.is_err() {
            return http::text(StatusCode::BAD_REQUEST, "cannot read the request body\n");
        }
    }
    let done = match live.submit(route) {
        Ok(rx) => rx.await,
        Err(e) => return http::text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    };
    let Ok(done) = done else {
        return http::text(StatusCode::SERVICE_UNAVAILABLE, "the emulated cluster stopped\n");
    };
    let status = StatusCode::from_u16(done.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match status {
        StatusCode::OK => Response::new(http::full(&b"ok\n"[..])),
        StatusCode::SERVICE_UNAVAILABLE => Response::new(http::full(&b"service unavailable\n"[..])),
        other => Response::new(http::full(format!("{other}\n"))),
    };
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("{:.3}", done.latency * 1000.0)) {
        headers.insert(LATENCY_HEADER, value);
    }
    response
}
