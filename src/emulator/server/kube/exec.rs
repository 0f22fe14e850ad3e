//! `pods/{name}/exec` over WebSocket with the `v5.channel.k8s.io` / `v4.channel.k8s.io`
//! subprotocols, as the API server speaks them: checks answered with a `Status` before the
//! upgrade (unknown pod 404, wrong container 400), then binary frames `[channel] ++ payload`
//! (1 stdout, 2 stderr, 3 the final status JSON; 0 stdin and 4 resize and v5's 255 CLOSE from
//! the client are read and ignored), one empty frame right after the upgrade, and the status
//! (`Success`, or `NonZeroExitCode` with the code in `details.causes[{reason: ExitCode}]`).
//! What runs is the stressor emulation in `stressors.rs`. GET and POST both upgrade (kubectl's
//! WebSocket executor uses GET; a SPDY upgrade is refused with a clear message).

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

use super::objects::ApiError;
use super::stressors::{self, EXIT_TERM, Outcome};
use super::watch::Kind;
use super::{Api, Call};
use crate::emulator::live::LiveCluster;
use crate::emulator::server::http::{self, Body};

/// Subprotocols in order of preference.
const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;

pub fn exec(
    api: &Arc<Api>,
    call: &Call,
    name: &str,
    mut req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    if !matches!(call.method, Method::GET | Method::POST) {
        return Err(ApiError::MethodNotAllowed);
    }
    let pod = api
        .store
        .get(&api.live, Kind::Pod, name)
        .ok_or_else(|| ApiError::NotFound { kind: "pods".into(), name: name.into() })?;
    let container = pod["spec"]["containers"][0]["name"].as_str().unwrap_or("").to_owned();
    if let Some(wanted) = call.query.get("container").filter(|c| !c.is_empty() && *c != container) {
        return Err(ApiError::BadRequest(format!(
            "container {wanted} is not valid for pod {name}"
        )));
    }
    let argv = call.query.all("command").to_vec();
    if argv.is_empty() {
        return Err(ApiError::BadRequest(
            "you must specify at least one command for the container".into(),
        ));
    }
    let (stdout, stderr) = (call.query.flag("stdout"), call.query.flag("stderr"));
    if !stdout && !stderr && !call.query.flag("stdin") {
        return Err(ApiError::BadRequest(
            "you must specify at least 1 of stdin, stdout, stderr".into(),
        ));
    }
    if pod["status"]["phase"] != "Running" {
        return Err(ApiError::BadRequest(format!(
            "unable to upgrade connection: container not found (\"{container}\")"
        )));
    }
    let headers = req.headers();
    let upgrade = headers.get(header::UPGRADE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err(ApiError::BadRequest(format!(
            "the embedded cluster serves exec over WebSocket only ({}), got upgrade `{upgrade}`",
            PROTOCOLS.join(", ")
        )));
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or_else(|| ApiError::BadRequest("missing Sec-WebSocket-Key".into()))?;
    let offered: Vec<String> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|p| p.trim().to_owned()))
        .collect();
    let protocol = PROTOCOLS.iter().find(|p| offered.iter().any(|o| o == *p)).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "exec needs one of the WebSocket subprotocols {}, offered: [{}]",
            PROTOCOLS.join(", "),
            offered.join(", ")
        ))
    })?;
    let accept = derive_accept_key(key.as_bytes());

    let live = api.live.clone();
    let pod_name = name.to_owned();
    tokio::spawn(async move {
        let Ok(upgraded) = hyper::upgrade::on(&mut req).await else { return };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        session(ws, live, pod_name, argv, stdout, stderr).await;
    });

    let mut response = Response::new(http::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = response.headers_mut();
    h.insert(header::CONNECTION, header::HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, header::HeaderValue::from_static("websocket"));
    h.insert(header::SEC_WEBSOCKET_PROTOCOL, header::HeaderValue::from_static(protocol));
    if let Ok(accept) = header::HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    Ok(response)
}

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

fn frame(channel: u8, payload: &[u8]) -> Message {
    let mut bytes = Vec::with_capacity(payload.len() + 1);
    bytes.push(channel);
    bytes.extend_from_slice(payload);
    Message::Binary(bytes.into())
}

/// The exit status JSON on channel 3.
fn status(code: i32, argv: &[String]) -> Value {
    if code == 0 {
        return json!({"metadata": {}, "status": "Success"});
    }
    json!({
        "metadata": {},
        "status": "Failure",
        "message": format!(
            "command terminated with non-zero exit code: error executing command {argv:?}, exit code {code}"
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
    })
}

async fn session(
    mut ws: Socket,
    live: LiveCluster,
    pod: String,
    argv: Vec<String>,
    stdout: bool,
    stderr: bool,
) {
    let first = if stdout {
        STDOUT
    } else if stderr {
        STDERR
    } else {
        STATUS
    };
    if ws.send(frame(first, &[])).await.is_err() {
        // The stressor is not started when the client is already gone.
        return;
    }
    let (out, err, code) = match stressors::exec(&live, &pod, &argv) {
        Outcome::Done { stdout, stderr, code } => (stdout, stderr, code),
        Outcome::Running { stdout: line, mut done } => {
            if stdout && ws.send(frame(STDOUT, line.as_bytes())).await.is_err() {
                return;
            }
            // Keep reading while the stressor lives: answers pings (tungstenite queues the pong
            // and flushes it on the next read) and notices a client that leaves. Leaving does
            // not stop the stressor.
            let code = loop {
                tokio::select! {
                    code = &mut done => break code.unwrap_or(EXIT_TERM),
                    message = ws.next() => match message {
                        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                        Some(Ok(_)) => {}
                    },
                }
            };
            (String::new(), String::new(), code)
        }
    };
    if stdout && !out.is_empty() && ws.send(frame(STDOUT, out.as_bytes())).await.is_err() {
        return;
    }
    if stderr && !err.is_empty() && ws.send(frame(STDERR, err.as_bytes())).await.is_err() {
        return;
    }
    let status = serde_json::to_vec(&status(code, &argv)).unwrap_or_default();
    if ws.send(frame(STATUS, &status)).await.is_err() {
        return;
    }
    // A close without a code (1005) is an error to client-go; 1000 is the end of the streams.
    let normal = CloseFrame { code: CloseCode::Normal, reason: "".into() };
    let _ = ws.close(Some(normal)).await;
    // Let the client's close frame arrive; a client that just drops the connection is fine.
    let drain = async { while let Some(Ok(_)) = ws.next().await {} };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_carries_the_exit_code_as_a_string() {
        assert_eq!(status(0, &[])["status"], "Success");
        let failed = status(137, &["sh".into()]);
        assert_eq!(failed["reason"], "NonZeroExitCode");
        assert_eq!(failed["details"]["causes"][0]["reason"], "ExitCode");
        assert_eq!(failed["details"]["causes"][0]["message"], "137");
    }
}
