//! The policies of one target and the modes: the exact HPA always runs (its proposal fills the
//! `hpa_sim_*` columns, as seed 004's simulator did in every mode); in `observe` and `compare`
//! the KPA and (with a model) the predictive policy run in shadow too; in `act` only the
//! acting policy runs besides the HPA. Each keeps its own memory between intervals.

use super::config::{Mode, PolicyKind, PolicySettings};
use crate::policy::hpa::policy::inputs;
use crate::policy::hpa::{HpaPolicy, MetricSpec, Scale, Target, reconcile};
use crate::policy::kpa::KpaPolicy;
use crate::policy::predictive::{PredictivePolicy, PredictiveRecord};
use crate::policy::{Decision, Observation, Policy, Time};

/// The HPA's proposal with the per-metric detail the CSV shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HpaView {
    pub desired: u32,
    /// The max over the metric proposals, before stabilisation and rate limits.
    pub raw: Option<u32>,
    pub cpu_desired: Option<u32>,
    pub mem_desired: Option<u32>,
    /// Utilisation over its target.
    pub cpu_ratio: Option<f64>,
    pub mem_ratio: Option<f64>,
    pub reason: String,
}

/// What every running policy proposed this interval.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Proposals {
    pub hpa: HpaView,
    pub kpa: Option<Decision>,
    pub predictive: Option<(Decision, Option<PredictiveRecord>)>,
}

impl Proposals {
    /// The proposal of `policy` (None for `none` or a policy that did not run).
    pub fn of(&self, policy: PolicyKind) -> Option<Decision> {
        match policy {
            PolicyKind::Hpa => Some(Decision {
                desired_replicas: self.hpa.desired,
                reason: self.hpa.reason.clone(),
            }),
            PolicyKind::Kpa => self.kpa.clone(),
            PolicyKind::Predictive => self.predictive.as_ref().map(|(d, _)| d.clone()),
            PolicyKind::None => None,
        }
    }
}

/// One target's policy instances.
pub struct TargetPolicies {
    hpa: HpaPolicy,
    kpa: Option<KpaPolicy>,
    predictive: Option<PredictivePolicy>,
}

impl TargetPolicies {
    /// The policies `mode` runs for `acting`; an error when the acting one cannot be built.
    pub fn new(settings: &PolicySettings, mode: Mode, acting: PolicyKind) -> Result<Self, String> {
        let shadow_all = mode != Mode::Act;
        let mut hpa = HpaPolicy::new(settings.hpa.clone());
        hpa.config = settings.hpa_controller;
        let kpa =
            (shadow_all || acting == PolicyKind::Kpa).then(|| KpaPolicy::new(settings.kpa.clone()));
        let predictive = match &settings.predictive {
            Some((model, config)) if shadow_all || acting == PolicyKind::Predictive => {
                let mut reactive = HpaPolicy::new(settings.hpa.clone());
                reactive.config = settings.hpa_controller;
                Some(PredictivePolicy::new(config.clone(), model.clone(), Box::new(reactive))?)
            }
            None if acting == PolicyKind::Predictive => {
                return Err("the predictive policy needs a CPU model (--cpu-model FILE)".into());
            }
            _ => None,
        };
        Ok(TargetPolicies { hpa, kpa, predictive })
    }

    /// Asks every running policy.
    pub fn decide(&mut self, now: Time, observation: &Observation) -> Proposals {
        Proposals {
            hpa: self.hpa_view(now, observation),
            kpa: self.kpa.as_mut().map(|p| p.decide(now, observation)),
            predictive: self.predictive.as_mut().map(|p| {
                let d = p.decide(now, observation);
                (d, p.last().cloned())
            }),
        }
    }

    fn hpa_view(&mut self, now: Time, observation: &Observation) -> HpaView {
        let h = &mut self.hpa;
        let (pods, data) = inputs(observation, now);
        let replicas = i32::try_from(observation.spec_replicas).unwrap_or(i32::MAX);
        let scale = Scale { spec_replicas: replicas, status_replicas: replicas };
        let outcome = reconcile(&h.config, &h.spec, &pods, &data, scale, now, &mut h.history);
        let count = |n: i32| u32::try_from(n).ok();
        let mut view = HpaView {
            desired: count(outcome.desired_replicas).unwrap_or(observation.spec_replicas),
            raw: outcome.metric_replicas.and_then(count),
            reason: outcome.explanation.clone(),
            ..HpaView::default()
        };
        for m in &outcome.metrics {
            let (MetricSpec::Resource { name, target, .. }, Ok(p)) = (&m.spec, &m.result) else {
                continue;
            };
            let ratio = match (target, p.utilization) {
                (Target::Utilization(t), Some(u)) if *t > 0 => Some(f64::from(u) / f64::from(*t)),
                _ => None,
            };
            match name.as_str() {
                "cpu" => (view.cpu_desired, view.cpu_ratio) = (count(p.replicas), ratio),
                "memory" => (view.mem_desired, view.mem_ratio) = (count(p.replicas), ratio),
                _ => {}
            }
        }
        view
    }
}
