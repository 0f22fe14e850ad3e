//! `ctl hpa`: what the Kubernetes HPA controller would decide now, from the objects a user
//! already has (`kubectl get hpa -o yaml`, `kubectl get pods -o json`, the metrics.k8s.io pod
//! metrics), with the controller's memory carried in a history file so calls chain. Reads
//! the files and the clock, prints JSON; all logic is in `policy::hpa`.

use super::{EXIT_OK, UsageError};
use crate::policy::hpa::history::{format_time, parse_time};
use crate::policy::hpa::model::{MetricSpec, Target};
use crate::policy::hpa::{
    Config, History, MetricOutcome, Outcome, Scale, k8s, k8s_pods, reconcile,
};
use anyhow::Context;
use clap::Args;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct HpaArgs {
    /// The HPA as `kubectl get hpa NAME -o yaml` prints it (autoscaling/v2; YAML or JSON).
    #[arg(long, value_name = "HPA.yaml")]
    pub hpa: PathBuf,
    /// The target's pods: `kubectl get pods -l SELECTOR -o json` (a PodList).
    #[arg(long, value_name = "PODS.json")]
    pub pods: PathBuf,
    /// Pod metrics: `kubectl get --raw /apis/metrics.k8s.io/v1beta1/namespaces/NS/pods`.
    #[arg(long, value_name = "PODMETRICS.json")]
    pub metrics: PathBuf,
    /// The decision time (RFC 3339, e.g. 2024-05-01T12:00:00Z); default: now.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// The controller's memory from an earlier call (`--history-out`); without it the
    /// controller is fresh and remembers the current count for one stabilisation window.
    #[arg(long, value_name = "HISTORY.json")]
    pub history: Option<PathBuf>,
    /// Write the updated memory here, for the next call's `--history`.
    #[arg(long, value_name = "FILE")]
    pub history_out: Option<PathBuf>,
    /// The target's `spec.replicas` (default: the HPA's `status.currentReplicas`).
    #[arg(long, value_name = "N")]
    pub current_replicas: Option<i32>,
    /// Add per-pod grouping (ready / unready / missing / ignored) to the output.
    #[arg(long)]
    pub explain: bool,
}

/// Reads a file, or a usage error naming it.
fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| UsageError::boxed(format!("{}: cannot read: {e}", path.display())))
}

/// Runs a parser, prefixing its error with the file name.
fn parsed<T>(path: &Path, r: Result<T, k8s::InputError>) -> anyhow::Result<T> {
    r.map_err(|e| UsageError::boxed(format!("{}: {e}", path.display())))
}

