//! `ctl hpa` end to end: the binary on kubectl-shaped fixtures in `tests/fixtures/hpa/`.

#[allow(dead_code)]
mod util;

use serde_json::Value;
use util::*;

const NOW: &str = "2024-05-01T12:00:00Z";

fn fixture(name: &str) -> String {
    repo().join("tests/fixtures/hpa").join(name).display().to_string()
}

/// Runs `ctl hpa` and returns its JSON report.
fn hpa(dir: &Dir, hpa: &str, pods: &str, metrics: &str, extra: &[&str]) -> Value {
    let (h, p, m) = (fixture(hpa), fixture(pods), fixture(metrics));
    let mut args = vec!["hpa", "--hpa", &h, "--pods", &p, "--metrics", &m, "--now", NOW];
    args.extend_from_slice(extra);
    let o = ctl(&dir.path, &args);
    assert_code(&o, 0);
    serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

fn reason(report: &Value, kind: &str) -> String {
    report["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == kind)
        .map(|c| c["reason"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn three_pods_at_20_percent_propose_2_and_history_decides_what_is_applied() {
    let dir = Dir::new("hpa-example-1");
    // A fresh controller remembers the current 3 and holds the scale-down for 300 s.
    let r = hpa(&dir, "hpa-cpu30.yaml", "pods-3.json", "metrics-3x200m.json", &[]);
    let m = &r["metrics"][0];
    assert_eq!(
        (m["currentAverageUtilization"].as_i64(), m["proposedReplicas"].as_i64()),
        (Some(20), Some(2))
    );
    assert_eq!(m["currentAverageValue"], "200m");
    assert_eq!(r["desiredReplicas"], 3);
    assert_eq!(reason(&r, "AbleToScale"), "ScaleDownStabilized");
    assert!(r["explanation"].as_str().unwrap().contains("proposes 2"));
    // With only an old recommendation in the history, 2 is applied.
    let old = fixture("history-old.json");
    let r = hpa(&dir, "hpa-cpu30.yaml", "pods-3.json", "metrics-3x200m.json", &["--history", &old]);
    assert_eq!((r["desiredReplicas"].as_i64(), r["rescale"].as_bool()), (Some(2), Some(true)));
    assert_eq!(reason(&r, "AbleToScale"), "SucceededRescale");
}

#[test]
fn a_never_ready_pod_counts_at_zero_in_the_rebalanced_scale_up() {
    let dir = Dir::new("hpa-example-2");
    let r = hpa(
        &dir,
        "hpa-cpu50.yaml",
        "pods-4-one-never-ready.json",
        "metrics-4.json",
        &["--explain"],
    );
    let m = &r["metrics"][0];
    assert_eq!(m["currentAverageUtilization"], 100);
    assert_eq!(m["pods"]["unready"], 1);
    assert!(m["rule"].as_str().unwrap().starts_with("rebalanced"), "{m}");
    assert_eq!(m["proposedReplicas"], 6);
    assert_eq!(r["desiredReplicas"], 6);
    let groups = &r["podGroups"]["cpu resource utilization (percentage of request)"];
    assert_eq!(groups["unready"], serde_json::json!(["web-3"]));
}

#[test]
fn exactly_110_percent_with_tolerance_0_1_does_not_scale() {
    let dir = Dir::new("hpa-example-3");
    let r = hpa(&dir, "hpa-cpu100.yaml", "pods-3.json", "metrics-3x1100m.json", &[]);
    assert_eq!(r["metrics"][0]["currentAverageUtilization"], 110);
    assert_eq!((r["desiredReplicas"].as_i64(), r["rescale"].as_bool()), (Some(3), Some(false)));
    assert!(r["metrics"][0]["rule"].as_str().unwrap().contains("within tolerance"));
}

#[test]
fn history_out_chains_calls() {
    let dir = Dir::new("hpa-chain");
    let h1 = dir.join("h1.json").display().to_string();
    let h2 = dir.join("h2.json").display().to_string();
    // Behavior path: 60 s scale-down window, at most 1 pod per 60 s.
    let r = hpa(
        &dir,
        "hpa-cpu30-behavior.yaml",
        "pods-3.json",
        "metrics-3x200m.json",
        &["--history-out", &h1],
    );
    assert_eq!(r["desiredReplicas"], 3, "the fresh controller's memory of 3 holds for 60 s");
    let saved: Value = serde_json::from_str(&dir.read("h1.json")).unwrap();
    assert_eq!(saved["recommendations"].as_array().unwrap().len(), 2);
    // 61 s later the old recommendations have expired: 3 -> 2, and the event is recorded.
    let (h, p, m) = (
        fixture("hpa-cpu30-behavior.yaml"),
        fixture("pods-3.json"),
        fixture("metrics-3x200m.json"),
    );
    let args = [
        "hpa",
        "--hpa",
        &h,
        "--pods",
        &p,
        "--metrics",
        &m,
        "--now",
        "2024-05-01T12:01:01Z",
        "--history",
        &h1,
        "--history-out",
        &h2,
    ];
    let o = ctl(&dir.path, &args);
    assert_code(&o, 0);
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["desiredReplicas"], 2, "{r}");
    let saved: Value = serde_json::from_str(&dir.read("h2.json")).unwrap();
    assert_eq!(saved["scaleDownEvents"][0]["change"], 1);
    assert_eq!(saved["scaleDownEvents"][0]["timestamp"], "2024-05-01T12:01:01Z");
}

#[test]
fn bad_input_exits_2_naming_the_file_and_field() {
    let dir = Dir::new("hpa-bad");
    let (h, p, m) =
        (fixture("bad-hpa.yaml"), fixture("pods-3.json"), fixture("metrics-3x200m.json"));
    let o = ctl(&dir.path, &["hpa", "--hpa", &h, "--pods", &p, "--metrics", &m, "--now", NOW]);
    assert_code(&o, 2);
    let e = stderr(&o);
    assert!(e.contains("bad-hpa.yaml: spec.metrics[0].resource.target.averageUtilization"), "{e}");
    assert!(e.contains("expected an integer"), "{e}");
    // A missing file and a bad --now are input errors too.
    let o = ctl(&dir.path, &["hpa", "--hpa", "nope.yaml", "--pods", &p, "--metrics", &m]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("nope.yaml"), "{}", stderr(&o));
    let h = fixture("hpa-cpu30.yaml");
    let o =
        ctl(&dir.path, &["hpa", "--hpa", &h, "--pods", &p, "--metrics", &m, "--now", "yesterday"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("--now"), "{}", stderr(&o));
}
