//! `ctl control`: placeholder, being written.

use clap::Args;

use super::UsageError;

#[derive(Debug, Args)]
pub struct ControlArgs {}

pub fn run(_args: ControlArgs) -> anyhow::Result<i32> {
    Err(UsageError::boxed("ctl control is not built yet"))
}
