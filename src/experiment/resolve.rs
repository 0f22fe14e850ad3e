//! From a scenario file to the campaign that runs: parse (serde_yaml, which locates its own
//! errors), check every field and every cross-field rule (placing each error with
//! [`super::yaml_pos`]), fill in the defaults and build the load parts and the timeline.
//! Reads the files the scenario names (trace, workload, topology); starts nothing.

use std::path::Path;
use std::time::Duration;

use super::ScenarioError;
use super::scenario::{ModelName, PhaseSpec, PolicyName, Scenario, StressAction, StressKind};
use super::timeline::{Phase, StressWindow, Timeline};
use super::yaml_pos;
use crate::load::{Model, ThinkTime};
use crate::shape::{ArrivalProcess, Shape, ShapeSpec};
use crate::workload::Workload;

/// A checked scenario, its defaults filled in, ready to run.
pub struct Campaign {
    /// The scenario as it runs (what `scenario.resolved.yaml` holds).
    pub scenario: Scenario,
    pub path: String,
    pub timeline: Timeline,
    pub load: LoadParts,
}

/// The load plan's parts; the runner adds the host.
#[derive(Clone)]
pub struct LoadParts {
    pub shape: Shape,
    pub model: Model,
    pub workload: Workload,
    pub timeout: Duration,
    pub seed: u64,
}

/// The largest user pool or in-flight limit a scenario may ask for (as `ctl load`).
const MAX_POOL: usize = 100_000;
/// The shortest controller interval: the loop must observe something between two steps.
const MIN_INTERVAL: Duration = Duration::from_millis(200);

/// Reads, parses and checks the scenario at `path`.
pub fn load(path: &str) -> Result<Campaign, ScenarioError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ScenarioError::Read { path: path.to_string(), source })?;
    resolve(path, &text)
}

/// Parses and checks scenario `text`; `path` names it in messages.
pub fn resolve(path: &str, text: &str) -> Result<Campaign, ScenarioError> {
    let scenario: Scenario = serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
        ScenarioError::Invalid {
            path: path.to_string(),
            line,
            column,
            message: strip_location(&e.to_string()),
        }
    })?;
    Checker { path, text }.check(scenario)
}

/// serde_yaml appends " at line X column Y"; the location goes in front instead.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

struct Checker<'a> {
    path: &'a str,
    text: &'a str,
}

