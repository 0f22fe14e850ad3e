//! The `replica_calculator_test.go` fixture: it builds pods and metrics the way upstream's fake
//! clients do (two containers per pod with the same request; zero start time, zero Ready
//! transition and zero sample timestamp unless a case says otherwise; a one-minute window;
//! the test-only 2 min CPU initialisation period and 10 s readiness delay).

use crate::policy::PodPhase;
use crate::policy::hpa::model::{
    ConditionStatus, ContainerRequests, Pod, PodSample, ReadyCondition, ZERO_TIME,
};
use crate::policy::hpa::quantity::parse_milli;
use crate::policy::hpa::replicas::{MetricError, Proposal, ReplicaCalculator, Tolerances};

pub(super) const NOW: f64 = 1_700_000_000.0;
pub(super) const C: usize = 2; // numContainersPerPod
pub(super) const T: ConditionStatus = ConditionStatus::True;
pub(super) const F: ConditionStatus = ConditionStatus::False;
pub(super) const RUN: PodPhase = PodPhase::Running;
pub(super) const FAIL: PodPhase = PodPhase::Failed;
pub(super) const PEND: PodPhase = PodPhase::Pending;
pub(super) const HOT: f64 = NOW; // hotCPUCreationTime
pub(super) const COOL: f64 = NOW - 180.0; // coolCPUCreationTime

pub(super) fn calc() -> ReplicaCalculator {
    ReplicaCalculator { cpu_initialization_period: 120.0, delay_of_initial_readiness_status: 10.0 }
}

pub(super) fn tol() -> Tolerances {
    Tolerances::symmetric(0.1)
}

/// `calcScenario`.
#[derive(Default, Clone)]
pub(super) struct Fx {
    pub(super) current: i32,
    pub(super) requests: Vec<&'static str>,
    pub(super) levels: Vec<Vec<i64>>,
    pub(super) pod_names: Vec<&'static str>,
    pub(super) container: Option<&'static str>,
    pub(super) readiness: Vec<ConditionStatus>,
    pub(super) start: Vec<f64>,
    pub(super) phase: Vec<PodPhase>,
    pub(super) deleted: Vec<bool>,
}

/// `makePodMetricLevels`.
pub(super) fn lv(levels: &[i64]) -> Vec<Vec<i64>> {
    levels.iter().map(|&l| vec![l; C]).collect()
}

pub(super) fn reqs(n: usize, v: &'static str) -> Vec<&'static str> {
    vec![v; n]
}

impl Fx {
    pub(super) fn pods(&self) -> Vec<Pod> {
        let n = (self.current.max(0) as usize).max(self.phase.len());
        (0..n)
            .map(|i| {
                let requests = match self.requests.get(i) {
                    Some(q) => vec![("cpu".to_string(), parse_milli(q).unwrap())],
                    None => Vec::new(),
                };
                Pod {
                    name: format!("test-pod-{i}"),
                    phase: self.phase.get(i).copied().unwrap_or(RUN),
                    deleting: self.deleted.get(i).copied().unwrap_or(false),
                    ready: Some(ReadyCondition {
                        status: self.readiness.get(i).copied().unwrap_or(T),
                        last_transition: ZERO_TIME,
                    }),
                    start_time: Some(self.start.get(i).copied().unwrap_or(ZERO_TIME)),
                    containers: ["container1", "container2"]
                        .iter()
                        .map(|c| ContainerRequests {
                            name: c.to_string(),
                            requests: requests.clone(),
                        })
                        .collect(),
                    pod_requests: Vec::new(),
                }
            })
            .collect()
    }

    pub(super) fn samples(&self) -> Vec<PodSample> {
        self.levels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut containers: Vec<ContainerRequests> = l
                    .iter()
                    .enumerate()
                    .map(|(j, &m)| ContainerRequests {
                        name: format!("container{}", j + 1),
                        requests: vec![("cpu".into(), m)],
                    })
                    .collect();
                // Unfilled slots of the fixed-size container list: no name, no usage.
                containers.resize(C.max(l.len()), ContainerRequests::default());
                PodSample {
                    pod: self.pod_names.get(i).map_or(format!("test-pod-{i}"), |n| n.to_string()),
                    timestamp: ZERO_TIME,
                    window: 60.0,
                    containers,
                }
            })
            .collect()
    }

    pub(super) fn resource(&self, target: i32, t: Tolerances) -> Result<Proposal, MetricError> {
        calc().resource_replicas(
            self.current,
            target,
            "cpu",
            self.container,
            t,
            &self.pods(),
            &self.samples(),
            NOW,
        )
    }
}

/// (name, fixture, target utilisation, expected replicas, utilisation, raw value).
pub(super) type ResourceCase = (&'static str, Fx, i32, i32, i32, i64);

pub(super) fn check_resource(cases: Vec<ResourceCase>, t: Tolerances) {
    for (name, fx, target, replicas, util, raw) in cases {
        let p = fx.resource(target, t).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((p.replicas, p.utilization, p.usage), (replicas, Some(util), raw), "{name}");
        assert_eq!(p.timestamp, Some(ZERO_TIME), "{name}");
    }
}
