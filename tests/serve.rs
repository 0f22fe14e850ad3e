//! Integration tests of `ctl serve` and of `ctl load` against the embedded cluster: the real
//! binary, loopback only, every wait bounded by a deadline.

#[allow(dead_code)]
mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use util::{Dir, assert_code, ctl, stderr};

const NAMES: [&str; 5] = ["app", "kubernetes", "metrics", "jaeger", "kubeconfig"];

/// A running `ctl serve`; killed if a test fails before it stops it.
struct Serve {
    child: Child,
    /// (name, value) of the five lines, in the order printed.
    lines: Vec<(String, String)>,
}

impl Serve {
    fn start(dir: &Dir, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ctl"))
            .arg("serve")
            .args(args)
            .current_dir(&dir.path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ctl serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut serve = Self { child, lines: Vec::new() };
        let deadline = Instant::now() + Duration::from_secs(30);
        while serve.lines.len() < NAMES.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).expect("ctl serve printed its 5 lines in time");
            let (name, value) = line.split_once(": ").expect("a `name: value` line");
            serve.lines.push((name.to_string(), value.to_string()));
        }
        serve
    }

    fn get(&self, name: &str) -> &str {
        &self.lines.iter().find(|(n, _)| n == name).unwrap().1
    }

    fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits for the exit code, failing after `limit`.
    fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "ctl serve did not exit within {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request over a fresh connection: (status, body).
fn http(url: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let authority = url.trim_start_matches("http://").split('/').next().unwrap();
    let mut stream = TcpStream::connect(authority).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read the response");
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
    (status, body)
}

#[cfg(unix)]
#[test]
fn serve_prints_its_endpoints_answers_and_stops_on_sigterm() {
    let dir = Dir::new("serve-term");
    let kubeconfig = dir.join("kc.yaml");
    let mut serve = Serve::start(
        &dir,
        &["--topology", "webapp", "--kubeconfig-out", kubeconfig.to_str().unwrap()],
    );
    let names: Vec<&str> = serve.lines.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, NAMES);
    for name in ["app", "kubernetes", "jaeger"] {
        assert!(serve.get(name).starts_with("http://127.0.0.1:"), "{:?}", serve.lines);
    }
    assert!(serve.get("metrics").starts_with("http://127.0.0.1:"));
    assert!(serve.get("metrics").ends_with("/metrics"));
    assert_eq!(serve.get("kubeconfig"), kubeconfig.to_str().unwrap());
    let config = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(config.contains(serve.get("kubernetes")), "{config}");

    let app = serve.get("app").to_string();
    let (status, body) = http(&app, "GET", "/?q=1", "");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, body) = http(&app, "GET", "/nope", "");
    assert_eq!(status, 404);
    assert!(body.contains("GET /"), "{body}");
    // The path is known, the method is not.
    assert_eq!(http(&app, "POST", "/", "x=1").0, 405);
    let metrics = serve.get("metrics").to_string();
    let path = &metrics[metrics.rfind('/').unwrap()..];
    assert_eq!(http(&metrics, "GET", path, "").0, 200);

    serve.signal("TERM");
    assert_eq!(serve.wait(Duration::from_secs(10)), Some(0));
    // A kubeconfig the user asked for stays.
    assert!(kubeconfig.exists());
}

#[cfg(unix)]
#[test]
fn sigint_stops_serve_and_removes_its_temporary_kubeconfig() {
    let dir = Dir::new("serve-int");
    let mut serve = Serve::start(&dir, &["--topology", "hotel", "--seed", "7"]);
    let kubeconfig = std::path::PathBuf::from(serve.get("kubeconfig"));
    assert!(kubeconfig.starts_with(std::env::temp_dir()), "{}", kubeconfig.display());
    assert!(kubeconfig.exists());
    // The hotel front end reads and drops a POST body and answers with the emulated status.
    let app = serve.get("app").to_string();
    assert_eq!(http(&app, "POST", "/user?username=Cornell_1&password=1", "a=b").0, 200);
    assert_eq!(http(&app, "GET", "/hotels?inDate=2015-04-09&outDate=2015-04-10", "").0, 200);
    assert_eq!(http(&app, "GET", "/", "").0, 404);

    serve.signal("INT");
    assert_eq!(serve.wait(Duration::from_secs(10)), Some(0));
    assert!(!kubeconfig.exists(), "{} was left behind", kubeconfig.display());
}

