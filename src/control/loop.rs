//! The controller: each interval it reads the targets' scale and pods from the Kubernetes API,
//! samples the metric source and the window's traces, runs the streaming detectors and the
//! trace model, asks the policies (anomalies are part of the observation), passes the acting
//! proposal through the guard, scales through the scale subresource (not in `observe`) and
//! records one row per target. A failed or empty metric sample holds replicas: nothing is
//! ever scaled on invalid data. [`Controller::step`] is one interval; `Controller::run`
//! (in `schedule`) the drift-free loop until the duration ends or `stop` is set.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::time::{Duration, Instant};

use super::config::{ControlConfig, Mode, PolicyKind, Targets};
use super::csv::CsvWriter;
use super::detect::{Detectors, Inputs, alarm_record, score_traces};
use super::events::JsonLines;
use super::observation::{Observed, build_observation, fill_observed, validate};
use super::policies::TargetPolicies;
use super::record::{DeploymentRecord, EventRecord, IntervalRecord};
use super::{ControlError, Sources};
use crate::cluster::Connection;
use crate::cluster::deployments;
use crate::cluster::scale::{self, ApiError};
pub(crate) use crate::observe::metrics::unix_now;
use crate::observe::metrics::{MetricTarget, MetricsSample, TargetMetrics};
use crate::policy::Observation;

/// The longest one Kubernetes API call may take, and one metric sample unless the interval
/// is longer (HTTP sources time out after 10 s per call; a sample may make several).
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// Per target: its pod selector, policies and detectors.
struct TargetState {
    selector: String,
    policies: TargetPolicies,
    detectors: Detectors,
}

/// The open output files.
struct Outputs {
    csv: CsvWriter<BufWriter<File>>,
    anomalies: JsonLines<BufWriter<File>>,
    events: JsonLines<BufWriter<File>>,
}

/// The closed loop over one namespace.
pub struct Controller {
    pub(super) config: ControlConfig,
    conn: Connection,
    pub(super) sources: Sources,
    targets: BTreeMap<String, TargetState>,
    outputs: Option<Outputs>,
    /// End of the previous interval's trace window (Unix seconds).
    last_window_end: Option<f64>,
    io: Duration,
    /// False once the cluster answered that it serves no HorizontalPodAutoscalers.
    read_hpas: bool,
}

