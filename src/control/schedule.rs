//! The controller's clock: [`Controller::run`] steps on an absolute schedule (no drift), lets
//! the metric source take its first reading before the clock starts, skips the ticks a slow
//! step overran instead of running them back to back, and stops at the duration or on `stop`
//! with `start` and `stop` events written.

use tokio::sync::watch;

use super::ControlError;
use super::controller::{Controller, unix_now};
use super::record::{EventRecord, IntervalRecord};

impl Controller {
    /// Steps every `interval` on an absolute schedule (no drift; a step that overruns skips
    /// the ticks it missed) until `duration` has passed or `stop` turns true; `on_interval`
    /// sees every record. Writes `start` and `stop` events. Returns the number of intervals.
    pub async fn run(
        &mut self,
        mut stop: watch::Receiver<bool>,
        mut on_interval: impl FnMut(&IntervalRecord),
    ) -> Result<u64, ControlError> {
        // Before the clock starts: a source that needs an earlier reading takes it now, so the
        // first interval is on time and has rates.
        tokio::select! {
            _ = self.sources.metrics.ready() => {}
            _ = stop.changed() => {}
        }
        let start = tokio::time::Instant::now();
        let interval = self.config.interval;
        let mut ev = EventRecord::new(
            unix_now(),
            "start",
            format!(
                "mode {}, policy {}, interval {:?}, metrics {}",
                self.config.mode.as_str(),
                self.config.policy.as_str(),
                interval,
                self.sources.metrics.name()
            ),
        );
        ev.policy = Some(self.config.policy.as_str().into());
        self.log_event(ev)?;
        let mut steps = 0u64;
        let mut tick = 0u64;
        let reason = loop {
            if *stop.borrow() {
                break "stopped";
            }
            if self.config.duration.is_some_and(|d| start.elapsed() >= d) {
                break "duration reached";
            }
            let record = self.step(unix_now()).await?;
            on_interval(&record);
            steps += 1;
            // The next tick on the schedule that is still ahead: a step that overran its
            // interval skips the ticks it missed rather than running them back to back.
            tick += 1;
            let mut next = start + interval.mul_f64(tick as f64);
            let now = tokio::time::Instant::now();
            if next <= now {
                let behind = (now - start).as_secs_f64() / interval.as_secs_f64();
                let skip_to = behind.floor() as u64 + 1;
                log::warn!(
                    "interval {steps} took longer than {interval:?}: skipping {} tick(s)",
                    skip_to.saturating_sub(tick)
                );
                tick = skip_to.max(tick);
                next = start + interval.mul_f64(tick as f64);
            }
            if self.config.duration.is_some_and(|d| next.duration_since(start) >= d) {
                // One more interval would pass the end: wait for the end, then stop.
                let end = start + self.config.duration.unwrap_or_default();
                tokio::select! {
                    _ = tokio::time::sleep_until(end) => break "duration reached",
                    _ = stop.changed() => break "stopped",
                }
            }
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = stop.changed() => {}
            }
        };
        self.log_event(EventRecord::new(
            unix_now(),
            "stop",
            format!("{reason} after {steps} intervals"),
        ))?;
        Ok(steps)
    }
}
