//! The campaign's timeline on the load's clock: once the load engine has published its first
//! second (which fixes the origin), phase starts, stress starts and stops and controller
//! intervals happen at `origin + t`, in time order. Each phase gets its own controller (its
//! mode and policy; policy history does not carry over) and, after the first, starts with the
//! controlled Deployments back at their initial replicas so phases are comparable. Writes
//! `control.csv`, `anomalies.jsonl` and `events.jsonl` with the control module's writers.
//! On a stop request or the end of the load it stops every stressor before returning.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::checks::stress_spec;
use super::control_setup;
use super::record::{DeploymentSample, IntervalRecord, Mark, MarkKind, Recording};
use super::scenario::ControlSpec;
use super::timeline::{Timeline, clock, describe_stress};
use super::unix_now;
use crate::cluster::Connection;
use crate::cluster::pods::Target;
use crate::control::csv::CsvWriter;
use crate::control::events::JsonLines;
use crate::control::{ControlConfig, Controller, EventRecord};
use crate::stress::{RunId, RunnerOptions, StressHandle, StressRunner};

/// Everything the orchestrator needs.
pub struct Orchestra {
    pub timeline: Timeline,
    pub control: Option<(ControlSpec, ControlConfig)>,
    pub conn: Connection,
    pub namespace: String,
    pub embedded: control_setup::Embedded,
    pub dir: PathBuf,
    pub recording: Arc<Mutex<Recording>>,
    pub stop: Arc<AtomicBool>,
    pub load_done: Arc<AtomicBool>,
    pub origin: watch::Receiver<Option<f64>>,
}

/// How often waits re-check the stop flags.
const POLL: Duration = Duration::from_millis(100);
/// Bound on stopping one stress run (kill sweep and cleanup in every pod).
const STRESS_STOP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    // Order within the same instant: a phase begins, old stress ends, new stress begins, then
    // the controller observes the result.
    Phase(usize),
    StressStop(usize),
    StressStart(usize),
    Tick,
}

/// Stressor events, tagged with the index of their stress window.
type StressEvents = mpsc::UnboundedReceiver<(usize, String, f64)>;

struct Files {
    csv: CsvWriter<BufWriter<File>>,
    anomalies: JsonLines<BufWriter<File>>,
    events: JsonLines<BufWriter<File>>,
}

fn open(dir: &Path) -> std::io::Result<Files> {
    let file = |name: &str| File::create(dir.join(name)).map(BufWriter::new);
    Ok(Files {
        csv: CsvWriter::new(file(super::folder::CONTROL)?)?,
        anomalies: JsonLines::new(file(super::folder::ANOMALIES)?),
        events: JsonLines::new(file(super::folder::EVENTS)?),
    })
}

/// The schedule: (campaign time, action) in time order. Controller ticks are generated as
/// they come, not listed: a week-long campaign at 200 ms would be millions of them.
struct Schedule {
    /// Phase and stress actions, sorted.
    events: std::vec::IntoIter<(f64, Action)>,
    next_event: Option<(f64, Action)>,
    interval: Option<f64>,
    ticks: u64,
    end: f64,
}

impl Schedule {
    fn new(t: &Timeline) -> Self {
        let mut events: Vec<(f64, Action)> = Vec::new();
        for (i, p) in t.phases.iter().enumerate() {
            events.push((p.start, Action::Phase(i)));
        }
        for (k, s) in t.stress.iter().enumerate() {
            events.push((s.start, Action::StressStart(k)));
            events.push((s.stop, Action::StressStop(k)));
        }
        events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut events = events.into_iter();
        Self {
            next_event: events.next(),
            events,
            interval: t.interval.filter(|i| *i > 0.0),
            ticks: 0,
            end: t.duration(),
        }
    }
}

impl Iterator for Schedule {
    type Item = (f64, Action);

