//! Command-line definitions (clap derive), one file per subcommand, and the one exit-code
//! policy: 0 ok, 1 a threshold failed, 2 usage or input error, 3 runtime failure.
//! Holds no load, shape or output logic: it builds the same plan a scenario file would.

mod anomaly;
mod campaign;
mod control;
mod hpa;
mod load;
mod logger;
mod model;
mod serve;
mod shape;
mod stress;

use clap::{Parser, Subcommand};

/// Exit codes, as documented in the README.
pub const EXIT_OK: i32 = 0;
pub const EXIT_THRESHOLD: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_RUNTIME: i32 = 3;

/// A usage or input error (exit code 2); everything else that fails is a runtime error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    /// A usage error as an `anyhow::Error`, for `?` at the CLI edge.
    pub fn boxed(message: impl std::fmt::Display) -> anyhow::Error {
        anyhow::Error::new(UsageError(message.to_string()))
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "ctl",
    version,
    about = "Closing the loop: load, chaos and autoscaling experiments for microservices"
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate load against a target (the embedded one when no --host is given).
    Load(Box<load::LoadArgs>),
    /// Start the embedded cluster on its own (app, Kubernetes API, /metrics, Jaeger API).
    Serve(serve::ServeArgs),
    /// CPU and memory stress inside pods through the Kubernetes exec API.
    Stress(stress::StressArgs),
    /// The closed loop: observe, detect anomalies, decide, guard and scale.
    Control(Box<control::ControlArgs>),
    /// Run a closed-loop experiment from a scenario file.
    Campaign(campaign::CampaignArgs),
    /// Work with load shapes without sending load.
    #[command(subcommand)]
    Shape(shape::ShapeCommand),
    /// What the Kubernetes HPA controller would decide, from kubectl's objects.
    Hpa(hpa::HpaArgs),
    /// Train, evaluate and apply CPU ~ load models and load forecasters.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Trace anomaly detection: train an Isolation Forest, score traces, inspect a model.
    #[command(subcommand)]
    Anomaly(anomaly::AnomalyCommand),
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    logger::install(cli.verbose);
    // A panic is a bug in ctl; it still ends with the runtime-failure code, not Rust's 101.
    let result = std::panic::catch_unwind(move || match cli.command {
        Command::Load(args) => load::run(*args),
        Command::Shape(cmd) => shape::run(cmd),
        Command::Hpa(args) => hpa::run(args),
        Command::Anomaly(cmd) => anomaly::run(cmd),
        Command::Model(cmd) => model::run(cmd),
        Command::Serve(args) => serve::run(args),
        Command::Stress(args) => stress::run(args),
        Command::Control(args) => control::run(*args),
        Command::Campaign(args) => campaign::run(args),
    })
    .unwrap_or_else(|_| Err(anyhow::anyhow!("internal error (a bug in ctl; please report it)")));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<UsageError>().is_some() { EXIT_USAGE } else { EXIT_RUNTIME }
        }
    }
}

/// Parses a duration: humantime (`90s`, `2m`, `1h30m`, `500ms`) or bare seconds (`30`, `0.5`).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::shape::parse_bounded_duration(text, MAX_DURATION)
}

/// The longest duration any flag takes: a year of load is a mistake, not an experiment.
const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(366 * 86_400);

/// Ctrl-C / SIGTERM for the commands that run load (`ctl load`, `ctl campaign`): the first
/// sets `stop` and trips goose's kill switch (the run stops, its files are still written with
/// status interrupted); a second one exits at once with 130. Install it before goose runs, so
/// goose's own handler yields to it.
pub fn install_load_stop_handler(
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> anyhow::Result<()> {
    let result = ctrlc::set_handler(move || {
        if stop.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(130);
        }
        goose::trigger_killswitch("ctl: interrupted");
    });
    match result {
        Ok(()) | Err(ctrlc::Error::MultipleHandlers) => Ok(()),
        Err(e) => Err(anyhow::anyhow!("cannot install the Ctrl-C handler: {e}")),
    }
}
