//! The KPA's metric aggregation, ported from knative/serving `pkg/autoscaler/aggregation`:
//! `TimedFloat64Buckets` (a ring of 1-s buckets over a window, averaged linearly over the
//! valid part of the window) and its `WeightedFloat64Buckets` variant (exponential weights),
//! plus `max.TimeWindow`, the sliding maximum behind `scale-down-delay`.

use std::collections::VecDeque;

use crate::policy::Time;

/// Weights of the exponential average must sum to at least this much over the window.
const WEIGHT_PRECISION: f64 = 0.9999;
/// Floor of the smoothing coefficient, so long windows do not degrade into a plain average.
const MIN_EXPONENT: f64 = 0.2;
/// Linear averages are floored to this many decimals (upstream's `roundToNDigits(6, ..)`).
const PRECISION_DIGITS: i32 = 6;

/// Bucket index of a time: whole seconds, floored (Go's `Truncate(time.Second)`, `Unix()`).
fn second(now: Time) -> i64 {
    now.floor() as i64
}

/// A ring of per-second sums over a window of whole seconds.
#[derive(Debug, Clone)]
pub struct TimedBuckets {
    buckets: Vec<f64>,
    /// First write since the buckets last went a full window without data.
    first_write: Option<i64>,
    last_write: Option<i64>,
    window_secs: i64,
    /// Sum of all buckets in the ring.
    window_total: f64,
    /// Exponential smoothing coefficient; `None` = linear average.
    smoothing: Option<f64>,
}

impl TimedBuckets {
    /// Linear averaging (`NewTimedFloat64Buckets`); the window is at least one bucket.
    pub fn linear(window_secs: u64) -> TimedBuckets {
        let n = window_secs.clamp(1, i64::MAX as u64) as i64;
        TimedBuckets {
            buckets: vec![0.0; n as usize],
            first_write: None,
            last_write: None,
            window_secs: n,
            window_total: 0.0,
            smoothing: None,
        }
    }

    /// Exponentially weighted averaging (`NewWeightedFloat64Buckets`).
    pub fn weighted(window_secs: u64) -> TimedBuckets {
        let mut b = Self::linear(window_secs);
        b.smoothing = Some(smoothing_coefficient(b.buckets.len() as f64));
        b
    }

    fn len(&self) -> i64 {
        self.buckets.len() as i64
    }

    fn slot(&self, index: i64) -> usize {
        index.rem_euclid(self.len()) as usize
    }

    /// True when nothing was written within the window before `now`.
    pub fn is_empty(&self, now: Time) -> bool {
        match self.last_write {
            None => true,
            Some(last) => second(now) - last > self.window_secs,
        }
    }

    /// Adds `value` to the bucket of `now`. Gaps since the last write are zeroed; a write
    /// after a whole window without data restarts the partial-window averaging; a write
    /// older than a window before the last one is dropped.
    pub fn record(&mut self, now: Time, value: f64) {
        let t = second(now);
        if self.last_write != Some(t) {
            let within = self.last_write.is_none_or(|last| t + self.window_secs > last);
            if !within {
                return;
            }
            if self.first_write.is_none_or(|first| first > t) {
                self.first_write = Some(t);
            }
            if self.last_write.is_none_or(|last| t > last) {
                match self.last_write {
                    Some(last) if t - last < self.window_secs => {
                        for i in last + 1..=t {
                            let s = self.slot(i);
                            self.window_total -= self.buckets[s];
                            self.buckets[s] = 0.0;
                        }
                    }
                    _ => {
                        self.first_write = Some(t);
                        self.buckets.iter_mut().for_each(|b| *b = 0.0);
                        self.window_total = 0.0;
                    }
                }
                self.last_write = Some(t);
            }
        }
        let s = self.slot(t);
        self.buckets[s] += value;
        self.window_total += value;
    }

    /// The window average at `now`: linear or weighted, as constructed.
    pub fn window_average(&self, now: Time) -> f64 {
        match self.smoothing {
            None => self.linear_average(now),
            Some(coefficient) => self.weighted_average(now, coefficient),
        }
    }

