//! The real `kubectl` against the embedded cluster's kubeconfig: `get pods`, `get deploy`,
//! `scale`, `top pods`, and `exec` of a stressor script and of an arbitrary command. Skipped
//! with a notice when kubectl is missing, unless `CTL_REQUIRE_KUBECTL` is set (CI sets it).

#[allow(dead_code)]
mod util;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ctl::emulator::topology;
use ctl::emulator::{EmbeddedCluster, ServeOptions};

/// Found on PATH, as .ci/run checks for it (`command -v kubectl`).
const KUBECTL: &str = "kubectl";

/// One kubectl command may take this long (it is killed and the test fails after).
const KUBECTL_LIMIT: Duration = Duration::from_secs(60);

struct Fixture {
    _cluster: EmbeddedCluster,
    dir: PathBuf,
    kubeconfig: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The cluster and its kubeconfig, or `None` (after a notice) without kubectl.
fn fixture(name: &str) -> Option<Fixture> {
    let found = Command::new(KUBECTL)
        .args(["version", "--client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("CTL_REQUIRE_KUBECTL").as_deref() == Ok("1") {
            panic!("{KUBECTL} is missing and CTL_REQUIRE_KUBECTL is set");
        }
        eprintln!("notice: {KUBECTL} is missing; skipping the kubectl test `{name}`");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("ctl-kubectl-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    let mut topology = topology::load("hotel").unwrap();
    for service in &mut topology.services {
        service.startup_delay = Duration::from_millis(500);
    }
    let options =
        ServeOptions { kubeconfig_out: Some(kubeconfig.clone()), ..ServeOptions::new(topology) };
    let cluster = EmbeddedCluster::start(options).unwrap();
    Some(Fixture { _cluster: cluster, dir, kubeconfig })
}

impl Fixture {
    fn kubectl(&self, args: &[&str]) -> Output {
        // A private cache dir: discovery is cached per host:port, and HOME may be read-only.
        util::output_within(
            Command::new(KUBECTL)
                .arg("--kubeconfig")
                .arg(&self.kubeconfig)
                .arg("--cache-dir")
                .arg(self.dir.join("cache"))
                .args(args)
                .env("HOME", &self.dir),
            KUBECTL_LIMIT,
        )
    }

    /// stdout of a command that must succeed.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "kubectl {args:?} failed: {stderr}");
        String::from_utf8(output.stdout).unwrap()
    }

    fn first_pod(&self, app: &str) -> String {
        let selector = format!("app={app}");
        self.ok(&["get", "pods", "-l", &selector, "-o", "jsonpath={.items[0].metadata.name}"])
    }
}

fn columns(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[test]
fn get_pods_and_deployments_print_the_usual_columns() {
    let Some(f) = fixture("get") else { return };
    let pods = f.ok(&["get", "pods"]);
    let mut lines = pods.lines();
    assert_eq!(columns(lines.next().unwrap()), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    let rows: Vec<Vec<&str>> = lines.map(columns).collect();
    assert!(rows.iter().any(|r| r[0].starts_with("frontend-")), "{pods}");
    assert!(rows.iter().all(|r| r[1..4] == ["1/1", "Running", "0"]), "{pods}");

    let deployments = f.ok(&["get", "deploy"]);
    let mut lines = deployments.lines();
    assert_eq!(columns(lines.next().unwrap()), ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    let frontend = lines.map(columns).find(|r| r[0] == "frontend").unwrap();
    assert_eq!(frontend[1..4], ["1/1", "1", "1"]);
    // Short names and all-namespaces work through discovery.
    assert!(f.ok(&["get", "po", "-A"]).starts_with("NAMESPACE"));
}

#[test]
fn scale_then_get_shows_the_new_replicas() {
    let Some(f) = fixture("scale") else { return };
    let out = f.ok(&["scale", "deployment/frontend", "--replicas=3"]);
    assert_eq!(out.trim(), "deployment.apps/frontend scaled");
    assert_eq!(f.ok(&["get", "deploy", "frontend", "-o", "jsonpath={.spec.replicas}"]), "3");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let table = f.ok(&["get", "deploy", "frontend"]);
        let row = columns(table.lines().nth(1).unwrap())
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>();
        assert!(row[1].ends_with("/3"), "{table}");
        if row[1] == "3/3" {
            break;
        }
        assert!(Instant::now() < deadline, "new replicas never became ready: {table}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let pods = f.ok(&["get", "pods", "-l", "app=frontend", "--no-headers"]);
    assert_eq!(pods.lines().count(), 3, "{pods}");
    let refused = f.kubectl(&["scale", "deployment/frontend", "--replicas=-1"]);
    assert!(!refused.status.success());
}

#[test]
fn top_pods_lists_cpu_and_memory() {
    let Some(f) = fixture("top") else { return };
    let out = f.ok(&["top", "pods"]);
    let mut lines = out.lines();
    assert_eq!(columns(lines.next().unwrap()), ["NAME", "CPU(cores)", "MEMORY(bytes)"]);
    let frontend = lines.map(columns).find(|r| r[0].starts_with("frontend-")).unwrap();
    assert!(frontend[1].ends_with('m') && frontend[2].ends_with("Mi"), "{out}");
}

#[test]
fn exec_runs_stressor_scripts_and_refuses_anything_else() {
    let Some(f) = fixture("exec") else { return };
    let pod = f.first_pod("frontend");
    let script = "# ctl-stressor kind=preflight needs=sh,dd,sleep,rm,df,date\ncommand -v sh";
    assert_eq!(f.ok(&["exec", &pod, "--", "sh", "-c", script]), "ok\n");

    let refused = f.kubectl(&["exec", &pod, "--", "ls"]);
    assert_eq!(refused.status.code(), Some(126));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is emulated and runs only ctl stressor scripts"), "{stderr}");
    assert!(stderr.contains("command terminated with exit code 126"), "{stderr}");

    // A stressor session stays open until its TTL and then exits 0.
    let started = Instant::now();
    let cpu = "# ctl-stressor kind=cpu workers=1 load=20 ttl=1.5s run=k";
    let out = f.ok(&["exec", &pod, "--", "sh", "-c", cpu]);
    assert!(out.starts_with("ctl-stressor cpu workers=1 load=20 ttl=1.5 pid="), "{out}");
    assert!(started.elapsed() >= Duration::from_millis(1500));
    let missing = f.kubectl(&["exec", "no-such-pod", "--", "ls"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
}
