//! Campaigns (`ctl campaign`): scenario files, the timeline that puts load, stress and the
//! controller on one clock, the runner, run folders, the per-phase summary and the HTML
//! report. Uses `load`, `stress`, `control`, `emulator` and `cluster` through their APIs; holds
//! no policy, detector or load-engine logic of its own.

mod checks;
mod control_setup;
pub mod folder;
mod orchestrate;
pub mod record;
pub mod report;
mod report_charts;
pub mod resolve;
pub mod runner;
pub mod scenario;
mod sinks;
pub mod summary;
pub mod timeline;
pub(crate) mod yaml_pos;

pub use resolve::{Campaign, LoadParts};
pub use scenario::Scenario;
pub use timeline::{Phase, StressWindow, Timeline};

/// A scenario that cannot be read or is invalid; every message names the file, and the line
/// and column when the file was read.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid { path: String, line: usize, column: usize, message: String },
}

/// Unix time in fractional seconds: the campaign clock's origin and its events' timestamps.
use crate::observe::metrics::unix_now;
