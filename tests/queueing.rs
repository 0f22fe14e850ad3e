//! Queueing sanity of the emulation against theory, in virtual time (pure `Cluster`, seeded,
//! no clock): one replica with CPU limit L serving work of mean S CPU-seconds (at 1000m) is an
//! M/M/1 processor-sharing queue with service time S' = S·1000/L, so at arrival rate λ:
//! utilisation ρ = λ·S', CPU usage λ·S cores, mean response time S'/(1 − ρ). Round robin over
//! more replicas lowers latency; memory held by requests in flight past the limit OOM-kills.

use ctl::emulator::topology::parse;
use ctl::emulator::{Cluster, Event};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// S: mean CPU time per request at 1000m (exponential).
const WORK: f64 = 0.010;
/// L: the replica's CPU limit in millicores.
const LIMIT: f64 = 500.0;
/// S' = S·1000/L: a lone request's response time.
const SERVICE: f64 = WORK * 1000.0 / LIMIT;

/// One service `svc` behind `GET /`, with `replicas` replicas and the given memory settings.
fn cluster(replicas: u32, memory: &str, seed: u64) -> Cluster {
    let text = format!(
        "name: queue\nentry: svc\nroutes: [{{method: GET, path: /}}]\nservices:\n  - name: svc\n    \
         replicas: {replicas}\n    cpu: {{request: 100m, limit: {LIMIT}m}}\n    memory: {memory}\n    \
         startup_delay: 5s\n    service_time: exp:{}ms\n",
        WORK * 1000.0
    );
    parse(&text, "queue.yaml").unwrap().build(seed)
}

const ROOMY: &str = "{request: 64Mi, limit: 1Gi, baseline: 10Mi, per_request: 1Ki}";

struct Run {
    /// Response times of successful requests, in arrival order.
    latencies: Vec<f64>,
    failed: usize,
    oom_kills: usize,
    /// The last arrival: the measured window is [0, elapsed].
    elapsed: f64,
}

/// `requests` Poisson arrivals at `rate` per second (seeded), processed as they come.
fn poisson(cluster: &mut Cluster, rate: f64, requests: usize, seed: u64) -> Run {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut events = Vec::new();
    let mut t = 0.0;
    for _ in 0..requests {
        t += -(1.0 - rng.random::<f64>()).ln() / rate;
        events.extend(cluster.advance_to(t));
        cluster.submit(0, t).unwrap();
    }
    let elapsed = t;
    events.extend(cluster.advance_to(t + 3600.0));
    // Completions come in completion order; sort back to arrival order (request ids) for batching.
    let mut done: Vec<(u64, f64, u16)> = events
        .iter()
        .filter_map(|e| match e {
            Event::RequestCompleted { request, latency, status, .. } => {
                Some((*request, *latency, *status))
            }
            _ => None,
        })
        .collect();
    done.sort_by_key(|d| d.0);
    assert_eq!(done.len(), requests, "every request is answered");
    Run {
        latencies: done.iter().filter(|d| d.2 == 200).map(|d| d.1).collect(),
        failed: done.iter().filter(|d| d.2 != 200).count(),
        oom_kills: events.iter().filter(|e| matches!(e, Event::OomKilled { .. })).count(),
        elapsed,
    }
}

/// The mean and its standard error by batch means: 20 consecutive batches are nearly
/// independent when each is far longer than the queue's relaxation time (about
/// S'/(1 − ρ)² = 2 s at ρ = 0.9, against batches of several hundred seconds here).
fn mean_and_standard_error(values: &[f64]) -> (f64, f64) {
    const BATCHES: usize = 20;
    let size = values.len() / BATCHES;
    let means: Vec<f64> = values
        .chunks_exact(size)
        .take(BATCHES)
        .map(|batch| batch.iter().sum::<f64>() / size as f64)
        .collect();
    let mean = means.iter().sum::<f64>() / BATCHES as f64;
    let variance = means.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (BATCHES as f64 - 1.0);
    (mean, (variance / BATCHES as f64).sqrt())
}

#[test]
fn utilisation_and_cpu_usage_follow_the_arrival_rate() {
    // Over N arrivals both the work done and the window are sums of N independent
    // exponentials: their ratio is off by about 1.4/√N (0.6 % for N = 50 000), so 5 % is wide.
    for rho in [0.3, 0.6, 0.9] {
        let rate = rho / SERVICE;
        let mut c = cluster(1, ROOMY, 11);
        let run = poisson(&mut c, rate, 50_000, 21);
        let pod = &c.snapshot().pods[0];
        let utilisation = pod.busy_seconds / run.elapsed;
        // The drain after the last arrival adds a little CPU time; the residual work at
        // ρ = 0.9 is well under a second against a window of about 1100 s.
        let cores = pod.cpu_usage_seconds / run.elapsed;
        eprintln!(
            "ρ={rho}: utilisation {utilisation:.4}, {cores:.4} cores (λ·S = {:.4})",
            rate * WORK
        );
        assert!((utilisation / rho - 1.0).abs() < 0.05, "ρ={rho}: utilisation {utilisation}");
        assert!((cores / (rate * WORK) - 1.0).abs() < 0.05, "ρ={rho}: {cores} cores");
        assert_eq!(run.failed, 0);
    }
}

