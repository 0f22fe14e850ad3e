//! A real Prometheus (Debian package `prometheus`) for tests: on loopback, with its own scratch
//! TSDB, scraping one target every second, killed by a drop guard whatever happens.

// Not every test target that includes `util` starts Prometheus.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Dir;

/// Whether `prometheus` runs; with `CTL_REQUIRE_PROMETHEUS=1` (as CI sets) a missing binary
/// panics instead of letting the caller skip.
pub fn on_path() -> bool {
    let found = Command::new("prometheus")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found && std::env::var("CTL_REQUIRE_PROMETHEUS").as_deref() == Ok("1") {
        panic!(
            "CTL_REQUIRE_PROMETHEUS=1 but `prometheus` is not on PATH (apt-get install prometheus)"
        );
    }
    found
}

/// Kills Prometheus when the test ends, passing or failing.
pub struct Prometheus {
    pub child: Child,
    pub url: String,
    log: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// What Prometheus logged (warnings and errors).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Starts Prometheus scraping `target` (host:port) every second and waits until it is ready.
/// It needs a concrete port: take a free one and retry if another process grabbed it first.
pub fn start(dir: &Dir, target: &str, deadline: Instant) -> Prometheus {
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: ctl\n    static_configs:\n      - targets: ['{target}']\n"
    );
    let config = dir.write("prometheus.yml", &config);
    for attempt in 0..3 {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.join(&format!("prometheus-{attempt}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join(&format!("tsdb-{attempt}")).display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("start prometheus");
        let mut prometheus = Prometheus { child, url: format!("http://127.0.0.1:{port}"), log };
        loop {
            if let Ok(Some(status)) = prometheus.child.try_wait() {
                eprintln!("prometheus exited ({status}), retrying:\n{}", prometheus.log());
                break;
            }
            if ctl::observe::jaeger::fetch(&format!("{}/-/ready", prometheus.url)).is_ok() {
                return prometheus;
            }
            assert!(Instant::now() < deadline, "prometheus not ready:\n{}", prometheus.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("prometheus did not start in 3 attempts");
}
