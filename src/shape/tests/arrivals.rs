//! Arrival schedules: parsing, accuracy against the shape, process statistics, zero stretches.

use super::super::arrivals::{ArrivalProcess, ArrivalSchedule};
use super::super::mt::Mt19937;
use super::*;

// ---------------------------------------------------------------- arrivals

#[test]
fn arrival_process_from_str() {
    assert_eq!("uniform".parse(), Ok(ArrivalProcess::Uniform));
    assert_eq!("Poisson".parse(), Ok(ArrivalProcess::Poisson));
    assert_eq!("weibull:0.5".parse(), Ok(ArrivalProcess::Weibull { k: 0.5 }));
    let err = "weibull:0".parse::<ArrivalProcess>().unwrap_err().to_string();
    assert_eq!(
        err,
        "--arrivals: expected uniform, poisson or weibull:K (K > 0, e.g. weibull:0.5), found 'weibull:0'"
    );
    assert!("gauss".parse::<ArrivalProcess>().is_err());
    assert!("weibull".parse::<ArrivalProcess>().is_err());
}

fn collect(shape: Shape, process: ArrivalProcess, end: f64, seed: u32) -> Vec<f64> {
    let mut rng = Mt19937::new(seed);
    let mut uniform = || rng.next_f64();
    let mut schedule = ArrivalSchedule::new(shape, process, end);
    let mut times = Vec::new();
    while let Some(t) = schedule.next(&mut uniform) {
        times.push(t);
    }
    times
}

fn per_second(times: &[f64], seconds: usize) -> Vec<f64> {
    let mut counts = vec![0.0; seconds];
    for &t in times {
        if let Some(c) = counts.get_mut(t.floor() as usize) {
            *c += 1.0;
        }
    }
    counts
}

#[test]
fn uniform_arrivals_follow_a_scaled_trace() {
    let opts =
        TraceOptions { amplitude: Some(1990.0), shift: Some(10.0), ..TraceOptions::default() };
    let s = built("sin400.csv", &opts, 800.0);
    let times = collect(s.clone(), ArrivalProcess::Uniform, 800.0, 1);
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "times must not go backwards");
    assert!(times.iter().all(|&t| (0.0..=800.0).contains(&t)));
    let counts = per_second(&times, 800);
    let mut ape = 0.0;
    for (second, count) in counts.iter().enumerate() {
        // The shape's mean target over the second.
        let samples = 1000;
        let target = (0..samples)
            .map(|i| s.value_at(second as f64 + (i as f64 + 0.5) / samples as f64))
            .sum::<f64>()
            / samples as f64;
        ape += (count - target).abs() / target;
    }
    let mape = ape / 800.0;
    assert!(mape < 0.01, "MAPE {mape}");
}

#[test]
fn poisson_arrivals_have_poisson_counts() {
    let (rate, seconds) = (50.0, 2000usize);
    let times = collect(Shape::constant(rate), ArrivalProcess::Poisson, seconds as f64, 42);
    let counts = per_second(&times, seconds);
    let n = seconds as f64;
    let mean = counts.iter().sum::<f64>() / n;
    let var = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (n - 1.0);
    // Tolerances from the theory, 5 standard errors wide: the total is Poisson(rate·n), so the
    // mean has sd sqrt(rate/n); for Poisson counts Var(s²) ≈ (λ + 2λ²)/n.
    let mean_tol = 5.0 * (rate / n).sqrt();
    let var_tol = 5.0 * ((rate + 2.0 * rate * rate) / n).sqrt();
    assert!((mean - rate).abs() < mean_tol, "mean {mean} vs {rate} ± {mean_tol}");
    assert!((var - rate).abs() < var_tol, "variance {var} vs {rate} ± {var_tol}");
}

#[test]
fn weibull_arrivals_keep_the_mean_rate() {
    let (rate, seconds) = (20.0, 2000.0);
    for k in [0.5, 2.0] {
        let times = collect(Shape::constant(rate), ArrivalProcess::Weibull { k }, seconds, 7);
        // Renewal process with unit-mean gaps in Λ: count ≈ rate·T, sd ≈ cv·sqrt(rate·T).
        let gamma1 = statrs::function::gamma::gamma(1.0 + 1.0 / k);
        let gamma2 = statrs::function::gamma::gamma(1.0 + 2.0 / k);
        let cv = (gamma2 / (gamma1 * gamma1) - 1.0).sqrt();
        let expected = rate * seconds;
        let tol = 5.0 * cv * expected.sqrt();
        let got = times.len() as f64;
        assert!((got - expected).abs() < tol, "k={k}: {got} vs {expected} ± {tol}");
    }
}

#[test]
fn zero_intensity_stretches() {
    // Zero throughout: ends without arrivals, for a finite and an unbounded end.
    assert!(collect(Shape::constant(0.0), ArrivalProcess::Poisson, 1000.0, 1).is_empty());
    assert!(collect(Shape::constant(0.0), ArrivalProcess::Uniform, f64::INFINITY, 1).is_empty());
    // Zero for 10 s, then 10/s: nothing before 10 s, about 100 by 20 s.
    let times = collect(shape("steps:0@10s,10@0s", None), ArrivalProcess::Uniform, 20.0, 1);
    assert!(times[0] >= 10.0, "first arrival {}", times[0]);
    assert_eq!(times.len(), 100);
    // A ramp from 0 starts slowly: Λ(t) = t²/2 on ramp 0→10 over 10 s, so Λ(10)=50.
    let ramp =
        collect(shape("ramp:from=0,to=10,duration=10s", None), ArrivalProcess::Uniform, 10.0, 1);
    assert_eq!(ramp.len(), 50);
    assert!((ramp[0] - 1.0).abs() < 1e-6, "Λ(t)=0.5 at t=1, got {}", ramp[0]);
    // Bad ends: no arrivals.
    assert!(collect(Shape::constant(5.0), ArrivalProcess::Uniform, f64::NAN, 1).is_empty());
}
