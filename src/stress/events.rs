//! What a stress run reports: one [`StressEvent`] per step (a pod found, a stressor started or
//! ended, a pod gone, a sweep, a cleanup), serialised one JSON object a line for
//! `--events FILE`, and the [`Summary`] of the whole run.

use serde::Serialize;

/// How one stressor ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It ran until its TTL (exit 0).
    Completed,
    /// ctl stopped it (Ctrl-C, SIGTERM, end of the run or a stop call): the sweep ended it.
    Stopped,
    /// Exit 137: the stressor (or its container) was OOM-killed.
    OomKilled,
    /// The pod was deleted or stopped running while the stressor ran.
    PodGone,
    /// The container cannot run it (no sh, missing tools, exec refused).
    Unsupported,
    /// Any other exit code or lost session.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Stopped => "stopped",
            Outcome::OomKilled => "stressor OOM-killed",
            Outcome::PodGone => "pod gone",
            Outcome::Unsupported => "unsupported target",
            Outcome::Failed => "failed",
        }
    }
}

/// One step of a run. `t` is seconds since the run started.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum StressEvent {
    /// The run began: what, where, for how long (`duration_s` null: until stopped).
    Run {
        t: f64,
        run: String,
        spec: String,
        selector: String,
        namespace: String,
        duration_s: Option<f64>,
    },
    /// A Running pod matched the selector and will be stressed.
    PodFound { t: f64, pod: String, container: String },
    /// A stressor is running in the pod (its first output line in `detail`).
    Started { t: f64, pod: String, container: String, ttl_s: u64, detail: String },
    /// A stressor ended.
    Ended {
        t: f64,
        pod: String,
        container: String,
        outcome: Outcome,
        exit_code: Option<i32>,
        message: Option<String>,
    },
    /// A pod stopped matching (deleted, not Running any more): forgotten.
    PodGone { t: f64, pod: String },
    /// A kill sweep ran in the pod (`killed` stressor processes; the embedded cluster counts
    /// stressors).
    Swept { t: f64, pod: String, killed: u32, at_start: bool },
    /// The /dev/shm files of the run were removed from the pod.
    Cleaned { t: f64, pod: String, removed: u32 },
    /// A step failed for one pod (the others continue).
    Error { t: f64, pod: String, container: String, message: String },
    /// ctl is stopping every stressor (`reason`: duration, interrupted, stopped).
    Stopping { t: f64, reason: String },
}

impl StressEvent {
    /// One line for the live status on stderr.
    pub fn describe(&self) -> String {
        match self {
            StressEvent::Run { run, spec, selector, namespace, duration_s, .. } => {
                let until = duration_s.map_or("until stopped".to_owned(), |d| format!("for {d}s"));
                format!("stress {spec} on {selector} in {namespace} {until} (run {run})")
            }
            StressEvent::PodFound { pod, container, .. } => format!("{pod}/{container}: found"),
            StressEvent::Started { pod, container, ttl_s, .. } => {
                format!("{pod}/{container}: stressor running (ttl {ttl_s}s)")
            }
            StressEvent::Ended { pod, container, outcome, exit_code, message, .. } => {
                let mut s = format!("{pod}/{container}: {}", outcome.as_str());
                if let Some(code) = exit_code {
                    s.push_str(&format!(" (exit {code})"));
                }
                if let Some(m) = message {
                    s.push_str(&format!(": {m}"));
                }
                s
            }
            StressEvent::PodGone { pod, .. } => format!("{pod}: gone, forgotten"),
            StressEvent::Swept { pod, killed, at_start, .. } => {
                let when = if *at_start { "leftovers of earlier runs" } else { "stressors" };
                format!("{pod}: sweep killed {killed} {when}")
            }
            StressEvent::Cleaned { pod, removed, .. } => {
                format!("{pod}: removed {removed} /dev/shm file(s)")
            }
            StressEvent::Error { pod, container, message, .. } => {
                format!("{pod}/{container}: {message}")
            }
            StressEvent::Stopping { reason, .. } => format!("stopping every stressor ({reason})"),
        }
    }
}

/// Counts over a whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub run: String,
    /// Pods a stressor was started in.
    pub pods: u32,
    pub completed: u32,
    pub stopped: u32,
    pub oom_killed: u32,
    pub pod_gone: u32,
    pub unsupported: u32,
    pub failed: u32,
    /// True when the final sweep could not reach every pod that had a stressor (the TTL ends
    /// those anyway).
    pub sweep_incomplete: bool,
}

impl Summary {
    pub(crate) fn count(&mut self, outcome: Outcome) {
        let slot = match outcome {
            Outcome::Completed => &mut self.completed,
            Outcome::Stopped => &mut self.stopped,
            Outcome::OomKilled => &mut self.oom_killed,
            Outcome::PodGone => &mut self.pod_gone,
            Outcome::Unsupported => &mut self.unsupported,
            Outcome::Failed => &mut self.failed,
        };
        *slot += 1;
    }
}
