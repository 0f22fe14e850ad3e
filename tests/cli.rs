//! Integration tests: drive the real `ctl` binary against the embedded target (loopback only,
//! runs of a few seconds).

mod util;

use util::*;

const STATS_HEADER: &str = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";
const HISTORY_HEADER: &str = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size";
const FAILURES_HEADER: &str = "Method,Name,Error,Occurrences,First Seen,Last Seen";
const EXCEPTIONS_HEADER: &str = "Count,Message,Traceback,Nodes";

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

/// Each golden table was computed by the original Python algorithms (numpy, pandas) in
/// `tests/golden/gen_shapes.py`; `ctl shape show` must reproduce it line for line.
#[test]
fn shape_show_reproduces_the_original_locust_and_weibull_schedules() {
    let dir = Dir::new("shape-show");
    let weibull = "weibull:k=1,mean=150,min=100,max=1000,dt=20s,ls_y=500,seed=42";
    let weibull_main = "weibull:k=2,mean=1200,min=2000,max=6000,dt=60s,ls_y=2000,seed=42";
    let cases: &[(&str, &[&str])] = &[
        // Bare trace names resolve to the traces shipped in the binary, from any directory.
        (
            "locust_sin400_a19_s1_d800.csv",
            &["sin400.csv", "--locust-compat", "--amplitude", "19", "--shift", "1", "-d", "800s"],
        ),
        (
            "locust_sin400_a19_s1_d1000_fit.csv",
            &[
                "sin400.csv",
                "--locust-compat",
                "--amplitude",
                "19",
                "--shift",
                "1",
                "--fit",
                "-d",
                "1000s",
            ],
        ),
        (
            "locust_twitter_a100_s5_d600.csv",
            &["twitter.csv", "--locust-compat", "--amplitude", "100", "--shift", "5", "-d", "600s"],
        ),
        ("weibull_defaults_d3600.csv", &[weibull, "-d", "3600s", "--step", "1s"]),
        ("weibull_main_d10800.csv", &[weibull_main, "-d", "3h"]),
    ];
    for (golden, args) in cases {
        let mut full = vec!["shape", "show"];
        full.extend_from_slice(args);
        let o = ctl(&dir.path, &full);
        assert_code(&o, 0);
        let expected = std::fs::read_to_string(repo().join("tests/golden").join(golden)).unwrap();
        assert!(
            stdout(&o) == expected.replace("\r\n", "\n"),
            "{golden}: ctl shape show {args:?} differs"
        );
    }
}