pub fn run(args: HpaArgs) -> anyhow::Result<i32> {
    let hpa = parsed(&args.hpa, k8s::parse_hpa(&read(&args.hpa)?))?;
    let pods = parsed(&args.pods, k8s_pods::parse_pods(&read(&args.pods)?))?;
    let samples = parsed(&args.metrics, k8s_pods::parse_pod_metrics(&read(&args.metrics)?))?;
    let now = match &args.now {
        Some(t) => parse_time(t).ok_or_else(|| {
            UsageError::boxed(format!(
                "--now: expected an RFC 3339 time like 2024-05-01T12:00:00Z, found '{t}'"
            ))
        })?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
    };
    let mut history = match &args.history {
        Some(p) => serde_json::from_str::<History>(&read(p)?)
            .map_err(|e| UsageError::boxed(format!("{}: {e}", p.display())))?,
        None => History::default(),
    };
    let current = match (args.current_replicas, hpa.status_current_replicas) {
        (Some(n), _) | (None, Some(n)) if n >= 0 => n,
        (Some(_), _) => {
            return Err(UsageError::boxed("--current-replicas: expected an integer >= 0"));
        }
        _ => {
            return Err(UsageError::boxed(format!(
                "{}: status.currentReplicas: missing or negative; give --current-replicas N",
                args.hpa.display()
            )));
        }
    };
    let mut data = hpa.status_values.clone();
    data.pod_metrics = samples;
    let config = Config::default();
    let scale = Scale { spec_replicas: current, status_replicas: current };
    let outcome = reconcile(&config, &hpa.spec, &pods, &data, scale, now, &mut history);

    let mut out = report(&hpa.name, now, &outcome);
    if args.explain {
        out["podGroups"] = pod_groups(&config, &hpa.spec, &pods, &data, now);
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    if let Some(p) = &args.history_out {
        let text = serde_json::to_string_pretty(&history)?;
        std::fs::write(p, text + "\n").with_context(|| format!("{}: cannot write", p.display()))?;
    }
    Ok(EXIT_OK)
}

/// A milli-value as a Kubernetes quantity string ("200m", "2").
fn quantity(milli: i64) -> String {
    if milli % 1000 == 0 { format!("{}", milli / 1000) } else { format!("{milli}m") }
}

fn target_json(t: &Target) -> Value {
    match *t {
        Target::Utilization(u) => json!({"type": "Utilization", "averageUtilization": u}),
        Target::AverageValue(v) => json!({"type": "AverageValue", "averageValue": quantity(v)}),
        Target::Value(v) => json!({"type": "Value", "value": quantity(v)}),
    }
}

fn metric_json(m: &MetricOutcome) -> Value {
    let (kind, target) = match &m.spec {
        MetricSpec::Resource { container: None, target, .. } => ("Resource", target_json(target)),
        MetricSpec::Resource { target, .. } => ("ContainerResource", target_json(target)),
        MetricSpec::Pods { target_average, .. } => {
            ("Pods", target_json(&Target::AverageValue(*target_average)))
        }
        MetricSpec::Object { target, .. } => ("Object", target_json(target)),
        MetricSpec::External { target, .. } => ("External", target_json(target)),
    };
    let mut v = json!({"type": kind, "metric": m.spec.describe(), "target": target});
    match &m.result {
        Ok(p) => {
            v["proposedReplicas"] = json!(p.replicas);
            v["currentAverageUtilization"] = json!(p.utilization);
            let per_pod_total = matches!(
                m.spec,
                MetricSpec::Object { target: Target::Value(_), .. }
                    | MetricSpec::External { target: Target::Value(_), .. }
            );
            let key = if per_pod_total { "currentValue" } else { "currentAverageValue" };
            v[key] = json!(quantity(p.usage));
            v["rawAverageValueMilli"] = json!(p.usage);
            if let Some(g) = p.groups {
                v["pods"] = json!({"ready": g.ready, "unready": g.unready, "missing": g.missing, "ignored": g.ignored});
            }
            v["rule"] = json!(p.rule);
        }
        Err(e) => {
            v["error"] = json!(e.message);
            v["reason"] = json!(m.failure_reason);
        }
    }
    v
}

/// The JSON report of one sync.
fn report(name: &str, now: f64, o: &Outcome) -> Value {
    json!({
        "hpa": name,
        "now": format_time(now),
        "currentReplicas": o.current_replicas,
        "desiredReplicas": o.desired_replicas,
        "rescale": o.rescale,
        "metricReplicas": o.metric_replicas,
        "stabilizedReplicas": o.normalized.as_ref().map(|n| n.stabilized),
        "metrics": o.metrics.iter().map(metric_json).collect::<Vec<_>>(),
        "conditions": o.conditions.iter().map(|c| json!({
            "type": c.kind,
            "status": if c.status { "True" } else { "False" },
            "reason": c.reason,
            "message": c.message,
        })).collect::<Vec<_>>(),
        "explanation": o.explanation,
    })
}

/// Per resource metric, which pods the calculator counted in each group.
fn pod_groups(
    config: &Config,
    spec: &crate::policy::hpa::HpaSpec,
    pods: &[crate::policy::hpa::Pod],
    data: &crate::policy::hpa::MetricData,
    now: f64,
) -> Value {
    use crate::policy::hpa::replicas::{pod_index, resource_metrics};
    let index = pod_index(pods);
    let mut out = serde_json::Map::new();
    for m in &spec.metrics {
        let MetricSpec::Resource { name, container, .. } = m else { continue };
        let metrics =
            resource_metrics(&data.pod_metrics, &index, pods.len(), name, container.as_deref());
        let g = config.calculator.group_pods(pods, &metrics, name, now);
        let names = |idx: &[usize]| idx.iter().map(|&i| pods[i].name.clone()).collect::<Vec<_>>();
        let unready: Vec<usize> = g.unready.clone();
        let not_ready: Vec<usize> =
            [&g.unready, &g.missing, &g.ignored].iter().flat_map(|v| v.iter().copied()).collect();
        let ready: Vec<usize> = (0..pods.len()).filter(|i| !not_ready.contains(i)).collect();
        out.insert(
            m.describe(),
            json!({
                "ready": names(&ready),
                "unready": names(&unready),
                "missing": names(&g.missing),
                "ignored": names(&g.ignored),
            }),
        );
    }
    Value::Object(out)
}
