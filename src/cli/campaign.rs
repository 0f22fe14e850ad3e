//! `ctl campaign SCENARIO`: runs a closed-loop experiment from a scenario file (load, stress
//! timeline and controller on one clock) into `runs/<label>-<time>/`, or with `--dry-run`
//! checks the file and prints the resolved scenario and its timeline. Exit codes: 0 done (also
//! after Ctrl-C, with status `interrupted`, as `ctl load`), 1 the SLO failed and the scenario
//! has `slo.fail_run: true`, 2 an invalid scenario (FILE:LINE:COLUMN), 3 a runtime failure.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::Args;

use super::{EXIT_OK, EXIT_THRESHOLD, UsageError, install_load_stop_handler};
use crate::experiment::runner::{self, RunError, RunOptions};
use crate::experiment::{self, summary::CampaignSummary};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ctl campaign scenarios/quickstart.yaml\n  ctl campaign scenarios/cpu-stress-campaign.yaml --dry-run\n  ctl campaign my.yaml --runs out/runs --quiet"
)]
pub struct CampaignArgs {
    /// The scenario file (YAML); see scenarios/README.md.
    pub scenario: String,
    /// Check the scenario, print it resolved (defaults filled in) and its timeline; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Directory the run folder is created in.
    #[arg(long, value_name = "DIR", default_value = "runs")]
    pub runs: String,
    /// No progress display and no end summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: CampaignArgs) -> anyhow::Result<i32> {
    let campaign = experiment::resolve::load(&args.scenario).map_err(UsageError::boxed)?;
    if args.dry_run {
        let yaml = serde_yaml::to_string(&campaign.scenario)?;
        println!("# {} (resolved)\n{yaml}", args.scenario);
        println!("# timeline ({}s)", campaign.timeline.duration());
        print!("{}", campaign.timeline.render());
        return Ok(EXIT_OK);
    }
    let stop = Arc::new(AtomicBool::new(false));
    // The first Ctrl-C stops the campaign (stressors stopped, files written, status
    // interrupted); a second exits at once (stressors end at their TTL inside the pods).
    install_load_stop_handler(stop.clone())?;
    if !args.quiet {
        eprintln!(
            "ctl campaign {}: {} phase(s), {}s; load {}",
            campaign.scenario.label,
            campaign.timeline.phases.len(),
            campaign.timeline.duration(),
            campaign.load.shape.describe()
        );
    }
    let options = RunOptions { runs_dir: args.runs.clone().into(), quiet: args.quiet, stop };
    let result = runner::run(&campaign, options).map_err(|e| match e {
        RunError::Setup(m) => UsageError::boxed(m),
        other => anyhow::Error::new(other),
    })?;
    for p in &result.problems {
        eprintln!("warning: {p}");
    }
    if !args.quiet {
        eprintln!("{}", render_text(&result.summary));
        eprintln!("run folder: {}", result.dir.display());
    }
    Ok(if result.summary.slo_failed { EXIT_THRESHOLD } else { EXIT_OK })
}

/// One line per phase; the latency shown is the SLO's percentile.
fn render_text(s: &CampaignSummary) -> String {
    let mut out = format!("campaign {} {}", s.label, s.status);
    let q = s.slo.percentile;
    for p in &s.phases {
        let l = &p.latency_ms;
        let latency = match q {
            50 => l.p50,
            90 => l.p90,
            99 => l.p99,
            _ => l.p95,
        };
        out.push_str(&format!(
            "\n  {:<12} {:<11} SLO violated {:>4}s of {:>4}s | p{q} {:>8.1}ms | errors {:>6.2}% | replica-s {:>8.1} | cpu-s {:>7.1} | scalings {} | anomalies {}",
            p.name,
            p.status,
            p.slo_violation_seconds,
            p.measured_seconds,
            latency,
            p.error_rate * 100.0,
            p.replica_seconds,
            p.cpu_seconds,
            p.scaling_actions,
            p.anomalies
        ));
    }
    if s.slo_failed {
        out.push_str("\n  SLO failed (slo.fail_run)");
    }
    out
}