    fn next(&mut self) -> Option<(f64, Action)> {
        let tick = self.interval.map(|i| self.ticks as f64 * i).filter(|at| *at < self.end - 1e-9);
        // At the same instant every other action goes before the tick (`Action`'s order).
        match (self.next_event, tick) {
            (Some(event), Some(at)) if event.0 > at => {
                self.ticks += 1;
                Some((at, Action::Tick))
            }
            (Some(event), _) => {
                self.next_event = self.events.next();
                Some(event)
            }
            (None, Some(at)) => {
                self.ticks += 1;
                Some((at, Action::Tick))
            }
            (None, None) => None,
        }
    }
}

impl Orchestra {
    fn halted(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.load_done.load(Ordering::Relaxed)
    }

    fn mark(&self, t: f64, kind: MarkKind, text: String) {
        if let Ok(mut r) = self.recording.lock() {
            r.marks.push(Mark { t, kind, text });
        }
    }

    /// Waits until Unix time `at`, writing stressor events as they come; false when stopped
    /// first.
    async fn wait_until(&self, at: f64, files: &mut Files, stress: &mut StressEvents) -> bool {
        loop {
            self.drain(files, stress);
            if self.halted() {
                return false;
            }
            let left = at - unix_now();
            if left <= 0.0 {
                return true;
            }
            tokio::time::sleep(Duration::from_secs_f64(left).min(POLL)).await;
        }
    }

    /// Writes the stressor events received so far to `events.jsonl`.
    fn drain(&self, files: &mut Files, stress: &mut StressEvents) {
        while let Ok((k, text, at)) = stress.try_recv() {
            let name = &self.timeline.stress[k].name;
            let ev = EventRecord::new(at, "stress", format!("{name}: {text}"));
            let _ = files.events.events(std::slice::from_ref(&ev));
        }
    }

