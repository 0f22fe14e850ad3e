//! KPA tests: upstream's test tables translated case by case (named after them), the seed's
//! Knative files, and the policy end to end.

mod aggregation;
mod config;
mod decider;
mod policy;
