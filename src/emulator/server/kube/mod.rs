//! Placeholder: being written.

use hyper::StatusCode;

use super::http::{self, Handler};
use crate::emulator::live::LiveCluster;

pub fn handler(live: LiveCluster) -> Handler {
    std::sync::Arc::new(move |_req| {
        let _live = live.clone();
        Box::pin(async move { http::text(StatusCode::NOT_IMPLEMENTED, "not yet\n") })
    })
}

/// A kubeconfig for the endpoint at `url` (plain HTTP, no credentials).
pub fn kubeconfig(url: &str, namespace: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ctl-embedded\n  cluster:\n    server: {url}\ncontexts:\n- name: ctl-embedded\n  context:\n    cluster: ctl-embedded\n    user: ctl\n    namespace: {namespace}\ncurrent-context: ctl-embedded\nusers:\n- name: ctl\n  user: {{}}\n"
    )
}
