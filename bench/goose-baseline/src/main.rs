//! A plain goose 0.19 load test, as a goose user would write it: one scenario with one
//! transaction, `GET /`, default metrics pipeline on. All settings come from argv
//! (`--host`, `-u`, `--increase-rate`, `--run-time`, `--quiet`, ...).

use goose::prelude::*;

async fn get_root(user: &mut GooseUser) -> TransactionResult {
    let _goose = user.get("/").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    GooseAttack::initialize()?
        .register_scenario(scenario!("LoadRoot").register_transaction(transaction!(get_root)))
        .execute()
        .await?;
    Ok(())
}
