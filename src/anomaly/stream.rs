//! Streaming detectors for metric series (latency, error rate, CPU, memory), fed one sample
//! per controller tick; pure (the tick time is an argument).
//!
//! - `MadDetector`: robust z = (x - median) / (1.4826 MAD) over the last `window` samples
//!   (the current one excluded). Robust to the outliers it is looking for: spikes shorter
//!   than half the window do not move the baseline.
//! - `EwmaDetector`: z = (x - mean) / sd with an exponentially weighted mean and variance
//!   (weights `alpha` and `alpha / 2`). Warm-up samples seed both with plain sample moments; afterwards a
//!   sample enters the mean clipped to mean ± threshold·sd, and a hit does not enter the
//!   variance at all, so a spike cannot inflate the variance and blind the detector.
//!
//! Both share the judgement: no verdict before `warmup` samples; a tick is a *hit* when z
//! passes `threshold` in the configured direction (the z denominator is floored at
//! `min_scale` and `min_rel_scale`·|baseline|, so a flat series does not alarm on noise of
//! one unit); an alarm is **raised** when at least `k` of the last `n` ticks are hits on the
//! same side and **cleared** after `n` consecutive quiet ticks (k-of-n hysteresis).
//!
//! **Documented delay**: a step or spike larger than `threshold` scales is raised on its
//! k-th tick, `k - 1` ticks after it starts (2 ticks with the default 3-of-5). A blip shorter
//! than `k` ticks is ignored by design. The MAD baseline absorbs a persistent step after
//! about `window / 2` ticks; the EWMA mean closes on it by `alpha·threshold` sd per tick, so
//! a step of z sd is absorbed after about (z - threshold) / (alpha·threshold) ticks. Then
//! the alarm clears.

use super::stats::{MAD_TO_SIGMA, median_mad};
use serde::Serialize;
use std::collections::VecDeque;

/// Which deviations count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
    Both,
}

/// Settings shared by both detectors.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamConfig {
    /// The series' name, repeated in every alarm.
    pub series: String,
    pub threshold: f64,
    pub k: usize,
    pub n: usize,
    pub warmup: usize,
    pub direction: Direction,
    /// Floor on the z denominator, in the series' units.
    pub min_scale: f64,
    /// Floor on the z denominator as a fraction of |baseline|.
    pub min_rel_scale: f64,
}

impl StreamConfig {
    fn preset(series: &str, direction: Direction, min_scale: f64, min_rel_scale: f64) -> Self {
        StreamConfig {
            series: series.to_string(),
            threshold: 3.5, // Iglewicz and Hoaglin's modified-z cut
            k: 3,
            n: 5,
            warmup: 20,
            direction,
            min_scale,
            min_rel_scale,
        }
    }

    /// Latency (any unit): only slower is bad; changes under 5 % never alarm.
    pub fn latency(series: &str) -> Self {
        Self::preset(series, Direction::Up, 0.0, 0.05)
    }

    /// Error rate as a fraction: only up; changes under 1 percentage point never alarm.
    pub fn error_rate(series: &str) -> Self {
        Self::preset(series, Direction::Up, 0.01, 0.0)
    }

    /// CPU usage (cores or %): both ways (a drop can mean a crashed or starved pod).
    pub fn cpu(series: &str) -> Self {
        Self::preset(series, Direction::Both, 0.0, 0.05)
    }

    /// Memory usage (bytes or MiB): only up (leaks, OOM risk).
    pub fn memory(series: &str) -> Self {
        Self::preset(series, Direction::Up, 0.0, 0.02)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlarmKind {
    Raised,
    Cleared,
}

/// A change of alarm state, saying which series and by how much.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alarm {
    pub series: String,
    pub kind: AlarmKind,
    pub t: f64,
    pub value: f64,
    pub baseline: f64,
    pub z: f64,
    pub message: String,
}

/// k-of-n hysteresis over ticks: +1 a hit above, -1 below, 0 quiet. Only hits of one sign
/// add up: a real shift goes one way, while noise that passes the threshold both ways within
/// n ticks says the scale estimate is low, not that the level moved.
#[derive(Debug, Clone)]
struct Hysteresis {
    k: usize,
    n: usize,
    recent: VecDeque<i8>,
    active: bool,
}

impl Hysteresis {
    fn new(k: usize, n: usize) -> Self {
        let n = n.max(1);
        Hysteresis { k: k.clamp(1, n), n, recent: VecDeque::with_capacity(n), active: false }
    }