    /// Runs the timeline; returns a message for every step that failed (the campaign goes
    /// on without it).
    pub async fn run(mut self) -> Result<Vec<String>, std::io::Error> {
        let mut problems = Vec::new();
        let mut files = open(&self.dir)?;
        // The origin: the load's first second.
        let origin = loop {
            if let Some(o) = *self.origin.borrow() {
                break o;
            }
            if self.halted() {
                return Ok(problems);
            }
            let _ = tokio::time::timeout(POLL, self.origin.changed()).await;
        };
        let (stress_tx, mut stress_rx) = mpsc::unbounded_channel::<(usize, String, f64)>();
        let mut running: BTreeMap<usize, StressHandle> = BTreeMap::new();
        let mut forwarders: Vec<tokio::task::JoinHandle<()>> = Vec::new();
        let mut controller: Option<Controller> = None;
        let mut phase = 0usize;
        let initial = self.initial_replicas().await;
        let log = |files: &mut Files, ev: EventRecord| {
            let _ = files.events.events(std::slice::from_ref(&ev));
        };
        for (t, action) in Schedule::new(&self.timeline) {
            if !self.wait_until(origin + t, &mut files, &mut stress_rx).await {
                break;
            }
            let now = unix_now();
            let at = now - origin;
            match action {
                Action::Phase(i) => {
                    phase = i;
                    let p = &self.timeline.phases[i];
                    let text = format!(
                        "phase {} ({})",
                        p.name,
                        if p.control { "control" } else { "observe only" }
                    );
                    self.mark(at, MarkKind::PhaseStart, text.clone());
                    log(&mut files, EventRecord::new(now, "phase", text));
                    if i > 0 {
                        for (name, replicas) in &initial {
                            let r = crate::cluster::scale::set_replicas(
                                &self.conn,
                                &self.namespace,
                                name,
                                *replicas,
                            )
                            .await;
                            if let Err(e) = r {
                                problems
                                    .push(format!("resetting {name} to {replicas} replicas: {e}"));
                            }
                        }
                    }
                    controller = match &self.control {
                        None => None,
                        Some((spec, base)) => {
                            let config = control_setup::phase_config(base, spec, p);
                            let built = control_setup::sources(spec, &self.conn, &self.embedded)
                                .and_then(|s| {
                                    Controller::new(config, self.conn.clone(), s)
                                        .map_err(|e| e.to_string())
                                });
                            match built {
                                Ok(c) => Some(c),
                                Err(e) => {
                                    problems.push(format!("phase {}: no controller: {e}", p.name));
                                    None
                                }
                            }
                        }
                    };
                }
                Action::StressStart(k) => {
                    let w = &self.timeline.stress[k];
                    let text = format!("{}: {}", w.name, describe_stress(&w.spec));
                    self.mark(at, MarkKind::StressStart, text.clone());
                    log(&mut files, EventRecord::new(now, "stress_start", text));
                    match self.start_stress(k, !running.is_empty(), &stress_tx).await {
                        Ok((h, forwarder)) => {
                            running.insert(k, h);
                            forwarders.extend(forwarder);
                        }
                        Err(e) => {
                            let text = format!("{}: cannot start: {e}", w.name);
                            self.mark(at, MarkKind::Error, text.clone());
                            log(&mut files, EventRecord::new(now, "stress_failed", text.clone()));
                            problems.push(text);
                        }
                    }
                }
                Action::StressStop(k) => {
                    if let Some(h) = running.remove(&k) {
                        let name = self.timeline.stress[k].name.clone();
                        let summary = stop_stress(h).await;
                        self.mark(unix_now() - origin, MarkKind::StressStop, name.clone());
                        log(
                            &mut files,
                            EventRecord::new(
                                unix_now(),
                                "stress_stop",
                                format!("{name}: {summary}"),
                            ),
                        );
                    }
                }
                Action::Tick => {
                    let Some(c) = controller.as_mut() else { continue };
                    // A tick whose successor is already due is skipped (the first ones wait
                    // for the load's first second), so intervals stay an interval apart.
                    if at >= t + self.timeline.interval.unwrap_or(0.0) {
                        continue;
                    }
                    let record = match c.step(now).await {
                        Ok(r) => r,
                        Err(e) => {
                            problems.push(format!("controller at {}: {e}", clock(at)));
                            continue;
                        }
                    };
                    let _ = files.csv.write(&record.deployments);
                    let _ = files.anomalies.anomalies(&record.anomalies);
                    let _ = files.events.events(&record.events);
                    self.record_interval(origin, phase, &record);
                }
            }
        }
        // Stop every stressor still running, whatever ended the campaign.
        for (k, h) in std::mem::take(&mut running) {
            let name = self.timeline.stress[k].name.clone();
            let summary = stop_stress(h).await;
            log(
                &mut files,
                EventRecord::new(unix_now(), "stress_stop", format!("{name}: {summary}")),
            );
        }
        // Every run has ended, so its event stream has too; wait for the last events.
        for f in forwarders {
            let _ = tokio::time::timeout(Duration::from_secs(2), f).await;
        }
        self.drain(&mut files, &mut stress_rx);
        let why = if self.stop.load(Ordering::Relaxed) { "interrupted" } else { "completed" };
        log(&mut files, EventRecord::new(unix_now(), "end", format!("campaign {why}")));
        Ok(problems)
    }

    /// The controlled Deployments' replicas before the campaign (named targets only).
    async fn initial_replicas(&self) -> Vec<(String, u32)> {
        let Some((spec, _)) = &self.control else { return Vec::new() };
        let mut out = Vec::new();
        for name in &spec.deployments {
            if let Ok(s) = crate::cluster::scale::get_scale(&self.conn, &self.namespace, name).await
            {
                out.push((name.clone(), s.spec_replicas));
            }
        }
        out
    }

    async fn start_stress(
        &self,
        k: usize,
        others_running: bool,
        events: &mpsc::UnboundedSender<(usize, String, f64)>,
    ) -> Result<(StressHandle, Option<tokio::task::JoinHandle<()>>), String> {
        let w = &self.timeline.stress[k];
        let target = Target::parse(&w.spec.selector).map_err(|e| e.to_string())?;
        let options = RunnerOptions {
            namespace: Some(self.namespace.clone()),
            container: w.spec.container.clone(),
            // The TTL inside the pods: the window, so nothing outlives it even if ctl dies.
            duration: Some(Duration::from_secs_f64((w.stop - w.start).max(1.0))),
            max_pods: w.spec.max_pods.map(|n| n as usize),
            refresh: w.spec.refresh.map_or(Duration::from_secs(15), |r| r.0),
            // A sweep would end the other action's stressors in shared pods.
            sweep_at_start: !others_running,
            run: Some(RunId::generate()),
            ..RunnerOptions::default()
        };
        let mut handle = StressRunner::start(&self.conn, stress_spec(&w.spec), &target, options)
            .await
            .map_err(|e| e.to_string())?;
        let forwarder = handle.events().map(|mut rx| {
            let tx = events.clone();
            tokio::spawn(async move {
                while let Some(e) = rx.recv().await {
                    if tx.send((k, e.describe(), unix_now())).is_err() {
                        break;
                    }
                }
            })
        });
        Ok((handle, forwarder))
    }

