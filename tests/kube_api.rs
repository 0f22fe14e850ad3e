//! The embedded cluster's Kubernetes API driven by the kube-rs client, as ctl uses it against
//! a real cluster: pods with selectors, watches while scaling, the scale subresource with every
//! patch type, exec of the stressor scripts (CPU seen in pod metrics, sweep, OOM kill, TTL
//! without a client) and pod metrics.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ctl::emulator::topology::{self, Topology};
use ctl::emulator::{EmbeddedCluster, ServeOptions};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{
    Api, ApiResource, AttachParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams, WatchEvent, WatchParams,
};
use serde_json::json;
use tokio::io::AsyncReadExt;

/// Starts `name` with every startup delay set to `startup`.
fn start(name: &str, startup: Duration) -> (EmbeddedCluster, Topology, kube::Client) {
    let mut topology = topology::load(name).unwrap();
    for service in &mut topology.services {
        service.startup_delay = startup;
    }
    let cluster = EmbeddedCluster::start(ServeOptions::new(topology.clone())).unwrap();
    let client = ctl::cluster::connect_url(&cluster.kubernetes_url(), "default").unwrap().client;
    (cluster, topology, client)
}

fn replicas_of(topology: &Topology, service: &str) -> usize {
    topology.services.iter().find(|s| &*s.name == service).unwrap().replicas as usize
}

async fn pod_names(pods: &Api<Pod>, selector: &str) -> Vec<String> {
    let list = pods.list(&ListParams::default().labels(selector)).await.unwrap();
    list.items.into_iter().map(|p| p.metadata.name.unwrap()).collect()
}

/// The exit code an exec status stands for (`None`: no status or a non-exit failure).
fn exit_code(status: &Option<Status>) -> Option<i32> {
    let status = status.as_ref()?;
    if status.status.as_deref() == Some("Success") {
        return Some(0);
    }
    status.details.as_ref()?.causes.as_ref()?.iter().find_map(|c| {
        (c.reason.as_deref() == Some("ExitCode")).then(|| c.message.as_deref()?.parse().ok())?
    })
}

/// Runs `argv` in `pod` to the end: (stdout, stderr, exit code).
async fn exec(pods: &Api<Pod>, pod: &str, argv: &[&str]) -> (String, String, Option<i32>) {
    let mut process = pods.exec(pod, argv.to_vec(), &AttachParams::default()).await.unwrap();
    let (mut out, mut err) = (process.stdout().unwrap(), process.stderr().unwrap());
    let status = process.take_status().unwrap();
    let (mut stdout, mut stderr) = (String::new(), String::new());
    let (_, _, status) =
        tokio::join!(out.read_to_string(&mut stdout), err.read_to_string(&mut stderr), status);
    process.join().await.unwrap();
    (stdout, stderr, exit_code(&status))
}

fn metrics_api(client: &kube::Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", "PodMetrics");
    Api::namespaced_with(client.clone(), "default", &ApiResource::from_gvk(&gvk))
}

/// CPU usage in millicores from a PodMetrics object (`<n>n`).
fn cpu_millis(metrics: &DynamicObject) -> f64 {
    let cpu = metrics.data["containers"][0]["usage"]["cpu"].as_str().unwrap();
    cpu.strip_suffix('n').unwrap().parse::<f64>().unwrap() / 1e6
}

