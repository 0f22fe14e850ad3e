//! One HPA decision for a deployment of 1,000 pods with 3 metrics (CPU utilisation, memory
//! utilisation, a per-container CPU average value), timed over many iterations with
//! `Instant`; prints the mean per decision and its ratio to the 1 ms target.

use ctl::policy::PodPhase;
use ctl::policy::hpa::model::{ConditionStatus, ContainerRequests, ReadyCondition};
use ctl::policy::hpa::{
    Config, History, HpaSpec, MetricData, MetricSpec, Pod, PodSample, Scale, Target, reconcile,
};
use std::hint::black_box;
use std::time::Instant;

const PODS: usize = 1000;
const NOW: f64 = 1_700_000_000.0;

fn main() {
    let container = |cpu: i64, mem: i64| ContainerRequests {
        name: "app".into(),
        requests: vec![("cpu".into(), cpu), ("memory".into(), mem)],
    };
    let pods: Vec<Pod> = (0..PODS)
        .map(|i| Pod {
            name: format!("web-{i:04}"),
            phase: PodPhase::Running,
            deleting: false,
            ready: Some(ReadyCondition {
                status: ConditionStatus::True,
                last_transition: NOW - 500.0,
            }),
            start_time: Some(NOW - 600.0),
            containers: vec![container(500, 256 << 30)],
            pod_requests: vec![],
        })
        .collect();
    // Every 50th pod has no sample (missing), so the rebalancing path runs too.
    let samples: Vec<PodSample> = (0..PODS)
        .filter(|i| i % 50 != 7)
        .map(|i| PodSample {
            pod: format!("web-{i:04}"),
            timestamp: NOW - 10.0,
            window: 30.0,
            containers: vec![container(300 + (i as i64 % 400), (100 + i as i64 % 100) << 30)],
        })
        .collect();
    let spec = HpaSpec {
        min_replicas: 1,
        max_replicas: 5000,
        metrics: vec![
            MetricSpec::Resource {
                name: "cpu".into(),
                container: None,
                target: Target::Utilization(60),
            },
            MetricSpec::Resource {
                name: "memory".into(),
                container: None,
                target: Target::Utilization(70),
            },
            MetricSpec::Resource {
                name: "cpu".into(),
                container: Some("app".into()),
                target: Target::AverageValue(400),
            },
        ],
        behavior: None,
    };
    let data = MetricData { pod_metrics: samples, ..MetricData::default() };
    let config = Config::default();
    let scale = Scale { spec_replicas: PODS as i32, status_replicas: PODS as i32 };
    let history = History { recommendations: Some(vec![]), ..History::default() };

    let run = || {
        let mut h = history.clone();
        let o = reconcile(&config, &spec, &pods, &data, scale, NOW, &mut h);
        black_box(o.desired_replicas)
    };
    let desired = run();
    for _ in 0..50 {
        run();
    }
    let iterations = 2000u32;
    let start = Instant::now();
    for _ in 0..iterations {
        run();
    }
    let mean = start.elapsed() / iterations;
    let ms = mean.as_secs_f64() * 1e3;
    println!(
        "hpa decision, {PODS} pods x 3 metrics: mean {:.1} µs per decision over {iterations} runs \
         ({:.3} of the 1 ms target; desired {desired})",
        ms * 1e3,
        ms / 1.0
    );
}
