//! `ctl campaign`: placeholder, being written.

use clap::Args;

use super::UsageError;

#[derive(Debug, Args)]
pub struct CampaignArgs {}

pub fn run(_args: CampaignArgs) -> anyhow::Result<i32> {
    Err(UsageError::boxed("ctl campaign is not built yet"))
}
