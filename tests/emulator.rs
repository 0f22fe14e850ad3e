//! The emulation core driven in virtual time: queueing sanity against processor-sharing theory,
//! scaling, OOM kills, stress, spans and determinism.

use ctl::emulator::topology::parse;
use ctl::emulator::{Cluster, ClusterSnapshot, Event, PodPhase, topology};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;

/// One service `svc` with one route, CPU limit `limit` and service time `service_time`.
fn single(limit: &str, service_time: &str, replicas: u32, memory: &str) -> Cluster {
    let text = format!(
        "name: single\nentry: svc\nroutes: [{{method: GET, path: /}}]\nservices:\n  - name: svc\n    replicas: {replicas}\n    \
         cpu: {{request: 100m, limit: {limit}}}\n    memory: {memory}\n    startup_delay: 5s\n    service_time: {service_time}\n"
    );
    parse(&text, "single.yaml").unwrap().build(7)
}

const ROOMY: &str = "{request: 64Mi, limit: 1Gi, baseline: 10Mi, per_request: 1Ki}";

struct Run {
    events: Vec<Event>,
    elapsed: f64,
}

/// Poisson arrivals at `rate` per second for `requests` requests, then the snapshot time is the
/// last arrival (so the measured window is the arrival window).
fn poisson(cluster: &mut Cluster, rate: f64, requests: usize, seed: u64) -> Run {
    let mut rng = StdRng::seed_from_u64(seed);
    let route = cluster.route("GET", "/").unwrap();
    let (mut t, mut events) = (0.0, Vec::new());
    for _ in 0..requests {
        t += -(1.0 - rng.random::<f64>()).ln() / rate;
        events.extend(cluster.advance_to(t));
        cluster.submit(route, t).unwrap();
    }
    events.extend(cluster.advance_to(t));
    Run { events, elapsed: t }
}

fn mean_latency(events: &[Event]) -> f64 {
    let latencies: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            Event::RequestCompleted { latency, status: 200, .. } => Some(*latency),
            _ => None,
        })
        .collect();
    latencies.iter().sum::<f64>() / latencies.len() as f64
}

/// Named so that `cargo test emulator` selects these tests.
mod emulator {
    use super::*;

    #[test]
    fn utilisation_and_cpu_usage_match_queueing_theory() {
        // S = 10 ms at 1000m on a 500m replica: a lone request takes 20 ms.
        let (service_time, limit) = (0.010, 500.0);
        for rate in [20.0, 40.0] {
            let mut cluster = single("500m", "exp:10ms", 1, ROOMY);
            let run = poisson(&mut cluster, rate, 20_000, 1);
            let pod = &cluster.snapshot().pods[0];
            let utilisation = pod.busy_seconds / run.elapsed;
            let expected = rate * service_time * 1000.0 / limit;
            assert!(
                (utilisation / expected - 1.0).abs() < 0.05,
                "λ={rate}: utilisation {utilisation} vs {expected}"
            );
            let cores = pod.cpu_usage_seconds / run.elapsed;
            eprintln!(
                "λ={rate}: utilisation {utilisation:.4} (expected {expected:.4}), {cores:.4} cores"
            );
            assert!((cores / (rate * service_time) - 1.0).abs() < 0.05, "λ={rate}: {cores} cores");
        }
    }

    #[test]
    fn latency_rises_towards_saturation_and_falls_with_replicas() {
        let latency = |rate: f64, replicas: u32| {
            let mut cluster = single("500m", "exp:10ms", replicas, ROOMY);
            mean_latency(&poisson(&mut cluster, rate, 20_000, 2).events)
        };
        // M/G/1-PS: mean latency = (S·1000/L) / (1 - ρ): 40 ms at ρ = 0.5, 200 ms at ρ = 0.9.
        let half = latency(25.0, 1);
        assert!((half / 0.040 - 1.0).abs() < 0.15, "ρ=0.5: {half}");
        let busy = latency(45.0, 1);
        assert!(busy > 3.0 * half, "ρ=0.9: {busy} vs {half}");
        let spread = latency(45.0, 2);
        eprintln!(
            "mean latency: ρ=0.5 {half:.4} s, ρ=0.9 {busy:.4} s, ρ=0.9 on 2 replicas {spread:.4} s"
        );
        assert!(spread < busy / 3.0, "two replicas: {spread} vs {busy}");
    }

