//! The exec emulation of ctl's stressor scripts (the contract in `notes/stressor-contract.md`,
//! summarised in `stressors/`): a command whose argv holds a script starting with
//! `# ctl-stressor kind=...` is parsed and emulated; anything else fails with exit 126.
//!
//! Live stressors are kept in [`StressorTable`] (a field of `LiveState`, so it shares the
//! cluster's lock). While alive, a pod's CPU stress is the sum of its cpu stressors'
//! `workers * load * 10` millicores and its memory stress the sum of its memory stressors' MiB
//! (plus `mode=shm` files left behind by swept writers). A stressor ends at its TTL (virtual
//! clock = real clock, whether or not a client is still connected: [`reap_forever`] enforces
//! it), when swept (exit 143), when its container restarts after an OOM kill (exit 137) or when
//! its pod goes away (exit 143). Disconnecting does not stop it, as with a real container.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::emulator::live::{LiveCluster, LiveState};

/// The marker that starts a stressor script's first line.
pub const MARKER: &str = "# ctl-stressor";

/// Exit codes: killed by SIGKILL (OOM) and by SIGTERM (sweep, pod removal).
pub const EXIT_OOM: i32 = 137;
pub const EXIT_TERM: i32 = 143;
/// The command cannot run in an emulated pod.
pub const EXIT_NOT_EXECUTABLE: i32 = 126;
/// The longest TTL, in seconds: ctl's own bound on a run (366 days). Without it `ttl=1e300`
/// starts a stressor that never ends.
pub const MAX_TTL: f64 = 366.0 * 86_400.0;
/// A stressor line that does not follow the contract.
pub const EXIT_USAGE: i32 = 2;

/// A parsed exec command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Cpu {
        workers: u32,
        load: u32,
        ttl: f64,
        run: Option<String>,
    },
    Memory {
        mb: u64,
        shm: bool,
        ttl: f64,
        run: Option<String>,
    },
    Sweep {
        run: Option<String>,
    },
    Cleanup {
        run: Option<String>,
    },
    Preflight,
    /// A stressor line that breaks the contract, with the reason.
    Invalid(String),
    /// Not a stressor script.
    Other,
}

/// Finds the stressor marker in `argv` and parses its first line.
pub fn parse(argv: &[String]) -> Command {
    let Some(script) = argv.iter().find(|a| a.starts_with(&format!("{MARKER} "))) else {
        return Command::Other;
    };
    let line = script.lines().next().unwrap_or("");
    let mut keys: HashMap<&str, &str> = HashMap::new();
    for pair in line[MARKER.len()..].split_whitespace() {
        match pair.split_once('=') {
            Some((key, value)) => {
                keys.insert(key, value);
            }
            None => return Command::Invalid(format!("`{pair}` is not key=value")),
        }
    }
    match parse_keys(&keys) {
        Ok(command) => command,
        Err(reason) => Command::Invalid(reason),
    }
}

fn parse_keys(keys: &HashMap<&str, &str>) -> Result<Command, String> {
    let run = match keys.get("run") {
        Some(run)
            if !run.is_empty()
                && run.len() <= 64
                && run.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
        {
            Some((*run).to_owned())
        }
        Some(run) => return Err(format!("run=`{run}` must match [A-Za-z0-9_-]{{1,64}}")),
        None => None,
    };
    let number = |key: &str, default: Option<u64>, min: u64, max: u64| -> Result<u64, String> {
        match (keys.get(key), default) {
            (None, Some(default)) => Ok(default),
            (None, None) => Err(format!("{key}= is required")),
            (Some(text), _) => match text.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(format!("{key}=`{text}` must be a whole number in {min}..={max}")),
            },
        }
    };
    let ttl = || -> Result<f64, String> {
        let text = keys.get("ttl").ok_or("ttl= is required (seconds, e.g. ttl=180s)")?;
        let number = text.strip_suffix('s').unwrap_or(text);
        match number.parse::<f64>() {
            Ok(ttl) if ttl.is_finite() && ttl > 0.0 && ttl <= MAX_TTL => Ok(ttl),
            _ => Err(format!(
                "ttl=`{text}` must be a positive number of seconds up to {MAX_TTL} (366 days), \
                 e.g. 180 or 180s"
            )),
        }
    };
    match keys.get("kind").copied() {
        Some("cpu") => Ok(Command::Cpu {
            workers: number("workers", Some(1), 1, 1024)? as u32,
            load: number("load", Some(100), 1, 100)? as u32,
            ttl: ttl()?,
            run,
        }),
        Some("memory") => Ok(Command::Memory {
            mb: number("mb", None, 1, 1 << 20)?,
            shm: match keys.get("mode").copied().unwrap_or("anon") {
                "anon" => false,
                "shm" => true,
                other => return Err(format!("mode=`{other}` must be shm or anon")),
            },
            ttl: ttl()?,
            run,
        }),
        Some("sweep") => Ok(Command::Sweep { run }),
        Some("cleanup") => Ok(Command::Cleanup { run }),
        Some("preflight") => Ok(Command::Preflight),
        Some(other) => {
            Err(format!("unknown kind=`{other}` (expected cpu, memory, sweep, cleanup, preflight)"))
        }
        None => Err("kind= is required".into()),
    }
}

