//! The checks of a parsed scenario's stress actions, controller and SLO (the rest of
//! [`super::resolve`]'s checker), and the mapping of a stress action to the stress module's
//! spec. Every error is placed on its key.

use std::path::Path;
use std::time::Duration;

use super::ScenarioError;
use super::resolve::Checker;
use super::scenario::{ControlMode, PolicyName, Scenario, StressAction, StressKind};
use super::timeline::{Phase, StressWindow};

/// The shortest controller interval: the loop must observe something between two steps.
const MIN_INTERVAL: Duration = Duration::from_millis(200);

impl Checker<'_> {
    pub(super) fn check_stress(
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
            if a.container.as_deref().is_some_and(|c| c.trim().is_empty()) {
                return Err(self.err(&at("container"), "expected a container name, found ''"));
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

    pub(super) fn check_control(&self, s: &Scenario) -> Result<(), ScenarioError> {
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
            ("kpa_config", &c.kpa_config),
            ("kpa_service", &c.kpa_service),
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
        // The KPA scales on requests in flight and the predictive policy on the request rate;
        // metrics-server has only CPU and memory, so either would hold replicas for ever.
        let acting = s.phases.iter().filter(|p| p.control).map(|p| p.policy.unwrap_or(c.policy));
        let needs_requests = acting
            .filter(|p| matches!(p, PolicyName::Kpa | PolicyName::Predictive))
            .map(PolicyName::as_str)
            .next();
        if let Some(policy) = needs_requests
            && c.mode != ControlMode::Observe
            && c.metrics.as_deref().is_none_or(|m| m == "metrics-server")
        {
            return Err(self.err(
                "control",
                format!("the {policy} policy needs request metrics: set metrics: scrape (embedded target), scrape:URL or prometheus:URL (metrics-server has only CPU and memory)"),
            ));
        }
        if let Some(m) = &c.metrics {
            let ok = m == "metrics-server"
                || (m == "scrape" && s.target.embedded.is_some())
                || m.starts_with("prometheus:http")
                || m.starts_with("scrape:http");
            if !ok {
                return Err(self.err(
                    "control.metrics",
                    format!("expected prometheus:URL, metrics-server, scrape:URL or (embedded target) scrape, found '{m}'"),
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
        // The files' contents (knowledge, HPA, KPA, models), as the run will read them.
        super::control_setup::base_config(c, "")
            .map_err(|e| self.err(&format!("control.{}", e.key), e.message))?;
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

    pub(super) fn check_slo(&self, s: &Scenario) -> Result<(), ScenarioError> {
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
