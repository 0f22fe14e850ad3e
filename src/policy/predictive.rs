//! `predictive`: PHPA's idea with a capacity model in the middle. Each decision records the
//! observed request rate and CPU, forecasts the rate `horizon` intervals ahead, maps the path
//! to CPU with a trained linear model (`model::LinearModel`, features over `request_rate` and
//! the CPU target and their lags, fed its own predictions for future CPU lags), turns CPU into
//! replicas with the HPA formula (`ceil(cpu / (request per pod × target))`, with the HPA's
//! tolerance), and combines that with a reactive policy's proposal: `max` by default (as PHPA:
//! prediction can only add capacity), `min` or `mean`. Pure: time is a parameter, no IO.

use super::hpa::Tolerances;
use super::{Decision, Observation, Policy, Time};
use crate::model::features::Feature;
use crate::model::{Forecaster, LinearModel};
use serde::{Deserialize, Serialize};

/// How the predictive and reactive proposals combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Combine {
    #[default]
    Max,
    Min,
    /// The mean, rounded half away from zero (PHPA's `mean`).
    Mean,
}

impl Combine {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Max => "max",
            Self::Min => "min",
            Self::Mean => "mean",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "max" => Ok(Self::Max),
            "min" => Ok(Self::Min),
            "mean" => Ok(Self::Mean),
            _ => Err(format!("expected max, min or mean, found '{text}'")),
        }
    }
}

/// Settings of the predictive branch.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictiveConfig {
    pub forecaster: Forecaster,
    /// How many decision intervals ahead to provision for (≥ 1).
    pub horizon: usize,
    /// How many past observations the forecaster sees (older ones are dropped).
    pub history: usize,
    /// Target CPU utilisation in percent of the pods' request (the HPA's target).
    pub target_utilization: f64,
    /// CPU request per pod in millicores; `None` = the mean over the observed pods' requests.
    pub cpu_request_millis: Option<u64>,
    /// The HPA tolerance around a ratio of 1 (0.1 by default).
    pub tolerance: f64,
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub combine: Combine,
}

impl Default for PredictiveConfig {
    fn default() -> Self {
        Self {
            forecaster: Forecaster::Holt { damped: true },
            horizon: 1,
            history: 60,
            target_utilization: 70.0,
            cpu_request_millis: None,
            tolerance: 0.1,
            min_replicas: 1,
            max_replicas: 10,
            combine: Combine::Max,
        }
    }
}

/// Which proposal the decision followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Branch {
    Predictive,
    Reactive,
    /// Both proposed the same count.
    Both,
    /// `mean` of two different counts.
    Mean,
}

impl Branch {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Predictive => "predictive",
            Self::Reactive => "reactive",
            Self::Both => "both",
            Self::Mean => "mean",
        }
    }
}

/// Everything one decision was based on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictiveRecord {
    pub now: Time,
    /// The forecast request rate `horizon` intervals ahead.
    pub forecast_rate: Option<f64>,
    /// The model's CPU estimate (cores, summed over pods) at that time.
    pub cpu_estimate: Option<f64>,
    pub predictive_replicas: Option<u32>,
    pub reactive_replicas: u32,
    pub reactive_reason: String,
    pub desired_replicas: u32,
    pub winner: Branch,
    /// Why the predictive branch had no proposal, when it had none.
    pub skipped: Option<String>,
}

/// The predictive policy for one scale target.
pub struct PredictivePolicy {
    config: PredictiveConfig,
    model: LinearModel,
    features: Vec<Feature>,
    reactive: Box<dyn Policy>,
    rates: Vec<f64>,
    cpus: Vec<f64>,
    last: Option<PredictiveRecord>,
}