    /// Average over the valid buckets: a partial window while data is young, gaps inside the
    /// window counted as zero, and the buckets after the last write dropped from the window.
    fn linear_average(&self, now: Time) -> f64 {
        let (Some(last), Some(first)) = (self.last_write, self.first_write) else { return 0.0 };
        let t = second(now);
        let d = t - last;
        let written = (last - first + 1) as f64; // +1: both ends inclusive
        if d <= 0 {
            let n = written.min(self.len() as f64);
            round_down(self.window_total / n)
        } else if d < self.window_secs {
            let mut total = self.window_total;
            for i in last + 1..=t {
                total -= self.buckets[self.slot(i)];
            }
            let n = written.min((self.len() - d) as f64);
            round_down(total / n)
        } else {
            0.0
        }
    }

    /// Exponentially weighted sum, newest bucket first; seconds without data since the last
    /// write count as zeros (they only decay the weights).
    fn weighted_average(&self, now: Time, coefficient: f64) -> f64 {
        if self.is_empty(now) {
            return 0.0;
        }
        let Some(last) = self.last_write else { return 0.0 };
        let t = second(now);
        let mut multiplier = coefficient;
        let mut count = self.len();
        if t > last {
            let zeros = t - last;
            multiplier *= (1.0 - coefficient).powf(zeros as f64);
            count -= zeros;
        }
        let start = last + self.len();
        let mut sum = 0.0;
        for i in 0..count.max(0) {
            sum += self.buckets[self.slot(start - i)] * multiplier;
            multiplier *= 1.0 - coefficient;
        }
        sum
    }
}

/// `computeSmoothingCoeff`: the decay for which `buckets` weights sum to `WEIGHT_PRECISION`.
pub fn smoothing_coefficient(buckets: f64) -> f64 {
    (1.0 - (1.0 - WEIGHT_PRECISION).powf(1.0 / buckets)).max(MIN_EXPONENT)
}

fn round_down(x: f64) -> f64 {
    let p = 10f64.powi(PRECISION_DIGITS);
    (x * p).floor() / p
}

/// Sliding maximum over the last `buckets` indexes (`max.window`, the ascending-minima
/// algorithm): values that can never be the maximum again are dropped on insertion.
#[derive(Debug, Clone)]
pub struct MaxWindow {
    size: i64,
    granularity_secs: i64,
    /// (index, value), indexes ascending, values strictly descending.
    maxima: VecDeque<(i64, f64)>,
}

impl MaxWindow {
    /// `max.NewTimeWindow(duration, granularity)`: ceil(duration / granularity) buckets.
    pub fn new(duration_secs: f64, granularity_secs: u64) -> MaxWindow {
        let g = granularity_secs.max(1) as i64;
        let size = (duration_secs / g as f64).ceil().max(1.0) as i64;
        MaxWindow { size, granularity_secs: g, maxima: VecDeque::new() }
    }

    /// Records `value` in the bucket of `now` (Go: `int(now.Unix()) / granularity`).
    pub fn record(&mut self, now: Time, value: f64) {
        // Integer division truncating toward zero, as Go's `/` does.
        let index = second(now) / self.granularity_secs;
        // An older, smaller value can never be the maximum again.
        while self.maxima.back().is_some_and(|&(_, v)| v <= value) {
            self.maxima.pop_back();
        }
        while self.maxima.front().is_some_and(|&(i, _)| index - i >= self.size) {
            self.maxima.pop_front();
        }
        let mut value = value;
        if let Some(&(i, v)) = self.maxima.back()
            && i == index
        {
            // Two values in one bucket: keep the larger.
            value = value.max(v);
            self.maxima.pop_back();
        }
        self.maxima.push_back((index, value));
    }

    /// The maximum over the window ending at the last record (0 before any record).
    pub fn current(&self) -> f64 {
        self.maxima.front().map_or(0.0, |&(_, v)| v)
    }
}
