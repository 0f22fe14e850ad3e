//! `ctl::stress` against the embedded cluster (its exec emulation of the stressor contract):
//! CPU stress reaches the requested share (pod metrics and /metrics), memory stress raises the
//! working set by N MiB, memory over the limit OOM-kills, a replica scaled up mid-run gets
//! stressed within one refresh, a missing container and a deleted pod are reported per pod.
//! The binary's side (exit codes, SIGINT, `ctl stress script`) is in tests/stress_cli.rs.

#[allow(dead_code)] // shared with tests/stress_cli.rs, which uses other parts
mod stress_util;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use ctl::stress::{MemoryMode, Outcome, RunnerOptions, StressEvent, StressSpec};
use stress_util::{
    SELECTOR, Usage, cpu_falls_back, cpu_reaches, eventually, leftover_stressors, options,
    pod_metrics, running_pods, start, until_event, until_started, with_webapp,
};

/// `container_cpu_usage_seconds_total` of each of `pods` from one /metrics scrape (a plain
/// HTTP/1.0 GET), and when it was taken (the middle of the request, so that a slow scrape on a
/// loaded machine does not skew a rate).
fn scraped_cpu_seconds(metrics_url: &str, pods: &[String]) -> (Instant, Vec<f64>) {
    let addr = metrics_url.trim_start_matches("http://").trim_end_matches("/metrics");
    let sent = Instant::now();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let taken = sent + sent.elapsed() / 2;
    let seconds = |pod: &String| {
        text.lines()
            .filter(|l| {
                l.starts_with("container_cpu_usage_seconds_total{")
                    && l.contains(&format!("pod=\"{pod}\""))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    (taken, pods.iter().map(seconds).collect())
}

#[test]
fn cpu_stress_reaches_the_requested_share_and_stops_cleanly() {
    with_webapp(async |w| {
        let spec = StressSpec::Cpu { workers: 1, load: 15 };
        // A key with a DNS prefix (seed 004's style) is a label selector, not kind/name.
        let target = "app=webapp,!app.kubernetes.io/canary";
        let (handle, mut events) =
            start(&w.conn, spec, target, options(Duration::from_secs(60))).await;
        until_started(&mut events, 3).await;
        // 1 worker at 15 % = 150 millicores (under the 200m limit).
        cpu_reaches(&w.conn, &w.pods, 0.150).await;
        // /metrics counts the same CPU: its counter grows at 0.15 core-seconds per second.
        let metrics = w.cluster.metrics_url();
        let (from, before) = scraped_cpu_seconds(&metrics, &w.pods);
        // The window the rate is measured over, not a wait for a condition.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (to, after) = scraped_cpu_seconds(&metrics, &w.pods);
        let secs = (to - from).as_secs_f64();
        for (b, a) in before.iter().zip(&after) {
            let rate = (a - b) / secs;
            assert!(
                (rate - 0.150).abs() <= 0.015,
                "/metrics CPU rate {rate} ({b} -> {a} in {secs}s)"
            );
        }
        let summary = handle.stop().await;
        assert_eq!((summary.pods, summary.stopped, summary.failed), (3, 3, 0), "{summary:?}");
        assert_eq!(leftover_stressors(&w.conn).await, 0);
        cpu_falls_back(&w.conn).await;
    });
}

/// Working set in MiB of `pod`, 0 when missing.
fn mib(usage: &[Usage], pod: &str) -> f64 {
    usage.iter().find(|u| u.pod == pod).map_or(0.0, |u| u.mib)
}

#[test]
fn memory_stress_raises_the_working_set_by_n_mib() {
    with_webapp(async |w| {
        let before = pod_metrics(&w.conn).await;
        let spec = StressSpec::Memory { mb: 40, mode: MemoryMode::Shm };
        let (handle, _events) =
            start(&w.conn, spec, "deployment/webapp", options(Duration::from_secs(60))).await;
        let raised = eventually(Duration::from_secs(10), || async {
            let now = pod_metrics(&w.conn).await;
            w.pods
                .iter()
                .all(|p| (mib(&now, p) - mib(&before, p) - 40.0).abs() <= 4.0)
                .then_some(())
        })
        .await;
        assert!(raised.is_some(), "before {before:?}, now {:?}", pod_metrics(&w.conn).await);
        let summary = handle.stop().await;
        assert_eq!((summary.pods, summary.failed), (3, 0), "{summary:?}");
        // The sweep and the cleanup took the MiB back.
        let freed = eventually(Duration::from_secs(5), || async {
            let now = pod_metrics(&w.conn).await;
            w.pods.iter().all(|p| (mib(&now, p) - mib(&before, p)).abs() < 4.0).then_some(())
        })
        .await;
        assert!(freed.is_some(), "before {before:?}, after {:?}", pod_metrics(&w.conn).await);
    });
}

#[test]
fn memory_over_the_limit_is_reported_as_oom_killed() {
    with_webapp(async |w| {
        // The webapp's memory limit is 128Mi.
        let spec = StressSpec::Memory { mb: 200, mode: MemoryMode::Anon };
        let options = RunnerOptions { max_pods: Some(1), ..options(Duration::from_secs(30)) };
        let (handle, mut events) = start(&w.conn, spec, SELECTOR, options).await;
        let (hit, seen) = until_event(&mut events, Duration::from_secs(15), |e| {
            matches!(
                e,
                StressEvent::Ended { outcome: Outcome::OomKilled, exit_code: Some(137), .. }
            )
        })
        .await;
        assert!(hit, "{seen:#?}");
        let summary = handle.stop().await;
        assert_eq!(summary.oom_killed, 1, "{summary:?}");
    });
}

#[test]
fn a_replica_scaled_up_mid_run_is_stressed_within_one_refresh() {
    with_webapp(async |w| {
        let spec = StressSpec::Cpu { workers: 1, load: 10 };
        let (handle, mut events) =
            start(&w.conn, spec, SELECTOR, options(Duration::from_secs(60))).await;
        w.cluster.live.scale("webapp", 4).unwrap();
        let new = eventually(Duration::from_secs(15), || async {
            running_pods(&w.conn).await.into_iter().find(|p| !w.pods.contains(p))
        })
        .await
        .expect("a 4th running pod");
        let running_since = Instant::now();
        // One refresh (1 s) plus the preflight, start sweep and exec round trips.
        let (hit, seen) = until_event(
            &mut events,
            Duration::from_secs(3),
            |e| matches!(e, StressEvent::Started { pod, .. } if pod == &new),
        )
        .await;
        assert!(hit, "{new} not stressed {:?} after it ran: {seen:#?}", running_since.elapsed());
        cpu_reaches(&w.conn, &[new], 0.100).await;
        let summary = handle.stop().await;
        assert_eq!((summary.pods, summary.failed), (4, 0), "{summary:?}");
    });
}

#[test]
fn a_missing_container_is_reported_per_pod_naming_pod_and_container() {
    with_webapp(async |w| {
        let spec = StressSpec::Cpu { workers: 1, load: 10 };
        let options =
            RunnerOptions { container: Some("sidecar".into()), ..options(Duration::from_secs(20)) };
        let (handle, mut events) = start(&w.conn, spec, SELECTOR, options).await;
        let mut unsupported = Vec::new();
        let (all, seen) = until_event(&mut events, Duration::from_secs(10), |e| {
            if let StressEvent::Ended {
                outcome: Outcome::Unsupported, pod, message: Some(m), ..
            } = e
            {
                unsupported.push((pod.clone(), m.clone()));
            }
            unsupported.len() == 3
        })
        .await;
        assert!(all, "{seen:#?}");
        for (pod, message) in &unsupported {
            assert!(message.contains(pod.as_str()) && message.contains("sidecar"), "{message}");
        }
        let summary = handle.stop().await;
        assert_eq!((summary.pods, summary.unsupported), (0, 3), "{summary:?}");
    });
}

#[test]
fn a_pod_deleted_mid_run_is_reported_and_the_others_continue() {
    with_webapp(async |w| {
        let spec = StressSpec::Cpu { workers: 1, load: 10 };
        let (handle, mut events) =
            start(&w.conn, spec, SELECTOR, options(Duration::from_secs(60))).await;
        until_started(&mut events, 3).await;
        w.cluster.live.scale("webapp", 2).unwrap();
        let (gone, seen) = until_event(&mut events, Duration::from_secs(10), |e| {
            matches!(e, StressEvent::PodGone { .. })
        })
        .await;
        assert!(gone, "{seen:#?}");
        let remaining = running_pods(&w.conn).await;
        assert_eq!(remaining.len(), 2);
        cpu_reaches(&w.conn, &remaining, 0.100).await;
        let summary = handle.stop().await;
        assert_eq!(
            (summary.pods, summary.pod_gone, summary.stopped, summary.failed),
            (3, 1, 2, 0),
            "{summary:?}"
        );
    });
}