impl PredictivePolicy {
    /// Checks that the model's features are `request_rate` and the model's target (and their
    /// lags): the only series a controller observes for this.
    pub fn new(
        config: PredictiveConfig,
        model: LinearModel,
        reactive: Box<dyn Policy>,
    ) -> Result<Self, String> {
        let features: Vec<Feature> = model
            .features
            .iter()
            .map(|f| Feature::parse(f))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        if let Some(f) =
            features.iter().find(|f| f.column != "request_rate" && f.column != model.target)
        {
            return Err(format!(
                "the predictive policy feeds a model request_rate and {} (and their lags); \
                 feature '{}' is neither",
                model.target,
                f.name()
            ));
        }
        if config.horizon == 0 || config.target_utilization <= 0.0 {
            return Err("horizon must be >= 1 and the target utilisation > 0".into());
        }
        if config.min_replicas > config.max_replicas {
            return Err("min replicas must not exceed max replicas".into());
        }
        Ok(Self {
            config,
            model,
            features,
            reactive,
            rates: Vec::new(),
            cpus: Vec::new(),
            last: None,
        })
    }

    /// What the last decision was based on.
    pub fn last(&self) -> Option<&PredictiveRecord> {
        self.last.as_ref()
    }

    /// The forecast rate and the CPU the model expects `horizon` intervals ahead: CPU is
    /// predicted step by step so future CPU lags are the model's own estimates.
    fn estimate(&self) -> Result<(f64, f64), String> {
        let h = self.config.horizon;
        let forecast =
            self.config.forecaster.forecast(&self.rates, h).map_err(|e| e.to_string())?;
        let n = self.rates.len();
        let mut rates = self.rates.clone();
        rates.extend(&forecast);
        let mut cpus = self.cpus.clone();
        for idx in n..n + h {
            let x: Vec<f64> = self
                .features
                .iter()
                .map(|f| {
                    let path = if f.column == "request_rate" { &rates } else { &cpus };
                    idx.checked_sub(f.lag).and_then(|i| path.get(i)).copied().unwrap_or(f64::NAN)
                })
                .collect();
            cpus.push(self.model.predict_row(&x).max(0.0));
        }
        Ok((forecast[h - 1], cpus[n + h - 1]))
    }

    /// The HPA formula on a CPU estimate: the usage ratio against `current` pods at target,
    /// no change within the tolerance, else `ceil(cpu / (request × target))`, clamped.
    fn replicas_for(&self, cpu_cores: f64, request_millis: f64, current: u32) -> u32 {
        let per_pod = request_millis / 1000.0 * self.config.target_utilization / 100.0;
        let raw = if current > 0
            && Tolerances::symmetric(self.config.tolerance)
                .is_within(cpu_cores / (f64::from(current) * per_pod))
        {
            current
        } else {
            let r = (cpu_cores / per_pod).ceil();
            if r.is_finite() && r > 0.0 { r.min(f64::from(u32::MAX)) as u32 } else { 0 }
        };
        raw.clamp(self.config.min_replicas, self.config.max_replicas)
    }

    fn request_millis(&self, observation: &Observation) -> Option<f64> {
        if let Some(r) = self.config.cpu_request_millis {
            return Some(r as f64);
        }
        let reqs: Vec<f64> = observation
            .pods
            .iter()
            .filter_map(|p| p.cpu_request_millis)
            .map(|r| r as f64)
            .collect();
        if reqs.is_empty() { None } else { Some(reqs.iter().sum::<f64>() / reqs.len() as f64) }
    }
}

impl Policy for PredictivePolicy {
    fn name(&self) -> &str {
        "predictive"
    }

