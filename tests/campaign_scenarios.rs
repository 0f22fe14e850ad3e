//! `ctl campaign` on scenario files without running them: errors are exit 2 with
//! FILE:LINE:COLUMN and the key, unknown keys are rejected, `--dry-run` prints the resolved
//! scenario and its timeline, and every shipped scenario is valid.

// Each test binary uses only part of the shared harness.
#[allow(dead_code)]
mod util;

use util::{CTL_LIMIT, Dir, assert_code, output_within, repo, stderr, stdout};

/// `ctl` run from the repository root (scenarios name files relative to it).
fn ctl_at_repo(args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ctl"));
    output_within(command.args(args).current_dir(repo()), CTL_LIMIT)
}

/// Writes `text` as a scenario and returns ctl's stderr, asserting exit 2.
fn invalid(dir: &Dir, name: &str, text: &str) -> String {
    let path = dir.write(name, text);
    let out = ctl_at_repo(&["campaign", path.to_str().unwrap(), "--dry-run"]);
    assert_code(&out, 2);
    stderr(&out)
}

const VALID: &str = "\
label: ok
target:
  embedded: webapp
load:
  shape: const:5
control:
  deployments: [webapp]
  policy: hpa
phases:
  - name: baseline
    control: false
    measurement: 30s
  - name: adaptation
    measurement: 30s
";

#[test]
fn scenario_errors_exit_2_naming_file_line_and_column() {
    let dir = Dir::new("campaign-errors");
    // The valid base passes, so each case below fails for its own reason only.
    let ok = dir.write("ok.yaml", VALID);
    assert_code(&ctl_at_repo(&["campaign", ok.to_str().unwrap(), "--dry-run"]), 0);
    let cases: [(&str, &str, &str); 11] = [
        // Unknown key (serde's own location).
        (
            "load:\n  shape: const:5\n",
            "load:\n  shape: const:5\n  shap: x\n",
            ":6:3: load: unknown field `shap`",
        ),
        // A malformed duration.
        (
            "    measurement: 30s\n  - name: adaptation",
            "    measurement: 30 parsecs\n  - name: adaptation",
            ":12:18: phases[0].measurement: expected a duration like 30s",
        ),
        // The shape grammar (checked after parsing; placed on the key).
        ("shape: const:5", "shape: sin:min=1", ":5:3: load.shape: --shape 'sin:min=1'"),
        // A stress window outside its phase.
        (
            "phases:\n",
            "stress:\n  - kind: cpu\n    selector: app=webapp\n    start: 10s\n    stop: 90s\nphases:\n",
            ":13:5: stress[0].stop: expected a time after start",
        ),
        // A control phase without a controller.
        (
            "control:\n  deployments: [webapp]\n  policy: hpa\n",
            "",
            ":10:5: phases[1].control: the phase acts, but the scenario has no control section",
        ),
        // A deployment the topology does not have.
        (
            "deployments: [webapp]",
            "deployments: [nginx]",
            ":7:3: control.deployments[0]: topology webapp has no deployment 'nginx'",
        ),
        // Both targets.
        (
            "  embedded: webapp\n",
            "  embedded: webapp\n  kubeconfig: k.yaml\n",
            ":4:3: target.kubeconfig: give either embedded or kubeconfig",
        ),
        // Memory stress fields on a CPU stressor.
        (
            "phases:\n",
            "stress:\n  - kind: cpu\n    selector: app=webapp\n    mb: 10\n    start: 1s\nphases:\n",
            ":12:5: stress[0].mb: does not apply to cpu stress",
        ),
        // An empty container name (it stressed nothing, silently).
        (
            "phases:\n",
            "stress:\n  - kind: cpu\n    selector: app=webapp\n    container: ''\n    start: 1s\nphases:\n",
            ":12:5: stress[0].container: expected a container name",
        ),
        // A policy that scales on requests with a source that has none (metrics-server).
        ("policy: hpa", "policy: kpa", ":6:1: control: the kpa policy needs request metrics"),
        // A file the controller reads is checked by --dry-run, placed on its key.
        ("policy: hpa\n", "policy: hpa\n  hpa: Cargo.toml\n", ":9:3: control.hpa: Cargo.toml: "),
    ];
    for (i, (from, to, expected)) in cases.iter().enumerate() {
        assert!(VALID.contains(from), "case {i}");
        let name = format!("bad{i}.yaml");
        let err = invalid(&dir, &name, &VALID.replacen(from, to, 1));
        let path = dir.join(&name);
        assert!(err.contains(&format!("{}{expected}", path.display())), "case {i}: {err}");
    }
    let missing = util::ctl(&dir.path, &["campaign", "no/such/scenario.yaml"]);
    assert_code(&missing, 2);
    assert!(stderr(&missing).contains("no/such/scenario.yaml"));
}