impl Checker<'_> {
    /// An error at the key named by `at` (`stress[1].start`).
    fn err(&self, at: &str, message: impl Into<String>) -> ScenarioError {
        let (line, column) = yaml_pos::locate(self.text, &yaml_pos::path(at));
        ScenarioError::Invalid {
            path: self.path.to_string(),
            line,
            column,
            message: format!("{at}: {}", message.into()),
        }
    }

    fn check(&self, mut s: Scenario) -> Result<Campaign, ScenarioError> {
        let label_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if s.label.is_empty() || s.label.len() > 100 || !s.label.chars().all(label_ok) {
            return Err(self.err(
                "label",
                "expected 1 to 100 letters, digits, '.', '_' or '-' (it names the run folder)",
            ));
        }
        self.check_target(&s)?;
        let phases = self.check_phases(&mut s)?;
        let duration = phases.last().map_or(0.0, |p| p.end);
        let load = self.check_load(&s, duration)?;
        let stress = self.check_stress(&s, &phases)?;
        self.check_control(&s)?;
        self.check_slo(&s)?;
        let interval = s.control.as_ref().map(|c| c.interval.secs());
        Ok(Campaign {
            path: self.path.to_string(),
            timeline: Timeline { phases, stress, interval },
            load,
            scenario: s,
        })
    }

    fn check_target(&self, s: &Scenario) -> Result<(), ScenarioError> {
        let t = &s.target;
        match (&t.embedded, &t.kubeconfig) {
            (Some(_), Some(_)) => {
                return Err(
                    self.err("target.kubeconfig", "give either embedded or kubeconfig, not both")
                );
            }
            (None, None) => {
                return Err(self.err(
                    "target",
                    "expected embedded: TOPOLOGY (e.g. hotel) or kubeconfig: FILE with host: URL",
                ));
            }
            (Some(topology), None) => {
                for (field, set) in [
                    ("context", t.context.is_some()),
                    ("namespace", t.namespace.is_some()),
                    ("host", t.host.is_some()),
                ] {
                    if set {
                        return Err(self.err(
                            &format!("target.{field}"),
                            "only applies to a kubeconfig target",
                        ));
                    }
                }
                crate::emulator::topology::load(topology)
                    .map_err(|e| self.err("target.embedded", e.to_string()))?;
            }
            (None, Some(_)) => {
                if t.seed.is_some() {
                    return Err(self.err("target.seed", "only applies to an embedded target"));
                }
                let Some(host) = &t.host else {
                    return Err(self.err(
                        "target",
                        "a kubeconfig target needs host: the application's base URL",
                    ));
                };
                let ok = (host.starts_with("http://") || host.starts_with("https://"))
                    && reqwest::Url::parse(host).is_ok();
                if !ok {
                    return Err(self.err(
                        "target.host",
                        format!("expected a URL like http://127.0.0.1:8080, found '{host}'"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Fills in every phase's windows and lays the phases out on the campaign clock.
    fn check_phases(&self, s: &mut Scenario) -> Result<Vec<Phase>, ScenarioError> {
        if s.phases.is_empty() {
            return Err(self.err("phases", "expected at least one phase"));
        }
        for (i, p) in s.phases.iter().enumerate() {
            let name_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-');
            if p.name.is_empty() || !p.name.chars().all(name_ok) {
                return Err(
                    self.err(&format!("phases[{i}].name"), "expected letters, digits, '_' or '-'")
                );
            }
            if s.phases[..i].iter().any(|q| q.name == p.name) {
                return Err(self.err(
                    &format!("phases[{i}].name"),
                    format!("phase '{}' is defined twice", p.name),
                ));
            }
            if p.control && s.control.is_none() {
                return Err(self.err(
                    &format!("phases[{i}].control"),
                    "the phase acts, but the scenario has no control section",
                ));
            }
            if p.policy.is_some() && s.control.is_none() {
                return Err(
                    self.err(&format!("phases[{i}].policy"), "the scenario has no control section")
                );
            }
        }
        let stab = |p: &PhaseSpec| p.stabilisation.unwrap_or(s.windows.stabilisation);
        let open: Vec<usize> = (0..s.phases.len())
            .filter(|&i| s.phases[i].measurement.is_none() && s.windows.measurement.is_none())
            .collect();
        if let Some(total) = s.duration {
            let fixed: f64 = s
                .phases
                .iter()
                .map(|p| {
                    stab(p).secs()
                        + p.measurement.or(s.windows.measurement).map_or(0.0, |m| m.secs())
                })
                .sum();
            let left = total.secs() - fixed;
            if open.is_empty() {
                if (left).abs() > 1e-6 {
                    return Err(self.err("duration", format!("the phases' windows add up to {fixed}s, not {total}; leave out duration or a measurement window")));
                }
            } else {
                let each = left / open.len() as f64;
                if each < 1.0 {
                    return Err(self.err("duration", format!("too short: the stabilisation windows leave {left:.0}s of {total} for measurement")));
                }
                let each =
                    super::scenario::Dur(Duration::from_secs_f64((each * 1000.0).floor() / 1000.0));
                for &i in &open {
                    s.phases[i].measurement = Some(each);
                }
            }
        } else if let Some(&i) = open.first() {
            return Err(self.err(
                &format!("phases[{i}]"),
                "no measurement window: give phases[].measurement, windows.measurement or duration",
            ));
        }
        let mut phases = Vec::new();
        let mut t = 0.0;
        let default_policy = s.control.as_ref().map(|c| c.policy);
        for (i, p) in s.phases.iter_mut().enumerate() {
            let stabilisation = p.stabilisation.unwrap_or(s.windows.stabilisation);
            let measurement = p.measurement.or(s.windows.measurement).expect("filled in above");
            if measurement.0 < Duration::from_secs(1) {
                return Err(self.err(&format!("phases[{i}].measurement"), "expected at least 1s"));
            }
            p.stabilisation = Some(stabilisation);
            p.measurement = Some(measurement);
            let start = t;
            t += stabilisation.secs() + measurement.secs();
            phases.push(Phase {
                name: p.name.clone(),
                start,
                measure_start: start + stabilisation.secs(),
                end: t,
                control: p.control,
                policy: p.policy.or(default_policy),
            });
        }
        s.duration = Some(super::scenario::Dur(Duration::from_secs_f64(t)));
        Ok(phases)
    }

    fn check_load(&self, s: &Scenario, duration: f64) -> Result<LoadParts, ScenarioError> {
        let l = &s.load;
        let spec = ShapeSpec::parse(&l.shape, &l.trace)
            .map_err(|e| self.err("load.shape", e.to_string()))?;
        let shape =
            spec.build(Some(duration)).map_err(|e| self.err("load.shape", e.to_string()))?;
        let mut workload = match &l.workload {
            Some(path) => {
                Workload::load(path).map_err(|e| self.err("load.workload", e.to_string()))?
            }
            None => Workload::get_root(),
        };
        if !l.tags.is_empty() || !l.exclude_tags.is_empty() {
            let at = if l.tags.is_empty() { "load.exclude_tags" } else { "load.tags" };
            workload = workload
                .select_tags(&l.tags, &l.exclude_tags)
                .map_err(|e| self.err(at, e.to_string()))?;
        }
        let timeout = match (l.timeout, &workload.timeout) {
            (Some(t), _) => t.0,
            (None, Some(text)) => humantime::parse_duration(text.trim())
                .or_else(|_| text.trim().parse::<f64>().map(Duration::from_secs_f64))
                .map_err(|_| {
                    self.err(
                        "load.workload",
                        format!("the workload's timeout '{text}' is not a duration"),
                    )
                })?,
            (None, None) => Duration::from_secs(60),
        };
        if timeout.is_zero() {
            return Err(self.err("load.timeout", "expected a positive duration"));
        }
        let peak = shape.max_value(duration);
        let model_name =
            l.model.unwrap_or(if spec.is_trace() { ModelName::Users } else { ModelName::Rate });
        let model = match model_name {
            ModelName::Users => {
                if l.arrivals.is_some() || l.max_in_flight.is_some() {
                    let at =
                        if l.arrivals.is_some() { "load.arrivals" } else { "load.max_in_flight" };
                    return Err(self.err(at, "only applies to the rate model (model: rate)"));
                }
                if peak > MAX_POOL as f64 {
                    return Err(self.err(
                        "load.shape",
                        format!("the users model starts at most {MAX_POOL} users"),
                    ));
                }
                let text =
                    l.think_time.as_deref().or(workload.think_time.as_deref()).unwrap_or("0");
                let think: ThinkTime =
                    text.parse().map_err(|e| self.err("load.think_time", format!("{e}")))?;
                Model::Users { think }
            }
            ModelName::Rate => {
                if l.think_time.is_some() {
                    return Err(self
                        .err("load.think_time", "only applies to the users model (model: users)"));
                }
                let arrivals: ArrivalProcess =
                    l.arrivals
                        .as_deref()
                        .unwrap_or("uniform")
                        .parse()
                        .map_err(|e| self.err("load.arrivals", format!("{e}")))?;
                let default_pool = ((peak * 0.5).ceil() as usize).clamp(64, 10_000);
                let max_in_flight = l.max_in_flight.unwrap_or(default_pool);
                if !(1..=MAX_POOL).contains(&max_in_flight) {
                    return Err(self.err("load.max_in_flight", format!("expected 1 to {MAX_POOL}")));
                }
                Model::Rate { arrivals, max_in_flight }
            }
        };
        Ok(LoadParts { shape, model, workload, timeout, seed: l.seed })
    }

    fn check_stress(
        &self,
        s: &Scenario,
        phases: &[Phase],
    ) -> Result<Vec<StressWindow>, ScenarioError> {
        let mut windows = Vec::new();
        for (i, a) in s.stress.iter().enumerate() {
            let at = |f: &str| format!("stress[{i}].{f}");
            if a.selector.trim().is_empty() {
                return Err(self.err(
                    &at("selector"),
                    "expected a label selector (app=webapp) or deployment/NAME",
                ));
            }
            let (allowed, denied): (&[&str], [(&str, bool); 2]) = match a.kind {
                StressKind::Cpu => {
                    (&["workers", "load"], [("mb", a.mb.is_some()), ("mode", a.mode.is_some())])
                }
                StressKind::Memory => (
                    &["mb", "mode"],
                    [("workers", a.workers.is_some()), ("load", a.load.is_some())],
                ),
            };
            if let Some((field, _)) = denied.iter().find(|(_, set)| *set) {
                return Err(self.err(
                    &at(field),
                    format!(
                        "does not apply to {} stress (its fields: {})",
                        a.kind.as_str(),
                        allowed.join(", ")
                    ),
                ));
            }
            if a.kind == StressKind::Memory && a.mb.is_none() {
                return Err(self.err(&at("kind"), "memory stress needs mb: MiB per pod"));
            }
            if let Err(e) = stress_spec(a).validate() {
                // The stress module names its flags (--workers); the scenario names its keys.
                let message = e.to_string();
                let field = ["workers", "load", "mb"]
                    .into_iter()
                    .find(|f| message.contains(&format!("--{f}")))
                    .unwrap_or("kind");
                return Err(self.err(&at(field), message.replace(&format!("--{field}: "), "")));
            }
            crate::cluster::pods::Target::parse(&a.selector).map_err(|e| {
                self.err(&at("selector"), e.to_string().replace("--selector: ", ""))
            })?;
            if a.max_pods == Some(0) {
                return Err(self.err(&at("max_pods"), "expected at least 1"));
            }
            if a.refresh.is_some_and(|r| r.0 < Duration::from_secs(1)) {
                return Err(self.err(&at("refresh"), "expected at least 1s"));
            }
            for (j, name) in a.phases.iter().enumerate() {
                if !phases.iter().any(|p| &p.name == name) {
                    let names: Vec<&str> = phases.iter().map(|p| p.name.as_str()).collect();
                    return Err(self.err(
                        &format!("stress[{i}].phases[{j}]"),
                        format!("no phase is named '{name}' (phases: {})", names.join(", ")),
                    ));
                }
            }
            let name = a.name.clone().unwrap_or_else(|| format!("{}-{}", a.kind.as_str(), i + 1));
            for (k, p) in phases.iter().enumerate() {
                if !a.phases.is_empty() && !a.phases.contains(&p.name) {
                    continue;
                }
                let length = p.end - p.start;
                let stop = a.stop.map_or(length, |d| d.secs());
                if a.start.secs() >= length {
                    return Err(self.err(&at("start"), format!("{} is not inside phase {} ({}s long; times are relative to the phase start)", a.start, p.name, length)));
                }
                if stop <= a.start.secs() || stop > length + 1e-9 {
                    return Err(self.err(&at("stop"), format!("expected a time after start ({}) and at most the length of phase {} ({length}s)", a.start, p.name)));
                }
                windows.push(StressWindow {
                    action: i,
                    name: name.clone(),
                    phase: k,
                    start: p.start + a.start.secs(),
                    stop: p.start + stop,
                    spec: a.clone(),
                });
            }
        }
        Ok(windows)
    }

    fn check_control(&self, s: &Scenario) -> Result<(), ScenarioError> {
        let Some(c) = &s.control else { return Ok(()) };
        if c.deployments.is_empty() == c.selector.is_none() {
            return Err(
                self.err("control", "give either deployments: [NAME, ...] or selector: LABELS")
            );
        }
        if c.interval.0 < MIN_INTERVAL {
            return Err(self.err("control.interval", "expected at least 200ms"));
        }
        for (field, value) in [
            ("knowledge", &c.knowledge),
            ("anomaly_model", &c.anomaly_model),
            ("hpa", &c.hpa),
            ("cpu_model", &c.cpu_model),
        ] {
            if let Some(file) = value
                && !Path::new(file).is_file()
            {
                return Err(self.err(&format!("control.{field}"), format!("no such file: {file}")));
            }
        }
        let predictive = c.policy == PolicyName::Predictive
            || s.phases.iter().any(|p| p.policy == Some(PolicyName::Predictive));
        if predictive && c.cpu_model.is_none() {
            return Err(self.err(
                "control",
                "the predictive policy needs cpu_model: FILE (from ctl model train)",
            ));
        }
        if let Some(m) = &c.metrics {
            let ok = m == "metrics-server"
                || m.starts_with("prometheus:http")
                || m.starts_with("scrape:http");
            if !ok {
                return Err(self.err(
                    "control.metrics",
                    format!("expected prometheus:URL, metrics-server or scrape:URL, found '{m}'"),
                ));
            }
        }
        if let Some(t) = &c.traces
            && t != "none"
            && !t.starts_with("jaeger:http")
        {
            return Err(
                self.err("control.traces", format!("expected jaeger:URL or none, found '{t}'"))
            );
        }
        if let Some(embedded) = &s.target.embedded
            && let Ok(topology) = crate::emulator::topology::load(embedded)
        {
            for (j, d) in c.deployments.iter().enumerate() {
                if topology.service(d).is_none() {
                    return Err(self.err(
                        &format!("control.deployments[{j}]"),
                        format!("topology {embedded} has no deployment '{d}'"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_slo(&self, s: &Scenario) -> Result<(), ScenarioError> {
        let slo = &s.slo;
        if ![50, 90, 95, 99].contains(&slo.percentile) {
            return Err(self.err("slo.percentile", "expected 50, 90, 95 or 99"));
        }
        if slo.latency.0.is_zero() {
            return Err(self.err("slo.latency", "expected a positive duration"));
        }
        if slo.max_error_rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
            return Err(self.err("slo.max_error_rate", "expected a share from 0 to 1 (0.01 = 1%)"));
        }
        if !(0.0..=1.0).contains(&slo.max_violation) {
            return Err(self.err("slo.max_violation", "expected a share from 0 to 1 (0.05 = 5%)"));
        }
        Ok(())
    }
}

/// The stress module's spec for an action (defaults: 1 worker at 100 %, shm).
pub fn stress_spec(a: &StressAction) -> crate::stress::StressSpec {
    match a.kind {
        StressKind::Cpu => crate::stress::StressSpec::Cpu {
            workers: a.workers.unwrap_or(1),
            load: a.load.unwrap_or(100),
        },
        StressKind::Memory => crate::stress::StressSpec::Memory {
            mb: a.mb.unwrap_or(0),
            mode: a.mode.unwrap_or(crate::stress::MemoryMode::Shm),
        },
    }
}
