//! The load engine: goose as the worker pool and HTTP client, with ctl's own clock, arrival
//! pacer (open model), per-second HdrHistogram recorder and Locust-compatible outputs.
//! Must not know about Kubernetes.

mod driver;
pub mod engine;
pub mod output;
mod pacer;
pub mod progress;
pub mod recorder;
pub mod stats;
pub mod think;

pub use driver::unix_now;
pub use engine::{LoadError, LoadPlan, Model, RunOutcome, SecondSink, run};
pub use think::ThinkTime;
