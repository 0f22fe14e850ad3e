//! `ctl model` end to end on seed 001's data (copied into `tests/fixtures/model/seed001/`, with
//! its published outputs in `golden/`), and the forecasters against statsmodels values
//! (`statsmodels_holt.json`, written by the dev-time `statsmodels_holt.py` beside it).

#[allow(dead_code)]
mod util;

use ctl::model::forecast::{Initial, Params, Shape, fit, smooth};
use serde_json::Value;
use util::*;

fn fixture(name: &str) -> String {
    repo().join("tests/fixtures/model").join(name).display().to_string()
}

/// The metric table CSV as (model, case) -> (mae, mape).
fn metrics(text: &str) -> Vec<(String, String, f64, f64)> {
    let (header, rows) = csv(text);
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let (m, c, mae, mape) = (col("model"), col("case"), col("mae"), col("mape"));
    rows.iter()
        .map(|r| (r[m].clone(), r[c].clone(), r[mae].parse().unwrap(), r[mape].parse().unwrap()))
        .collect()
}

fn find<'a>(
    rows: &'a [(String, String, f64, f64)],
    model: &str,
    case: &str,
) -> &'a (String, String, f64, f64) {
    rows.iter()
        .find(|r| r.0 == model && r.1 == case)
        .unwrap_or_else(|| panic!("{model} {case}: {rows:?}"))
}

#[test]
fn golden_case1_and_case2_of_seed_001() {
    let dir = Dir::new("model-golden");
    let data = fixture("seed001");
    let o = ctl(
        &dir.path,
        &[
            "model",
            "eval",
            "--data",
            &data,
            "--split",
            "users:4,7",
            "--simulate-users",
            "15",
            "--csv",
            "metrics.csv",
            "--predictions",
            "pred.csv",
        ],
    );
    assert_code(&o, 0);
    let ours = metrics(&dir.read("metrics.csv"));
    let theirs =
        metrics(&std::fs::read_to_string(fixture("golden/model_comparison_metrics.csv")).unwrap());
    for (case, golden_case) in [
        ("case1_users_4_7", "case1_users_4_7"),
        ("case2_simulated_user15_traffic_scale", "case2_simulated_user15_traffic_scale"),
    ] {
        let us = find(&ours, "linear_regression", case);
        let them = find(&theirs, "linear_regression", golden_case);
        let naive = find(&ours, "naive_persistence", case);
        eprintln!(
            "{case}: ours MAE {:.4} MAPE {:.2} % | seed 001 MAE {:.2} MAPE {:.2} % | naive MAE {:.4} MAPE {:.2} %",
            us.2, us.3, them.2, them.3, naive.2, naive.3
        );
        assert!((us.2 - them.2).abs() <= 0.01, "{case} MAE {} vs {}", us.2, them.2);
        assert!((us.3 - them.3).abs() <= 2.0, "{case} MAPE {} vs {}", us.3, them.3);
    }
    // The model beats persistence in case 1, by little (research: about 13 % in MAE).
    assert!(
        find(&ours, "linear_regression", "case1_users_4_7").2
            < find(&ours, "naive_persistence", "case1_users_4_7").2
    );

    // Row by row: every prediction within 0.01 of seed 001's (theirs are rounded to 0.01).
    let (gh, grows) =
        csv(&std::fs::read_to_string(fixture("golden/cpu_predictions_test.csv")).unwrap());
    let (ph, prows) = csv(&dir.read("pred.csv"));
    assert_eq!(prows.len(), grows.len());
    let g = |n: &str| gh.iter().position(|h| h == n).unwrap();
    let p = |n: &str| ph.iter().position(|h| h == n).unwrap();
    let key = |file: &str, ts: &str| format!("{file}@{ts}");
    let ours_by_key: std::collections::HashMap<String, &Vec<String>> =
        prows.iter().map(|r| (key(&r[p("source_file")], &r[p("timestamp")]), r)).collect();
    for row in &grows {
        let mine = ours_by_key[&key(&row[g("source_file")], &row[g("timestamp")])];
        for (golden_col, our_col) in [
            ("pred_case1_linear_regression", "pred_case1_users_4_7_linear_regression"),
            (
                "pred_case2_linear_regression",
                "pred_case2_simulated_user15_traffic_scale_linear_regression",
            ),
        ] {
            let (a, b): (f64, f64) =
                (row[g(golden_col)].parse().unwrap(), mine[p(our_col)].parse().unwrap());
            assert!((a - b).abs() <= 0.0051, "{row:?}: {golden_col} {a} vs {b}");
        }
    }
}