    #[test]
    fn processor_sharing_is_exact_for_simultaneous_requests() {
        // Two 100 ms requests on a 1000m replica share it, each at 500m; a third joins at 150 ms.
        let mut cluster = single("1000m", "const:100ms", 1, ROOMY);
        cluster.submit(0, 0.0).unwrap();
        cluster.submit(0, 0.0).unwrap();
        cluster.submit(0, 0.15).unwrap();
        let ends: Vec<f64> = cluster
            .advance_to(1.0)
            .iter()
            .filter(|e| matches!(e, Event::RequestCompleted { .. }))
            .map(Event::time)
            .collect();
        // At 150 ms the first two have 25 ms of work left each; with the third they get a third of
        // the core: they end at 225 ms, when the third has 75 ms left, alone: it ends at 300 ms.
        let expected = [0.225, 0.225, 0.3];
        for (end, want) in ends.iter().zip(expected) {
            assert!((end - want).abs() < 1e-9, "{ends:?}");
        }
        assert_eq!(cluster.next_event_time(), None);
    }

    #[test]
    fn a_cpu_stressor_takes_its_share_of_the_quota() {
        let mut cluster = single("1000m", "const:100ms", 1, ROOMY);
        let pod = cluster.snapshot().pods[0].name.to_string();
        cluster.set_stress(&pod, 1000.0, 0.0).unwrap();
        cluster.submit(0, 0.0).unwrap();
        let events = cluster.advance_to(1.0);
        // Half the core: 100 ms of work takes 200 ms.
        assert!((events[0].time() - 0.2).abs() < 1e-9, "{events:?}");
        // The stressor burns 1 core for the second, except the 100 ms the request took.
        let usage = cluster.snapshot().pods[0].cpu_usage_seconds;
        assert!((usage - 1.0).abs() < 1e-9, "{usage}");
        assert!(cluster.set_stress("nope", 1.0, 1.0).is_err());
        assert!(cluster.set_stress(&pod, f64::NAN, 1.0).is_err());
    }

    #[test]
    fn memory_over_the_limit_oom_kills_and_restarts() {
        let memory = "{request: 8Mi, limit: 10Mi, baseline: 8Mi, per_request: 1Mi}";
        let mut cluster = single("1000m", "const:1s", 1, memory);
        for t in [0.0, 0.1, 0.2] {
            cluster.submit(0, t).unwrap();
        }
        let events = cluster.advance_to(0.3);
        let failed: Vec<_> = events
            .iter()
            .filter(|e| matches!(e, Event::RequestCompleted { status: 503, .. }))
            .collect();
        assert_eq!(failed.len(), 3, "{events:?}");
        assert!(events.iter().any(|e| matches!(e, Event::OomKilled { failed: 3, .. })));
        let pod = &cluster.snapshot().pods[0];
        assert_eq!(
            (pod.restarts, pod.last_termination_reason, pod.ready),
            (1, Some("OOMKilled"), false)
        );
        assert_eq!(pod.phase, PodPhase::Running);
        assert_eq!(pod.memory_working_set_bytes, 8 << 20);
        // While restarting there is no ready replica: 503 at once.
        cluster.submit(0, 1.0).unwrap();
        assert!(matches!(
            cluster.advance_to(1.0)[..],
            [Event::RequestCompleted { status: 503, .. }, ..]
        ));
        let events = cluster.advance_to(5.3);
        assert!(
            matches!(&events[..], [Event::ReplicaReady { time, .. }] if (time - 5.2).abs() < 1e-9),
            "{events:?}"
        );
        let stats = &cluster.snapshot().services[0];
        assert_eq!(stats.requests_by_status.get(&503), Some(&4));

        // A memory stressor past the limit kills too, and dies with the container.
        let pod = cluster.snapshot().pods[0].name.to_string();
        cluster.set_memory_stress(&pod, 4 << 20, 6.0).unwrap();
        let pod = &cluster.snapshot().pods[0];
        assert_eq!((pod.restarts, pod.memory_working_set_bytes), (2, 8 << 20));
    }