#[test]
fn dry_run_prints_the_resolved_scenario_and_the_timeline() {
    let dir = Dir::new("campaign-dry");
    let text = VALID.replace(
        "phases:\n",
        "stress:\n  - name: burn\n    kind: cpu\n    selector: app=webapp\n    workers: 2\n    start: 10s\n    stop: 20s\n  - kind: memory\n    selector: deployment/webapp\n    mb: 50\n    start: 25s\n    phases: [adaptation]\nwindows:\n  stabilisation: 5s\nphases:\n",
    );
    let path = dir.write("dry.yaml", &text);
    let out = ctl_at_repo(&[
        "campaign",
        path.to_str().unwrap(),
        "--dry-run",
        "--runs",
        dir.join("runs").to_str().unwrap(),
    ]);
    assert_code(&out, 0);
    let text = stdout(&out);
    // Resolved: defaults filled in, phase windows set.
    assert!(text.contains("interval: 15s") && text.contains("mode: act"), "{text}");
    assert!(text.contains("stabilisation: 5s\n  measurement: 30s"), "{text}");
    let timeline: Vec<&str> = text.lines().skip_while(|l| !l.starts_with("# timeline")).collect();
    assert_eq!(timeline[0], "# timeline (70s)");
    let expect = [
        "T+0:00  phase baseline starts: stabilisation 5s, controller observes (hpa)",
        "T+0:05  phase baseline: measurement 30s",
        "T+0:10  stress burn starts: cpu 2x100% on app=webapp",
        "T+0:20  stress burn stops",
        "T+0:35  phase adaptation starts: stabilisation 5s, controller acts (hpa)",
        "T+0:40  phase adaptation: measurement 30s",
        "T+0:45  stress burn starts: cpu 2x100% on app=webapp",
        "T+0:55  stress burn stops",
        "T+1:00  stress memory-2 starts: memory 50MiB shm on deployment/webapp",
        "T+1:10  stress memory-2 stops",
        "T+1:10  end of campaign",
    ];
    let lines: Vec<String> = timeline[1..].iter().map(|l| l.trim().to_string()).collect();
    assert_eq!(lines.len(), expect.len(), "{text}");
    for (line, want) in lines.iter().zip(expect) {
        assert_eq!(line, want, "{text}");
    }
    assert!(!dir.join("runs").exists(), "a dry run creates no run folder");
}

#[test]
fn shipped_scenarios_are_valid() {
    let mut n = 0;
    for entry in std::fs::read_dir(repo().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let rel = format!("scenarios/{}", path.file_name().unwrap().to_string_lossy());
            let out = ctl_at_repo(&["campaign", &rel, "--dry-run"]);
            assert_code(&out, 0);
            assert!(stdout(&out).contains("end of campaign"), "{rel}");
            n += 1;
        }
    }
    assert!(n >= 4, "quickstart, sin400-hpa-vs-predictive, weibull-kpa, cpu-stress-campaign");
}