#[test]
fn mean_latency_is_processor_sharing_s_over_one_minus_rho() {
    let mut previous = 0.0;
    for (rho, requests) in [(0.3, 40_000), (0.6, 60_000), (0.9, 200_000)] {
        let rate = rho / SERVICE;
        let mut c = cluster(1, ROOMY, 12);
        let run = poisson(&mut c, rate, requests, 22);
        let (mean, se) = mean_and_standard_error(&run.latencies);
        let theory = SERVICE / (1.0 - rho);
        eprintln!("ρ={rho}: mean {mean:.5} s ± {se:.5} (theory {theory:.5})");
        // The run must be long enough to say something (standard error under 5 % of the mean),
        // and then agree with theory within 4 standard errors.
        assert!(se < 0.05 * theory, "ρ={rho}: standard error {se} too large to judge");
        assert!((mean - theory).abs() < 4.0 * se, "ρ={rho}: {mean} vs {theory} ± {se}");
        assert!(mean > previous, "latency rises with utilisation");
        previous = mean;
    }
}

#[test]
fn adding_replicas_lowers_latency() {
    // λ that loads one replica to ρ = 0.9. Round robin gives each of k replicas arrivals at
    // λ/k, more regular than Poisson (Erlang-k gaps), so each behaves no worse than an
    // M/M/1-PS queue at ρ/k: mean latency at most S'/(1 − ρ/k), and never below S'.
    let rate = 0.9 / SERVICE;
    let mean = |replicas: u32| {
        let mut c = cluster(replicas, ROOMY, 13);
        let run = poisson(&mut c, rate, 60_000, 23);
        run.latencies.iter().sum::<f64>() / run.latencies.len() as f64
    };
    let one = mean(1);
    let two = mean(2);
    let three = mean(3);
    eprintln!("mean latency: 1 replica {one:.4} s, 2 replicas {two:.4} s, 3 replicas {three:.4} s");
    assert!(one > two && two > three, "{one} {two} {three}");
    for (k, value) in [(2.0, two), (3.0, three)] {
        let bound = SERVICE / (1.0 - 0.9 / k);
        assert!(value > SERVICE && value < bound * 1.05, "{k} replicas: {value} vs {bound}");
    }
    assert!(one > 3.0 * two, "two replicas take the queue out of saturation: {one} vs {two}");
}

#[test]
fn memory_held_by_requests_in_flight_oom_kills_under_load_only() {
    // Limit = baseline + 10 requests' memory: the 11th request in flight kills the replica.
    // In M/M/1-PS the number in system is geometric, P(N ≥ 10) = ρ¹⁰: about 0.35 at ρ = 0.9
    // (kills are certain over 5000 arrivals), 1e-7 at ρ = 0.2 (none expected).
    let memory = "{request: 16Mi, limit: 20Mi, baseline: 10Mi, per_request: 1Mi}";
    let run_at = |rho: f64| {
        let mut c = cluster(1, memory, 14);
        let run = poisson(&mut c, rho / SERVICE, 5_000, 24);
        (run, c.snapshot().pods[0].clone())
    };
    let (calm, calm_pod) = run_at(0.2);
    assert_eq!((calm.oom_kills, calm.failed, calm_pod.restarts), (0, 0, 0));
    assert_eq!(calm_pod.last_termination_reason, None);
    let (busy, busy_pod) = run_at(0.9);
    eprintln!("ρ=0.9: {} OOM kills, {} requests failed", busy.oom_kills, busy.failed);
    assert!(busy.oom_kills > 0 && busy.failed >= 11, "{} kills", busy.oom_kills);
    assert_eq!(busy_pod.restarts as usize, busy.oom_kills);
    assert_eq!(busy_pod.last_termination_reason, Some("OOMKilled"));
}

#[test]
fn a_memory_stressor_past_the_limit_kills_and_one_below_does_not() {
    let memory = "{request: 16Mi, limit: 20Mi, baseline: 10Mi, per_request: 1Mi}";
    let mut c = cluster(1, memory, 15);
    let pod = c.snapshot().pods[0].name.to_string();
    c.set_memory_stress(&pod, 9 << 20, 1.0).unwrap();
    let p = &c.snapshot().pods[0];
    assert_eq!((p.restarts, p.memory_working_set_bytes, p.ready), (0, 19 << 20, true));
    // One request in flight adds 1Mi: exactly at the limit is still allowed.
    c.submit(0, 1.0).unwrap();
    assert_eq!(c.snapshot().pods[0].memory_working_set_bytes, 20 << 20);
    c.set_memory_stress(&pod, (10 << 20) + 1, 1.0).unwrap();
    let events = c.advance_to(1.0);
    assert!(events.iter().any(|e| matches!(e, Event::OomKilled { failed: 1, .. })), "{events:?}");
    assert!(events.iter().any(|e| matches!(e, Event::RequestCompleted { status: 503, .. })));
    let p = &c.snapshot().pods[0];
    assert_eq!((p.restarts, p.ready, p.memory_working_set_bytes), (1, false, 10 << 20));
    // Back after the 5 s startup delay, with the stressor gone.
    c.advance_to(6.01);
    assert!(c.snapshot().pods[0].ready);
}
