//! What the emulation reports: the spans of a request's call tree, its trace, and the events
//! `Cluster::advance_to` returns (request completions, traces, replicas ready or removed, OOM
//! kills). Plain data for the HTTP, Jaeger and Kubernetes views; must not depend on `control/`.

use std::sync::Arc;

/// Identifies a submitted request; unique for the life of a cluster.
pub type RequestId = u64;

/// One call in a request's tree, as a tracer would record it.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Index in `Trace::spans`; the root is 0.
    pub span_id: u32,
    /// The caller's `span_id` (CHILD_OF).
    pub parent: Option<u32>,
    pub service: Arc<str>,
    pub operation: Arc<str>,
    /// The pod that served it; `None` when no replica was ready (503 without a pod).
    pub pod: Option<Arc<str>>,
    /// Virtual seconds.
    pub start: f64,
    pub end: f64,
    /// HTTP-like status: 200, or 503 (no ready replica, OOM kill, or a failed synchronous callee).
    pub status: u16,
    /// The call's own CPU work (CPU time, the same whatever share of the quota it got).
    pub cpu_ms: f64,
    /// The serving replica's largest working set seen at the span's start and end.
    pub peak_mem_kb: u64,
    /// Whether the caller waited for it.
    pub sync: bool,
}

impl Span {
    pub fn duration(&self) -> f64 {
        self.end - self.start
    }
}

/// A request's complete call tree, reported once every span (asynchronous ones included) ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub request: RequestId,
    pub route: usize,
    pub spans: Vec<Span>,
}

/// Something that happened at a virtual time, in time order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The root span ended: the HTTP front end answers now. Asynchronous callees may still run.
    RequestCompleted { time: f64, request: RequestId, route: usize, latency: f64, status: u16 },
    /// Every span of the request ended (at the same time as `RequestCompleted` unless there are
    /// asynchronous calls).
    TraceCompleted { time: f64, trace: Trace },
    /// A replica passed its startup delay (new, or restarted after an OOM kill).
    ReplicaReady { time: f64, pod: Arc<str>, deployment: Arc<str> },
    /// A drained replica left after a scale-down.
    ReplicaRemoved { time: f64, pod: Arc<str>, deployment: Arc<str> },
    /// The replica's working set passed its memory limit: `failed` spans in flight answered 503.
    OomKilled { time: f64, pod: Arc<str>, deployment: Arc<str>, failed: usize },
}

impl Event {
    pub fn time(&self) -> f64 {
        match self {
            Event::RequestCompleted { time, .. }
            | Event::TraceCompleted { time, .. }
            | Event::ReplicaReady { time, .. }
            | Event::ReplicaRemoved { time, .. }
            | Event::OomKilled { time, .. } => *time,
        }
    }
}
