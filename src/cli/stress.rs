//! `ctl stress cpu|memory|script`: CPU and memory stress inside pods through the exec API
//! (the embedded cluster unless `--kubeconfig`/`--context` is given), with a live status on
//! stderr and `--events FILE` (JSON lines); `script` prints the exact scripts ctl execs.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::{EXIT_OK, EXIT_RUNTIME, UsageError, parse_duration};
use crate::cluster::{self, pods::Target};
use crate::emulator::server::ServeOptions;
use crate::stress::{
    MemoryMode, RunId, RunnerOptions, Stopper, StressError, StressEvent, StressRunner, StressSpec,
    script,
};

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    ctl stress cpu --selector app=webapp --workers 2 --load 50 --duration 3m\n  \
    ctl stress memory --selector deployment/webapp --mb 48 --mode shm --kubeconfig kc.yaml\n  \
    ctl stress script cpu --workers 2 --load 50 --ttl 60s | sh   # the same script, by hand")]
pub struct StressArgs {
    #[command(subcommand)]
    command: StressCommand,
}

#[derive(Debug, Subcommand)]
enum StressCommand {
    /// Busy workers in every matching pod, each at --load % of one CPU.
    Cpu {
        #[command(flatten)]
        cpu: CpuFlags,
        #[command(flatten)]
        run: RunFlags,
    },
    /// Hold --mb MiB in every matching pod (anonymous memory or a /dev/shm file).
    Memory {
        #[command(flatten)]
        memory: MemoryFlags,
        #[command(flatten)]
        run: RunFlags,
    },
    /// Print the exact script ctl would exec (marker line included), for review or `| sh`.
    #[command(subcommand)]
    Script(ScriptCommand),
}

#[derive(Debug, Args)]
struct CpuFlags {
    /// Busy workers per pod.
    #[arg(long, default_value_t = 1)]
    workers: u32,
    /// Load per worker, in percent of one CPU (1-100).
    #[arg(long, default_value_t = 100)]
    load: u32,
}

#[derive(Debug, Args)]
struct MemoryFlags {
    /// MiB to hold per pod.
    #[arg(long, default_value_t = 50)]
    mb: u32,
    /// anon: anonymous memory, freed with the process; shm: a /dev/shm file (checked with df).
    #[arg(long, value_enum, default_value_t = MemoryMode::Anon)]
    mode: MemoryMode,
}

