//! ctl ("closing the loop"): load generation, chaos and closed-loop autoscaling experiments
//! for microservices, in one binary. This crate root only declares the modules; see
//! DESIGN.md for the module map and the seams between them.

pub mod anomaly;
pub mod cli;
pub mod cluster;
pub mod control;
pub mod emulator;
pub mod experiment;
pub mod load;
pub mod model;
pub mod observe;
pub mod policy;
pub mod shape;
pub mod stress;
pub mod workload;
