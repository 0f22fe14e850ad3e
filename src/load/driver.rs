//! The goose side of a run: one scenario whose transaction sends one request of the
//! workload per call, through goose's one shared HTTP client, and reports it to ctl's
//! recorder. goose's own metrics pipeline is off (`no_metrics`): ctl's recorder measures
//! every request. In the users model a user runs only while its index is below the shape's
//! current user count; in the rate model a user waits for the pacer's next ticket.

use super::pacer::Ticket;
use super::recorder::{Recorder, Sample};
use super::think::ThinkTime;
use crate::workload::Workload;
use goose::config::GooseConfiguration;
use goose::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How a user gets its next request.
pub enum Mode {
    /// Closed model: users below `active` loop request + think time.
    Users { active: tokio::sync::watch::Sender<usize>, think: ThinkTime },
    /// Open model: users take arrivals from the pacer.
    Rate { tickets: flume::Receiver<Ticket> },
}

/// State shared by every user's transaction.
pub struct Shared {
    pub workload: Workload,
    /// The host without a trailing `/`, and each request kind resolved against it (indexed
    /// like the workload).
    pub base_url: String,
    pub resolved: Vec<ResolvedRequest>,
    pub recorder: Arc<Recorder>,
    pub mode: Mode,
    /// Users that have run their on-start transaction (the pool is ready when all have).
    pub started_users: AtomicUsize,
    /// True once the run's clock has started; before that users idle.
    pub running: std::sync::atomic::AtomicBool,
}

/// A user's stable index in the pool.
#[derive(Clone, Copy)]
struct UserIndex(usize);

/// How long one transaction call may keep sending before it returns to goose.
const STEP_BUDGET: Duration = Duration::from_millis(100);

/// How long an idle user waits before returning to goose (which checks for exit between
/// transactions), and so how quickly a stop reaches idle users.
const IDLE_WAIT: Duration = Duration::from_millis(100);

/// Builds the goose attack for `pool` users against `host`.
pub fn build_attack(
    shared: Arc<Shared>,
    host: &str,
    pool: usize,
    timeout: Duration,
) -> Result<GooseAttack, GooseError> {
    let mut config = GooseConfiguration::default();
    config.host = Some(host.to_string());
    config.users = Some(pool.max(1));
    // Start the whole pool at once: the shape, not goose, decides who sends.
    config.increase_rate = Some("100000".to_string());
    config.no_telnet = true;
    config.no_websocket = true;
    config.no_metrics = true;
    config.no_print_metrics = true;
    config.no_error_summary = true;
    config.quiet = 1;
    // goose's own setting wins over the client builder's; it takes fractional seconds.
    config.timeout = Some(timeout.as_secs_f64().max(0.001).to_string());

    let on_start = {
        let shared = shared.clone();
        Transaction::new(Arc::new(move |user: &mut GooseUser| {
            let shared = shared.clone();
            Box::pin(async move {
                let index = shared.started_users.fetch_add(1, Ordering::SeqCst);
                user.set_session_data(UserIndex(index));
                Ok(())
            })
        }))
        .set_name("ctl-start")
        .set_on_start()
    };
    let work = {
        let shared = shared.clone();
        Transaction::new(Arc::new(move |user: &mut GooseUser| {
            let shared = shared.clone();
            Box::pin(async move { step(user, &shared).await })
        }))
        .set_name("ctl-request")
    };
    let scenario = scenario!("ctl").register_transaction(on_start).register_transaction(work);
    let client = goose::client::GooseClientBuilder::new().without_cookies().timeout(timeout);
    GooseAttack::initialize_with_config(config)?
        .register_scenario(scenario)
        .set_client_builder_without_cookies(client)
}

/// One transaction call: requests back to back for up to [`STEP_BUDGET`], then back to goose
/// (which checks for exit between transactions). Several requests per call spare goose's
/// per-transaction work (a boxed future per call) on the hot path.
async fn step(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    if !shared.running.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        return Ok(());
    }
    let started = Instant::now();
    let in_budget = || started.elapsed() < STEP_BUDGET && shared.running.load(Ordering::Relaxed);
    match &shared.mode {
        Mode::Users { active, think } => {
            let index = user.get_session_data::<UserIndex>().map_or(usize::MAX, |u| u.0);
            if index >= *active.borrow() {
                let mut rx = active.subscribe();
                let _ = tokio::time::timeout(IDLE_WAIT, rx.wait_for(|&n| index < n)).await;
                return Ok(());
            }
            loop {
                send(user, shared, Instant::now()).await;
                let pause = think.sample(&mut rand::rng());
                if !pause.is_zero() {
                    // A user switched off (shape went down, or the run stops) leaves its
                    // think time at once instead of finishing a pause of up to seconds.
                    let mut rx = active.subscribe();
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = rx.wait_for(|&n| index >= n) => {}
                    }
                }
                if !in_budget() || index >= *active.borrow() {
                    break;
                }
            }
        }
        Mode::Rate { tickets } => {
            // A queued ticket needs no timer; only an idle worker arms one.
            let first = match tickets.try_recv() {
                Ok(ticket) => Some(ticket),
                // The pacer is done (end of schedule or stop): nothing will come; don't spin.
                Err(flume::TryRecvError::Disconnected) => {
                    tokio::time::sleep(IDLE_WAIT).await;
                    None
                }
                Err(flume::TryRecvError::Empty) => {
                    tokio::time::timeout(IDLE_WAIT, tickets.recv_async())
                        .await
                        .ok()
                        .and_then(Result::ok)
                }
            };
            let mut next = first;
            while let Some(ticket) = next {
                send(user, shared, ticket.intended).await;
                next = if in_budget() { tickets.try_recv().ok() } else { None };
            }
        }
    }
    Ok(())
}

