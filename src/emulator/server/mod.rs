//! The embedded cluster's servers: the application front end, the Kubernetes API subset,
//! Prometheus `/metrics` and the Jaeger query API, each on its own loopback port, all over one
//! [`LiveCluster`]. [`EmbeddedCluster::start`] runs them on a runtime thread of their own so
//! that synchronous callers (the CLI, the load engine, tests) can start one and keep going.

pub mod app;
pub mod http;
pub mod jaeger;
pub mod kube;
pub mod metrics;

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::sync::watch;

use super::live::LiveCluster;
use super::topology::Topology;

/// One of the four loopback endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    App,
    Kubernetes,
    Metrics,
    Jaeger,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Endpoint::App => "the application",
            Endpoint::Kubernetes => "the Kubernetes API",
            Endpoint::Metrics => "/metrics",
            Endpoint::Jaeger => "the Jaeger API",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on 127.0.0.1:{port} for {endpoint}: {source}")]
    Bind { endpoint: Endpoint, port: u16, source: std::io::Error },
    #[error("cannot write the kubeconfig {path}: {source}")]
    Kubeconfig { path: PathBuf, source: std::io::Error },
    #[error("cannot start the embedded cluster: {0}")]
    Start(std::io::Error),
}

/// What to start. Ports 0 pick free ephemeral ports.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub topology: Topology,
    pub seed: u64,
    pub app_port: u16,
    pub kubernetes_port: u16,
    pub metrics_port: u16,
    pub jaeger_port: u16,
    /// Where to write a kubeconfig for the Kubernetes endpoint (none if `None`).
    pub kubeconfig_out: Option<PathBuf>,
}

impl ServeOptions {
    pub fn new(topology: Topology) -> Self {
        Self {
            topology,
            seed: 42,
            app_port: 0,
            kubernetes_port: 0,
            metrics_port: 0,
            jaeger_port: 0,
            kubeconfig_out: None,
        }
    }
}

/// A running embedded cluster. Every endpoint accepts connections once `start` returns;
/// dropping it (or [`EmbeddedCluster::stop`]) stops the servers and the emulation.
pub struct EmbeddedCluster {
    pub live: LiveCluster,
    pub app: SocketAddr,
    pub kubernetes: SocketAddr,
    pub metrics: SocketAddr,
    pub jaeger: SocketAddr,
    pub kubeconfig: Option<PathBuf>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EmbeddedCluster {
    pub fn start(options: ServeOptions) -> Result<Self, ServeError> {
        let bind = |endpoint: Endpoint, port: u16| {
            let listener = std::net::TcpListener::bind(("127.0.0.1", port))
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .map_err(|source| ServeError::Bind { endpoint, port, source })?;
            let addr = listener.local_addr().map_err(ServeError::Start)?;
            Ok::<_, ServeError>((listener, addr))
        };
        let (app_listener, app) = bind(Endpoint::App, options.app_port)?;
        let (kube_listener, kubernetes) = bind(Endpoint::Kubernetes, options.kubernetes_port)?;
        let (metrics_listener, metrics) = bind(Endpoint::Metrics, options.metrics_port)?;
        let (jaeger_listener, jaeger) = bind(Endpoint::Jaeger, options.jaeger_port)?;

        let live =
            LiveCluster::start(&options.topology, options.seed).map_err(ServeError::Start)?;
        let kubernetes_url = format!("http://{kubernetes}");
        if let Some(path) = &options.kubeconfig_out {
            let text = kube::kubeconfig(&kubernetes_url, live.namespace());
            std::fs::write(path, text)
                .map_err(|source| ServeError::Kubeconfig { path: path.clone(), source })?;
        }

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ctl-cluster")
            .enable_all()
            .build()
            .map_err(ServeError::Start)?;
        let (stop, stop_rx) = watch::channel(false);
        let handlers = [
            (app_listener, app::handler(live.clone())),
            (kube_listener, kube::handler(live.clone())),
            (metrics_listener, metrics::handler(live.clone())),
            (jaeger_listener, jaeger::handler(live.clone())),
        ];
        let thread = std::thread::Builder::new()
            .name("ctl-cluster".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let mut tasks = Vec::new();
                    for (listener, handler) in handlers {
                        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                            continue;
                        };
                        tasks.push(tokio::spawn(http::serve(listener, handler, stop_rx.clone())));
                    }
                    for task in tasks {
                        let _ = task.await;
                    }
                });
                // Dropping the runtime here ends open connections (watches, exec sessions).
            })
            .map_err(ServeError::Start)?;
        Ok(Self {
            live,
            app,
            kubernetes,
            metrics,
            jaeger,
            kubeconfig: options.kubeconfig_out,
            stop,
            thread: Some(thread),
        })
    }

    pub fn app_url(&self) -> String {
        format!("http://{}", self.app)
    }

    pub fn kubernetes_url(&self) -> String {
        format!("http://{}", self.kubernetes)
    }

    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.metrics)
    }

    pub fn jaeger_url(&self) -> String {
        format!("http://{}", self.jaeger)
    }

    /// Stops the servers and waits for their thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.live.shutdown();
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        self.shutdown();
    }
}