#[test]
fn train_then_eval_and_predict_with_the_model_file() {
    let dir = Dir::new("model-train");
    let data = fixture("seed001");
    let o = ctl(
        &dir.path,
        &["model", "train", "--data", &data, "--split", "users:4,7", "--out", "m.json"],
    );
    assert_code(&o, 0);
    let m: Value = serde_json::from_str(&dir.read("m.json")).unwrap();
    assert_eq!(m["train_rows"], 1416);
    assert_eq!(m["features"][3], "cpu_usage_lag_1");
    // research/anomaly-ml.md §1.5: essentially persistence plus a request-rate delta.
    let c = m["coefficients"].as_array().unwrap();
    assert!((c[3].as_f64().unwrap() - 1.03).abs() < 0.01, "{m}");
    assert!((c[0].as_f64().unwrap() - 0.154).abs() < 0.01, "{m}");

    let o = ctl(
        &dir.path,
        &["model", "eval", "--data", &data, "--model", "m.json", "--split", "users:4,7"],
    );
    assert_code(&o, 0);
    let table = stdout(&o);
    assert!(table.contains("linear_regression") && table.contains("naive_persistence"), "{table}");

    let one = format!("{data}/task1_4_1.csv");
    let o = ctl(&dir.path, &["model", "predict", "--data", &one, "--model", "m.json"]);
    assert_code(&o, 0);
    let (header, rows) = csv(&stdout(&o));
    assert_eq!(header, ["source_file", "timestamp", "cpu_usage", "predicted"]);
    assert_eq!(rows.len(), 19);
    // Second row: seed 001 predicted 1.20 for it.
    assert!((rows[1][3].parse::<f64>().unwrap() - 1.20).abs() <= 0.0051, "{rows:?}");
}

#[test]
fn a_model_for_other_features_is_refused_naming_both_lists() {
    let dir = Dir::new("model-features");
    let data = fixture("seed001");
    let o = ctl(
        &dir.path,
        &[
            "model",
            "train",
            "--data",
            &data,
            "--features",
            "request_rate,cpu_usage_lag_1",
            "--out",
            "m.json",
        ],
    );
    assert_code(&o, 0);
    let o = ctl(
        &dir.path,
        &["model", "eval", "--data", &data, "--model", "m.json", "--features", "request_rate"],
    );
    assert_code(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("m.json")
            && err.contains("[request_rate, cpu_usage_lag_1]")
            && err.contains("[request_rate]"),
        "{err}"
    );
}

