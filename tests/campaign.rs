//! `ctl campaign` end to end: a short campaign on the embedded cluster (the HPA follows a load
//! step up and back down; the run folder is complete and its numbers agree with each other; the
//! report renders in headless Chromium), Ctrl-C in the middle of a campaign with a stressor
//! running, and the SLO exit code. Scenario files without running: `campaign_scenarios.rs`.

// Each test binary uses only part of the shared harness.
#[allow(dead_code)]
mod util;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::{CTL_LIMIT, Dir, Guard, assert_code, output_within, repo};

/// `ctl` run from the repository root (scenarios name files relative to it).
fn ctl_at_repo(args: &[&str]) -> std::process::Output {
    output_within(Command::new(env!("CARGO_BIN_EXE_ctl")).args(args).current_dir(repo()), CTL_LIMIT)
}

/// Headless Chromium may hang; it gets this long per page.
const CHROMIUM_LIMIT: Duration = Duration::from_secs(90);

/// The one run folder under `runs`.
fn run_folder(runs: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(runs)
        .unwrap_or_else(|e| panic!("{}: {e}", runs.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.into_iter().next().unwrap()
}

/// RFC 4180 CSV rows as header -> value.
fn parse_csv(text: &str) -> Vec<BTreeMap<String, String>> {
    let (header, rows) = util::csv_quoted(text);
    rows.into_iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "{r:?}");
            header.iter().cloned().zip(r).collect()
        })
        .collect()
}

