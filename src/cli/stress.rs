//! `ctl stress`: placeholder, being written.

use clap::Args;

use super::UsageError;

#[derive(Debug, Args)]
pub struct StressArgs {}

pub fn run(_args: StressArgs) -> anyhow::Result<i32> {
    Err(UsageError::boxed("ctl stress is not built yet"))
}