/// How an exec ends: at once with output and a code, or when a stressor ends.
pub enum Outcome {
    Done { stdout: String, stderr: String, code: i32 },
    Running { stdout: String, done: oneshot::Receiver<i32> },
}

#[derive(Debug)]
enum Load {
    Cpu { millis: f64 },
    Memory { bytes: u64, shm: bool },
}

#[derive(Debug)]
struct Stressor {
    pod: String,
    /// The container's restart count when it started: a change means the container died.
    restarts: u32,
    run: Option<String>,
    load: Load,
    /// Virtual seconds.
    deadline: f64,
    done: Option<oneshot::Sender<i32>>,
}

/// A `/dev/shm` file whose writer was swept: charged until cleanup, TTL or restart.
#[derive(Debug)]
struct Leftover {
    pod: String,
    restarts: u32,
    run: Option<String>,
    bytes: u64,
    deadline: f64,
}

/// Live stressors and leftover shm files, per pod.
#[derive(Debug, Default)]
pub struct StressorTable {
    next_pid: u32,
    stressors: Vec<Stressor>,
    leftovers: Vec<Leftover>,
}

impl StressorTable {
    pub fn is_empty(&self) -> bool {
        self.stressors.is_empty() && self.leftovers.is_empty()
    }

    /// Live stressors in `pod`.
    pub fn count(&self, pod: &str) -> usize {
        self.stressors.iter().filter(|s| s.pod == pod).count()
    }

    fn next_deadline(&self) -> Option<f64> {
        let stressors = self.stressors.iter().map(|s| s.deadline);
        let leftovers = self.leftovers.iter().map(|l| l.deadline);
        stressors.chain(leftovers).reduce(f64::min)
    }
}

/// Runs `argv` in `pod` (which exists and runs): the stressor emulation.
pub fn exec(live: &LiveCluster, pod: &str, argv: &[String]) -> Outcome {
    let done = |stdout: String, stderr: String, code: i32| Outcome::Done { stdout, stderr, code };
    match parse(argv) {
        Command::Other => done(
            String::new(),
            format!(
                "ctl embedded cluster: pod {pod} is emulated and runs only ctl stressor scripts (first line `{MARKER} kind=cpu|memory|sweep|cleanup|preflight ...`); cannot run {}\n",
                quote(argv)
            ),
            EXIT_NOT_EXECUTABLE,
        ),
        Command::Invalid(reason) => {
            done(String::new(), format!("ctl-stressor: {reason}\n"), EXIT_USAGE)
        }
        Command::Preflight => done("ok\n".into(), String::new(), 0),
        Command::Sweep { run } => {
            let killed = with_table(live, pod, |state, now| sweep(state, pod, run.as_deref(), now));
            done(format!("killed {killed}\n"), String::new(), 0)
        }
        Command::Cleanup { run } => {
            let removed =
                with_table(live, pod, |state, now| cleanup(state, pod, run.as_deref(), now));
            done(format!("removed {removed}\n"), String::new(), 0)
        }
        Command::Cpu { workers, load, ttl, run } => {
            let millis = f64::from(workers) * f64::from(load) * 10.0;
            let line = format!("ctl-stressor cpu workers={workers} load={load} ttl={ttl}");
            start(live, pod, Load::Cpu { millis }, run, ttl, line)
        }
        Command::Memory { mb, shm, ttl, run } => {
            let mode = if shm { "shm" } else { "anon" };
            let line = format!("ctl-stressor memory mb={mb} mode={mode} ttl={ttl}");
            start(live, pod, Load::Memory { bytes: mb << 20, shm }, run, ttl, line)
        }
    }
}