    #[test]
    fn scale_up_becomes_ready_after_the_startup_delay() {
        let mut cluster = single("1000m", "const:10ms", 1, ROOMY);
        cluster.scale("svc", 3, 1.0).unwrap();
        let snapshot = cluster.snapshot();
        assert_eq!(snapshot.deployments[0].spec_replicas, 3);
        assert_eq!(snapshot.deployments[0].ready_replicas, 1);
        assert_eq!(snapshot.pods.iter().filter(|p| p.phase == PodPhase::Pending).count(), 2);
        assert!(cluster.advance_to(5.99).is_empty());
        let events = cluster.advance_to(6.0);
        assert_eq!(
            events.iter().filter(|e| matches!(e, Event::ReplicaReady { .. })).count(),
            2,
            "{events:?}"
        );
        assert_eq!(cluster.snapshot().deployments[0].ready_replicas, 3);
        for pod in cluster.snapshot().pods {
            assert!(
                pod.name.starts_with("svc-") && pod.name.len() == "svc-".len() + 10 + 1 + 5,
                "{}",
                pod.name
            );
        }
        assert!(cluster.scale("nope", 1, 6.0).is_err());
        assert!(cluster.scale("svc", 1_000_000, 6.0).is_err());
    }

    #[test]
    fn scale_down_drains_before_removing() {
        let mut cluster = single("1000m", "const:1s", 2, ROOMY);
        cluster.submit(0, 0.0).unwrap();
        cluster.submit(0, 0.0).unwrap();
        cluster.scale("svc", 1, 0.5).unwrap();
        let snapshot = cluster.snapshot();
        let draining: Vec<_> = snapshot.pods.iter().filter(|p| p.terminating).collect();
        assert_eq!(draining.len(), 1);
        assert_eq!(draining[0].in_flight, 1);
        assert_eq!(
            (snapshot.deployments[0].replicas, snapshot.deployments[0].ready_replicas),
            (1, 1)
        );
        // New work goes to the remaining pod only.
        cluster.submit(0, 0.5).unwrap();
        let events = cluster.advance_to(3.0);
        assert!(
            events.iter().any(
                |e| matches!(e, Event::ReplicaRemoved { time, .. } if (time - 1.0).abs() < 1e-9)
            )
        );
        let completed = events
            .iter()
            .filter(|e| matches!(e, Event::RequestCompleted { status: 200, .. }))
            .count();
        assert_eq!(completed, 3);
        assert_eq!(cluster.snapshot().pods.len(), 1);
    }

    #[test]
    fn hotel_requests_produce_call_trees_with_spans() {
        let mut cluster = topology::load("hotel").unwrap().build(3);
        let route = cluster.route("GET", "/hotels?inDate=2015-04-09").unwrap();
        cluster.submit(route, 0.0).unwrap();
        let events = cluster.advance_to(10.0);
        let Some(Event::TraceCompleted { trace, .. }) =
            events.iter().find(|e| matches!(e, Event::TraceCompleted { .. }))
        else {
            panic!("no trace: {events:?}");
        };
        let root = &trace.spans[0];
        assert_eq!(
            (&*root.service, &*root.operation, root.status),
            ("frontend", "HTTP GET /hotels", 200)
        );
        let services: Vec<&str> = trace.spans.iter().map(|s| &*s.service).collect();
        for service in ["search", "geo", "rate", "memcached-rate", "reservation", "profile"] {
            assert!(services.contains(&service), "{services:?}");
        }
        for span in &trace.spans[1..] {
            let parent = &trace.spans[span.parent.unwrap() as usize];
            assert!(
                span.start >= parent.start && span.end <= parent.end,
                "{span:?} outside {parent:?}"
            );
            assert!(span.cpu_ms > 0.0 && span.peak_mem_kb > 0 && span.pod.is_some());
        }
        let Some(Event::RequestCompleted { latency, .. }) = events.first() else {
            panic!("{events:?}")
        };
        assert!((latency - root.duration()).abs() < 1e-12);
    }

