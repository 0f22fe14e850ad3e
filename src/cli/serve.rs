//! `ctl serve`: starts the embedded cluster on its own (application, Kubernetes API subset,
//! `/metrics`, Jaeger API), prints one `name: value` line per endpoint once all of them accept
//! connections, and runs until Ctrl-C or SIGTERM. Also the shared pieces `ctl load` uses to
//! start the cluster in-process: topology loading with exit-code mapping and the endpoint list.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{EXIT_OK, UsageError};
use crate::emulator::server::{EmbeddedCluster, Endpoint, ServeError, ServeOptions};
use crate::emulator::topology::{self, Topology};
use crate::workload::Workload;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[derive(Debug, Args)]
#[command(after_help = "Prints, once every endpoint accepts connections:\n  \
    app: http://127.0.0.1:P\n  kubernetes: http://127.0.0.1:P\n  \
    metrics: http://127.0.0.1:P/metrics\n  jaeger: http://127.0.0.1:P\n  kubeconfig: PATH\n\n\
    Runs until Ctrl-C or SIGTERM.\n\n\
    Examples:\n  ctl serve\n  ctl serve --topology webapp --app-port 8080 --kubeconfig-out kubeconfig.yaml\n  \
    kubectl --kubeconfig kubeconfig.yaml get pods   # in another shell")]
pub struct ServeArgs {
    /// Topology: a shipped name (hotel, tasks, webapp) or a YAML file.
    #[arg(long, value_name = "NAME|FILE", default_value = "hotel")]
    pub topology: String,
    /// Seed of the emulation (service times, call probabilities, pod names).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Port of the application front end on 127.0.0.1 (0: a free port).
    #[arg(long, value_name = "P", default_value_t = 0)]
    pub app_port: u16,
    /// Port of the Kubernetes API subset on 127.0.0.1 (0: a free port).
    #[arg(long, value_name = "P", default_value_t = 0)]
    pub kubernetes_port: u16,
    /// Port of Prometheus /metrics on 127.0.0.1 (0: a free port).
    #[arg(long, value_name = "P", default_value_t = 0)]
    pub metrics_port: u16,
    /// Port of the Jaeger query API on 127.0.0.1 (0: a free port).
    #[arg(long, value_name = "P", default_value_t = 0)]
    pub jaeger_port: u16,
    /// Write the kubeconfig here and keep it on exit; default: ctl-serve-PID.kubeconfig in the
    /// system temp directory, removed on exit.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig_out: Option<PathBuf>,
}

/// Loads a topology; every problem with it is an input error (exit 2) naming file:line:column.
pub(super) fn load_topology(name_or_path: &str) -> anyhow::Result<Topology> {
    topology::load(name_or_path).map_err(|e| UsageError::boxed(format!("--topology: {e}")))
}

/// Starts the cluster; a port in use is a runtime failure (exit 3) naming the flag, an
/// unwritable kubeconfig path an input error (exit 2).
pub(super) fn start(options: ServeOptions) -> anyhow::Result<EmbeddedCluster> {
    EmbeddedCluster::start(options).map_err(|e| match e {
        ServeError::Bind { endpoint, port, source } => {
            let flag = match endpoint {
                Endpoint::App => "--app-port",
                Endpoint::Kubernetes => "--kubernetes-port",
                Endpoint::Metrics => "--metrics-port",
                Endpoint::Jaeger => "--jaeger-port",
            };
            anyhow::anyhow!(
                "cannot listen on 127.0.0.1:{port} for {endpoint}: {source} (give another \
                 {flag}, or 0 for a free port)"
            )
        }
        ServeError::Kubeconfig { path, source } => UsageError::boxed(format!(
            "--kubeconfig-out: cannot write {}: {source}",
            path.display()
        )),
        other => anyhow::Error::new(other),
    })
}

/// The endpoint lines `ctl serve` prints, in order (`kubeconfig` last, when written).
pub(super) fn endpoints(cluster: &EmbeddedCluster) -> Vec<(&'static str, String)> {
    let mut lines = vec![
        ("app", cluster.app_url()),
        ("kubernetes", cluster.kubernetes_url()),
        ("metrics", cluster.metrics_url()),
        ("jaeger", cluster.jaeger_url()),
    ];
    if let Some(path) = &cluster.kubeconfig {
        lines.push(("kubeconfig", path.display().to_string()));
    }
    lines
}

