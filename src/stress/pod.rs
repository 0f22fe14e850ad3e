//! One pod's part of a stress run: preflight, the optional start sweep, the stressor exec and
//! the outcome it ended with (exit 137 is "stressor OOM-killed"; a session killed from outside
//! or lost is checked against the pod: gone, or still there).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::events::{Outcome, StressEvent};
use super::runner::{Ctx, DONE, RUNNING, UNSTRESSED, bounded};
use super::script;
use crate::cluster::exec::{self, ExecError};
use crate::cluster::pods::{self, PodRef};

/// The life of one pod: preflight, start sweep, stressor, outcome.
pub(super) async fn pod_task(ctx: Arc<Ctx>, pod: PodRef, state: Arc<AtomicU8>) {
    let ended = |outcome: Outcome, exit_code: Option<i32>, message: Option<String>| {
        ctx.emit(|t| StressEvent::Ended {
            t,
            pod: pod.name.clone(),
            container: pod.container.clone(),
            outcome,
            exit_code,
            message,
        })
    };
    if let Err((outcome, message)) = prepare(&ctx, &pod).await {
        state.store(UNSTRESSED, Ordering::SeqCst);
        return ended(outcome, None, Some(message));
    }
    let remaining = ctx.deadline.saturating_duration_since(Instant::now());
    if ctx.is_stopping() || remaining < Duration::from_secs(1) {
        state.store(UNSTRESSED, Ordering::SeqCst);
        return;
    }
    let ttl = script::ttl_secs(remaining);
    let command = script::command(script::stressor(&ctx.spec, remaining, &ctx.run));
    let session =
        exec::start(&ctx.pods, &pod.name, Some(&pod.container), command, ctx.options.exec_timeout)
            .await;
    let session = match session {
        Ok(session) => session,
        Err(e) => {
            state.store(UNSTRESSED, Ordering::SeqCst);
            let (outcome, message) = refusal(&pod, &e);
            return ended(outcome, None, Some(message));
        }
    };
    state.store(RUNNING, Ordering::SeqCst);
    if let Ok(mut s) = ctx.summary.lock() {
        s.pods += 1;
    }
    let mut first = true;
    let result = session
        .finish(|line| {
            if std::mem::take(&mut first) {
                ctx.emit(|t| StressEvent::Started {
                    t,
                    pod: pod.name.clone(),
                    container: pod.container.clone(),
                    ttl_s: ttl,
                    detail: line.to_owned(),
                });
            }
        })
        .await;
    let (outcome, exit_code, message) = match result {
        Ok(out) => {
            let message =
                out.stderr.lines().rev().find(|l| !l.trim().is_empty()).map(str::to_owned);
            match out.exit_code {
                0 => (Outcome::Completed, Some(0), None),
                137 => (Outcome::OomKilled, Some(137), None),
                code @ (130 | 143) if ctx.is_stopping() => (Outcome::Stopped, Some(code), None),
                // Killed from outside ctl: the pod went away, or someone else swept it.
                code @ (130 | 143) => match pod_is_running(&ctx, &pod).await {
                    false => (Outcome::PodGone, Some(code), None),
                    true => (
                        Outcome::Stopped,
                        Some(code),
                        Some("ended by a signal from outside this run".into()),
                    ),
                },
                code @ (126 | 127) => (Outcome::Unsupported, Some(code), message),
                code => (Outcome::Failed, Some(code), message),
            }
        }
        Err(e) => match pod_is_running(&ctx, &pod).await {
            false => (Outcome::PodGone, None, None),
            true => (Outcome::Failed, None, Some(e.to_string())),
        },
    };
    // Whoever moves the state off RUNNING reports the end (here, or a refresh that saw the
    // pod go away meanwhile).
    if state.swap(DONE, Ordering::SeqCst) == RUNNING {
        ended(outcome, exit_code, message);
    }
}

/// Whether the pod (same UID) still exists and runs; unknown counts as running.
async fn pod_is_running(ctx: &Ctx, pod: &PodRef) -> bool {
    match bounded(ctx.options.exec_timeout, ctx.pods.get_opt(&pod.name)).await {
        Ok(Ok(Some(p))) => pods::pod_ref(&p, None).is_some_and(|r| r.uid == pod.uid),
        Ok(Ok(None)) => false,
        _ => true,
    }
}

/// Preflight and the start sweep; an error is the outcome to report instead of stressing.
async fn prepare(ctx: &Ctx, pod: &PodRef) -> Result<(), (Outcome, String)> {
    let out = ctx
        .exec_short(pod, script::preflight(ctx.spec.needs()))
        .await
        .map_err(|e| refusal(pod, &e))?;
    let said = out.stdout.trim();
    if out.exit_code != 0 || said != "ok" {
        let detail = if said.is_empty() { out.stderr.trim().to_owned() } else { said.to_owned() };
        return Err((
            Outcome::Unsupported,
            format!("preflight failed (exit {}): {detail}", out.exit_code),
        ));
    }
    if ctx.options.sweep_at_start {
        match ctx.exec_short(pod, script::sweep(None)).await {
            Ok(out) => {
                let killed = count(&out.stdout, "killed");
                ctx.emit(|t| StressEvent::Swept {
                    t,
                    pod: pod.name.clone(),
                    killed,
                    at_start: true,
                });
            }
            Err(e) => ctx.emit(|t| StressEvent::Error {
                t,
                pod: pod.name.clone(),
                container: pod.container.clone(),
                message: format!("start sweep: {e}"),
            }),
        }
    }
    Ok(())
}

/// What an exec error means for the pod, as an outcome and a message naming pod and container.
fn refusal(pod: &PodRef, e: &ExecError) -> (Outcome, String) {
    let at = format!("pod {} container {}", pod.name, pod.container);
    match e {
        ExecError::Refused { code: 404, .. } => (Outcome::PodGone, format!("{at}: pod not found")),
        ExecError::Refused { code: 403, message } => (
            Outcome::Unsupported,
            format!("{at}: exec forbidden (RBAC needs get and create on pods/exec): {message}"),
        ),
        ExecError::Refused { code: 400, message } => (
            Outcome::Unsupported,
            format!("{at}: {message} (containers: {})", pod.containers.join(", ")),
        ),
        ExecError::CannotRun(message) => (
            Outcome::Unsupported,
            format!("unsupported target: {at} cannot run sh (distroless image?): {message}"),
        ),
        other => (Outcome::Failed, format!("{at}: {other}")),
    }
}

/// The number in a `WORD N` line of a script's output (0 when absent).
pub(super) fn count(stdout: &str, word: &str) -> u32 {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix(word).and_then(|n| n.trim().parse().ok()))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_read_from_script_output() {
        assert_eq!(count("killed 3\n", "killed"), 3);
        assert_eq!(count("noise\nremoved 2\n", "removed"), 2);
        assert_eq!(count("", "killed"), 0);
    }
}
