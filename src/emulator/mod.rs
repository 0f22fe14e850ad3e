//! The embedded cluster's emulation core: topologies (`workloads/topologies/*.yaml`), replicas
//! with CPU as processor sharing under a CFS-like quota and accounted memory, the request call
//! graph with spans, scaling, OOM kills, and snapshots for the metrics and Kubernetes views.
//! Pure and deterministic for a seed: virtual time in seconds is a parameter, there is no
//! clock, no IO (apart from reading a topology file) and no tokio, so a real-clock server, a
//! test and a fast-forward simulation drive the same code. Must not depend on `control/`.
//!
//! ```
//! use ctl::emulator::{Event, topology};
//! let mut cluster = topology::load("webapp").unwrap().build(42);
//! let route = cluster.route("GET", "/").unwrap();
//! cluster.submit(route, 0.0).unwrap();
//! let events = cluster.advance_to(1.0);
//! assert!(events.iter().any(|e| matches!(e, Event::RequestCompleted { status: 200, .. })));
//! ```

mod cluster;
mod dispatch;
pub mod live;
pub mod quantity;
mod replica;
mod request;
pub mod server;
mod snapshot;
pub mod topology;
mod validate;

pub use cluster::{Cluster, EmulatorError};
pub use live::{Completion, LiveCluster, LiveState, TraceRecord};
pub use request::{Event, RequestId, Span, Trace};
pub use server::{EmbeddedCluster, ServeError, ServeOptions};
pub use snapshot::{
    ClusterSnapshot, DeploymentSnapshot, LATENCY_BUCKETS_MS, LatencyHistogram, PodPhase,
    PodSnapshot, ServiceStats,
};
pub use topology::{Topology, TopologyError};