impl Controller {
    /// Checks the configuration and opens the output files (`control.csv`,
    /// `anomalies.jsonl`, `events.jsonl` in `config.out`). Does no network IO.
    pub fn new(
        config: ControlConfig,
        conn: Connection,
        sources: Sources,
    ) -> Result<Self, ControlError> {
        if config.policy == PolicyKind::Predictive && config.policies.predictive.is_none() {
            return Err(ControlError::Config(
                "--policy predictive needs a CPU model (--cpu-model FILE from `ctl model train`)"
                    .into(),
            ));
        }
        if config.interval.is_zero() {
            return Err(ControlError::Config("--interval must be above 0".into()));
        }
        let outputs = match &config.out {
            None => None,
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|source| ControlError::Output { path: dir.clone(), source })?;
                let open = |name: &str| {
                    let path = dir.join(name);
                    File::create(&path)
                        .map(BufWriter::new)
                        .map_err(|source| ControlError::Output { path, source })
                };
                let csv_path = dir.join("control.csv");
                Some(Outputs {
                    csv: CsvWriter::new(open("control.csv")?)
                        .map_err(|source| ControlError::Output { path: csv_path, source })?,
                    anomalies: JsonLines::new(open("anomalies.jsonl")?),
                    events: JsonLines::new(open("events.jsonl")?),
                })
            }
        };
        Ok(Controller {
            config,
            conn,
            sources,
            targets: BTreeMap::new(),
            outputs,
            last_window_end: None,
            io: Duration::ZERO,
            read_hpas: true,
        })
    }

    pub fn config(&self) -> &ControlConfig {
        &self.config
    }

    /// Times a Kubernetes API call, so the step can report its own overhead without it, and
    /// bounds it: kube's client waits up to 295 s for an answer, far past any interval.
    async fn timed<T, E: From<ApiError>>(
        &mut self,
        f: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let start = Instant::now();
        let out = tokio::time::timeout(CALL_TIMEOUT, f).await.unwrap_or_else(|_| {
            Err(ApiError(format!("the Kubernetes API did not answer in {CALL_TIMEOUT:?}")).into())
        });
        self.io += start.elapsed();
        out
    }

    /// The targets now: name -> pod selector. Named targets are looked up once; selectors are
    /// re-listed every interval so new Deployments join.
    pub async fn resolve_targets(&mut self) -> Result<Vec<(String, String)>, ControlError> {
        let ns = self.config.namespace.clone();
        let conn = self.conn.clone();
        let found: Vec<(String, String)> = match self.config.targets.clone() {
            Targets::Names(names) => {
                let mut out = Vec::new();
                for name in names {
                    if let Some(t) = self.targets.get(&name) {
                        out.push((name, t.selector.clone()));
                        continue;
                    }
                    let d = self
                        .timed(deployments::get_deployment(&conn, &ns, &name))
                        .await
                        .map_err(lookup_error)?;
                    out.push((name, d.selector));
                }
                out
            }
            Targets::Selector(s) => self
                .timed(deployments::list_deployments(&conn, &ns, Some(&s)))
                .await
                .map_err(lookup_error)?
                .into_iter()
                .map(|d| (d.name, d.selector))
                .collect(),
            Targets::All => self
                .timed(deployments::list_deployments(&conn, &ns, None))
                .await
                .map_err(lookup_error)?
                .into_iter()
                .map(|d| (d.name, d.selector))
                .collect(),
        };
        for (name, selector) in &found {
            if !self.targets.contains_key(name) {
                let policies = TargetPolicies::new(
                    &self.config.policies,
                    self.config.mode,
                    self.config.policy,
                )
                .map_err(ControlError::Config)?;
                let state = TargetState {
                    selector: selector.clone(),
                    policies,
                    detectors: Detectors::new(name),
                };
                self.targets.insert(name.clone(), state);
            }
        }
        Ok(found)
    }

    /// One interval at `now` (Unix seconds): observe, detect, decide, guard, act, record.
    /// Failures of the cluster or the sources are recorded (and replicas held), not returned;
    /// only an output file that cannot be written is an error.
    pub async fn step(&mut self, now: f64) -> Result<IntervalRecord, ControlError> {
        let started = Instant::now();
        self.io = Duration::ZERO;
        let mut record = IntervalRecord { time: now, ..IntervalRecord::default() };
        let ns = self.config.namespace.clone();
        let conn = self.conn.clone();

        let targets = match self.resolve_targets().await {
            Ok(t) => t,
            Err(e) => {
                let mut ev = EventRecord::new(now, "hold", format!("cannot list targets: {e}"));
                ev.policy = Some(self.config.policy.as_str().into());
                log::warn!("{}", ev.message);
                record.events.push(ev);
                return self.finish(record, started);
            }
        };

        // The Kubernetes view of each target.
        let mut observed: BTreeMap<String, Result<Observed, String>> = BTreeMap::new();
        for (name, selector) in &targets {
            let scale = self.timed(scale::get_scale(&conn, &ns, name)).await;
            let pods = self.timed(deployments::list_pods(&conn, &ns, selector)).await;
            let o = match (scale, pods) {
                (Ok(s), Ok(pods)) => Ok(Observed { spec_replicas: s.spec_replicas, pods }),
                (Err(e), _) | (_, Err(e)) => Err(format!("kubernetes: {e}")),
            };
            observed.insert(name.clone(), o);
        }

        // Live HPA objects, if the cluster has any (seed 004 logged the live HPA beside its own).
        let mut live_hpas = BTreeMap::new();
        if self.read_hpas {
            match self.timed(scale::list_hpas(&conn, &ns)).await {
                Ok(Some(list)) => {
                    live_hpas = list.into_iter().map(|h| (h.target.clone(), h)).collect();
                }
                Ok(None) => self.read_hpas = false,
                Err(e) => log::debug!("{e}"),
            }
        }

        // Metrics for the targets the API answered for.
        let metric_targets: Vec<MetricTarget> = observed
            .iter()
            .filter_map(|(name, o)| {
                let o = o.as_ref().ok()?;
                Some(MetricTarget {
                    namespace: ns.clone(),
                    deployment: name.clone(),
                    pods: o.pods.iter().map(|p| p.observation.name.clone()).collect(),
                })
            })
            .collect();
        let sample: Result<MetricsSample, String> = if metric_targets.is_empty() {
            Ok(MetricsSample::new())
        } else {
            let start = Instant::now();
            let limit = CALL_TIMEOUT.max(self.config.interval);
            let r = tokio::time::timeout(limit, self.sources.metrics.sample(&metric_targets, now))
                .await;
            self.io += start.elapsed();
            match r {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => {
                    Err(format!("{}: no answer in {CALL_TIMEOUT:?}", self.sources.metrics.name()))
                }
            }
        };
        if let Err(e) = &sample {
            record.metrics_error = Some(e.clone());
        }

        // Traces of the window, scored.
        let names: Vec<String> = targets.iter().map(|(n, _)| n.clone()).collect();
        let window_start = self.last_window_end.unwrap_or(now - self.config.interval.as_secs_f64());
        self.last_window_end = Some(now);
        // Without a model the traces would only be counted: not worth a fetch per interval.
        if let (Some(api), Some(_)) = (&self.sources.traces, &self.config.anomaly_model) {
            let start = Instant::now();
            let fetched = api.traces(window_start, now).await;
            self.io += start.elapsed();
            match fetched {
                Ok(traces) => {
                    record.traces = traces.len();
                    if let Some(model) = &self.config.anomaly_model {
                        let span_map = self.config.span_map.as_ref();
                        record
                            .anomalies
                            .extend(score_traces(model, span_map, &traces, &names, now));
                    }
                }
                Err(e) => {
                    let ev = EventRecord::new(now, "traces_failed", e.to_string());
                    log::warn!("traces: {e}");
                    record.events.push(ev);
                }
            }
        }

        for (name, _) in &targets {
            let o = observed.remove(name).unwrap_or_else(|| Err("not observed".into()));
            let metrics = match &sample {
                Ok(s) => Ok(s.get(name).cloned().unwrap_or_default()),
                Err(e) => Err(format!("metrics: {e}")),
            };
            let mut row = self.decide_and_act(now, name, o, metrics, &mut record).await;
            if let Some(h) = live_hpas.get(name) {
                row.hpa_current_replicas = h.current_replicas;
                row.hpa_desired_replicas = Some(h.desired_replicas);
            }
            record.deployments.push(row);
        }
        self.finish(record, started)
    }

    /// Everything for one target after observation.
    async fn decide_and_act(
        &mut self,
        now: f64,
        name: &str,
        observed: Result<Observed, String>,
        metrics: Result<TargetMetrics, String>,
        record: &mut IntervalRecord,
    ) -> DeploymentRecord {
        let mode = self.config.mode;
        let policy = self.config.policy;
        let mut row = DeploymentRecord {
            time: now,
            deployment: name.to_string(),
            mode: mode.as_str().to_string(),
            policy: policy.as_str().to_string(),
            applied_by: "none".into(),
            ..DeploymentRecord::default()
        };
        let observed = match observed {
            Ok(o) => o,
            Err(why) => return self.hold(row, record, why),
        };
        let observation =
            build_observation(&self.config.namespace, name, &observed, metrics.as_ref().ok());
        fill_observed(&mut row, &observation, &observed, metrics.as_ref().ok());
        let metrics = match metrics {
            Ok(m) => m,
            Err(why) => return self.hold(row, record, why),
        };
        if let Err(why) = validate(&observation) {
            return self.hold(row, record, format!("metrics: {why}"));
        }
        row.valid = true;
        let Some(state) = self.targets.get_mut(name) else {
            return self.hold(row, record, "target vanished".into());
        };

        // Detectors, then the anomalies the policies see.
        let inputs = Inputs {
            p95_ms: metrics.service.latency_p95_ms,
            error_rate: metrics.service.error_rate,
            cpu_millicores: row.cpu_millicores,
            memory_mebibytes: row.memory_mebibytes,
        };
        let alarms = state.detectors.update(now, &inputs);
        let mut anomalies: Vec<String> = state.detectors.active().cloned().collect();
        let trace_anomalies: Vec<String> = record
            .anomalies
            .iter()
            .filter(|a| a.kind == "trace" && a.deployment.as_deref() == Some(name))
            .map(|a| a.message.clone())
            .collect();
        row.anomalies =
            (alarms.iter().filter(|a| a.kind == crate::anomaly::stream::AlarmKind::Raised).count()
                + trace_anomalies.len()) as u32;
        anomalies.extend(trace_anomalies);
        record.anomalies.extend(alarms.iter().map(|a| alarm_record(name, a)));
        let observation = Observation { anomalies, ..observation };

        let proposals = state.policies.decide(now, &observation);
        let h = &proposals.hpa;
        row.hpa_sim_desired = Some(h.desired);
        row.hpa_sim_raw_desired = h.raw;
        row.hpa_sim_cpu_desired = h.cpu_desired;
        row.hpa_sim_mem_desired = h.mem_desired;
        row.hpa_sim_cpu_ratio = h.cpu_ratio;
        row.hpa_sim_mem_ratio = h.mem_ratio;
        row.hpa_sim_action = Some(action(observed.spec_replicas, h.desired).into());
        row.kpa_desired = proposals.kpa.as_ref().map(|d| d.desired_replicas);
        if let Some((d, rec)) = &proposals.predictive {
            row.ai_recommended_replicas = rec.as_ref().and_then(|r| r.predictive_replicas);
            row.ai_predicted_cpu_millicores = rec
                .as_ref()
                .and_then(|r| r.cpu_estimate)
                .filter(|_| observed.spec_replicas > 0)
                .map(|c| c * 1000.0 / f64::from(observed.spec_replicas));
            row.ai_reasoning = Some(d.reason.clone());
        }

        let current = observed.spec_replicas;
        let Some(decision) = proposals.of(policy) else {
            row.applied_replicas = current;
            row.applied_by = if mode == Mode::Observe { "observation_only" } else { "none" }.into();
            row.reason = "no policy".into();
            return row;
        };
        row.desired_by_policy = Some(decision.desired_replicas);
        row.reason = decision.reason.clone();
        if mode == Mode::Observe {
            // What the guard would let through, without recording a change that never happens.
            let g = self.config.guard.clone().apply(now, name, current, decision);
            row.guard_reason = g.reason;
            row.applied_replicas = current;
            row.applied_by = "observation_only".into();
            return row;
        }
        // The guard remembers changes for its cooldowns; a change the API refuses never happened.
        let guard_before = self.config.guard.clone();
        let g = self.config.guard.apply(now, name, current, decision);
        row.guard_reason = g.reason.clone();
        if g.applied == current {
            row.applied_replicas = current;
            row.applied_by = format!("{}_no_change", policy.as_str());
            return row;
        }
        let conn = self.conn.clone();
        let ns = self.config.namespace.clone();
        let result = self.timed(scale::set_replicas(&conn, &ns, name, g.applied)).await;
        let mut ev = EventRecord::new(now, "scale", String::new());
        ev.deployment = Some(name.to_string());
        ev.from = Some(current);
        ev.to = Some(g.applied);
        ev.policy = Some(policy.as_str().into());
        match result {
            Ok(_) => {
                ev.message = match &g.reason {
                    Some(guard) => format!("{}; guard: {guard}", row.reason),
                    None => row.reason.clone(),
                };
                log::info!("{name}: scaled {current} -> {} ({})", g.applied, policy.as_str());
                row.applied_replicas = g.applied;
                row.applied_by = policy.as_str().into();
            }
            Err(e) => {
                self.config.guard = guard_before;
                ev.kind = "scale_failed";
                ev.message = e.to_string();
                log::warn!("{name}: {e}");
                row.applied_replicas = current;
                row.applied_by = "none".into();
            }
        }
        record.events.push(ev);
        row
    }

    /// Holds replicas for `why`: logged, an event, and the row says so.
    fn hold(
        &self,
        mut row: DeploymentRecord,
        record: &mut IntervalRecord,
        why: String,
    ) -> DeploymentRecord {
        log::warn!("{}: holding replicas: {why}", row.deployment);
        let mut ev = EventRecord::new(row.time, "hold", why.clone());
        ev.deployment = Some(row.deployment.clone());
        ev.from = Some(row.current_replicas);
        ev.to = Some(row.current_replicas);
        ev.policy = Some(row.policy.clone());
        record.events.push(ev);
        row.applied_replicas = row.current_replicas;
        row.applied_by = "none".into();
        row.guard_reason = Some(format!("held: {why}"));
        row.valid = false;
        row
    }

    fn finish(
        &mut self,
        mut record: IntervalRecord,
        started: Instant,
    ) -> Result<IntervalRecord, ControlError> {
        let total = started.elapsed();
        record.io_secs = self.io.as_secs_f64();
        record.compute_secs = total.saturating_sub(self.io).as_secs_f64();
        if let Some(out) = &mut self.outputs {
            let io = |path: &str| {
                let path = self.config.out.clone().unwrap_or_default().join(path);
                move |source| ControlError::Output { path, source }
            };
            out.csv.write(&record.deployments).map_err(io("control.csv"))?;
            out.anomalies.anomalies(&record.anomalies).map_err(io("anomalies.jsonl"))?;
            out.events.events(&record.events).map_err(io("events.jsonl"))?;
        }
        Ok(record)
    }

    /// Writes one event (e.g. `start`, `stop`) outside an interval.
    pub fn log_event(&mut self, event: EventRecord) -> Result<(), ControlError> {
        if let Some(out) = &mut self.outputs {
            let path = self.config.out.clone().unwrap_or_default().join("events.jsonl");
            out.events
                .events(std::slice::from_ref(&event))
                .map_err(|source| ControlError::Output { path, source })?;
        }
        Ok(())
    }
}

/// `scale_up`, `scale_down` or `no_change` (seed 004's action names).
fn action(current: u32, desired: u32) -> &'static str {
    match desired.cmp(&current) {
        std::cmp::Ordering::Greater => "scale_up",
        std::cmp::Ordering::Less => "scale_down",
        std::cmp::Ordering::Equal => "no_change",
    }
}

/// A target the server refuses (no such Deployment, a selector it cannot parse) is the user's
/// input (exit 2); the API failing is a runtime failure.
fn lookup_error(e: deployments::LookupError) -> ControlError {
    match e {
        deployments::LookupError::Rejected(m) => ControlError::Config(m),
        deployments::LookupError::Api(e) => ControlError::Kubernetes(e),
    }
}
