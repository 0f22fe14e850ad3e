//! `ctl stress` as a binary: exit 2 naming the selector when no pod matches, SIGINT stops every
//! stressor (none left running, `events.jsonl` complete), and `ctl stress script` prints the
//! exact script, which runs under `sh`.

#[allow(dead_code)] // the shared harness has more than this file uses
mod util;

#[allow(dead_code)] // shared with tests/stress.rs, which uses other parts
mod stress_util;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ctl::stress::{RunId, StressSpec, script};
use stress_util::{SELECTOR, cpu_falls_back, leftover_stressors, runtime};
use util::Guard;

#[test]
fn no_pod_matching_is_exit_2_naming_the_selector() {
    let dir = util::Dir::new("stress-nopod");
    for (selector, hint) in [
        ("app=nothing-here", false),
        // A key with a DNS prefix is a label selector (the embedded pods only carry `app`).
        ("app.kubernetes.io/name=webapp", false),
        // Read as a label selector too, with a hint that only deployment/NAME names a workload.
        ("statefulset/db", true),
    ] {
        let out =
            util::ctl(&dir.path, &["stress", "cpu", "--selector", selector, "--duration", "5s"]);
        util::assert_code(&out, 2);
        let stderr = util::stderr(&out);
        assert!(stderr.contains(&format!("no Running pod matches {selector} ")), "{stderr}");
        assert_eq!(stderr.contains("only deployment/NAME names a workload"), hint, "{stderr}");
    }
}

#[test]
fn bad_flags_are_exit_2_naming_the_flag() {
    let dir = util::Dir::new("stress-flags");
    let missing = dir.join("no-such-dir/events.jsonl");
    let missing = missing.to_str().unwrap();
    for (selector, more, says) in [
        (SELECTOR, &["--load", "101"][..], "--load: expected 1 to 100"),
        (SELECTOR, &["--duration", "500ms"][..], "--duration and --max-duration: expected at"),
        (SELECTOR, &["--max-pods", "0"][..], "--max-pods: expected at least 1"),
        (SELECTOR, &["--container", ""][..], "--container: expected a container name"),
        (SELECTOR, &["--refresh", "10ms"][..], "--refresh: expected at least 100ms"),
        (SELECTOR, &["--events", missing][..], "--events: cannot create"),
        ("app in (webapp", &[][..], "--selector: the API server rejects the label selector"),
        ("deployment/", &[][..], "--selector: expected deployment/NAME"),
    ] {
        let out =
            util::ctl(&dir.path, &[&["stress", "cpu", "--selector", selector], more].concat());
        util::assert_code(&out, 2);
        assert!(util::stderr(&out).contains(says), "{more:?}: {}", util::stderr(&out));
    }
}

/// `ctl serve --topology webapp` in the background (killed on drop) and its kubeconfig.
fn serve(dir: &util::Dir) -> (Guard, std::path::PathBuf) {
    let kubeconfig = dir.join("kubeconfig.yaml");
    let mut child = Guard(
        Command::new(env!("CARGO_BIN_EXE_ctl"))
            .args(["serve", "--topology", "webapp", "--kubeconfig-out"])
            .arg(&kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Read on a thread so that a silent `ctl serve` fails the test instead of hanging it.
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let ready =
            BufReader::new(stdout).lines().any(|l| l.is_ok_and(|l| l.starts_with("kubeconfig:")));
        let _ = tx.send(ready);
    });
    let ready = rx.recv_timeout(Duration::from_secs(30)).unwrap_or(false);
    assert!(ready, "ctl serve did not print its kubeconfig line");
    (child, kubeconfig)
}

fn sigint(pid: u32) {
    assert!(Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap().success());
}

#[test]
fn sigint_to_the_binary_leaves_no_stressor_running() {
    let dir = util::Dir::new("stress-sigint");
    let (mut server, kubeconfig) = serve(&dir);
    let events = dir.join("events.jsonl");
    let mut stress = Guard(
        Command::new(env!("CARGO_BIN_EXE_ctl"))
            .args(["stress", "cpu", "--selector", SELECTOR, "--load", "20"])
            .args(["--duration", "0", "--refresh", "1s"])
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--events")
            .arg(&events)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let started = || {
        std::fs::read_to_string(&events)
            .unwrap_or_default()
            .matches("\"event\":\"started\"")
            .count()
    };
    let end = Instant::now() + Duration::from_secs(20);
    while started() < 3 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(started(), 3, "{}", std::fs::read_to_string(&events).unwrap_or_default());
    sigint(stress.0.id());
    let status = stress.wait_within(Duration::from_secs(30));
    let mut stderr = String::new();
    stress.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let text = std::fs::read_to_string(&events).unwrap();
    assert!(text.contains("\"reason\":\"interrupted\""), "{text}");
    assert_eq!(text.matches("\"outcome\":\"stopped\"").count(), 3, "{text}");
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    // From outside: no ctl stressor is left in any pod, and their CPU falls back to idle.
    runtime().block_on(async {
        let conn = ctl::cluster::connect(Some(&kubeconfig), None).await.unwrap();
        assert_eq!(leftover_stressors(&conn).await, 0);
        cpu_falls_back(&conn).await;
    });
    sigint(server.0.id());
    server.wait_within(Duration::from_secs(15));
}

#[test]
fn script_prints_the_exact_script_which_runs_under_sh() {
    let dir = util::Dir::new("stress-script");
    let out = util::ctl(
        &dir.path,
        &[
            "stress",
            "script",
            "cpu",
            "--workers",
            "2",
            "--load",
            "40",
            "--ttl",
            "1s",
            "--run",
            "abc",
        ],
    );
    util::assert_code(&out, 0);
    let text = util::stdout(&out);
    let run = RunId::parse("abc").unwrap();
    let expected =
        script::stressor(&StressSpec::Cpu { workers: 2, load: 40 }, Duration::from_secs(1), &run);
    assert_eq!(text, expected);
    assert!(text.starts_with("# ctl-stressor kind=cpu workers=2 load=40 ttl=1 run=abc\n"));
    let started = Instant::now();
    let ran = util::output_within(Command::new("sh").arg("-c").arg(&text), Duration::from_secs(30));
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stderr));
    assert!(util::stdout(&ran).starts_with("ctl-stressor cpu workers=2 load=40 ttl=1 pid="));
    // It burns until its TTL, then ends on its own.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "{took:?}");
    let out = util::ctl(&dir.path, &["stress", "script", "memory", "--mb", "8", "--mode", "shm"]);
    util::assert_code(&out, 0);
    assert!(
        util::stdout(&out)
            .starts_with("# ctl-stressor kind=memory mb=8 mode=shm ttl=60 run=manual\n")
    );
    for (args, flag) in [
        (&["cpu", "--load", "0"][..], "--load"),
        (&["memory", "--ttl", "0"][..], "--ttl"),
        (&["sweep", "--run", "bad id"][..], "--run"),
    ] {
        let out = util::ctl(&dir.path, &[&["stress", "script"][..], args].concat());
        util::assert_code(&out, 2);
        assert!(util::stderr(&out).contains(flag), "{args:?}: {}", util::stderr(&out));
    }
}
