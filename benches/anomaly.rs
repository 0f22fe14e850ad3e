//! The trace-anomaly model at the scale: fit on 20,000 traces x 22 operations, then
//! score 100,000 traces on one core (1 % of them with one slowed span). Timed with `Instant`;
//! prints the figures and their ratios to the targets (fit < 1 s, >= 30,000 traces/s).

use ctl::anomaly::features::TraceFeatures;
use ctl::anomaly::{Contamination, Model, Schema, TrainOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use std::hint::black_box;
use std::time::Instant;

const OPS: usize = 22;
const TRAIN: usize = 20_000;
const SCORE: usize = 100_000;

/// Synthetic rows: per operation a log-normal self time (median 200..2300 µs); operations
/// 16.. are optional (present in 30 % of traces), like cache misses.
fn rows(rng: &mut StdRng, n: usize, fault_rate: f64) -> Vec<TraceFeatures> {
    let dists: Vec<LogNormal<f64>> =
        (0..OPS).map(|j| LogNormal::new((200.0 + 100.0 * j as f64).ln(), 0.25).unwrap()).collect();
    (0..n)
        .map(|i| {
            let present: Vec<bool> =
                (0..OPS).map(|j| j < 16 || rng.random::<f64>() < 0.3).collect();
            let mut values: Vec<f64> =
                (0..OPS).map(|j| if present[j] { dists[j].sample(rng) } else { 0.0 }).collect();
            if rng.random::<f64>() < fault_rate {
                values[rng.random_range(0..16)] *= 6.0;
            }
            TraceFeatures {
                trace_id: format!("{i:016x}"),
                total_us: values.iter().sum(),
                values,
                present,
                services: vec![None; OPS],
                unknown: vec![],
            }
        })
        .collect()
}

fn main() {
    let mut rng = StdRng::seed_from_u64(1);
    let schema = Schema::new((0..OPS).map(|j| format!("op{j:02}")));
    let train = rows(&mut rng, TRAIN, 0.0);
    let test = rows(&mut rng, SCORE, 0.01);

    for (name, opts) in [
        ("auto", TrainOptions::default()),
        (
            "contamination 0.01",
            TrainOptions { contamination: Contamination::Fraction(0.01), ..Default::default() },
        ),
        ("per-pattern", TrainOptions { per_pattern: true, ..Default::default() }),
    ] {
        let start = Instant::now();
        let model = black_box(Model::train(&schema, &train, &opts).expect("fit"));
        let fit = start.elapsed().as_secs_f64();

        let start = Instant::now();
        let mut flagged = 0usize;
        for r in &test {
            flagged += black_box(model.score(r, None, false)).anomalous as usize;
        }
        let score = start.elapsed().as_secs_f64();
        let rate = SCORE as f64 / score;
        println!(
            "anomaly ({name}): fit {TRAIN} x {OPS} in {:.1} ms ({:.3} of the 1 s target); \
             scored {SCORE} in {:.3} s = {:.0} traces/s ({:.1}x the 30,000/s target); {} flagged; \
             {} pattern forests",
            fit * 1e3,
            fit,
            score,
            rate,
            rate / 30_000.0,
            flagged,
            model.patterns.len()
        );
    }
}
