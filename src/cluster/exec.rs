//! Exec into a container with kube-rs (`pods/exec` over WebSocket): starts a command, drains
//! stdout and stderr concurrently with the exit status (kube's client-side pipes hold only
//! 1 KiB, so an undrained stream stalls the status frame), and maps the status to an exit code.
//! Every step takes a timeout. Closing or aborting a session does not stop the process in the
//! container; callers that start long-running commands need their own way to end them.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::Api;
use kube::api::{AttachParams, AttachedProcess};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The most kept of each stream of one command, and the longest stdout line passed on: the
/// rest is dropped while the stream is still drained, so a chatty or binary command can
/// neither grow memory nor stall the status frame.
const KEEP: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The API server refused the exec (pod or container missing, RBAC): its status code and
    /// message.
    #[error("exec refused ({code}): {message}")]
    Refused { code: u16, message: String },
    /// The command could not run at all (e.g. no `sh` in the image).
    #[error("cannot run the command: {0}")]
    CannotRun(String),
    #[error("exec connection: {0}")]
    Connection(String),
    /// The session closed without an exit status (connection lost, pod deleted).
    #[error("the exec session closed without an exit status")]
    NoStatus,
    #[error("timed out after {0:?} {1}")]
    Timeout(Duration, &'static str),
}

impl ExecError {
    /// True when the API server answered 404: the pod is gone.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ExecError::Refused { code: 404, .. })
    }
}

/// How a command ended: its exit code (0 on success) and what it wrote (each stream capped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// An exec session that has started; [`ExecSession::finish`] drains it.
pub struct ExecSession {
    process: AttachedProcess,
}

/// Starts `command` (an argv) in `container` of `pod`, waiting at most `timeout` for the API
/// server to accept the upgrade.
pub async fn start(
    pods: &Api<Pod>,
    pod: &str,
    container: Option<&str>,
    command: Vec<String>,
    timeout: Duration,
) -> Result<ExecSession, ExecError> {
    let mut params = AttachParams::default().stdin(false).stdout(true).stderr(true);
    if let Some(container) = container {
        params = params.container(container);
    }
    let process = tokio::time::timeout(timeout, pods.exec(pod, command, &params))
        .await
        .map_err(|_| ExecError::Timeout(timeout, "waiting for the exec session to open"))?
        .map_err(|e| match e {
            kube::Error::Api(status) => {
                ExecError::Refused { code: status.code, message: status.message.clone() }
            }
            other => ExecError::Connection(other.to_string()),
        })?;
    Ok(ExecSession { process })
}

impl ExecSession {
    /// Reads stdout line by line (each line to `on_line`, all of it kept), stderr and the exit
    /// status concurrently until the command ends.
    pub async fn finish(
        mut self,
        mut on_line: impl FnMut(&str) + Send,
    ) -> Result<ExecOutput, ExecError> {
        let stdout = self.process.stdout();
        let stderr = self.process.stderr();
        let status = self.process.take_status();
        let read_stdout = async {
            match stdout {
                Some(stdout) => drain_lines(stdout, &mut on_line).await,
                None => String::new(),
            }
        };
        let read_stderr = async {
            match stderr {
                Some(stderr) => drain_lines(stderr, |_| {}).await,
                None => String::new(),
            }
        };
        let status = async {
            match status {
                Some(status) => status.await,
                None => None,
            }
        };
        let (stdout, stderr, status) = tokio::join!(read_stdout, read_stderr, status);
        // The background task has ended or will on its own; a join error adds nothing.
        let _ = self.process.join().await;
        let exit_code = exit_code(status.as_ref())?;
        Ok(ExecOutput { exit_code, stdout, stderr })
    }

    /// [`finish`](Self::finish) bounded by `timeout` (the session is aborted when it passes).
    pub async fn finish_within(self, timeout: Duration) -> Result<ExecOutput, ExecError> {
        tokio::time::timeout(timeout, self.finish(|_| {}))
            .await
            .map_err(|_| ExecError::Timeout(timeout, "waiting for the command to end"))?
    }
}