/// A temp-dir kubeconfig path unique to this process (`prefix-PID.kubeconfig`).
pub(super) fn temp_kubeconfig(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{prefix}-{}.kubeconfig", std::process::id()))
}

/// The shipped topologies `ctl load` tries, in this order, when no `--topology` is given.
const LOAD_TOPOLOGIES: [&str; 3] = ["webapp", "hotel", "tasks"];

/// The embedded cluster of a `ctl load` run; dropping it stops the cluster and removes the
/// kubeconfig it wrote to the temp directory.
pub(super) struct InProcess {
    pub cluster: EmbeddedCluster,
    pub topology: String,
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(path) = &self.cluster.kubeconfig {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The workload's requests (`METHOD path`) that `topology` has no route for.
fn unserved(topology: &Topology, workload: &Workload) -> Vec<String> {
    // Parameters only fill in query strings and values; one drawing shows the path.
    let mut rng = StdRng::seed_from_u64(0);
    workload
        .requests
        .iter()
        .filter_map(|r| {
            let path = r.render(&mut rng).path;
            let path = path.split('?').next().unwrap_or(&path).to_string();
            topology.route(&r.method, &path).is_none().then(|| format!("{} {path}", r.method))
        })
        .collect()
}

/// Starts the embedded cluster for `ctl load` with no `--host`: `--topology` if given (a
/// warning on stderr for requests it has no route for), else the first shipped topology that
/// answers every request of the workload (webapp for `GET /`, hotel for the hotel mix).
pub(super) fn start_for_load(
    topology: Option<&str>,
    seed: u64,
    workload: &Workload,
    quiet: bool,
) -> anyhow::Result<InProcess> {
    let (name, topology) = match topology {
        Some(name) => {
            let topology = load_topology(name)?;
            let missing = unserved(&topology, workload);
            if !missing.is_empty() && !quiet {
                eprintln!(
                    "warning: topology {name} has no route for {}: those requests will get 404",
                    missing.join(", ")
                );
            }
            (name.to_string(), topology)
        }
        None => {
            let mut chosen = None;
            for name in LOAD_TOPOLOGIES {
                let topology = load_topology(name)?;
                if unserved(&topology, workload).is_empty() {
                    chosen = Some((name.to_string(), topology));
                    break;
                }
            }
            chosen.ok_or_else(|| {
                UsageError::boxed(format!(
                    "no shipped topology ({}) answers every request of the workload; give \
                     --host URL to load a real target, or --topology FILE with those routes",
                    LOAD_TOPOLOGIES.join(", ")
                ))
            })?
        }
    };
    let mut options = ServeOptions::new(topology);
    options.seed = seed;
    options.kubeconfig_out = Some(temp_kubeconfig("ctl-load"));
    let cluster = start(options)?;
    Ok(InProcess { cluster, topology: name })
}

pub fn run(args: ServeArgs) -> anyhow::Result<i32> {
    let topology = load_topology(&args.topology)?;
    let (kubeconfig, temporary) = match args.kubeconfig_out {
        Some(path) => (path, false),
        None => (temp_kubeconfig("ctl-serve"), true),
    };
    // Installed before anything starts, so a signal during start-up is not lost.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    install_handler(tx)?;
    let options = ServeOptions {
        topology,
        seed: args.seed,
        app_port: args.app_port,
        kubernetes_port: args.kubernetes_port,
        metrics_port: args.metrics_port,
        jaeger_port: args.jaeger_port,
        kubeconfig_out: Some(kubeconfig.clone()),
    };
    let cluster = start(options)?;
    let printed = print_endpoints(&cluster);
    if printed.is_ok() {
        // Until Ctrl-C or SIGTERM (an error means the handler is gone: stop too).
        let _ = rx.recv();
    }
    cluster.stop();
    if temporary {
        let _ = std::fs::remove_file(&kubeconfig);
    }
    printed.context("cannot write to stdout")?;
    Ok(EXIT_OK)
}

fn print_endpoints(cluster: &EmbeddedCluster) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for (name, value) in endpoints(cluster) {
        writeln!(out, "{name}: {value}")?;
    }
    out.flush()
}

/// The first Ctrl-C / SIGTERM stops the cluster cleanly; a second one exits at once.
fn install_handler(tx: std::sync::mpsc::Sender<()>) -> anyhow::Result<()> {
    let mut signalled = false;
    ctrlc::set_handler(move || {
        if std::mem::replace(&mut signalled, true) {
            std::process::exit(130);
        }
        let _ = tx.send(());
    })
    .map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))
}