    fn record_interval(&self, origin: f64, phase: usize, r: &crate::control::IntervalRecord) {
        let t = r.time - origin;
        let length = self.timeline.interval.unwrap_or(0.0);
        let deployments = r
            .deployments
            .iter()
            .map(|d| DeploymentSample {
                name: d.deployment.clone(),
                replicas: d.applied_replicas,
                ready: d.ready_replicas,
                cpu_millicores: d.cpu_millicores.map(|c| c * f64::from(d.pod_count)),
                memory_mib: d.memory_mebibytes.map(|m| m * f64::from(d.pod_count)),
                desired: d.desired_by_policy,
                applied: (d.applied_replicas != d.current_replicas).then_some(d.applied_replicas),
            })
            .collect();
        let Ok(mut rec) = self.recording.lock() else { return };
        for e in r.events.iter().filter(|e| e.kind == "scale") {
            rec.marks.push(Mark {
                t: e.time - origin,
                kind: MarkKind::Scale,
                text: format!(
                    "{} {} -> {} ({})",
                    e.deployment.as_deref().unwrap_or("?"),
                    e.from.unwrap_or(0),
                    e.to.unwrap_or(0),
                    e.policy.as_deref().unwrap_or("?")
                ),
            });
        }
        for a in r.anomalies.iter().filter(|a| a.state != "cleared") {
            rec.marks.push(Mark {
                t: a.time - origin,
                kind: MarkKind::Anomaly,
                text: a.message.clone(),
            });
        }
        rec.intervals.push(IntervalRecord {
            t,
            length,
            phase,
            deployments,
            anomalies: r.anomalies.iter().filter(|a| a.state != "cleared").count() as u32,
        });
    }
}

/// Stops a stress run within a bound; its summary in words.
async fn stop_stress(h: StressHandle) -> String {
    match tokio::time::timeout(STRESS_STOP_TIMEOUT, h.stop()).await {
        Ok(s) => format!(
            "stopped ({} pod(s): {} stopped, {} completed, {} failed{})",
            s.pods,
            s.stopped,
            s.completed,
            s.failed,
            if s.sweep_incomplete { ", sweep incomplete: the TTL ends the rest" } else { "" }
        ),
        Err(_) => "did not stop within 30s (the TTL inside the pods ends it)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::timeline::Phase;

    #[test]
    fn ticks_interleave_with_phases_in_time_order() {
        let phase = |name: &str, start: f64, end: f64| Phase {
            name: name.into(),
            start,
            measure_start: start,
            end,
            control: true,
            policy: None,
        };
        let t = Timeline {
            phases: vec![phase("a", 0.0, 2.5), phase("b", 2.5, 4.0)],
            stress: vec![],
            interval: Some(1.0),
        };
        let got: Vec<(f64, Action)> = Schedule::new(&t).collect();
        let want = [
            (0.0, Action::Phase(0)),
            (0.0, Action::Tick),
            (1.0, Action::Tick),
            (2.0, Action::Tick),
            (2.5, Action::Phase(1)),
            (3.0, Action::Tick),
        ];
        assert_eq!(got, want);
        // A week at 200 ms: counted lazily, never listed.
        let long = Timeline {
            phases: vec![phase("a", 0.0, 7.0 * 86_400.0)],
            stress: vec![],
            interval: Some(0.2),
        };
        assert_eq!(Schedule::new(&long).nth(1), Some((0.0, Action::Tick)));
    }
}
