//! Stressors: CPU and memory stress inside pods through the Kubernetes exec API.
//!
//! - [`spec`]: what to run ([`StressSpec`]) and the run id every stressor carries.
//! - [`script`]: the POSIX sh scripts of `stressors/` (embedded), rendered per run; the first
//!   line of each is the `# ctl-stressor kind=...` marker.
//! - [`runner`]: preflight, start sweep, one exec per pod, rediscovery every refresh, and on
//!   stop a kill sweep by run marker plus a /dev/shm cleanup, every step bounded by a timeout.
//! - `pod` (private): one pod's preflight, start sweep, stressor exec and outcome.
//! - [`events`]: what a run reports ([`StressEvent`], [`Summary`]).
//!
//! Library use (campaigns):
//!
//! ```no_run
//! # async fn demo(conn: ctl::cluster::Connection) -> Result<(), ctl::stress::StressError> {
//! use ctl::cluster::pods::Target;
//! use ctl::stress::{RunnerOptions, StressRunner, StressSpec};
//!
//! let target = Target::parse("app=webapp")?;
//! let spec = StressSpec::Cpu { workers: 2, load: 50 };
//! let options = RunnerOptions { duration: Some(std::time::Duration::from_secs(60)), ..Default::default() };
//! let mut handle = StressRunner::start(&conn, spec, &target, options).await?;
//! let mut events = handle.events().expect("first call");
//! tokio::spawn(async move { while let Some(e) = events.recv().await { println!("{}", e.describe()); } });
//! // ... later, or `handle.finished().await` to run the whole duration:
//! let summary = handle.stop().await;
//! assert_eq!(summary.failed, 0);
//! # Ok(()) }
//! ```
//!
//! Nothing a run starts outlives its TTL: the scripts end on their own, and the memory script's
//! watchdog removes its /dev/shm file at the TTL even if the script was killed.

pub mod events;
mod pod;
pub mod runner;
pub mod script;
pub mod spec;

use std::time::Duration;

pub use events::{Outcome, StressEvent, Summary};
pub use runner::{RunnerOptions, Stopper, StressHandle, StressRunner};
pub use spec::{MemoryMode, RunId, StressSpec};

use crate::cluster::pods::PodsError;

#[derive(Debug, thiserror::Error)]
pub enum StressError {
    /// An out-of-range parameter, naming the flag.
    #[error("{0}")]
    Spec(String),
    /// `hint`: empty, or `; ...` explaining how the selector was read.
    #[error("no Running pod matches {selector} in namespace {namespace}{hint}")]
    NoPods { selector: String, namespace: String, hint: String },
    #[error(transparent)]
    Pods(#[from] PodsError),
    #[error("the Kubernetes API did not answer within {0:?}")]
    Timeout(Duration),
}

impl StressError {
    /// True for errors in what the user asked for (exit 2), false for runtime failures.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            StressError::Spec(_)
                | StressError::NoPods { .. }
                | StressError::Pods(
                    PodsError::Target(_)
                        | PodsError::NoDeployment { .. }
                        | PodsError::NoSelector(_)
                )
        )
    }
}
