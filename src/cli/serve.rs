//! `ctl serve`: placeholder, being written.

use clap::Args;

use super::UsageError;

#[derive(Debug, Args)]
pub struct ServeArgs {}

pub fn run(_args: ServeArgs) -> anyhow::Result<i32> {
    Err(UsageError::boxed("ctl serve is not built yet"))
}
