//! Table-driven tests translated from the upstream test tables (`replica_calculator_test.go`,
//! `horizontal_test.go`); each case carries its upstream name.
// Case tables are tuples, one line per upstream case.
#![allow(clippy::type_complexity)]

mod fixture;
mod k8s;
mod metrics;
mod normalize;
mod reconcile;
mod replicas;
mod resource;
mod stabilize;
