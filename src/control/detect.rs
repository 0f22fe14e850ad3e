//! Anomaly detection inside the loop: per target, robust (median / MAD) streaming detectors
//! on p95 latency, error rate, CPU and memory per pod, fed one sample per interval; and the
//! trace model over the window's traces, each anomaly attributed to the target whose service
//! the explanation names. Alarms that are raised stay in the target's observation until they
//! clear, so a policy sees them for as long as they last.

use std::collections::BTreeMap;

use super::record::AnomalyRecord;
use crate::anomaly::features::extract_with;
use crate::anomaly::stream::AlarmKind;
use crate::anomaly::{Alarm, MadDetector, Model, SpanMap, StreamConfig, Trace};

/// Baseline samples the detectors keep (intervals).
const WINDOW: usize = 60;

/// Picks one detector's value out of an interval's inputs.
type Pick = fn(&Inputs) -> Option<f64>;

/// The streaming detectors of one target.
pub struct Detectors {
    series: Vec<(MadDetector, Pick)>,
    /// Series -> message of the alarms raised and not yet cleared.
    active: BTreeMap<String, String>,
}

/// One interval's values for the detectors.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs {
    pub p95_ms: Option<f64>,
    pub error_rate: Option<f64>,
    pub cpu_millicores: Option<f64>,
    pub memory_mebibytes: Option<f64>,
}

impl Detectors {
    pub fn new(deployment: &str) -> Self {
        let name = |s: &str| format!("{deployment}/{s}");
        let series: Vec<(MadDetector, Pick)> = vec![
            (MadDetector::new(StreamConfig::latency(&name("p95_ms")), WINDOW), |i| i.p95_ms),
            (MadDetector::new(StreamConfig::error_rate(&name("errors")), WINDOW), |i| i.error_rate),
            (MadDetector::new(StreamConfig::cpu(&name("cpu_millicores")), WINDOW), |i| {
                i.cpu_millicores
            }),
            (MadDetector::new(StreamConfig::memory(&name("memory_mebibytes")), WINDOW), |i| {
                i.memory_mebibytes
            }),
        ];
        Detectors { series, active: BTreeMap::new() }
    }

    /// Feeds one interval; returns the alarms that changed state.
    pub fn update(&mut self, now: f64, inputs: &Inputs) -> Vec<Alarm> {
        let mut out = Vec::new();
        for (detector, pick) in &mut self.series {
            let Some(x) = pick(inputs) else { continue };
            if let Some(alarm) = detector.update(now, x) {
                match alarm.kind {
                    AlarmKind::Raised => {
                        self.active.insert(alarm.series.clone(), alarm.message.clone());
                    }
                    AlarmKind::Cleared => {
                        self.active.remove(&alarm.series);
                    }
                }
                out.push(alarm);
            }
        }
        out
    }

    /// Messages of the alarms currently raised.
    pub fn active(&self) -> impl Iterator<Item = &String> {
        self.active.values()
    }
}

/// An alarm as a record, attributed to `deployment`.
pub fn alarm_record(deployment: &str, a: &Alarm) -> AnomalyRecord {
    AnomalyRecord {
        time: a.t,
        kind: "metric",
        deployment: Some(deployment.to_string()),
        series: a.series.clone(),
        state: match a.kind {
            AlarmKind::Raised => "raised",
            AlarmKind::Cleared => "cleared",
        },
        value: Some(a.value),
        baseline: Some(a.baseline),
        z: Some(a.z),
        trace_id: None,
        service: None,
        score: None,
        message: a.message.clone(),
    }
}

/// Scores `traces` with `model`; the anomalous ones as records at `now`, each attributed to
/// the target named by its explanation's service when that is one of `targets`.
pub fn score_traces(
    model: &Model,
    span_map: Option<&SpanMap>,
    traces: &[Trace],
    targets: &[String],
    now: f64,
) -> Vec<AnomalyRecord> {
    let schema = model.schema();
    let mut out = Vec::new();
    for trace in traces {
        let row = extract_with(trace, &schema, model.features, model.repeated);
        if !row.present.iter().any(|p| *p) {
            continue; // none of the model's operations: not judgeable
        }
        let v = model.score(&row, span_map, false);
        if !v.anomalous {
            continue;
        }
        let e = v.explanation.as_ref();
        let service = e.and_then(|e| e.service.clone());
        let deployment = service.as_ref().filter(|s| targets.contains(s)).cloned();
        out.push(AnomalyRecord {
            time: now,
            kind: "trace",
            deployment,
            series: e.map_or_else(String::new, |e| e.span.clone()),
            state: "anomalous",
            value: e.map(|e| e.value_us),
            baseline: e.map(|e| e.median_us),
            z: e.map(|e| e.z),
            trace_id: Some(v.trace_id.clone()),
            service,
            score: Some(v.score),
            message: e.map_or_else(
                || format!("trace {} anomalous (score {:.3})", v.trace_id, v.score),
                |e| e.why.clone(),
            ),
        });
    }
    out
}
