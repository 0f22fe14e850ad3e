//! Exact comparison with golden tables made by re-implementations of the original Python
//! (tests/golden/gen_shapes.py): the Locust trace shape and the CTL weibull shape.

use super::*;

// ---------------------------------------------------------------- golden tables

/// Rows of a golden `t,value` table where `value_at(t)` differs.
fn golden_mismatches(shape: &Shape, golden: &str) -> usize {
    golden
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(','))
        .filter(|(t, v)| shape.value_at(t.parse().unwrap()) != v.parse::<f64>().unwrap())
        .count()
}

/// Compares `value_at(t)` with a golden `t,value` table, exactly, at every listed second.
fn assert_golden(shape: &Shape, golden: &str) {
    let mut rows = 0;
    let mut mismatches = Vec::new();
    for line in golden.lines().skip(1) {
        let (t, v) = line.split_once(',').expect("golden row");
        let (t, v): (f64, f64) = (t.parse().unwrap(), v.parse().unwrap());
        let got = shape.value_at(t);
        if got != v {
            mismatches.push(format!("t={t}: golden {v}, got {got}"));
        }
        rows += 1;
    }
    assert!(rows > 0);
    assert!(
        mismatches.is_empty(),
        "{} of {rows} rows differ: {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(10)]
    );
}

#[test]
fn golden_locust_sin400_readme_example() {
    let s = built("sin400.csv", &compat(19.0, 1.0, false), 800.0);
    assert_golden(&s, include_str!("../../../tests/golden/locust_sin400_a19_s1_d800.csv"));
    assert_eq!(s.max_value(800.0), 20.0);
    assert_eq!(s.natural_duration(), Some(799.0));
}

#[test]
fn golden_locust_sin400_fit() {
    let s = built("sin400.csv", &compat(19.0, 1.0, true), 1000.0);
    assert_golden(&s, include_str!("../../../tests/golden/locust_sin400_a19_s1_d1000_fit.csv"));
}

#[test]
fn golden_locust_twitter() {
    let s = built("twitter.csv", &compat(100.0, 5.0, false), 600.0);
    assert_golden(&s, include_str!("../../../tests/golden/locust_twitter_a100_s5_d600.csv"));
}

#[test]
fn golden_weibull_defaults() {
    let s = built("weibull:", &TraceOptions::default(), 3600.0);
    assert_golden(&s, include_str!("../../../tests/golden/weibull_defaults_d3600.csv"));
    // The same with every default spelled out.
    let explicit = built(
        "weibull:k=1,mean=150,min=100,max=1000,dt=20s,ls_y=500,seed=42",
        &TraceOptions::default(),
        3600.0,
    );
    assert_golden(&explicit, include_str!("../../../tests/golden/weibull_defaults_d3600.csv"));
}

#[test]
fn golden_weibull_main_py() {
    let s = built(
        "weibull:k=2,mean=1200,min=2000,max=6000,dt=60,ls_y=2000,seed=42",
        &TraceOptions::default(),
        10800.0,
    );
    assert_golden(&s, include_str!("../../../tests/golden/weibull_main_d10800.csv"));
    assert_eq!(
        s.describe(),
        "weibull k=2 mean=1200 min=2000 max=6000 dt=1m ls_y=2000 seed=42 (180 stages)"
    );
}

#[test]
fn golden_tables_are_sensitive() {
    // Negative controls: near misses must not match, or the golden tests prove nothing.
    let golden = include_str!("../../../tests/golden/weibull_defaults_d3600.csv");
    let other_seed = built("weibull:seed=43", &TraceOptions::default(), 3600.0);
    assert!(golden_mismatches(&other_seed, golden) > 3000);
    let golden = include_str!("../../../tests/golden/locust_sin400_a19_s1_d800.csv");
    // Without the header drop the loop is 800 rows long and the values are not truncated.
    let opts = TraceOptions { amplitude: Some(19.0), shift: Some(1.0), ..TraceOptions::default() };
    assert!(golden_mismatches(&built("sin400.csv", &opts, 800.0), golden) > 400);
}