fn num(row: &BTreeMap<String, String>, key: &str) -> f64 {
    let v = row.get(key).unwrap_or_else(|| panic!("no column {key}"));
    v.parse().unwrap_or_else(|_| panic!("{key}: '{v}' is not a number"))
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

#[test]
fn a_step_campaign_scales_up_and_down_and_its_run_folder_agrees_with_itself() {
    let dir = Dir::new("campaign-step");
    let runs = dir.join("runs");
    let out = ctl_at_repo(&[
        "campaign",
        "tests/fixtures/scenarios/step.yaml",
        "--runs",
        runs.to_str().unwrap(),
        "--quiet",
    ]);
    assert_code(&out, 0);
    let run = run_folder(&runs);
    let name = run.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("step-test-") && name.len() == "step-test-20260101-120000".len());
    let read =
        |f: &str| std::fs::read_to_string(run.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    for f in [
        "scenario.resolved.yaml",
        "locust_stats.csv",
        "locust_stats_history.csv",
        "locust_failures.csv",
        "locust_exceptions.csv",
        "control.csv",
        "anomalies.jsonl",
        "events.jsonl",
        "seconds.csv",
        "summary.json",
        "report.html",
    ] {
        assert!(run.join(f).is_file(), "{f} missing in {}", run.display());
    }
    // The resolved scenario is itself a valid scenario with every window set.
    let resolved = read("scenario.resolved.yaml");
    assert!(resolved.contains("measurement: 20s"), "{resolved}");
    let again = ctl_at_repo(&[
        "campaign",
        run.join("scenario.resolved.yaml").to_str().unwrap(),
        "--dry-run",
    ]);
    assert_code(&again, 0);

    let summary: serde_json::Value = serde_json::from_str(&read("summary.json")).unwrap();
    assert_eq!(summary["status"], "completed");
    let start = summary["start_unix"].as_f64().unwrap();
    let phases = summary["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 2);

    // The controller: observing in the baseline (replicas stay 1, though the simulated HPA
    // would scale), acting in the adaptation phase: up during the step, down after it.
    let control = parse_csv(&read("control.csv"));
    assert!(control.len() >= 35, "one row per second: {}", control.len());
    let t = |r: &BTreeMap<String, String>| num(r, "unix_time") - start;
    let (baseline, adaptation): (Vec<_>, Vec<_>) = control.iter().partition(|r| t(r) < 22.0);
    assert!(baseline.iter().all(|r| r["mode"] == "observe" && num(r, "applied_replicas") == 1.0));
    assert!(
        baseline.iter().any(|r| num(r, "hpa_sim_desired") > 1.0),
        "the shadow HPA saw the step"
    );
    assert!(adaptation.iter().all(|r| r["mode"] == "act"));
    let replicas = |rows: &[&BTreeMap<String, String>], from: f64, to: f64| -> Vec<f64> {
        rows.iter()
            .filter(|r| (from..to).contains(&t(r)))
            .map(|r| num(r, "applied_replicas"))
            .collect()
    };
    // The second step is 12 req/s over T+27..T+34; 1.5 req/s before and after.
    let before = replicas(&adaptation, 22.0, 27.0);
    let during = replicas(&adaptation, 27.0, 35.0);
    let after = replicas(&adaptation, 41.0, 44.0);
    assert!(before.iter().all(|r| *r == 1.0), "{before:?}");
    let peak = during.iter().cloned().fold(0.0, f64::max);
    assert!(peak >= 2.0, "the HPA did not scale up under the step: {during:?}");
    assert!(!after.is_empty() && after.iter().all(|r| *r < peak), "no scale-down: {after:?}");

    // summary.json against the CSVs.
    let (header, _) = util::csv(&read("seconds.csv"));
    assert_eq!(header.join(","), ctl::experiment::folder::SECONDS_HEADER);
    let seconds = parse_csv(&read("seconds.csv"));
    let history = parse_csv(&read("locust_stats_history.csv"));
    let events: Vec<serde_json::Value> =
        read("events.jsonl").lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for line in read("anomalies.jsonl").lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    let slo_ms = summary["slo"]["latency_ms"].as_f64().unwrap();
    assert_eq!(slo_ms, 150.0);
    let mut measured_total = 0.0;
    for p in phases {
        let name = p["name"].as_str().unwrap();
        let (from, to) = (p["measure_start_s"].as_f64().unwrap(), p["end_s"].as_f64().unwrap());
        let rows: Vec<_> =
            seconds.iter().filter(|r| r["phase"] == name && r["window"] == "measurement").collect();
        assert_eq!(p["measured_seconds"].as_u64().unwrap() as usize, rows.len(), "{name}");
        assert!(rows.iter().all(|r| {
            let mid = num(r, "second") + 0.5;
            mid >= from && mid < to
        }));
        let requests: f64 = rows.iter().map(|r| num(r, "requests")).sum();
        let failures: f64 = rows.iter().map(|r| num(r, "failures")).sum();
        let violations =
            rows.iter().filter(|r| num(r, "requests") > 0.0 && num(r, "slo_ms") >= slo_ms).count();
        assert_eq!(p["requests"].as_f64().unwrap(), requests, "{name}");
        assert_eq!(p["failures"].as_f64().unwrap(), failures, "{name}");
        assert_eq!(p["slo_violation_seconds"].as_u64().unwrap() as usize, violations, "{name}");
        assert!(requests > 0.0);
        measured_total += requests;
        // The phase's p95 lies within its seconds' p95 range (it merges their histograms).
        let p95s: Vec<f64> =
            rows.iter().filter(|r| num(r, "requests") > 0.0).map(|r| num(r, "p95_ms")).collect();
        let phase_p95 = p["latency_ms"]["p95"].as_f64().unwrap();
        let (lo, hi) = (
            p95s.iter().cloned().fold(f64::MAX, f64::min),
            p95s.iter().cloned().fold(0.0, f64::max),
        );
        assert!(
            phase_p95 >= lo - 0.01 && phase_p95 <= hi + 0.01,
            "{name}: {phase_p95} not in {lo}..{hi}"
        );
        // Cost from control.csv: the rows taken in the measurement window, one interval each.
        // (unix_time has millisecond resolution; a row is never taken before its tick.)
        let in_window: Vec<_> =
            control.iter().filter(|r| t(r) >= from - 0.001 && t(r) < to).collect();
        let replica_seconds: f64 = in_window.iter().map(|r| num(r, "applied_replicas")).sum();
        assert!(
            close(p["replica_seconds"].as_f64().unwrap(), replica_seconds, 1e-6),
            "{name}: {} vs {replica_seconds}",
            p["replica_seconds"]
        );
        let cpu_seconds: f64 =
            in_window.iter().map(|r| num(r, "cpu_millicores") * num(r, "pod_count") / 1000.0).sum();
        // cpu_millicores is printed with two decimals.
        let tolerance = 0.0001 * in_window.len() as f64 * 6.0;
        assert!(
            close(p["cpu_seconds"].as_f64().unwrap(), cpu_seconds, tolerance),
            "{name}: {} vs {cpu_seconds}",
            p["cpu_seconds"]
        );
        let (pstart, pend) = (p["start_s"].as_f64().unwrap(), p["end_s"].as_f64().unwrap());
        let scalings = events
            .iter()
            .filter(|e| e["kind"] == "scale")
            .filter(|e| (pstart..pend).contains(&(e["time"].as_f64().unwrap() - start)))
            .count();
        assert_eq!(p["scaling_actions"].as_u64().unwrap() as usize, scalings, "{name}");
    }
    assert_eq!(phases[0]["scaling_actions"], 0);
    assert!(phases[1]["scaling_actions"].as_u64().unwrap() >= 2, "up and down");
    // seconds.csv and the Locust history count the same requests, second by second.
    let aggregated: Vec<_> = history.iter().filter(|r| r["Name"] == "Aggregated").collect();
    assert_eq!(aggregated.len(), seconds.len());
    for (h, s) in aggregated.iter().zip(&seconds) {
        assert_eq!(num(h, "Timestamp"), num(s, "unix_time"));
        assert_eq!(num(h, "Requests/s"), num(s, "requests"));
    }
    let total: f64 = seconds.iter().map(|r| num(r, "requests")).sum();
    assert_eq!(num(aggregated.last().unwrap(), "Total Request Count"), total);
    assert!(measured_total < total, "stabilisation seconds are not measured");

    // The report: self-contained, five charts, and it renders.
    let html = read("report.html");
    assert_eq!(html.matches("<svg").count(), 5, "load, latency, replicas, CPU, memory");
    assert!(html.contains("SLO p95 150ms") && html.contains("<polyline"));
    assert!(!html.contains("<script") && !html.contains("src=\"http"));
    screenshot_is_not_blank(&dir, &run.join("report.html"));
}

/// Renders the report in headless Chromium and decodes the screenshot: the page is not one
/// colour, and the charts' lines are drawn (the achieved-load line and the first deployment's
/// lines are blue, a colour nothing else on the page uses beyond the small legend swatches).
/// The browser's DOM holds the charts too. Skipped when Chromium is missing, unless
/// CTL_REQUIRE_CHROMIUM=1.
fn screenshot_is_not_blank(dir: &Dir, report: &Path) {
    let Some(chromium) = ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }) else {
        assert!(
            std::env::var("CTL_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
            "chromium is required (CTL_REQUIRE_CHROMIUM=1) but missing"
        );
        eprintln!("notice: chromium not found; skipping the report screenshot check");
        return;
    };
    let png = dir.join("report.png");
    // Its own profile in the scratch directory: nothing is written under $HOME.
    let profile = format!("--user-data-dir={}", dir.join("chromium-profile").display());
    let shot = output_within(
        Command::new(chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
            .arg(&profile)
            .arg(format!("--screenshot={}", png.display()))
            .args(["--window-size=1200,2400", "--force-device-scale-factor=1"])
            .arg(format!("file://{}", report.display())),
        CHROMIUM_LIMIT,
    );
    assert!(shot.status.success(), "{}", String::from_utf8_lossy(&shot.stderr));
    let (width, height, pixels) = rgb_pixels(&std::fs::read(&png).unwrap());
    assert_eq!((width, height), (1200, 2400));
    let colours: std::collections::BTreeSet<[u8; 3]> = pixels.iter().copied().collect();
    assert!(colours.len() > 20, "the screenshot has {} colour(s)", colours.len());
    // #2563eb, give or take anti-aliasing.
    let near = |p: &[u8; 3], c: [u8; 3]| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) <= 24);
    let blue = pixels.iter().filter(|p| near(p, [0x25, 0x63, 0xeb])).count();
    // One line across the load chart alone is ~1000 px; four 14x3 legend swatches are 168.
    assert!(blue > 800, "only {blue} blue pixels: the charts' lines are not drawn");
    let dom = output_within(
        Command::new(chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
            .arg(&profile)
            .arg(format!("file://{}", report.display())),
        CHROMIUM_LIMIT,
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.matches("<polyline").count() >= 8, "the browser's DOM lacks the charts");
}

/// A PNG's size and its pixels as RGB (alpha dropped, 8 bits per channel).
fn rgb_pixels(bytes: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "expected an RGB screenshot, found {:?}", info.color_type);
    let pixels =
        buf[..info.buffer_size()].chunks_exact(channels).map(|p| [p[0], p[1], p[2]]).collect();
    (info.width, info.height, pixels)
}