/// A request kind resolved against the host once: the hot path parses no URL it can avoid.
pub struct ResolvedRequest {
    method: reqwest::Method,
    /// The full URL when the path has no parameters (the same for every request).
    fixed_url: Option<reqwest::Url>,
}

/// Resolves every request kind of `workload` against `host`.
pub fn resolve_requests(
    workload: &Workload,
    host: &str,
) -> Result<(String, Vec<ResolvedRequest>), String> {
    reqwest::Url::parse(host).map_err(|e| format!("host '{host}': {e}"))?;
    // Locust appends the path to the host (`http://h/api` + `/x` = `http://h/api/x`), while
    // `Url::join` would replace the host's path.
    let prefix = host.trim_end_matches('/').to_string();
    let resolved = workload
        .requests
        .iter()
        .map(|r| {
            let method = reqwest::Method::from_bytes(r.method.as_bytes())
                .map_err(|e| format!("method {}: {e}", r.method))?;
            let fixed_url = match r.params.is_empty() {
                true => Some(
                    join(&prefix, &r.path.render(&[]))
                        .map_err(|e| format!("path of {}: {e}", r.name))?,
                ),
                false => None,
            };
            Ok(ResolvedRequest { method, fixed_url })
        })
        .collect::<Result<_, String>>()?;
    Ok((prefix, resolved))
}

/// `prefix` + `path` as a URL.
fn join(prefix: &str, path: &str) -> Result<reqwest::Url, String> {
    reqwest::Url::parse(&format!("{prefix}{path}")).map_err(|e| e.to_string())
}

/// Sends one request of the mix through goose's shared client and records it against
/// `intended`. It calls the client directly rather than `GooseUser::request`, which would
/// re-parse the URL three times and build a goose metric record that nothing reads (ctl's
/// recorder measures every request itself).
async fn send(user: &mut GooseUser, shared: &Shared, intended: Instant) {
    let (key, rendered) = {
        let mut rng = rand::rng();
        let key = shared.workload.pick(&mut rng);
        (key, shared.workload.requests[key].render(&mut rng))
    };
    let template = &shared.workload.requests[key];
    let resolved = &shared.resolved[key];
    let url = match &resolved.fixed_url {
        Some(url) => Ok(url.clone()),
        None => join(&shared.base_url, &rendered.path),
    };
    shared.recorder.start_request();
    let sent = Instant::now();
    let outcome = match url {
        Ok(url) => {
            let mut builder = user.client.request(resolved.method.clone(), url);
            for (k, v) in &template.headers {
                builder = builder.header(k, v);
            }
            if let Some(body) = rendered.body {
                builder = builder.body(body);
            }
            match builder.send().await {
                Ok(response) => {
                    let status = response.status();
                    match response.bytes().await {
                        Ok(body) if status.is_success() || status.is_redirection() => {
                            (status.as_u16(), true, body.len() as u64, None)
                        }
                        Ok(body) => (
                            status.as_u16(),
                            false,
                            body.len() as u64,
                            Some(format!("HTTP {status}")),
                        ),
                        Err(e) => (status.as_u16(), false, 0, Some(describe(&e))),
                    }
                }
                Err(e) => (0, false, 0, Some(describe(&e))),
            }
        }
        Err(e) => (0, false, 0, Some(format!("invalid URL: {e}"))),
    };
    let end = Instant::now();
    let (status, ok, bytes, error) = outcome;
    let sample = Sample {
        key,
        latency_us: micros(end.saturating_duration_since(intended)),
        service_us: micros(end - sent),
        send_lag_us: micros(sent.saturating_duration_since(intended)),
        status,
        ok,
        bytes,
    };
    shared.recorder.record(sample, error.as_deref());
}

/// A short, stable description of a transport error (no URLs with random parameters, so
/// failures group well in `_failures.csv`).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".to_string()
    } else if e.is_connect() {
        "connection refused or unreachable".to_string()
    } else if e.is_body() || e.is_decode() {
        "error reading response body".to_string()
    } else {
        "request error".to_string()
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Unix time in fractional seconds.
pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
