//! The live progress display: one line on stderr, redrawn every second, with the target,
//! the achieved rate, active users, p50/p95/p99 and errors. Hidden when stderr is not a
//! terminal or with `--quiet`.

use super::engine::SecondSink;
use super::stats::{RunTotals, SecondStats};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A progress display for a run of `duration` seconds (None = open-ended).
    pub fn new(duration: Option<f64>, quiet: bool) -> Self {
        let bar = match duration {
            Some(d) => ProgressBar::new(d.ceil() as u64),
            None => ProgressBar::new_spinner(),
        };
        let visible = !quiet && std::io::stderr().is_terminal();
        bar.set_draw_target(if visible {
            ProgressDrawTarget::stderr_with_hz(4)
        } else {
            ProgressDrawTarget::hidden()
        });
        let template = if duration.is_some() {
            "{elapsed_precise} [{bar:20}] {pos}/{len}s {msg}"
        } else {
            "{elapsed_precise} {spinner} {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        Self { bar }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl SecondSink for Progress {
    fn on_second(&mut self, s: &SecondStats, totals: &RunTotals) {
        let ms = |us: u64| us as f64 / 1000.0;
        let t = &s.total;
        self.bar.set_position(s.second + 1);
        self.bar.set_message(format!(
            "target {:.0} | {} req/s | users {} | p50 {:.1}ms p95 {:.1}ms p99 {:.1}ms | errors {} (total {})",
            s.target,
            t.count,
            s.users,
            ms(t.latency_percentile_us(50.0)),
            ms(t.latency_percentile_us(95.0)),
            ms(t.latency_percentile_us(99.0)),
            t.failures,
            totals.total.failures,
        ));
    }
}