/// `ctl serve` on the test topology in the background: (child, kubeconfig, app URL).
fn serve(dir: &Dir) -> (Guard, PathBuf, String) {
    let kubeconfig = dir.join("kubeconfig.yaml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctl"))
        .args([
            "serve",
            "--topology",
            "tests/fixtures/scenarios/step-topology.yaml",
            "--kubeconfig-out",
        ])
        .arg(&kubeconfig)
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Guard(child);
    // Read on a thread so that a silent `ctl serve` fails the test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let last = line.starts_with("kubeconfig:");
            if tx.send(line).is_err() || last {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut app = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).expect("ctl serve printed its 5 lines in time");
        if let Some(url) = line.strip_prefix("app: ") {
            app = Some(url.to_string());
        }
        if line.starts_with("kubeconfig:") {
            break;
        }
    }
    (child, kubeconfig, app.expect("ctl serve printed its app URL"))
}

fn sigint(pid: u32) {
    assert!(Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap().success());
}

/// Asks every pod of the cluster for a sweep of all ctl stressors; the number killed.
fn leftover_stressors(kubeconfig: &Path) -> u32 {
    use ctl::cluster::{deployments, exec};
    use k8s_openapi::api::core::v1::Pod;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let conn = ctl::cluster::connect(Some(kubeconfig), None).await.unwrap();
        let api: kube::Api<Pod> = kube::Api::namespaced(conn.client.clone(), &conn.namespace);
        let pods = deployments::list_pods(&conn, &conn.namespace, "app=api").await.unwrap();
        assert!(!pods.is_empty());
        let mut killed = 0;
        for pod in pods {
            let script = ctl::stress::script::command(ctl::stress::script::sweep(None));
            let out = exec::run(&api, &pod.observation.name, None, script, Duration::from_secs(10))
                .await
                .unwrap();
            killed += out
                .stdout
                .trim()
                .strip_prefix("killed ")
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap();
        }
        killed
    })
}

