//! The kube-rs client side: connecting to a cluster (a kubeconfig and context, or the
//! embedded cluster) and the calls ctl makes on it (pods, scale, exec, pod metrics). Works the
//! same against the emulator and a real cluster; nothing here knows which one it talks to.

pub mod exec;
pub mod pods;

use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot read kubeconfig {path}: {message}")]
    Kubeconfig { path: PathBuf, message: String },
    #[error("kubeconfig: {0}")]
    Config(String),
    #[error("cannot build a Kubernetes client: {0}")]
    Client(String),
}

/// A connected client and the namespace to use by default (the context's, or `default`).
#[derive(Clone)]
pub struct Connection {
    pub client: kube::Client,
    pub namespace: String,
    /// The API server URL, for messages.
    pub server: String,
}

/// Connects with a kubeconfig file (or `$KUBECONFIG` / `~/.kube/config` when `path` is None)
/// and an optional context.
pub async fn connect(
    path: Option<&Path>,
    context: Option<&str>,
) -> Result<Connection, ClusterError> {
    let options =
        KubeConfigOptions { context: context.map(str::to_owned), ..KubeConfigOptions::default() };
    let config = match path {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path).map_err(|e| ClusterError::Kubeconfig {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options).await
        }
        None => kube::Config::from_kubeconfig(&options).await,
    }
    .map_err(|e| ClusterError::Config(e.to_string()))?;
    from_config(config)
}

/// Connects to a plain-HTTP API server at `url` (the embedded cluster) in `namespace`.
pub fn connect_url(url: &str, namespace: &str) -> Result<Connection, ClusterError> {
    let uri = url.parse().map_err(|e| ClusterError::Config(format!("{url}: {e}")))?;
    let mut config = kube::Config::new(uri);
    config.default_namespace = namespace.to_owned();
    from_config(config)
}

fn from_config(config: kube::Config) -> Result<Connection, ClusterError> {
    let server = config.cluster_url.to_string();
    let namespace = config.default_namespace.clone();
    let client = kube::Client::try_from(config).map_err(|e| ClusterError::Client(e.to_string()))?;
    Ok(Connection { client, namespace, server })
}

pub mod deployments;
pub mod scale;