    fn decide(&mut self, now: Time, observation: &Observation) -> Decision {
        let reactive = self.reactive.decide(now, observation);
        let cpu_now: Option<f64> = {
            let usage: Vec<u64> =
                observation.pods.iter().filter_map(|p| p.cpu_usage_millis).collect();
            (!usage.is_empty()).then(|| usage.iter().sum::<u64>() as f64 / 1000.0)
        };
        let mut skipped = None;
        match (observation.request_rate, cpu_now) {
            (Some(rate), Some(cpu)) if rate.is_finite() => {
                self.rates.push(rate);
                self.cpus.push(cpu);
                let keep = self.config.history.max(self.config.forecaster.min_history());
                if self.rates.len() > keep {
                    let drop = self.rates.len() - keep;
                    self.rates.drain(..drop);
                    self.cpus.drain(..drop);
                }
            }
            (Some(_), Some(_)) => skipped = Some("the request rate is not a number".to_string()),
            (None, _) => skipped = Some("no request rate observed".to_string()),
            _ => skipped = Some("no CPU usage observed".to_string()),
        }
        let (mut forecast_rate, mut cpu_estimate, mut predictive) = (None, None, None);
        if skipped.is_none() {
            match (self.estimate(), self.request_millis(observation)) {
                (Ok((rate, cpu)), Some(req)) => {
                    forecast_rate = Some(rate);
                    cpu_estimate = Some(cpu);
                    predictive = Some(self.replicas_for(cpu, req, observation.spec_replicas));
                }
                (Err(e), _) => skipped = Some(e),
                (_, None) => skipped = Some("no CPU request known (pods have none)".to_string()),
            }
        }
        let r = reactive.desired_replicas;
        let (desired, winner) = match predictive {
            None => (r, Branch::Reactive),
            Some(p) if p == r => (r, Branch::Both),
            Some(p) => match self.config.combine {
                Combine::Max if p > r => (p, Branch::Predictive),
                Combine::Min if p < r => (p, Branch::Predictive),
                Combine::Max | Combine::Min => (r, Branch::Reactive),
                Combine::Mean => {
                    (((f64::from(p) + f64::from(r)) / 2.0).round() as u32, Branch::Mean)
                }
            },
        };
        let predictive_text = match (forecast_rate, cpu_estimate, predictive) {
            (Some(f), Some(c), Some(p)) => format!(
                "forecast {f:.2} req/s in {} intervals ({}), CPU {c:.3} cores -> {p} replicas",
                self.config.horizon,
                self.config.forecaster.name()
            ),
            _ => format!("no proposal ({})", skipped.as_deref().unwrap_or("")),
        };
        let reason = format!(
            "predictive: {predictive_text}; reactive: {r} ({}); {} -> {desired}, {} won",
            reactive.reason,
            self.config.combine.as_str(),
            winner.as_str()
        );
        self.last = Some(PredictiveRecord {
            now,
            forecast_rate,
            cpu_estimate,
            predictive_replicas: predictive,
            reactive_replicas: r,
            reactive_reason: reactive.reason,
            desired_replicas: desired,
            winner,
            skipped,
        });
        Decision { desired_replicas: desired, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::features::{Design, RowRef};
    use crate::policy::PodObservation;
    use crate::policy::hpa::HpaPolicy;

    /// A model of `cpu = cores_per_request × rate`, trained like any other.
    fn model(cores_per_request: f64) -> LinearModel {
        let rates: Vec<f64> = (1..30).map(f64::from).collect();
        let design = Design {
            features: vec!["request_rate".into()],
            x: rates.iter().map(|r| vec![*r]).collect(),
            y: rates.iter().map(|r| r * cores_per_request).collect(),
            naive: vec![f64::NAN; rates.len()],
            rows: (0..rates.len()).map(|row| RowRef { series: 0, row }).collect(),
        };
        LinearModel::fit(&design, "cpu_usage").unwrap()
    }

    /// `replicas` ready pods sharing `cpu_cores`, each requesting 1000m.
    fn observe(now: Time, replicas: u32, rate: f64, cpu_cores: f64) -> Observation {
        let per_pod = (cpu_cores * 1000.0 / f64::from(replicas)).round() as u64;
        Observation {
            deployment: "web".into(),
            spec_replicas: replicas,
            ready_replicas: replicas,
            request_rate: Some(rate),
            pods: (0..replicas)
                .map(|i| PodObservation {
                    name: format!("web-{i}"),
                    ready: true,
                    ready_transition: Some(0.0),
                    start_time: Some(0.0),
                    cpu_request_millis: Some(1000),
                    cpu_usage_millis: Some(per_pod),
                    metrics_timestamp: Some(now),
                    ..PodObservation::default()
                })
                .collect(),
            ..Observation::default()
        }
    }

    /// Runs `policy` over a rising sinusoidal load (period 40 intervals of 15 s, 10 to 110
    /// req/s, 0.02 cores per request) applying each decision; returns the replica path.
    fn run(policy: &mut dyn Policy) -> Vec<u32> {
        let mut replicas = 1;
        let mut path = Vec::new();
        for k in 0..30 {
            let rate = 60.0 - 50.0 * (2.0 * std::f64::consts::PI * f64::from(k) / 40.0).cos();
            let now = 1000.0 + 15.0 * f64::from(k);
            replicas =
                policy.decide(now, &observe(now, replicas, rate, 0.02 * rate)).desired_replicas;
            path.push(replicas);
        }
        path
    }

    fn first_at_least(path: &[u32], n: u32) -> Option<usize> {
        path.iter().position(|r| *r >= n)
    }

    #[test]
    fn scales_up_before_the_reactive_hpa_on_a_sinusoid() {
        let reactive = run(&mut HpaPolicy::cpu(50, 1, 10));
        let config = PredictiveConfig {
            horizon: 4,
            target_utilization: 50.0,
            ..PredictiveConfig::default()
        };
        let mut p = PredictivePolicy::new(config, model(0.02), Box::new(HpaPolicy::cpu(50, 1, 10)))
            .unwrap();
        let predictive = run(&mut p);
        eprintln!("reactive   {reactive:?}\npredictive {predictive:?}");
        for n in [2, 3, 4] {
            let (a, b) = (first_at_least(&predictive, n), first_at_least(&reactive, n));
            assert!(
                a.is_some() && a < b,
                "{n} replicas: predictive at {a:?}, reactive at {b:?}\n{predictive:?}\n{reactive:?}"
            );
        }
        let last = p.last().unwrap();
        assert!(last.forecast_rate.is_some() && last.cpu_estimate.is_some());
        assert!(p.decide(2000.0, &observe(2000.0, 3, 100.0, 2.0)).reason.contains("forecast"));
    }

    #[test]
    fn records_why_and_which_branch_won() {
        let config =
            PredictiveConfig { horizon: 1, combine: Combine::Min, ..PredictiveConfig::default() };
        let mut p = PredictivePolicy::new(config, model(0.02), Box::new(HpaPolicy::cpu(70, 1, 10)))
            .unwrap();
        let d = p.decide(1000.0, &observe(1000.0, 2, 50.0, 1.0));
        assert!(d.reason.contains("no proposal"), "{}", d.reason);
        assert_eq!(p.last().unwrap().winner, Branch::Reactive);
        let mut obs = observe(1015.0, 2, 50.0, 1.0);
        obs.request_rate = None;
        p.decide(1015.0, &obs);
        assert_eq!(p.last().unwrap().skipped.as_deref(), Some("no request rate observed"));
    }

    #[test]
    fn combine_modes() {
        let mk = |combine| {
            let config = PredictiveConfig {
                forecaster: Forecaster::Naive,
                combine,
                target_utilization: 50.0,
                ..PredictiveConfig::default()
            };
            // The reactive HPA at 100 % target proposes fewer pods than the model at 50 %.
            PredictivePolicy::new(config, model(0.02), Box::new(HpaPolicy::cpu(100, 1, 10)))
                .unwrap()
        };
        // 190 req/s -> 3.8 cores: the predictive branch wants 8 pods at 50 %; the HPA at 100 %
        // sees 95 % on 4 pods, within its tolerance, and keeps 4.
        let obs = observe(1000.0, 4, 190.0, 3.8);
        let mut max = mk(Combine::Max);
        assert_eq!(max.decide(1000.0, &obs).desired_replicas, 8);
        assert_eq!(max.last().unwrap().winner, Branch::Predictive);
        let mut min = mk(Combine::Min);
        assert_eq!(min.decide(1000.0, &obs).desired_replicas, 4);
        assert_eq!(min.last().unwrap().winner, Branch::Reactive);
        let mut mean = mk(Combine::Mean);
        assert_eq!(mean.decide(1000.0, &obs).desired_replicas, 6);
        assert_eq!(mean.last().unwrap().winner, Branch::Mean);
    }

    #[test]
    fn refuses_models_over_other_columns() {
        let mut m = model(0.02);
        m.features = vec!["p95_latency".into()];
        let e = PredictivePolicy::new(
            PredictiveConfig::default(),
            m,
            Box::new(HpaPolicy::cpu(70, 1, 10)),
        );
        assert!(e.err().unwrap().contains("p95_latency"));
    }
}
