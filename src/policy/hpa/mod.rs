//! The Kubernetes Horizontal Pod Autoscaler, exactly as the newest upstream
//! `pkg/controller/podautoscaler` computes it, as pure functions: time is a parameter, the
//! controller's memory is a value (`History`). `replicas` is the replica calculator,
//! `normalize` the two normalisation paths, `controller` one sync over several metrics,
//! `k8s` reads the objects `kubectl` prints, `policy` adapts it to the `Policy` trait.
//! Nothing here does IO or reads the clock.

pub mod controller;
pub mod history;
pub mod k8s;
pub mod k8s_pods;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod policy;
pub mod quantity;
pub mod replicas;

#[cfg(test)]
mod tests;

pub use controller::{Condition, Config, MetricOutcome, Outcome, Scale, reconcile};
pub use history::History;
pub use model::{Behavior, HpaSpec, MetricData, MetricSpec, Pod, PodSample, Target};
pub use policy::HpaPolicy;
pub use replicas::{Proposal, ReplicaCalculator, Tolerances};