/// Reads `stream` to its end, passing each line (without `\n` or `\r\n`, invalid UTF-8
/// replaced, cut at [`KEEP`] bytes) to `on_line`; returns the first [`KEEP`] bytes of lines.
async fn drain_lines(mut stream: impl AsyncRead + Unpin, mut on_line: impl FnMut(&str)) -> String {
    let mut kept = String::new();
    let mut line = Vec::new();
    let mut emit = |line: &mut Vec<u8>| {
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let text = String::from_utf8_lossy(line);
        on_line(&text);
        if kept.len() < KEEP {
            kept.push_str(&text);
            kept.push('\n');
        }
        line.clear();
    };
    let mut buf = [0u8; 4096];
    // A read error ends the stream like EOF: the status says how the command ended.
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        for &b in &buf[..n] {
            if b == b'\n' {
                emit(&mut line);
            } else if line.len() < KEEP {
                line.push(b);
            }
        }
    }
    if !line.is_empty() {
        emit(&mut line);
    }
    kept
}

/// Runs a short command: start, then finish, each within `timeout`.
pub async fn run(
    pods: &Api<Pod>,
    pod: &str,
    container: Option<&str>,
    command: Vec<String>,
    timeout: Duration,
) -> Result<ExecOutput, ExecError> {
    start(pods, pod, container, command, timeout).await?.finish_within(timeout).await
}

/// Maps the exec status frame to an exit code: `Success` is 0, `NonZeroExitCode` carries the
/// code as a string cause; any other failure means the command could not run.
pub fn exit_code(status: Option<&Status>) -> Result<i32, ExecError> {
    let Some(status) = status else {
        return Err(ExecError::NoStatus);
    };
    if status.status.as_deref() == Some("Success") {
        return Ok(0);
    }
    if status.reason.as_deref() == Some("NonZeroExitCode") {
        let code = status
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .into_iter()
            .flatten()
            .find(|c| c.reason.as_deref() == Some("ExitCode"))
            .and_then(|c| c.message.as_deref())
            .and_then(|m| m.trim().parse::<i32>().ok());
        if let Some(code) = code {
            return Ok(code);
        }
    }
    Err(ExecError::CannotRun(status.message.clone().unwrap_or_else(|| format!("{status:?}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: &str) -> Status {
        serde_json::from_str(json).unwrap()
    }

    fn drained(input: &[u8]) -> (Vec<String>, String) {
        let mut lines = Vec::new();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let kept = runtime.block_on(drain_lines(input, |l| lines.push(l.to_owned())));
        (lines, kept)
    }

    #[test]
    fn lines_are_split_without_their_endings_and_the_last_needs_no_newline() {
        let (lines, kept) = drained(b"killed 3\r\nsecond\nlast");
        assert_eq!(lines, ["killed 3", "second", "last"]);
        assert_eq!(kept, "killed 3\nsecond\nlast\n");
    }

    #[test]
    fn invalid_utf8_and_overlong_lines_do_not_stop_the_drain() {
        let mut input = b"a\xff\xfeb\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 3 * KEEP));
        input.extend(b"\nafter\n");
        let (lines, kept) = drained(&input);
        assert_eq!(lines.len(), 3, "{:?}", lines.iter().map(String::len).collect::<Vec<_>>());
        assert_eq!(lines[0], "a\u{fffd}\u{fffd}b");
        assert_eq!(lines[1].len(), KEEP);
        assert_eq!(lines[2], "after");
        // What is kept is capped too: lines after the cap are passed on but not kept.
        assert!(kept.len() < 2 * KEEP && !kept.contains("after"), "{}", kept.len());
    }

    #[test]
    fn success_is_zero() {
        assert_eq!(exit_code(Some(&status(r#"{"metadata":{},"status":"Success"}"#))).unwrap(), 0);
    }

    #[test]
    fn non_zero_exit_code_is_read_from_the_cause() {
        let s = status(
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"137"}]}}"#,
        );
        assert_eq!(exit_code(Some(&s)).unwrap(), 137);
    }

    #[test]
    fn other_failures_cannot_run_and_no_status_is_an_error() {
        let s = status(
            r#"{"metadata":{},"status":"Failure","reason":"InternalError","code":500,"message":"error executing command in container: exec: \"sh\": not found"}"#,
        );
        match exit_code(Some(&s)) {
            Err(ExecError::CannotRun(m)) => assert!(m.contains("not found"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(exit_code(None), Err(ExecError::NoStatus)));
    }
}