    #[test]
    fn async_calls_finish_the_trace_after_the_response() {
        let text = "name: a\nentry: a\nroutes: [{method: GET, path: /}]\nservices:\n  \
            - {name: a, cpu: {request: 1, limit: 1}, memory: {request: 1Mi, limit: 1Mi}, service_time: const:1ms, \
               calls: [{service: b, sync: false}]}\n  \
            - {name: b, cpu: {request: 1, limit: 1}, memory: {request: 1Mi, limit: 1Mi}, service_time: const:5ms}\n";
        let mut cluster = parse(text, "a.yaml").unwrap().build(1);
        cluster.submit(0, 0.0).unwrap();
        let events = cluster.advance_to(1.0);
        assert!((events[0].time() - 0.001).abs() < 1e-12, "{events:?}");
        assert!(
            matches!(&events[1], Event::TraceCompleted { time, trace } if (time - 0.006).abs() < 1e-12 && !trace.spans[1].sync)
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_events() {
        let run = |seed: u64| {
            let mut cluster = topology::load("hotel").unwrap().build(seed);
            let mut rng = StdRng::seed_from_u64(9);
            let (mut t, mut events) = (0.0, Vec::new());
            for i in 0..3000 {
                t += -(1.0 - rng.random::<f64>()).ln() / 300.0;
                events.extend(cluster.advance_to(t));
                cluster.submit(i % 4, t).unwrap();
                if i == 1000 {
                    cluster.scale("search", 2, t).unwrap();
                }
            }
            events.extend(cluster.advance_to(t + 60.0));
            (events, cluster.snapshot())
        };
        let (a, snapshot_a) = run(5);
        let (b, snapshot_b) = run(5);
        assert_eq!(a.len(), b.len());
        assert!(a == b);
        assert_eq!(snapshot_a, snapshot_b);
        let (c, _) = run(6);
        assert!(a != c);
        let completed =
            a.iter().filter(|e| matches!(e, Event::RequestCompleted { status: 200, .. })).count();
        assert_eq!(completed, 3000);
    }

    #[test]
    fn the_cluster_can_move_to_a_server_thread() {
        fn send<T: Send + 'static>() {}
        send::<Cluster>();
        send::<Event>();
    }

    #[test]
    fn late_virtual_times_keep_their_precision() {
        // Far into a run, float rounding must neither stall the event loop nor lose requests.
        let mut cluster = single("300m", "exp:7ms", 1, ROOMY);
        let start = 1.0e9;
        for i in 0..200 {
            cluster.submit(0, start + f64::from(i) * 1e-4).unwrap();
        }
        let events = cluster.advance_to(start + 100.0);
        let completed = events
            .iter()
            .filter(|e| matches!(e, Event::RequestCompleted { status: 200, .. }))
            .count();
        assert_eq!(completed, 200);
    }

    #[test]
    fn idle_replicas_and_unrelated_traffic_do_not_change_a_busy_replica() {
        // Processor sharing on one replica depends on that replica's jobs alone, so `front`'s
        // `main` calls must end bit for bit the same beside 300 idle replicas (some stressed,
        // more being scaled in) and unrelated traffic: `relay` calls cost `front` no CPU and
        // go on to `side`. Constant service times draw nothing from the seeded stream and
        // `front` comes first, so its pod name and `main`'s service times match in both.
        let front = "
  - name: front
    replicas: 1
    cpu: {request: 100m, limit: 500m}
    memory: {request: 64Mi, limit: 1Gi}
    service_time: exp:3ms
    operations:
      - {name: main}
";
        let small = format!(
            "name: small\nentry: front\nroutes: [{{method: GET, path: /, operation: main}}]\n\
             services:{front}"
        );
        let others = "      - name: relay
        service_time: const:0s
        calls: [{service: side, operation: side}]
  - name: side
    replicas: 1
    cpu: {request: 100m, limit: 300m}
    memory: {request: 64Mi, limit: 1Gi}
    service_time: const:2ms
  - name: idle
    replicas: 300
    cpu: {request: 100m, limit: 1000m}
    memory: {request: 64Mi, limit: 1Gi}
    startup_delay: 1s
    service_time: const:1ms
";
        let big = format!(
            "name: big\nentry: front\nroutes:\n  - {{method: GET, path: /, operation: main}}\n  \
             - {{method: GET, path: /side, operation: relay}}\nservices:{front}{others}"
        );
        let mut small = parse(&small, "small.yaml").unwrap().build(11);
        let mut big = parse(&big, "big.yaml").unwrap().build(11);
        let idle: Vec<String> = big
            .snapshot()
            .pods
            .iter()
            .filter(|p| &*p.deployment == "idle")
            .map(|p| p.name.to_string())
            .collect();
        assert_eq!(idle.len(), 300);
        let side = big.route("GET", "/side").unwrap();

        // (arrival, front ordinal or None for side) merged from two Poisson streams.
        let mut rng = StdRng::seed_from_u64(3);
        let (mut t_front, mut t_side, mut arrivals) = (0.0, 0.0, Vec::new());
        for i in 0..4000 {
            t_front += -(1.0 - rng.random::<f64>()).ln() / 120.0;
            arrivals.push((t_front, Some(i)));
        }
        while t_side < t_front {
            t_side += -(1.0 - rng.random::<f64>()).ln() / 100.0;
            arrivals.push((t_side, None));
        }
        arrivals.sort_by(|a, b| a.0.total_cmp(&b.0));

        let front_results = |cluster: &mut Cluster, with_side: bool| {
            let (mut ids, mut events) = (HashMap::new(), Vec::new());
            for (k, &(t, ordinal)) in arrivals.iter().enumerate() {
                events.extend(cluster.advance_to(t));
                match ordinal {
                    Some(i) => _ = ids.insert(cluster.submit(0, t).unwrap(), i),
                    None if with_side => _ = cluster.submit(side, t).unwrap(),
                    None => {}
                }
                if with_side && k == 1000 {
                    for pod in &idle[..3] {
                        cluster.set_stress(pod, 250.0, t).unwrap();
                    }
                    cluster.scale("idle", 320, t).unwrap();
                }
            }
            let end = t_front + 30.0;
            events.extend(cluster.advance_to(end));
            let results: Vec<(usize, f64, f64, u16)> = events
                .iter()
                .filter_map(|e| match e {
                    Event::RequestCompleted { request, time, latency, status, .. } => {
                        Some((*ids.get(request)?, *time, *latency, *status))
                    }
                    _ => None,
                })
                .collect();
            let ready = events.iter().filter(|e| matches!(e, Event::ReplicaReady { .. })).count();
            (results, ready, cluster.snapshot())
        };
        let (expected, _, small_snapshot) = front_results(&mut small, false);
        let (got, ready, big_snapshot) = front_results(&mut big, true);
        assert_eq!(expected.len(), 4000);
        assert!(got == expected, "front's completions differ beside idle replicas");
        let usage = |s: &ClusterSnapshot, pod: &str| {
            s.pods.iter().find(|p| &*p.name == pod).map(|p| (p.cpu_usage_seconds, p.busy_seconds))
        };
        let front_pod = &small_snapshot.pods[0].name;
        assert_eq!(usage(&big_snapshot, front_pod), usage(&small_snapshot, front_pod));
        // The scaled-in replicas became ready; the stressed idle pods used 250m from the change
        // on (the change came at arrival 1000), the others nothing.
        assert_eq!(ready, 20);
        let since = arrivals[1000].0;
        let (stressed, _) = usage(&big_snapshot, &idle[0]).unwrap();
        assert!((stressed - 0.25 * (big_snapshot.time - since)).abs() < 1e-9, "{stressed}");
        assert_eq!(usage(&big_snapshot, &idle[3]), Some((0.0, 0.0)));
    }
}