fn quote(argv: &[String]) -> String {
    let shown: Vec<String> = argv
        .iter()
        .map(|a| {
            let first = a.lines().next().unwrap_or("");
            let a = if first.len() < a.len() { format!("{first}...") } else { first.to_owned() };
            if a.contains(' ') { format!("'{a}'") } else { a }
        })
        .collect();
    format!("`{}`", shown.join(" "))
}

/// Runs `f` on the locked state, then settles `pod` and every stressed pod and notifies
/// watchers.
fn with_table<T>(live: &LiveCluster, pod: &str, f: impl FnOnce(&mut LiveState, f64) -> T) -> T {
    let now = live.now();
    let mut state = live.lock();
    let result = f(&mut state, now);
    settle(&mut state, now, Some(pod));
    live.changed(&mut state);
    result
}

fn start(
    live: &LiveCluster,
    pod: &str,
    load: Load,
    run: Option<String>,
    ttl: f64,
    line: String,
) -> Outcome {
    let (tx, rx) = oneshot::channel();
    let pid = with_table(live, pod, |state, now| {
        let restarts = restarts(state).get(pod).copied().unwrap_or(0);
        state.stressors.next_pid += 1;
        state.stressors.stressors.push(Stressor {
            pod: pod.to_owned(),
            restarts,
            run,
            load,
            deadline: now + ttl,
            done: Some(tx),
        });
        4000 + state.stressors.next_pid
    });
    Outcome::Running { stdout: format!("{line} pid={pid}\n"), done: rx }
}

fn sweep(state: &mut LiveState, pod: &str, run: Option<&str>, _now: f64) -> usize {
    let table = &mut state.stressors;
    let (killed, kept): (Vec<Stressor>, Vec<Stressor>) = std::mem::take(&mut table.stressors)
        .into_iter()
        .partition(|s| s.pod == pod && (run.is_none() || s.run.as_deref() == run));
    table.stressors = kept;
    let count = killed.len();
    for mut stressor in killed {
        if let Load::Memory { bytes, shm: true } = stressor.load {
            table.leftovers.push(Leftover {
                pod: stressor.pod.clone(),
                restarts: stressor.restarts,
                run: stressor.run.clone(),
                bytes,
                deadline: stressor.deadline,
            });
        }
        finish(&mut stressor, EXIT_TERM);
    }
    count
}

fn cleanup(state: &mut LiveState, pod: &str, run: Option<&str>, _now: f64) -> usize {
    let table = &mut state.stressors;
    let before = table.leftovers.len();
    table.leftovers.retain(|l| !(l.pod == pod && (run.is_none() || l.run.as_deref() == run)));
    before - table.leftovers.len()
}

fn finish(stressor: &mut Stressor, code: i32) {
    if let Some(done) = stressor.done.take() {
        // The session may be gone (the client disconnected): the stressor ends all the same.
        let _ = done.send(code);
    }
}

/// Container restart counts by pod name.
fn restarts(state: &LiveState) -> HashMap<String, u32> {
    state.cluster.snapshot().pods.into_iter().map(|p| (p.name.to_string(), p.restarts)).collect()
}

/// Ends what is past its TTL or lost its container, and sets the stress of every pod with
/// stressors (and of `also`) to what its live stressors ask. Returns whether anything ended.
fn settle(state: &mut LiveState, now: f64, also: Option<&str>) -> bool {
    let mut ended = false;
    let mut touched: BTreeSet<String> = BTreeSet::new();
    // Apply first: a new memory stressor may push its pod over the limit (an OOM kill that
    // the restart check below then sees).
    let pods: BTreeSet<String> = state
        .stressors
        .stressors
        .iter()
        .map(|s| s.pod.clone())
        .chain(state.stressors.leftovers.iter().map(|l| l.pod.clone()))
        .chain(also.map(str::to_owned))
        .collect();
    apply(state, &pods, now);
    let restarts = restarts(state);
    let table = &mut state.stressors;
    for stressor in &mut table.stressors {
        let code = match restarts.get(&stressor.pod) {
            None => Some(EXIT_TERM),
            Some(&r) if r != stressor.restarts => Some(EXIT_OOM),
            Some(_) if stressor.deadline <= now => Some(0),
            Some(_) => None,
        };
        if let Some(code) = code {
            finish(stressor, code);
            touched.insert(stressor.pod.clone());
            ended = true;
        }
    }
    table.stressors.retain(|s| s.done.is_some());
    table.leftovers.retain(|l| {
        let keep = restarts.get(&l.pod) == Some(&l.restarts) && l.deadline > now;
        if !keep {
            touched.insert(l.pod.clone());
        }
        keep
    });
    apply(state, &touched, now);
    ended
}