    fn push(&mut self, hit: i8) -> Option<AlarmKind> {
        if self.recent.len() == self.n {
            self.recent.pop_front();
        }
        self.recent.push_back(hit);
        let up = self.recent.iter().filter(|h| **h > 0).count();
        let down = self.recent.iter().filter(|h| **h < 0).count();
        let hits = up.max(down);
        if !self.active && hits >= self.k {
            self.active = true;
            return Some(AlarmKind::Raised);
        }
        if self.active && hits == 0 && self.recent.len() == self.n {
            self.active = false;
            return Some(AlarmKind::Cleared);
        }
        None
    }
}

impl StreamConfig {
    fn z(&self, x: f64, baseline: f64, scale: f64) -> f64 {
        let scale = scale.max(self.min_scale).max(self.min_rel_scale * baseline.abs());
        if scale > 0.0 {
            (x - baseline) / scale
        } else if x == baseline {
            0.0
        } else {
            // A perfectly flat baseline with no floor: any change is infinitely unusual.
            f64::INFINITY.copysign(x - baseline)
        }
    }

    /// +1 / -1 for a hit above / below, 0 otherwise.
    fn hit(&self, z: f64) -> i8 {
        let up = z > self.threshold && self.direction != Direction::Down;
        let down = -z > self.threshold && self.direction != Direction::Up;
        up as i8 - down as i8
    }

    fn alarm(&self, kind: AlarmKind, t: f64, value: f64, baseline: f64, z: f64) -> Alarm {
        let change = if baseline != 0.0 {
            format!("{:+.0} %", (value - baseline) / baseline.abs() * 100.0)
        } else {
            format!("{:+}", value - baseline)
        };
        let verb = match kind {
            AlarmKind::Raised => "anomalous",
            AlarmKind::Cleared => "back to normal",
        };
        let message = format!(
            "{}: {verb} at t={t}: {value:.4} vs baseline {baseline:.4} ({change}, z {z:.1})",
            self.series
        );
        Alarm { series: self.series.clone(), kind, t, value, baseline, z, message }
    }
}

/// Rolling median / MAD detector.
#[derive(Debug, Clone)]
pub struct MadDetector {
    pub config: StreamConfig,
    window: usize,
    samples: VecDeque<f64>,
    hysteresis: Hysteresis,
}

impl MadDetector {
    /// `window` samples of baseline (at least 3); judgement starts after `config.warmup`
    /// samples (and never before 3).
    pub fn new(config: StreamConfig, window: usize) -> Self {
        let hysteresis = Hysteresis::new(config.k, config.n);
        let window = window.max(3);
        MadDetector { config, window, samples: VecDeque::with_capacity(window + 1), hysteresis }
    }

    /// Feeds the sample at time `t`; returns an alarm when the state changes. Non-finite
    /// samples (a failed scrape) are skipped.
    pub fn update(&mut self, t: f64, x: f64) -> Option<Alarm> {
        if !x.is_finite() {
            return None;
        }
        let ready = self.samples.len() >= self.config.warmup.clamp(3, self.window);
        let judged = if ready {
            let buf: Vec<f64> = self.samples.iter().copied().collect();
            median_mad(&buf).map(|(med, mad)| (med, self.config.z(x, med, MAD_TO_SIGMA * mad)))
        } else {
            None
        };
        if self.samples.len() == self.window {
            self.samples.pop_front();
        }
        self.samples.push_back(x);
        let (baseline, z) = judged?;
        let kind = self.hysteresis.push(self.config.hit(z))?;
        Some(self.config.alarm(kind, t, x, baseline, z))
    }
}

/// EWMA mean / variance detector.
#[derive(Debug, Clone)]
pub struct EwmaDetector {
    pub config: StreamConfig,
    alpha: f64,
    count: usize,
    mean: f64,
    var: f64,
    hysteresis: Hysteresis,
}

impl EwmaDetector {
    /// `alpha` in (0, 1]: the weight of the newest sample (0.05–0.2 for controller ticks).
    pub fn new(config: StreamConfig, alpha: f64) -> Self {
        let hysteresis = Hysteresis::new(config.k, config.n);
        let alpha = if alpha > 0.0 && alpha <= 1.0 { alpha } else { 0.1 };
        EwmaDetector { config, alpha, count: 0, mean: 0.0, var: 0.0, hysteresis }
    }

