//! The campaign's consumers of the load engine's seconds: [`CampaignSink`] (records each
//! second, merges the measured seconds' latency per phase, learns the clock's origin) and
//! [`CampaignProgress`] (the live display: phase, window, time left, load, latency and
//! replicas). Both run on the load engine's thread; they share the [`Recording`] with the
//! orchestrator through a mutex held for microseconds.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::watch;

use super::record::{Recording, SecondPoint};
use super::summary::measured;
use super::timeline::{Timeline, clock};
use crate::load::SecondSink;
use crate::load::stats::{RequestStats, RunTotals, SecondStats};

/// Records every second into the shared [`Recording`].
pub struct CampaignSink {
    pub recording: Arc<Mutex<Recording>>,
    pub timeline: Timeline,
    pub slo_percentile: u8,
    /// Announces the origin (Unix time of campaign second 0) once known.
    pub origin: watch::Sender<Option<f64>>,
}

impl SecondSink for CampaignSink {
    fn on_second(&mut self, s: &SecondStats, totals: &RunTotals) {
        let point = SecondPoint::from_second(s, self.slo_percentile);
        let Ok(mut rec) = self.recording.lock() else { return };
        if rec.origin_unix.is_none() {
            rec.origin_unix = Some(totals.start_unix);
            self.origin.send_replace(Some(totals.start_unix));
        }
        if rec.phase_latency.len() < self.timeline.phases.len() {
            rec.phase_latency.resize_with(self.timeline.phases.len(), RequestStats::default);
        }
        for (i, p) in self.timeline.phases.iter().enumerate() {
            if measured(s.second, p.measure_start, p.end) {
                rec.phase_latency[i].merge(&s.total);
            }
        }
        rec.stopped_at = rec.stopped_at.max((s.second + 1) as f64);
        rec.seconds.push(point);
    }
}

/// The live display on stderr (hidden when stderr is not a terminal, or with `--quiet`).
pub struct CampaignProgress {
    bar: ProgressBar,
    recording: Arc<Mutex<Recording>>,
    timeline: Timeline,
}

impl CampaignProgress {
    pub fn new(timeline: Timeline, recording: Arc<Mutex<Recording>>, quiet: bool) -> Self {
        let bar = ProgressBar::new(timeline.duration().ceil() as u64);
        let visible = !quiet && std::io::stderr().is_terminal();
        bar.set_draw_target(if visible {
            ProgressDrawTarget::stderr_with_hz(4)
        } else {
            ProgressDrawTarget::hidden()
        });
        if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} [{bar:20}] {msg}") {
            bar.set_style(style.progress_chars("=> "));
        }
        Self { bar, recording, timeline }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl SecondSink for CampaignProgress {
    fn on_second(&mut self, s: &SecondStats, _: &RunTotals) {
        let t = (s.second + 1) as f64;
        let phase = self.timeline.phase_at(t - 0.5).map(|i| &self.timeline.phases[i]);
        let (name, window) = match phase {
            Some(p) if t - 0.5 < p.measure_start => (p.name.as_str(), "stabilising"),
            Some(p) => (p.name.as_str(), "measuring"),
            None => ("", ""),
        };
        let left = (self.timeline.duration() - t).max(0.0);
        let replicas = self
            .recording
            .lock()
            .ok()
            .and_then(|r| {
                r.intervals.last().map(|i| {
                    i.deployments
                        .iter()
                        .map(|d| format!("{}={}", d.name, d.replicas))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
            })
            .unwrap_or_default();
        let total = &s.total;
        let p95 = super::record::percentile_ms(total, 95.0);
        self.bar.set_position(s.second + 1);
        self.bar.set_message(format!(
            "{name} {window} | left {} | target {:.0} | {} req/s | p95 {p95:.1}ms | errors {} | {replicas}",
            clock(left).trim_start_matches("T+"),
            s.target,
            total.count,
            total.failures,
        ));
    }
}