#[test]
fn a_bad_topology_exits_2_naming_file_line_and_column() {
    let dir = Dir::new("serve-bad-topology");
    dir.write(
        "t.yaml",
        "name: t\nentry: a\nroutes: []\nservices:\n  - name: a\n    cpu: {request: 1m, limt: 2m}\n",
    );
    let o = ctl(&dir.path, &["serve", "--topology", "t.yaml"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("t.yaml:6:"), "{}", stderr(&o));
    assert!(stderr(&o).contains("limt"), "{}", stderr(&o));

    let o = ctl(&dir.path, &["serve", "--topology", "nosuch"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("nosuch"), "{}", stderr(&o));
}

#[test]
fn a_port_in_use_exits_3_naming_the_flag() {
    let dir = Dir::new("serve-port");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let o = ctl(&dir.path, &["serve", "--topology", "webapp", "--metrics-port", &port]);
    assert_code(&o, 3);
    assert!(stderr(&o).contains(&port) && stderr(&o).contains("--metrics-port"), "{}", stderr(&o));
}

/// `ctl load` for 2 s at 100 req/s with no `--host` and `extra` flags: its output and JSON summary.
fn load_embedded(dir: &Dir, extra: &[&str]) -> (std::process::Output, serde_json::Value) {
    let json = dir.join("s.json");
    let mut args = vec!["load", "--shape", "const:100", "--model", "rate", "-t", "2s"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--json", json.to_str().unwrap()]);
    let o = ctl(&dir.path, &args);
    assert_code(&o, 0);
    let summary = serde_json::from_str(&dir.read("s.json")).unwrap();
    (o, summary)
}

#[test]
fn load_without_host_runs_against_the_embedded_cluster() {
    let dir = Dir::new("load-embedded");
    let (o, s) = load_embedded(&dir, &[]);
    let err = stderr(&o);
    assert!(err.contains("topology webapp") && err.contains("/metrics"), "{err}");
    // Loose, as below: on a loaded CI machine the 2 s run may start late.
    let ok = s["responses_by_status"]["200"].as_u64().unwrap_or(0);
    assert!(ok >= 100, "{s}");
    assert_eq!(s["failures"], 0, "{s}");
    assert!(s["host"].as_str().unwrap().starts_with("http://127.0.0.1:"), "{s}");

    // The hotel mix picks the hotel topology, whose routes answer all of it.
    let (o, s) = load_embedded(&dir, &["--workload", "hotel-reservation.yaml"]);
    assert!(stderr(&o).contains("topology hotel"), "{}", stderr(&o));
    // Every answer is a 200 (no 404 for a route the topology lacks). The count is loose: on a
    // loaded CI machine the 2 s run may start late, and what matters here is the routing.
    let by_status = s["responses_by_status"].as_object().unwrap();
    assert!(by_status.keys().all(|status| status == "200"), "{s}");
    assert!(by_status.get("200").and_then(|n| n.as_u64()).unwrap_or(0) >= 100, "{s}");
}

#[test]
fn load_refuses_a_workload_no_embedded_topology_serves() {
    let dir = Dir::new("load-unserved");
    dir.write("w.yaml", "requests:\n  - {method: GET, path: /api/items}\n");
    let o = ctl(&dir.path, &["load", "--workload", "w.yaml", "--shape", "const:1", "-t", "1s"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("--host"), "{}", stderr(&o));
    let o = ctl(
        &dir.path,
        &[
            "load",
            "--shape",
            "const:1",
            "-t",
            "1s",
            "-H",
            "http://127.0.0.1:1",
            "--topology",
            "webapp",
        ],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("--topology"), "{}", stderr(&o));
}