    pub fn update(&mut self, t: f64, x: f64) -> Option<Alarm> {
        if !x.is_finite() {
            return None;
        }
        let warm = self.count >= self.config.warmup.max(2);
        self.count += 1;
        if !warm {
            // Welford: after warm-up, mean and var are the warm-up sample's moments.
            let d = x - self.mean;
            self.mean += d / self.count as f64;
            self.var += (d * (x - self.mean) - self.var) / self.count as f64;
            return None;
        }
        let (baseline, sd) = (self.mean, self.var.sqrt());
        let z = self.config.z(x, baseline, sd);
        let limit = self.config.threshold * sd.max(self.config.min_scale);
        let clipped = x.clamp(baseline - limit, baseline + limit);
        let d = clipped - self.mean;
        self.mean += self.alpha * d;
        let hit = self.config.hit(z);
        if hit == 0 {
            // The variance is the z denominator: averaged over twice as many samples as the
            // mean, so a calm stretch cannot shrink it enough to make plain noise look
            // anomalous (with one weight, 3 false alarms in 200,000 ticks of white noise).
            let w = self.alpha / 2.0;
            self.var = (1.0 - w) * (self.var + w * d * d);
        }
        let kind = self.hysteresis.push(hit)?;
        Some(self.config.alarm(kind, t, x, baseline, z))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    fn noise(seed: u64, n: usize, mean: f64, sd: f64) -> Vec<f64> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let d = Normal::new(mean, sd).unwrap();
        (0..n).map(|_| d.sample(&mut rng)).collect()
    }

    fn run(mut f: impl FnMut(f64, f64) -> Option<Alarm>, xs: &[f64]) -> Vec<(usize, Alarm)> {
        xs.iter().enumerate().filter_map(|(i, &x)| f(i as f64, x).map(|a| (i, a))).collect()
    }

    fn both(cfg: StreamConfig, xs: &[f64]) -> [Vec<(usize, Alarm)>; 2] {
        let mut mad = MadDetector::new(cfg.clone(), 60);
        let mut ewma = EwmaDetector::new(cfg, 0.1);
        [run(|t, x| mad.update(t, x), xs), run(|t, x| ewma.update(t, x), xs)]
    }

    #[test]
    fn stationary_noise_raises_nothing() {
        for seed in 0..20 {
            let xs = noise(seed, 5000, 100.0, 10.0);
            for alarms in both(StreamConfig::cpu("cpu"), &xs) {
                assert!(alarms.is_empty(), "seed {seed}: {:?}", alarms[0].1.message);
            }
        }
    }

    #[test]
    fn a_step_is_raised_k_minus_one_ticks_after_it_starts() {
        let mut xs = noise(1, 400, 100.0, 10.0);
        for x in &mut xs[200..] {
            *x += 80.0;
        }
        for alarms in both(StreamConfig::latency("p95_ms"), &xs) {
            let (tick, a) = &alarms[0];
            assert_eq!((*tick, a.kind), (202, AlarmKind::Raised), "{}", a.message);
            assert!(a.message.starts_with("p95_ms: anomalous at t=202"), "{}", a.message);
            assert!(a.z > 3.5 && a.value > a.baseline + 40.0);
        }
    }

    #[test]
    fn spikes_of_k_ticks_alarm_and_clear_shorter_blips_do_not() {
        let mut xs = noise(2, 300, 0.5, 0.05);
        for x in &mut xs[100..104] {
            *x += 1.0; // 4-tick spike
        }
        for x in &mut xs[200..202] {
            *x += 1.0; // 2-tick blip: below k = 3
        }
        for alarms in both(StreamConfig::memory("mem_gib"), &xs) {
            let ticks: Vec<(usize, AlarmKind)> = alarms.iter().map(|(i, a)| (*i, a.kind)).collect();
            assert_eq!(ticks, [(102, AlarmKind::Raised), (108, AlarmKind::Cleared)]);
        }
    }

    #[test]
    fn error_rate_from_zero_alarms_with_the_floor_and_direction() {
        let mut xs = vec![0.0; 100];
        xs[50] = 0.004; // below the 1 pp floor: ignored
        for x in &mut xs[80..] {
            *x = 0.2;
        }
        for alarms in both(StreamConfig::error_rate("errors"), &xs) {
            assert_eq!(alarms[0].0, 82, "{}", alarms[0].1.message);
            assert!(alarms[0].1.message.contains("errors: anomalous"));
        }
        // A drop is not an alarm for an Up series.
        let down: Vec<f64> = (0..100).map(|i| if i < 60 { 0.3 } else { 0.0 }).collect();
        for alarms in both(StreamConfig::error_rate("errors"), &down) {
            assert!(alarms.is_empty());
        }
    }

    #[test]
    fn warm_up_and_bad_samples_are_quiet() {
        let mut d = MadDetector::new(StreamConfig::cpu("cpu"), 30);
        for i in 0..19 {
            assert!(d.update(i as f64, if i % 2 == 0 { 1.0 } else { 1000.0 }).is_none());
        }
        assert!(d.update(20.0, f64::NAN).is_none());
    }
}
