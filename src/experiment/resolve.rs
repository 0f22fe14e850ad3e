//! From a scenario file to the campaign that runs: parse (serde_yaml, which locates its own
//! errors), check every field and every cross-field rule (placing each error with
//! [`super::yaml_pos`]), fill in the defaults and build the load parts and the timeline.
//! Reads the files the scenario names (trace, workload, topology); starts nothing.

use std::time::Duration;

use super::ScenarioError;
use super::scenario::{ModelName, PhaseSpec, Scenario};
use super::timeline::{Phase, Timeline};
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

/// The largest scenario file read (the shipped ones are a few KiB).
const MAX_SCENARIO_BYTES: u64 = 4 << 20;

/// Reads, parses and checks the scenario at `path`.
pub fn load(path: &str) -> Result<Campaign, ScenarioError> {
    let read_error = |source| ScenarioError::Read { path: path.to_string(), source };
    // Bounded, so `/dev/zero` is an error rather than a read that never ends.
    let bytes = crate::shape::read_bounded(path, MAX_SCENARIO_BYTES).map_err(read_error)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()))
    })?;
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

pub(super) struct Checker<'a> {
    pub(super) path: &'a str,
    pub(super) text: &'a str,
}

impl Checker<'_> {
    /// An error at the key named by `at` (`stress[1].start`).
    pub(super) fn err(&self, at: &str, message: impl Into<String>) -> ScenarioError {
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
                    text.parse().map_err(|e: String| self.err("load.think_time", e))?;
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
}