#[test]
fn input_errors_exit_2_naming_file_and_column() {
    let dir = Dir::new("model-errors");
    dir.write("task1_1_1.csv", "timestamp,service,request_rate\n2026-01-01 00:00:00,task1,1.0\n");
    let o = ctl(&dir.path, &["model", "train", "--data", "task1_1_1.csv", "--out", "m.json"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("task1_1_1.csv: missing column 'cpu_usage'"), "{}", stderr(&o));

    dir.write("empty.csv", "timestamp,request_rate,cpu_usage\n");
    let o = ctl(&dir.path, &["model", "train", "--data", "empty.csv", "--out", "m.json"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("empty.csv: no data rows"), "{}", stderr(&o));

    dir.write("bad.csv", "timestamp,request_rate,cpu_usage\n2026-01-01 00:00:00,fast,1\n");
    let o = ctl(&dir.path, &["model", "train", "--data", "bad.csv", "--out", "m.json"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("bad.csv:2: column 'request_rate'"), "{}", stderr(&o));

    let o = ctl(&dir.path, &["model", "eval", "--data", "empty.csv", "--split", "random:0.2"]);
    assert_code(&o, 2);
}

#[test]
fn forecasters_walk_forward_and_predict() {
    let dir = Dir::new("model-forecast");
    // A Locust history as ctl load --csv writes it: a rising rate.
    let mut text = String::from("Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%\n");
    for i in 0..40 {
        text.push_str(&format!(
            "{},{},,Aggregated,{}.0,0,10,20\n",
            1_700_000_000 + i,
            1 + i / 10,
            10 + 2 * i
        ));
    }
    dir.write("run_stats_history.csv", &text);
    let o = ctl(
        &dir.path,
        &[
            "model",
            "eval",
            "--data",
            "run_stats_history.csv",
            "--forecast",
            "request_rate",
            "--forecasters",
            "naive,holt,seasonal-naive:5",
            "-H",
            "2",
            "--csv",
            "f.csv",
        ],
    );
    assert_code(&o, 0);
    let rows = metrics(&dir.read("f.csv"));
    let naive = find(&rows, "naive", "walk_forward_request_rate_h2");
    let holt = find(&rows, "holt", "walk_forward_request_rate_h2");
    assert!((naive.2 - 4.0).abs() < 1e-9, "{rows:?}");
    assert!(holt.2 < 1e-6, "a straight line is Holt's home ground: {rows:?}");

    let o = ctl(
        &dir.path,
        &[
            "model",
            "predict",
            "--data",
            "run_stats_history.csv",
            "--forecast",
            "request_rate",
            "--forecaster",
            "holt",
            "-H",
            "3",
        ],
    );
    assert_code(&o, 0);
    let (_, rows) = csv(&stdout(&o));
    let f: Vec<f64> = rows.iter().map(|r| r[2].parse().unwrap()).collect();
    for (k, v) in f.iter().enumerate() {
        assert!((v - (10.0 + 2.0 * (40 + k) as f64)).abs() < 1e-6, "{f:?}");
    }
}

/// The statsmodels fixture's cases.
fn statsmodels() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("statsmodels_holt.json")).unwrap())
        .unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn shape(c: &Value) -> Shape {
    Shape {
        period: c["period"].as_u64().map(|p| p as usize),
        damped: c["damped"].as_bool().unwrap(),
    }
}

#[test]
fn holt_and_holt_winters_recursions_match_statsmodels() {
    let fx = statsmodels();
    let h = fx["horizon"].as_u64().unwrap() as usize;
    for name in ["holt_fixed", "holt_damped_fixed", "hw_fixed", "hw_damped_fixed"] {
        let c = &fx["cases"][name];
        let y = floats(&c["y"]);
        let params = Params {
            alpha: c["alpha"].as_f64().unwrap(),
            beta: c["beta"].as_f64().unwrap(),
            gamma: c["gamma"].as_f64().unwrap(),
            phi: c["phi"].as_f64().unwrap(),
        };
        let s = smooth(&y, params, &Initial::simple(&y, shape(c).period));
        for (a, b) in s.fitted.iter().zip(floats(&c["fitted"])) {
            assert!((a - b).abs() < 1e-9, "{name}: fitted {a} vs {b}");
        }
        assert!((s.sse - c["sse"].as_f64().unwrap()).abs() < 1e-8, "{name}: sse");
        for (k, (a, b)) in s.forecast(h).iter().zip(floats(&c["forecast"])).enumerate() {
            // statsmodels 0.15 never stores the seasonal update made by the last observation
            // (its loop stops one short), so at step m (2m, ...) it reuses the season from one
            // period earlier. ctl uses the updated one; every other step must agree exactly.
            if shape(c).period.is_some_and(|m| (k + 1) % m == 0) {
                continue;
            }
            assert!((a - b).abs() < 1e-9, "{name}: forecast step {} {a} vs {b}", k + 1);
        }
    }
}

#[test]
fn fitted_smoothing_parameters_match_statsmodels() {
    let fx = statsmodels();
    let h = fx["horizon"].as_u64().unwrap() as usize;
    for name in ["holt_fitted", "holt_damped_fitted", "hw_fitted", "hw_damped_fitted"] {
        let c = &fx["cases"][name];
        let y = floats(&c["y"]);
        let s = fit(&y, shape(c));
        let theirs = c["sse"].as_f64().unwrap();
        eprintln!(
            "{name}: ours α {:.4} β {:.4} γ {:.4} φ {:.4} sse {:.6} | statsmodels α {:.4} β {:.4} γ {:.4} φ {:.4} sse {theirs:.6}",
            s.params.alpha,
            s.params.beta,
            s.params.gamma,
            s.params.phi,
            s.sse,
            c["alpha"].as_f64().unwrap(),
            c["beta"].as_f64().unwrap(),
            c["gamma"].as_f64().unwrap(),
            c["phi"].as_f64().unwrap()
        );
        // Least squares: never worse than statsmodels' optimum, and the same optimum.
        assert!(s.sse <= theirs * (1.0 + 1e-6), "{name}: sse {} vs {theirs}", s.sse);
        assert!((s.sse - theirs).abs() <= theirs * 1e-3, "{name}: sse {} vs {theirs}", s.sse);
        for (k, (a, b)) in s.forecast(h).iter().zip(floats(&c["forecast"])).enumerate() {
            if shape(c).period.is_some_and(|m| (k + 1) % m == 0) {
                continue; // statsmodels' stale last season, as above
            }
            assert!((a - b).abs() <= 0.01 * b.abs().max(1.0), "{name}: forecast {a} vs {b}");
        }
    }
}

/// A closed-loop run's `control.csv`, written by the controller's own CSV writer: two
/// deployments whose total CPU is 50 m + 10 m per request/s, and one held interval (empty
/// cells). Training on it learns that line per core; predict keeps the deployments apart.
#[test]
fn learns_cpu_from_a_control_csv() {
    use ctl::control::DeploymentRecord;
    use ctl::control::csv::CsvWriter;

    let dir = Dir::new("model-control");
    let mut rows = Vec::new();
    for i in 0..12u32 {
        for (name, pods, offset) in [("web", 2u32, 0.0), ("db", 1, 7.0)] {
            let rps = 5.0 + f64::from(i) * 3.0 + offset;
            let total = 50.0 + 10.0 * rps;
            let held = name == "db" && i == 4;
            rows.push(DeploymentRecord {
                time: 1_767_225_600.0 + f64::from(i) * 15.0,
                deployment: name.into(),
                mode: "act".into(),
                policy: "hpa".into(),
                applied_by: if held { "none" } else { "hpa_no_change" }.into(),
                current_replicas: pods,
                pod_count: pods,
                rps: (!held).then_some(rps),
                cpu_millicores: (!held).then_some(total / f64::from(pods)),
                cpu_total_millicores: (!held).then_some(total),
                valid: !held,
                reason: "cpu 60 %, a comma".into(),
                ..DeploymentRecord::default()
            });
        }
    }
    let file = std::fs::File::create(dir.join("control.csv")).unwrap();
    CsvWriter::new(file).unwrap().write(&rows).unwrap();

    let o = ctl(
        &dir.path,
        &[
            "model",
            "train",
            "--data",
            "control.csv",
            "--features",
            "request_rate",
            "--out",
            "m.json",
        ],
    );
    assert_code(&o, 0);
    let m: Value = serde_json::from_str(&dir.read("m.json")).unwrap();
    assert_eq!(m["target"], "cpu_usage");
    assert_eq!(m["train_rows"], 23, "24 rows, one held: {m}");
    let slope = m["coefficients"][0].as_f64().unwrap();
    let intercept = m["intercept"].as_f64().unwrap();
    assert!((slope - 0.010).abs() < 1e-6 && (intercept - 0.050).abs() < 1e-6, "{m}");

    let o = ctl(&dir.path, &["model", "predict", "--data", "control.csv", "--model", "m.json"]);
    assert_code(&o, 0);
    let (header, rows) = csv(&stdout(&o));
    assert_eq!(header, ["source_file", "timestamp", "cpu_usage", "predicted"]);
    // The held interval has no request rate to predict from.
    assert_eq!(rows.len(), 23);
    assert!(rows[..11].iter().all(|r| r[0] == "control.csv[db]"), "{rows:?}");
    assert!(rows[11..].iter().all(|r| r[0] == "control.csv[web]"), "{rows:?}");
    // web's first interval: 5 req/s -> 0.1 cores.
    assert!((rows[11][3].parse::<f64>().unwrap() - 0.1).abs() < 1e-6, "{rows:?}");

    let o = ctl(
        &dir.path,
        &[
            "model",
            "eval",
            "--data",
            "control.csv",
            "--features",
            "request_rate",
            "--split",
            "tail:25%",
        ],
    );
    assert_code(&o, 0);
    assert!(stdout(&o).contains("linear_regression"), "{}", stdout(&o));

    // A bad cell is a usage error naming the file and line.
    let text = dir.read("control.csv");
    let bad: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| if i == 3 { l.replacen(",act,", ",act,x", 1) } else { l.to_string() })
        .collect();
    dir.write("bad.csv", &bad.join("\n"));
    let o = ctl(&dir.path, &["model", "train", "--data", "bad.csv", "--out", "m2.json"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("bad.csv:4: column 'current_replicas'"), "{}", stderr(&o));
}