/// Sets the cluster's CPU and memory stress of `pods` to the sum of what lives there.
fn apply(state: &mut LiveState, pods: &BTreeSet<String>, now: f64) {
    for pod in pods {
        let table = &state.stressors;
        let mine = table.stressors.iter().filter(|s| &s.pod == pod);
        let millis: f64 = mine
            .clone()
            .map(|s| match s.load {
                Load::Cpu { millis } => millis,
                Load::Memory { .. } => 0.0,
            })
            .sum();
        let bytes: u64 = mine
            .map(|s| match s.load {
                Load::Memory { bytes, .. } => bytes,
                Load::Cpu { .. } => 0,
            })
            .chain(table.leftovers.iter().filter(|l| &l.pod == pod).map(|l| l.bytes))
            .sum();
        // A pod that is gone has nothing left to stress; its stressors end in `settle`.
        let _ = state.cluster.set_stress(pod, millis, now);
        let _ = state.cluster.set_memory_stress(pod, bytes, now);
    }
}

/// Ends stressors at their TTL and after their container died, whether or not anyone is
/// connected: wakes at the next deadline and on every cluster change (an OOM kill caused by
/// requests, a scale-down).
pub async fn reap_forever(live: LiveCluster) {
    let mut changes = live.subscribe();
    loop {
        let next = {
            let now = live.now();
            let mut state = live.lock();
            if !state.stressors.is_empty() && settle(&mut state, now, None) {
                live.changed(&mut state);
            }
            state.stressors.next_deadline()
        };
        let wait = next.map_or(Duration::from_secs(1), |deadline| {
            Duration::from_secs_f64((deadline - live.now()).clamp(0.0, 1.0))
        });
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            changed = changes.changed() => if changed.is_err() { return },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn parses_every_kind_of_the_contract() {
        let cpu =
            parse(&argv("# ctl-stressor kind=cpu workers=2 load=50 ttl=30s run=r1 x=y\nbody"));
        assert_eq!(cpu, Command::Cpu { workers: 2, load: 50, ttl: 30.0, run: Some("r1".into()) });
        assert!(matches!(
            parse(&argv("# ctl-stressor kind=cpu ttl=31622400s")),
            Command::Cpu { ttl: 31_622_400.0, .. }
        ));
        let defaults = parse(&argv("# ctl-stressor kind=cpu ttl=1.5"));
        assert_eq!(defaults, Command::Cpu { workers: 1, load: 100, ttl: 1.5, run: None });
        let memory = parse(&argv("# ctl-stressor kind=memory mb=64 mode=shm ttl=10 run=a_b-1"));
        assert_eq!(
            memory,
            Command::Memory { mb: 64, shm: true, ttl: 10.0, run: Some("a_b-1".into()) }
        );
        assert_eq!(parse(&argv("# ctl-stressor kind=sweep")), Command::Sweep { run: None });
        assert_eq!(
            parse(&argv("# ctl-stressor kind=cleanup run=x")),
            Command::Cleanup { run: Some("x".into()) }
        );
        assert_eq!(parse(&argv("# ctl-stressor kind=preflight needs=sh,dd")), Command::Preflight);
        assert_eq!(parse(&["ls".to_string()]), Command::Other);
        assert_eq!(parse(&argv("echo # ctl-stressor kind=cpu")), Command::Other);
    }

    #[test]
    fn rejects_lines_that_break_the_contract() {
        for bad in [
            "# ctl-stressor kind=cpu",
            "# ctl-stressor kind=cpu ttl=0",
            "# ctl-stressor kind=cpu ttl=1e300",
            "# ctl-stressor kind=cpu ttl=31622401",
            "# ctl-stressor kind=cpu ttl=nan",
            "# ctl-stressor kind=cpu ttl=-1",
            "# ctl-stressor kind=cpu ttl=5 load=101",
            "# ctl-stressor kind=cpu ttl=5 workers=0",
            "# ctl-stressor kind=memory ttl=5",
            "# ctl-stressor kind=memory mb=1 ttl=5 mode=disk",
            "# ctl-stressor kind=cpu ttl=5 run=a/b",
            "# ctl-stressor kind=disk",
            "# ctl-stressor workers=1",
            "# ctl-stressor kind=cpu ttl=5 oops",
        ] {
            assert!(matches!(parse(&argv(bad)), Command::Invalid(_)), "{bad}");
        }
    }
}
