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