#[cfg(unix)]
#[test]
fn ctrl_c_mid_campaign_stops_the_stressor_and_writes_every_file_as_interrupted() {
    let dir = Dir::new("campaign-sigint");
    let (mut server, kubeconfig, app) = serve(&dir);
    let scenario = dir.write(
        "stress.yaml",
        &format!(
            "label: sigint\n\
             target:\n  kubeconfig: {kubeconfig}\n  host: {app}\n\
             load:\n  shape: const:3\n  timeout: 5s\n\
             stress:\n  - name: burn\n    kind: cpu\n    selector: deployment/api\n    workers: 1\n    load: 50\n    start: 1s\n    refresh: 1s\n\
             control:\n  deployments: [api]\n  policy: hpa\n  mode: observe\n  interval: 1s\n\
             phases:\n  - name: run\n    stabilisation: 2s\n    measurement: 58s\n",
            kubeconfig = kubeconfig.display()
        ),
    );
    let runs = dir.join("runs");
    let mut child = Guard(
        Command::new(env!("CARGO_BIN_EXE_ctl"))
            .args(["campaign", scenario.to_str().unwrap(), "--runs", runs.to_str().unwrap()])
            .arg("--quiet")
            .current_dir(&dir.path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Wait until the stressor runs in the pod, then interrupt the campaign.
    let deadline = Instant::now() + Duration::from_secs(30);
    let events = || {
        std::fs::read_dir(&runs)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| std::fs::read_to_string(e.ok()?.path().join("events.jsonl")).ok())
            .unwrap_or_default()
    };
    while !events().contains("stressor running") {
        assert!(Instant::now() < deadline, "the stressor never started: {}", events());
        std::thread::sleep(Duration::from_millis(100));
    }
    sigint(child.0.id());
    let status = child.wait_within(Duration::from_secs(30));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let run = run_folder(&runs);
    let read =
        |f: &str| std::fs::read_to_string(run.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let summary: serde_json::Value = serde_json::from_str(&read("summary.json")).unwrap();
    assert_eq!(summary["status"], "interrupted");
    assert_eq!(summary["phases"][0]["status"], "interrupted");
    assert!(summary["duration_s"].as_f64().unwrap() < 40.0);
    let events = read("events.jsonl");
    for line in events.lines().chain(read("anomalies.jsonl").lines()) {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    assert!(events.contains("\"kind\":\"stress_stop\""), "{events}");
    assert!(events.contains("campaign interrupted"), "{events}");
    assert!(!parse_csv(&read("control.csv")).is_empty());
    assert!(!parse_csv(&read("seconds.csv")).is_empty());
    assert!(parse_csv(&read("locust_stats.csv")).iter().any(|r| r["Name"] == "Aggregated"));
    assert!(read("report.html").contains("badge interrupted"));
    // From outside, after ctl has exited: no stressor is left in any pod.
    assert_eq!(leftover_stressors(&kubeconfig), 0);
    sigint(server.0.id());
    server.wait_within(Duration::from_secs(15));
}

#[test]
fn a_failed_slo_is_exit_1_only_when_the_scenario_asks_for_it() {
    let dir = Dir::new("campaign-slo");
    // 20 ms of CPU per request: a 1 ms p95 fails every second with requests.
    let scenario = |fail_run: bool| {
        format!(
            "label: slo-{fail_run}\n\
             target:\n  embedded: tests/fixtures/scenarios/step-topology.yaml\n\
             load:\n  shape: const:4\n  model: rate\n\
             slo:\n  latency: 1ms\n  fail_run: {fail_run}\n  max_violation: 0.5\n\
             phases:\n  - name: only\n    control: false\n    stabilisation: 0s\n    measurement: 3s\n"
        )
    };
    let runs = dir.join("runs");
    let threads: Vec<_> = [true, false]
        .into_iter()
        .map(|fail_run| {
            let path = dir.write(&format!("slo-{fail_run}.yaml"), &scenario(fail_run));
            let runs = runs.clone();
            std::thread::spawn(move || {
                let out = ctl_at_repo(&[
                    "campaign",
                    path.to_str().unwrap(),
                    "--runs",
                    runs.to_str().unwrap(),
                    "--quiet",
                ]);
                (fail_run, out)
            })
        })
        .collect();
    for t in threads {
        let (fail_run, out) = t.join().unwrap();
        assert_code(&out, if fail_run { 1 } else { 0 });
    }
    for entry in std::fs::read_dir(&runs).unwrap() {
        let run = entry.unwrap().path();
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap())
                .unwrap();
        let phase = &summary["phases"][0];
        assert_eq!(phase["slo_met"], false, "{summary}");
        assert!(phase["slo_violation_share"].as_f64().unwrap() > 0.5, "{summary}");
        assert_eq!(summary["slo_failed"], summary["slo"]["fail_run"]);
    }
}