fn status_code(error: kube::Error) -> u16 {
    match error {
        kube::Error::Api(status) => status.code,
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_pods_with_label_and_field_selectors() {
    let (_cluster, topology, client) = start("hotel", Duration::from_secs(5));
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let frontend = pod_names(&pods, "app=frontend").await;
    assert_eq!(frontend.len(), replicas_of(&topology, "frontend"));
    assert!(frontend.iter().all(|n| n.starts_with("frontend-")), "{frontend:?}");
    let two = pod_names(&pods, "app in (frontend, search)").await;
    assert_eq!(two.len(), replicas_of(&topology, "frontend") + replicas_of(&topology, "search"));
    let all: usize = topology.services.iter().map(|s| s.replicas as usize).sum();
    assert_eq!(pod_names(&pods, "app!=frontend").await.len(), all - frontend.len());
    assert_eq!(pod_names(&pods, "pod-template-hash").await.len(), all);
    assert!(pod_names(&pods, "!app").await.is_empty());
    let running = pods.list(&ListParams::default().fields("status.phase=Running")).await.unwrap();
    assert_eq!(running.items.len(), all);
    let pod = pods.get(&frontend[0]).await.unwrap();
    let owner = &pod.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(owner.kind, "ReplicaSet");
    assert!(frontend[0].starts_with(&format!("{}-", owner.name)));
    let status = pod.status.unwrap();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert!(status.pod_ip.unwrap().starts_with("10."));
    let container = &pod.spec.unwrap().containers[0];
    let limits = container.resources.as_ref().unwrap().limits.as_ref().unwrap();
    assert!(limits.contains_key("cpu") && limits.contains_key("memory"));
    let everywhere: Api<Pod> = Api::all(client.clone());
    assert_eq!(everywhere.list(&ListParams::default()).await.unwrap().items.len(), all);
    let elsewhere: Api<Pod> = Api::namespaced(client.clone(), "other");
    assert!(elsewhere.list(&ListParams::default()).await.unwrap().items.is_empty());
    assert_eq!(status_code(pods.get("no-such-pod").await.unwrap_err()), 404);
    let bad = pods.list(&ListParams::default().labels("app in frontend")).await.unwrap_err();
    assert_eq!(status_code(bad), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_sees_scale_up_readiness_and_scale_down() {
    let (_cluster, _topology, client) = start("webapp", Duration::from_millis(800));
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let deployments: Api<Deployment> = Api::default_namespaced(client.clone());
    let list = pods.list(&ListParams::default().labels("app=webapp")).await.unwrap();
    let before: BTreeSet<String> =
        list.items.iter().map(|p| p.metadata.name.clone().unwrap()).collect();
    let rv = list.metadata.resource_version.unwrap();
    let params = WatchParams::default().labels("app=webapp").timeout(20);
    let mut events = pods.watch(&params, &rv).await.unwrap().boxed();
    let scale = |n: i32| Patch::Merge(json!({"spec": {"replicas": n}}));
    deployments.patch_scale("webapp", &PatchParams::default(), &scale(4)).await.unwrap();

    let ready = |p: &Pod| {
        let conditions = p.status.as_ref().and_then(|s| s.conditions.as_ref());
        conditions.is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let (mut added, mut became_ready, mut deleted) = (None, false, false);
    while !deleted {
        let event = tokio::time::timeout_at(deadline, events.next())
            .await
            .expect("watch events before the deadline")
            .expect("the watch stays open")
            .unwrap();
        match event {
            WatchEvent::Added(p) => {
                let name = p.metadata.name.clone().unwrap();
                assert!(!before.contains(&name), "only the new pod is added: {name}");
                assert!(!ready(&p), "a new pod starts not ready");
                added = Some(name);
            }
            WatchEvent::Modified(p) if Some(&p.metadata.name) == Some(&added) && ready(&p) => {
                became_ready = true;
                deployments
                    .patch_scale("webapp", &PatchParams::default(), &scale(3))
                    .await
                    .unwrap();
            }
            WatchEvent::Deleted(p) => {
                assert!(became_ready, "deleted only after the scale-down");
                assert_eq!(p.metadata.name, added, "the newest pod goes first");
                deleted = true;
            }
            WatchEvent::Modified(_) | WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(e) => panic!("watch error {e:?}"),
        }
    }
    assert_eq!(pod_names(&pods, "app=webapp").await.len(), 3);

    // The runtime watcher (list, then watch from the list's resourceVersion) sees the pods too.
    let config = kube::runtime::watcher::Config::default().labels("app=webapp");
    let stream = kube::runtime::watcher(pods.clone(), config);
    let mut objects = std::pin::pin!(kube::runtime::WatchStreamExt::applied_objects(stream));
    let first = tokio::time::timeout(Duration::from_secs(5), objects.next()).await.unwrap();
    assert!(first.unwrap().unwrap().metadata.name.unwrap().starts_with("webapp-"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_subresource_gets_patches_and_replaces() {
    let (_cluster, topology, client) = start("webapp", Duration::from_secs(5));
    let deployments: Api<Deployment> = Api::default_namespaced(client.clone());
    let scale = deployments.get_scale("webapp").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(replicas_of(&topology, "webapp") as i32));
    assert_eq!(scale.status.unwrap().selector.as_deref(), Some("app=webapp"));

    let pp = PatchParams::default();
    let merged = deployments
        .patch_scale("webapp", &pp, &Patch::Merge(json!({"spec": {"replicas": 4}})))
        .await
        .unwrap();
    assert_eq!(merged.spec.unwrap().replicas, Some(4));
    let strategic = deployments
        .patch_scale("webapp", &pp, &Patch::Strategic(json!({"spec": {"replicas": 5}})))
        .await
        .unwrap();
    assert_eq!(strategic.spec.unwrap().replicas, Some(5));
    let uri = "/apis/apps/v1/namespaces/default/deployments/webapp/scale";
    let json_patch = br#"[{"op":"test","path":"/spec/replicas","value":5},
                          {"op":"replace","path":"/spec/replicas","value":2}]"#;
    let request = |content_type: &str, body: &[u8]| {
        hyper::Request::patch(uri).header("Content-Type", content_type).body(body.to_vec()).unwrap()
    };
    let patched: Scale =
        client.request(request("application/json-patch+json", json_patch)).await.unwrap();
    assert_eq!(patched.spec.unwrap().replicas, Some(2));

    let mut current = deployments.get_scale("webapp").await.unwrap();
    current.spec.as_mut().unwrap().replicas = Some(6);
    let replaced = deployments.replace_scale("webapp", &PostParams::default(), &current).await;
    assert_eq!(replaced.unwrap().spec.unwrap().replicas, Some(6));
    let deployment = deployments.get("webapp").await.unwrap();
    assert_eq!(deployment.spec.replicas, Some(6));
    assert_eq!(deployment.status.unwrap().replicas, Some(6));

    // The deployment itself takes a replicas patch too.
    let patch = Patch::Merge(json!({"spec": {"replicas": 1}}));
    let deployment = deployments.patch("webapp", &pp, &patch).await.unwrap();
    assert_eq!(deployment.spec.replicas, Some(1));

    let negative = Patch::Merge(json!({"spec": {"replicas": -1}}));
    let error = deployments.patch_scale("webapp", &pp, &negative).await.unwrap_err();
    assert_eq!(status_code(error), 422);
    let huge = Patch::Merge(json!({"spec": {"replicas": 1_000_000}}));
    assert_eq!(status_code(deployments.patch_scale("webapp", &pp, &huge).await.unwrap_err()), 422);
    let unknown = client.request::<Scale>(request("text/plain", b"replicas: 3")).await.unwrap_err();
    assert_eq!(status_code(unknown), 415);
    let missing = deployments.get_scale("nope").await.unwrap_err();
    assert_eq!(status_code(missing), 404);
    assert_eq!(deployments.get_scale("webapp").await.unwrap().spec.unwrap().replicas, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_stressors_show_in_pod_metrics_and_a_sweep_kills_them() {
    let (_cluster, topology, client) = start("webapp", Duration::from_secs(5));
    let limit = topology.services[0].cpu_limit_millis;
    assert_eq!(limit, 200.0, "the expectations below assume webapp's 200m limit");
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let names = pod_names(&pods, "app=webapp").await;
    let (light, heavy) = (names[0].clone(), names[1].clone());
    // 1 worker at 10 % asks 100m (under the limit); 2 workers at 100 % are capped at 200m.
    let cpu = |load: u32, workers: u32| {
        format!("# ctl-stressor kind=cpu workers={workers} load={load} ttl=60 run=t1\nexit 0")
    };
    let start_stressor = |pod: String, script: String| {
        let pods = pods.clone();
        tokio::spawn(async move { exec(&pods, &pod, &["sh", "-c", &script]).await })
    };
    let light_session = start_stressor(light.clone(), cpu(10, 1));
    let heavy_session = start_stressor(heavy.clone(), cpu(100, 2));

    let metrics = metrics_api(&client);
    let deadline = Instant::now() + Duration::from_secs(20);
    let within = |got: f64, want: f64| (got - want).abs() <= want * 0.10;
    loop {
        let (a, b) = (metrics.get(&light).await.unwrap(), metrics.get(&heavy).await.unwrap());
        let (a, b) = (cpu_millis(&a), cpu_millis(&b));
        if within(a, 100.0) && within(b, limit) {
            break;
        }
        assert!(Instant::now() < deadline, "pod CPU {a}m and {b}m, want 100m and {limit}m");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let (stdout, _, code) =
        exec(&pods, &light, &["sh", "-c", "# ctl-stressor kind=sweep run=t1"]).await;
    assert_eq!((stdout.as_str(), code), ("killed 1\n", Some(0)));
    let (stdout, stderr, code) = light_session.await.unwrap();
    assert!(stdout.starts_with("ctl-stressor cpu workers=1 load=10 ttl=60 pid="), "{stdout}");
    assert_eq!((stderr.as_str(), code), ("", Some(143)));
    // A sweep of another run leaves the heavy stressor alone; one without run= kills it.
    let other = exec(&pods, &heavy, &["sh", "-c", "# ctl-stressor kind=sweep run=t2"]).await;
    assert_eq!(other.0, "killed 0\n");
    let all = exec(&pods, &heavy, &["sh", "-c", "# ctl-stressor kind=sweep"]).await;
    assert_eq!(all.0, "killed 1\n");
    assert_eq!(heavy_session.await.unwrap().2, Some(143));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_commands_fail_clearly_and_checks_come_before_the_upgrade() {
    let (_cluster, _topology, client) = start("webapp", Duration::from_secs(5));
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let pod = pod_names(&pods, "app=webapp").await.remove(0);
    let (stdout, stderr, code) = exec(&pods, &pod, &["ls", "-l"]).await;
    assert_eq!((stdout.as_str(), code), ("", Some(126)));
    assert!(stderr.contains("emulated") && stderr.contains("`ls -l`"), "{stderr}");
    let (stdout, _, code) =
        exec(&pods, &pod, &["sh", "-c", "# ctl-stressor kind=preflight needs=sh,dd"]).await;
    assert_eq!((stdout.as_str(), code), ("ok\n", Some(0)));
    let (_, stderr, code) = exec(&pods, &pod, &["sh", "-c", "# ctl-stressor kind=cpu"]).await;
    assert_eq!(code, Some(2));
    assert!(stderr.contains("ttl="), "{stderr}");

    let missing = pods.exec("no-such-pod", ["ls"], &AttachParams::default()).await;
    match missing {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 404),
        Err(other) => panic!("expected 404, got {other}"),
        Ok(_) => panic!("expected 404"),
    }
    let params = AttachParams::default().container("sidecar");
    match pods.exec(&pod, ["ls"], &params).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 400);
            assert!(status.message.contains("container sidecar is not valid"), "{status:?}");
        }
        Err(other) => panic!("expected 400, got {other}"),
        Ok(_) => panic!("expected 400"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_over_the_limit_is_oom_killed_and_restarts() {
    let (cluster, topology, client) = start("webapp", Duration::from_millis(500));
    let limit_mib = topology.services[0].memory_limit_bytes >> 20;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let pod = pod_names(&pods, "app=webapp").await.remove(0);
    let cpu = {
        let (pods, pod) = (pods.clone(), pod.clone());
        let script = "# ctl-stressor kind=cpu workers=1 load=5 ttl=60";
        tokio::spawn(async move { exec(&pods, &pod, &["sh", "-c", script]).await })
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while cluster.live.lock().stressors.count(&pod) == 0 {
        assert!(Instant::now() < deadline, "the cpu stressor never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let script = format!("# ctl-stressor kind=memory mb={} ttl=60", limit_mib + 8);
    let (_, _, code) = exec(&pods, &pod, &["sh", "-c", &script]).await;
    assert_eq!(code, Some(137));
    assert_eq!(cpu.await.unwrap().2, Some(137), "every stressor of the pod dies with it");

    let status = pods.get(&pod).await.unwrap().status.unwrap();
    let container = &status.container_statuses.unwrap()[0];
    assert_eq!(container.restart_count, 1);
    let terminated = container.last_state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!((terminated.reason.as_deref(), terminated.exit_code), (Some("OOMKilled"), 137));
    // Under the limit, memory is held until the TTL and shows in the working set.
    let other = pod_names(&pods, "app=webapp").await.remove(1);
    let held = {
        let (pods, other) = (pods.clone(), other.clone());
        // The TTL leaves a loaded machine time to see the 32 MiB before they go.
        let script = "# ctl-stressor kind=memory mb=32 mode=anon ttl=3s";
        tokio::spawn(async move { exec(&pods, &other, &["sh", "-c", script]).await })
    };
    let metrics = metrics_api(&client);
    let memory = |m: &DynamicObject| {
        let text = m.data["containers"][0]["usage"]["memory"].as_str().unwrap().to_owned();
        text.strip_suffix("Ki").unwrap().parse::<u64>().unwrap()
    };
    let baseline = topology.services[0].memory_baseline_bytes >> 10;
    let deadline = Instant::now() + Duration::from_secs(5);
    while memory(&metrics.get(&other).await.unwrap()) != baseline + (32 << 10) {
        assert!(Instant::now() < deadline, "the 32 MiB never showed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(held.await.unwrap().2, Some(0), "ends with exit 0 at its TTL");
    assert_eq!(memory(&metrics.get(&other).await.unwrap()), baseline);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stressor_ends_at_its_ttl_without_a_client() {
    let (cluster, _topology, client) = start("webapp", Duration::from_secs(5));
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let pod = pod_names(&pods, "app=webapp").await.remove(0);
    // 2 s: long enough that a loaded machine still sees it running after the disconnect.
    let script = "# ctl-stressor kind=cpu workers=1 load=50 ttl=2s";
    let mut process =
        pods.exec(&pod, ["sh", "-c", script], &AttachParams::default()).await.unwrap();
    let mut line = [0u8; 12];
    process.stdout().unwrap().read_exact(&mut line).await.unwrap();
    assert_eq!(&line, b"ctl-stressor");
    process.abort();
    drop(process);
    assert_eq!(cluster.live.lock().stressors.count(&pod), 1, "disconnecting does not stop it");
    let deadline = Instant::now() + Duration::from_secs(6);
    while cluster.live.lock().stressors.count(&pod) > 0 {
        assert!(Instant::now() < deadline, "the stressor outlived its TTL");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_metrics_list_every_running_pod() {
    let (_cluster, topology, client) = start("hotel", Duration::from_secs(5));
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let metrics = metrics_api(&client).list(&ListParams::default()).await.unwrap();
    let mut listed: Vec<String> =
        metrics.items.iter().map(|m| m.metadata.name.clone().unwrap()).collect();
    listed.sort();
    let mut expected = pod_names(&pods, "").await;
    expected.sort();
    assert_eq!(listed, expected);
    for item in &metrics.items {
        let container = &item.data["containers"][0];
        let service = item.metadata.labels.as_ref().unwrap()["app"].clone();
        let spec = topology.services.iter().find(|s| *s.name == *service).unwrap();
        assert_eq!(container["name"], spec.container.as_str());
        let memory = container["usage"]["memory"].as_str().unwrap();
        assert_eq!(memory, format!("{}Ki", spec.memory_baseline_bytes >> 10));
        assert!(item.data["window"].as_str().unwrap().ends_with('s'));
    }
    let selected = metrics_api(&client).list(&ListParams::default().labels("app=frontend")).await;
    assert_eq!(selected.unwrap().items.len(), replicas_of(&topology, "frontend"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shm_memory_stays_charged_after_a_sweep_until_cleanup() {
    let (_cluster, topology, client) = start("webapp", Duration::from_secs(5));
    let baseline = topology.services[0].memory_baseline_bytes >> 10;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let pod = pod_names(&pods, "app=webapp").await.remove(0);
    let metrics = metrics_api(&client);
    let memory_kib = || async {
        let m = metrics.get(&pod).await.unwrap();
        let text = m.data["containers"][0]["usage"]["memory"].as_str().unwrap().to_owned();
        text.strip_suffix("Ki").unwrap().parse::<u64>().unwrap()
    };
    for (mode, after_sweep) in [("shm", baseline + (16 << 10)), ("anon", baseline)] {
        let script = format!("# ctl-stressor kind=memory mb=16 mode={mode} ttl=60 run=s");
        let session = {
            let (pods, pod) = (pods.clone(), pod.clone());
            tokio::spawn(async move { exec(&pods, &pod, &["sh", "-c", &script]).await })
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while memory_kib().await != baseline + (16 << 10) {
            assert!(Instant::now() < deadline, "{mode}: the 16 MiB never showed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let swept = exec(&pods, &pod, &["sh", "-c", "# ctl-stressor kind=sweep run=s"]).await;
        assert_eq!(swept.0, "killed 1\n");
        assert_eq!(session.await.unwrap().2, Some(143));
        assert_eq!(memory_kib().await, after_sweep, "{mode} after the sweep");
        let cleanup = exec(&pods, &pod, &["sh", "-c", "# ctl-stressor kind=cleanup run=s"]).await;
        let removed = if mode == "shm" { "removed 1\n" } else { "removed 0\n" };
        assert_eq!((cleanup.0.as_str(), cleanup.2), (removed, Some(0)));
        assert_eq!(memory_kib().await, baseline, "{mode} after the cleanup");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_written_kubeconfig_connects_kube_rs() {
    let path = std::env::temp_dir().join(format!("ctl-kube-api-{}.kubeconfig", std::process::id()));
    let options = ServeOptions {
        kubeconfig_out: Some(path.clone()),
        ..ServeOptions::new(topology::load("webapp").unwrap())
    };
    let _cluster = EmbeddedCluster::start(options).unwrap();
    let connection = ctl::cluster::connect(Some(&path), None).await;
    // Removed before any assertion, so that a failure leaves no file behind.
    let _ = std::fs::remove_file(&path);
    let connection = connection.unwrap();
    assert_eq!(connection.namespace, "default");
    let pods: Api<Pod> = Api::default_namespaced(connection.client);
    assert_eq!(pod_names(&pods, "app=webapp").await.len(), 3);
}