#[derive(Debug, Args)]
struct RunFlags {
    /// Pods to stress: a label selector (app=webapp) or deployment/NAME.
    #[arg(long, value_name = "SELECTOR|deployment/NAME")]
    selector: String,
    /// Namespace (default: the kubeconfig context's).
    #[arg(short, long)]
    namespace: Option<String>,
    /// Container to exec into (default: the pod's default container, else its first).
    #[arg(short, long)]
    container: Option<String>,
    /// How long to stress; 0: until Ctrl-C (capped by --max-duration).
    #[arg(long, value_parser = parse_duration, default_value = "5m")]
    duration: Duration,
    /// Upper bound on any run, also the TTL inside the pods for --duration 0.
    #[arg(long, value_parser = parse_duration, default_value = "24h")]
    max_duration: Duration,
    /// Stress at most this many pods (the first by name).
    #[arg(long)]
    max_pods: Option<usize>,
    /// Rediscover pods this often: new pods are stressed, deleted ones forgotten.
    #[arg(long, value_parser = parse_duration, default_value = "15s")]
    refresh: Duration,
    /// Kubeconfig of the cluster (default with no --kubeconfig and no --context: start the
    /// embedded cluster with the webapp topology).
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (of --kubeconfig, $KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    context: Option<String>,
    /// Write every event as one JSON object per line.
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Do not sweep stressors of earlier ctl runs before stressing a pod (for runs that share
    /// pods on purpose).
    #[arg(long)]
    no_start_sweep: bool,
}

#[derive(Debug, Subcommand)]
enum ScriptCommand {
    /// The CPU stressor.
    Cpu {
        #[command(flatten)]
        cpu: CpuFlags,
        #[command(flatten)]
        script: ScriptFlags,
    },
    /// The memory stressor.
    Memory {
        #[command(flatten)]
        memory: MemoryFlags,
        #[command(flatten)]
        script: ScriptFlags,
    },
    /// The kill sweep (every ctl stressor without --run).
    Sweep {
        /// Only the stressors of this run id.
        #[arg(long)]
        run: Option<String>,
    },
    /// The /dev/shm cleanup of a run.
    Cleanup {
        /// The run id whose /dev/shm files go.
        #[arg(long, default_value = "manual")]
        run: String,
    },
}

#[derive(Debug, Args)]
struct ScriptFlags {
    /// The stressor's TTL: it ends on its own after this.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    ttl: Duration,
    /// Run id in the marker (what a sweep matches).
    #[arg(long, default_value = "manual")]
    run: String,
}

pub fn run(args: StressArgs) -> anyhow::Result<i32> {
    match args.command {
        StressCommand::Cpu { cpu, run } => {
            stress(StressSpec::Cpu { workers: cpu.workers, load: cpu.load }, run)
        }
        StressCommand::Memory { memory, run } => {
            stress(StressSpec::Memory { mb: memory.mb, mode: memory.mode }, run)
        }
        StressCommand::Script(cmd) => print_script(cmd),
    }
}

fn run_id(text: &str) -> anyhow::Result<RunId> {
    RunId::parse(text).map_err(UsageError::boxed)
}

fn print_script(cmd: ScriptCommand) -> anyhow::Result<i32> {
    let text = match cmd {
        ScriptCommand::Cpu { cpu, script: flags } => {
            rendered(StressSpec::Cpu { workers: cpu.workers, load: cpu.load }, flags)?
        }
        ScriptCommand::Memory { memory, script: flags } => {
            rendered(StressSpec::Memory { mb: memory.mb, mode: memory.mode }, flags)?
        }
        ScriptCommand::Sweep { run } => {
            script::sweep(run.as_deref().map(run_id).transpose()?.as_ref())
        }
        ScriptCommand::Cleanup { run } => script::cleanup(&run_id(&run)?),
    };
    std::io::stdout().write_all(text.as_bytes()).context("writing the script")?;
    Ok(EXIT_OK)
}

fn rendered(spec: StressSpec, flags: ScriptFlags) -> anyhow::Result<String> {
    spec.validate().map_err(UsageError::boxed)?;
    if flags.ttl.is_zero() {
        return Err(UsageError::boxed("--ttl: expected a duration above 0"));
    }
    Ok(script::stressor(&spec, flags.ttl, &run_id(&flags.run)?))
}

fn stress(spec: StressSpec, flags: RunFlags) -> anyhow::Result<i32> {
    spec.validate().map_err(UsageError::boxed)?;
    let target = Target::parse(&flags.selector).map_err(UsageError::boxed)?;
    if flags.refresh < Duration::from_millis(100) {
        return Err(UsageError::boxed("--refresh: expected at least 100ms"));
    }
    if flags.max_pods == Some(0) {
        return Err(UsageError::boxed("--max-pods: expected at least 1"));
    }
    // An empty name silently stressed nothing (every pod "found", no exec ran).
    if flags.container.as_deref().is_some_and(|c| c.trim().is_empty()) {
        return Err(UsageError::boxed("--container: expected a container name, found ''"));
    }
    let mut events_file = match &flags.events {
        Some(path) => Some(std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| {
            UsageError::boxed(format!("--events: cannot create {}: {e}", path.display()))
        })?)),
        None => None,
    };
    // The embedded cluster lives as long as this function.
    let embedded = if flags.kubeconfig.is_none() && flags.context.is_none() {
        let topology = super::serve::load_topology("webapp")?;
        Some(super::serve::start(ServeOptions::new(topology))?)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let options = RunnerOptions {
        namespace: flags.namespace.clone(),
        container: flags.container.clone(),
        duration: (!flags.duration.is_zero()).then_some(flags.duration),
        max_duration: flags.max_duration,
        max_pods: flags.max_pods,
        refresh: flags.refresh,
        sweep_at_start: !flags.no_start_sweep,
        ..RunnerOptions::default()
    };
    // Installed before anything starts in a pod, so that no Ctrl-C goes unanswered.
    let interrupt = Interrupt::install()?;
    let summary = runtime.block_on(async {
        let conn = match &embedded {
            Some(cluster) => {
                cluster::connect_url(&cluster.kubernetes_url(), cluster.live.namespace())?
            }
            None => cluster::connect(flags.kubeconfig.as_deref(), flags.context.as_deref()).await?,
        };
        let mut handle =
            StressRunner::start(&conn, spec, &target, options).await.map_err(|e| match e {
                e @ StressError::NoPods { .. } => UsageError::boxed(format!("--selector: {e}")),
                e if e.is_usage() => UsageError::boxed(e),
                e => anyhow::Error::new(e).context(format!("cluster {}", conn.server)),
            })?;
        interrupt.arm(handle.stopper());
        let mut events = handle.events().expect("events are taken once, here");
        let printer = tokio::spawn(async move {
            let mut write_failed = false;
            while let Some(event) = events.recv().await {
                eprintln!("{}", event.describe());
                if let Some(file) = events_file.as_mut()
                    && !write_failed
                {
                    write_failed = write_event(file, &event).is_err();
                    if write_failed {
                        eprintln!("warning: --events: cannot write; events go to stderr only");
                    }
                }
            }
        });
        let summary = handle.finished().await;
        // The event stream ends once every pod task has dropped its sender.
        let _ = tokio::time::timeout(Duration::from_secs(5), printer).await;
        Ok::<_, anyhow::Error>(summary)
    })?;
    drop(embedded);
    eprintln!(
        "stress run {}: {} pod(s) stressed; completed {}, stopped {}, OOM-killed {}, pod gone {}, unsupported {}, failed {}",
        summary.run,
        summary.pods,
        summary.completed,
        summary.stopped,
        summary.oom_killed,
        summary.pod_gone,
        summary.unsupported,
        summary.failed
    );
    if summary.sweep_incomplete {
        eprintln!("warning: the final sweep did not reach every pod; the stressors' TTL ends them");
    }
    // Nothing could be stressed at all: a runtime failure, the events say why.
    if summary.pods == 0 { Ok(EXIT_RUNTIME) } else { Ok(EXIT_OK) }
}

fn write_event(file: &mut impl Write, event: &StressEvent) -> std::io::Result<()> {
    serde_json::to_writer(&mut *file, event)?;
    file.write_all(b"\n")?;
    file.flush()
}

/// Ctrl-C / SIGTERM: the first stops every stressor (sweep, cleanup), also when it came
/// before the run started; a second exits at once (the stressors' TTL still ends them).
struct Interrupt {
    seen: Arc<AtomicBool>,
    stopper: Arc<Mutex<Option<Stopper>>>,
}

impl Interrupt {
    fn install() -> anyhow::Result<Interrupt> {
        let interrupt = Interrupt { seen: Arc::default(), stopper: Arc::default() };
        let (seen, stopper) = (interrupt.seen.clone(), interrupt.stopper.clone());
        // An error here (another handler installed) would leave Ctrl-C unable to stop the
        // stressors: refuse to start instead.
        ctrlc::set_handler(move || {
            if seen.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("interrupted: stopping every stressor (Ctrl-C again to quit at once)");
            if let Some(stopper) = stopper.lock().ok().as_ref().and_then(|s| s.as_ref()) {
                stopper.stop("interrupted");
            }
        })
        .map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))?;
        Ok(interrupt)
    }

    /// From now on Ctrl-C stops the run; one that came earlier stops it at once.
    fn arm(&self, stopper: Stopper) {
        if let Ok(mut slot) = self.stopper.lock() {
            *slot = Some(stopper.clone());
        }
        if self.seen.load(Ordering::SeqCst) {
            stopper.stop("interrupted");
        }
    }
}
