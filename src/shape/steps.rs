//! `steps:10@30s,100@2m,0@30s`: k6-style stages. Starting from 0, each stage moves linearly from
//! the previous target to its own over its duration (`100@0s` is a jump); the last target is held.

use super::parse::{Field, Inline, ShapeError};
use super::{Profile, fmt_secs};

#[derive(Debug, Clone)]
pub(super) struct Steps {
    /// (target, duration in seconds)
    stages: Vec<(f64, f64)>,
}

impl Steps {
    pub fn parse(inline: &Inline, body: Field) -> Result<Self, ShapeError> {
        let mut stages = Vec::new();
        for field in inline.fields(body) {
            let Some((target, duration)) = field.split_once('@') else {
                return Err(inline.error(field, "a stage target@duration (e.g. 100@2m)"));
            };
            stages.push((inline.non_negative(target)?, inline.duration(duration)?));
        }
        Ok(Steps { stages })
    }

    fn total(&self) -> f64 {
        self.stages.iter().map(|(_, d)| d).sum()
    }
}

impl Profile for Steps {
    fn value(&self, t: f64) -> f64 {
        let (mut start, mut previous) = (0.0, 0.0);
        for &(target, duration) in &self.stages {
            if t < start + duration {
                return previous + (target - previous) * ((t - start) / duration);
            }
            start += duration;
            previous = target;
        }
        previous
    }

    fn natural_duration(&self) -> Option<f64> {
        Some(self.total())
    }

    fn max_value(&self, duration: f64) -> f64 {
        // Piecewise linear: the maximum is at a stage end inside [0, duration] or at an end.
        let mut best = self.value(0.0).max(self.value(duration));
        let mut end = 0.0;
        for &(target, d) in &self.stages {
            end += d;
            if end <= duration {
                best = best.max(target);
            }
        }
        best
    }

    fn describe(&self) -> String {
        let stages: Vec<String> =
            self.stages.iter().map(|(target, d)| format!("{target}@{}", fmt_secs(*d))).collect();
        format!("steps {}", stages.join(","))
    }
}