#[test]
fn rate_model_sends_every_scheduled_arrival_and_writes_locust_csvs() {
    let dir = Dir::new("rate");
    let prefix = dir.join("run");
    let json = dir.join("summary.json");
    let hdr = dir.join("spectrum.txt");
    let html = dir.join("report.html");
    let o = ctl(
        &dir.path,
        &[
            "load",
            "--shape",
            "const:200",
            "--model",
            "rate",
            "-t",
            "3s",
            "--quiet",
            "--csv",
            prefix.to_str().unwrap(),
            "--csv-full-history",
            "--json",
            json.to_str().unwrap(),
            "--hdr",
            hdr.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    let stats = dir.read("run_stats.csv");
    assert_eq!(stats.lines().next().unwrap(), STATS_HEADER);
    assert_eq!(dir.read("run_stats_history.csv").lines().next().unwrap(), HISTORY_HEADER);
    assert_eq!(dir.read("run_failures.csv").lines().next().unwrap(), FAILURES_HEADER);
    assert_eq!(dir.read("run_exceptions.csv").lines().next().unwrap(), EXCEPTIONS_HEADER);

    let (header, rows) = csv(&stats);
    let aggregated = rows.iter().find(|r| r[1] == "Aggregated").expect("Aggregated row");
    let count: u64 = aggregated[col(&header, "Request Count")].parse().unwrap();
    let failures: u64 = aggregated[col(&header, "Failure Count")].parse().unwrap();
    assert_eq!(failures, 0);

    // Uniform arrivals at 200/s for 3 s: 600 intended sends, and every one was sent.
    let summary: serde_json::Value = serde_json::from_str(&dir.read("summary.json")).unwrap();
    let scheduled = summary["scheduled"].as_u64().expect("scheduled in summary");
    assert!((599..=601).contains(&scheduled), "scheduled {scheduled}");
    // Every arrival is accounted for: sent, or (on a loaded machine, at the very end) unsent.
    let unsent = summary["unsent"].as_u64().expect("unsent in summary");
    assert_eq!(count + unsent, scheduled, "requests + unsent vs scheduled arrivals");
    assert!(unsent <= 20, "unsent {unsent}");
    assert_eq!(summary["status"], "completed");

    let spectrum = dir.read("spectrum.txt");
    assert!(spectrum.contains("Percentile") && spectrum.contains("Total count"), "{spectrum}");
    assert!(dir.read("report.html").contains("<svg"));
}

#[test]
fn users_model_holds_the_shape_user_count() {
    let dir = Dir::new("users");
    let prefix = dir.join("u");
    let o = ctl(
        &dir.path,
        &[
            "load",
            "--shape",
            "const:5",
            "--model",
            "users",
            "--think-time",
            "0.1",
            "-t",
            "3s",
            "--quiet",
            "--csv",
            prefix.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    let (header, rows) = csv(&dir.read("u_stats_history.csv"));
    let users = col(&header, "User Count");
    assert!(rows.len() >= 3, "{rows:?}");
    for r in &rows {
        assert_eq!(r[users], "5", "{r:?}");
    }
    let (header, rows) = csv(&dir.read("u_stats.csv"));
    let count: u64 = rows.last().unwrap()[col(&header, "Request Count")].parse().unwrap();
    // Each of 5 users sends at most once per 0.1 s think time: at most 5 * (3 / 0.1 + 1).
    assert!(count > 0 && count <= 155, "count {count}");
}

#[test]
fn pandas_reads_the_csvs_with_locust_headers() {
    let has_pandas = std::process::Command::new("python3")
        .args(["-c", "import pandas"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_pandas {
        assert!(std::env::var_os("CTL_REQUIRE_PANDAS").is_none(), "pandas is required in CI");
        eprintln!("skipping: python3 with pandas is not installed");
        return;
    }
    let dir = Dir::new("pandas");
    let prefix = dir.join("p");
    let o = ctl(
        &dir.path,
        &[
            "load",
            "--shape",
            "const:50",
            "-t",
            "2s",
            "--quiet",
            "--workload",
            "hotel-reservation.yaml",
            "--csv",
            prefix.to_str().unwrap(),
            "--csv-full-history",
        ],
    );
    assert_code(&o, 0);
    let script = format!(
        "import pandas as pd\np='{}'\ns=pd.read_csv(p+'_stats.csv'); h=pd.read_csv(p+'_stats_history.csv'); f=pd.read_csv(p+'_failures.csv'); e=pd.read_csv(p+'_exceptions.csv')\nassert list(s.columns)[:4]==['Type','Name','Request Count','Failure Count'], s.columns\nassert 'Aggregated' in set(s['Name'])\nassert int(s[s['Name']=='Aggregated']['Request Count'].iloc[0]) == int(s[s['Name']!='Aggregated']['Request Count'].sum())\nassert set(s['Name']) - {{'Aggregated'}} <= {{'/hotels','/recommendations','/reservation','/user'}}, set(s['Name'])\nassert list(f.columns)==['Method','Name','Error','Occurrences','First Seen','Last Seen']\nassert 'Total Request Count' in h.columns\nprint(len(s), len(h))",
        prefix.display()
    );
    let out = std::process::Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn unreachable_target_counts_errors_and_the_run_goes_on() {
    let dir = Dir::new("unreachable");
    let prefix = dir.join("x");
    // Port 1 on loopback: nothing listens there, connections are refused.
    let o = ctl(
        &dir.path,
        &[
            "load",
            "--shape",
            "const:20",
            "--model",
            "rate",
            "-t",
            "2s",
            "--quiet",
            "-H",
            "http://127.0.0.1:1",
            "--csv",
            prefix.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    let (header, rows) = csv(&dir.read("x_failures.csv"));
    assert!(!rows.is_empty());
    let occurrences: u64 =
        rows.iter().map(|r| r[col(&header, "Occurrences")].parse::<u64>().unwrap()).sum();
    assert!(occurrences >= 39, "occurrences {occurrences}");
    assert!(dir.read("x_failures.csv").contains("connection"), "{}", dir.read("x_failures.csv"));
}

#[test]
fn thresholds_decide_the_exit_code() {
    let dir = Dir::new("thresholds");
    let o = ctl(
        &dir.path,
        &[
            "load",
            "--shape",
            "const:20",
            "--model",
            "rate",
            "-t",
            "1s",
            "--quiet",
            "--threshold",
            "error_rate<1%",
        ],
    );
    assert_code(&o, 0);
    // No HTTP round trip on loopback takes under a microsecond.
    let o = ctl(
        &dir.path,
        &[
            "load",
            "--shape",
            "const:20",
            "--model",
            "rate",
            "-t",
            "1s",
            "--quiet",
            "--threshold",
            "max<1us",
        ],
    );
    assert_code(&o, 1);
}

#[test]
fn bad_input_exits_2_naming_file_line_and_column() {
    let dir = Dir::new("bad-input");
    dir.write("bad.csv", "10\n20\nabc\n");
    let o = ctl(&dir.path, &["load", "--shape", "bad.csv", "-t", "1s", "--quiet"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("bad.csv:3:1"), "{}", stderr(&o));

    dir.write("empty.csv", "");
    let o = ctl(&dir.path, &["shape", "show", "empty.csv", "-d", "5s"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("empty.csv"), "{}", stderr(&o));

    dir.write("w.yaml", "requests:\n  - path: /\n    wieght: 3\n");
    let o = ctl(
        &dir.path,
        &["load", "--shape", "const:1", "-t", "1s", "--workload", "w.yaml", "--quiet"],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("w.yaml:3:5") && stderr(&o).contains("wieght"), "{}", stderr(&o));

    let o = ctl(&dir.path, &["load", "--shape", "sin:min=10,max=x,period=400s", "-t", "1s"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("column"), "{}", stderr(&o));

    let o = ctl(&dir.path, &["load", "--shape", "const:1", "-t", "1s", "--threshold", "p95<abc"]);
    assert_code(&o, 2);

    let o = ctl(&dir.path, &["load", "--shape", "const:1", "-t", "soon"]);
    assert_code(&o, 2);
    let o = ctl(&dir.path, &["load"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("--shape"), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_load_and_still_writes_every_file() {
    let dir = Dir::new("sigint");
    let prefix = dir.join("i");
    let json = dir.join("i.json");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_ctl"))
        .args([
            "load",
            "--shape",
            "const:50",
            "--model",
            "rate",
            "-t",
            "60s",
            "--quiet",
            "--csv",
            prefix.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ])
        .current_dir(&dir.path)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run is publishing seconds, then interrupt it.
    let history = dir.join("i_stats_history.csv");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::read_to_string(&history).map_or(0, |t| t.lines().count()) < 2 {
        assert!(std::time::Instant::now() < deadline, "the run never published a second");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    assert_code(&out, 0);
    let summary: serde_json::Value = serde_json::from_str(&dir.read("i.json")).unwrap();
    assert_eq!(summary["status"], "interrupted");
    assert!(summary["requests"].as_u64().unwrap() > 0);
    assert!(dir.read("i_stats.csv").contains("Aggregated"));
}

#[test]
fn a_saturated_pool_counts_every_arrival_as_sent_or_unsent() {
    let dir = Dir::new("saturated");
    let json = dir.join("s.json");
    // One worker cannot keep up with 20,000 arrivals per second: arrivals queue, are sent
    // late, and those still waiting at the end are reported, never dropped.
    let o = ctl(
        &dir.path,
        &[
            "load",
            "--shape",
            "const:20000",
            "--model",
            "rate",
            "--max-in-flight",
            "1",
            "-t",
            "2s",
            "--quiet",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_code(&o, 0);
    let s: serde_json::Value = serde_json::from_str(&dir.read("s.json")).unwrap();
    let (requests, scheduled, unsent) = (
        s["requests"].as_u64().unwrap(),
        s["scheduled"].as_u64().unwrap(),
        s["unsent"].as_u64().unwrap(),
    );
    assert!((39_999..=40_001).contains(&scheduled), "scheduled {scheduled}");
    assert_eq!(requests + unsent, scheduled, "requests {requests} + unsent {unsent}");
    assert!(s["late"].as_u64().unwrap() > 0);
}

#[test]
fn users_leave_their_think_time_when_the_run_stops() {
    let dir = Dir::new("think-stop");
    let started = std::time::Instant::now();
    // Every user sends once, then would think for 30 s: the stop must not wait for that.
    let o = ctl(
        &dir.path,
        &[
            "load",
            "--shape",
            "const:3",
            "--model",
            "users",
            "--think-time",
            "between:30,31",
            "-t",
            "1s",
            "--quiet",
        ],
    );
    assert_code(&o, 0);
    let elapsed = started.elapsed();
    assert!(elapsed < std::time::Duration::from_secs(15), "took {elapsed:?}");
}

#[test]
fn unusable_outputs_and_threshold_scopes_are_refused_before_the_run() {
    let dir = Dir::new("early-refusal");
    // A directory cannot be a JSON file: refused at once (exit 2), no load is sent.
    std::fs::create_dir_all(dir.join("adir")).unwrap();
    let o =
        ctl(&dir.path, &["load", "--shape", "const:5", "-t", "30s", "--json", "adir", "--quiet"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("adir"), "{}", stderr(&o));
    // A threshold scoped to a request the workload does not have.
    let o =
        ctl(&dir.path, &["load", "--shape", "const:5", "-t", "30s", "--threshold", "/nope:p95<1s"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("GET /"), "{}", stderr(&o));
}
