//! Explanations: which span made a trace anomalous, by how much, and which service owns it.
//!
//! For every operation the model keeps the training distribution of its feature (self time by
//! default) over the traces that contain it: median, MAD and p99. A trace is explained by the
//! operation present in it whose robust z = (x - median) / (1.4826 MAD) is largest. Only
//! traces containing the operation count, so an optional call (absent, 0, in most traces) is
//! judged against its real durations rather than against a median of 0. The message is the
//! argument ("took 8.1 ms, normally 0.9 ms, p99 1.4 ms"): no model internals to defend.
//!
//! The service is the span map's entry for the operation (seed 000's `SPAN_PROCESS_MAP`,
//! shipped as `knowledge/span-map.yaml`), else the Jaeger process's `serviceName`.

use super::features::TraceFeatures;
use super::stats::{MAD_TO_SIGMA, median_mad, percentile_sorted, sorted};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Iglewicz and Hoaglin's scale when the MAD is 0: the mean absolute deviation x 1.253314.
const MEAN_AD_TO_SIGMA: f64 = 1.253_314;

/// The training distribution of one operation's feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpStats {
    pub operation: String,
    /// Training traces that contain the operation.
    pub traces: usize,
    pub median_us: f64,
    pub mad_us: f64,
    pub p99_us: f64,
    /// The robust z denominator: 1.4826 MAD, or 1.2533 mean |x - median| when the MAD is 0,
    /// or 1 µs when both are 0 (a constant operation: any change is news).
    pub scale_us: f64,
}

impl OpStats {
    /// The statistics of `values` (the operation's feature over traces that contain it).
    pub fn of(operation: &str, values: &[f64]) -> OpStats {
        let Some((median, mad)) = median_mad(values) else {
            return OpStats {
                operation: operation.to_string(),
                traces: 0,
                median_us: 0.0,
                mad_us: 0.0,
                p99_us: 0.0,
                scale_us: 1.0,
            };
        };
        let mean_ad = values.iter().map(|v| (v - median).abs()).sum::<f64>() / values.len() as f64;
        let scale = if mad > 0.0 {
            MAD_TO_SIGMA * mad
        } else if mean_ad > 0.0 {
            MEAN_AD_TO_SIGMA * mean_ad
        } else {
            1.0
        };
        OpStats {
            operation: operation.to_string(),
            traces: values.len(),
            median_us: median,
            mad_us: mad,
            p99_us: percentile_sorted(&sorted(values), 99.0).unwrap_or(median),
            scale_us: scale,
        }
    }

    pub fn robust_z(&self, x: f64) -> f64 {
        (x - self.median_us) / self.scale_us
    }
}

/// Per schema column statistics over training rows where the column is present.
pub fn op_stats(operations: &[String], rows: &[TraceFeatures]) -> Vec<OpStats> {
    operations
        .iter()
        .enumerate()
        .map(|(c, op)| {
            let values: Vec<f64> =
                rows.iter().filter(|r| r.present[c]).map(|r| r.values[c]).collect();
            OpStats::of(op, &values)
        })
        .collect()
}

/// Operation name -> service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpanMap {
    pub spans: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpanMapFile {
    spans: BTreeMap<String, String>,
}

impl SpanMap {
    /// Parses `spans: {operation: service, ...}`; the error says what was expected.
    pub fn from_yaml_str(text: &str) -> Result<SpanMap, String> {
        let file: SpanMapFile = serde_yaml::from_str(text).map_err(|e| {
            let at = e.location().map(|l| format!("{}:{}: ", l.line(), l.column()));
            format!(
                "{}expected `spans:` mapping operation names to services: {e}",
                at.unwrap_or_default()
            )
        })?;
        Ok(SpanMap { spans: file.spans })
    }

    pub fn service(&self, operation: &str) -> Option<&str> {
        self.spans.get(operation).map(String::as_str)
    }
}

/// Why a trace was flagged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The operation (span name) most out of line.
    pub span: String,
    pub service: Option<String>,
    pub value_us: f64,
    pub median_us: f64,
    pub p99_us: f64,
    pub z: f64,
    /// One line for an operator.
    pub why: String,
}

/// µs as a short human figure.
fn human_us(us: f64) -> String {
    if us.abs() >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else if us.abs() >= 1e3 {
        format!("{:.1} ms", us / 1e3)
    } else {
        format!("{us:.0} µs")
    }
}

/// The explanation of `row` against `stats` (one per schema column), or None when no
/// operation of the trace was seen in training.
pub fn explain(
    row: &TraceFeatures,
    stats: &[OpStats],
    feature: &str,
    span_map: Option<&SpanMap>,
) -> Option<Explanation> {
    let (col, z) = stats
        .iter()
        .enumerate()
        .filter(|(c, s)| row.present.get(*c) == Some(&true) && s.traces > 0)
        .map(|(c, s)| (c, s.robust_z(row.values[c])))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let s = &stats[col];
    let service = span_map
        .and_then(|m| m.service(&s.operation))
        .map(str::to_string)
        .or_else(|| row.services.get(col).cloned().flatten());
    let value = row.values[col];
    let mut why = format!(
        "{feature} time of '{}' {} vs normal median {} (p99 {}), robust z {z:.1}",
        s.operation,
        human_us(value),
        human_us(s.median_us),
        human_us(s.p99_us)
    );
    if !row.unknown.is_empty() {
        why.push_str(&format!("; operations not seen in training: {}", row.unknown.join(", ")));
    }
    Some(Explanation {
        span: s.operation.clone(),
        service,
        value_us: value,
        median_us: s.median_us,
        p99_us: s.p99_us,
        z,
        why,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[f64], present: &[bool]) -> TraceFeatures {
        TraceFeatures {
            trace_id: "t".into(),
            values: values.to_vec(),
            present: present.to_vec(),
            total_us: values.iter().sum(),
            services: vec![Some("svc-a".into()), Some("svc-b".into())],
            unknown: vec![],
        }
    }

    #[test]
    fn stats_use_mad_then_mean_ad_then_one() {
        let s = OpStats::of("a", &[1.0, 2.0, 3.0, 4.0, 100.0]);
        assert_eq!((s.median_us, s.mad_us, s.scale_us), (3.0, 1.0, MAD_TO_SIGMA));
        let s = OpStats::of("a", &[5.0, 5.0, 5.0, 9.0]);
        assert_eq!(s.mad_us, 0.0);
        assert!((s.scale_us - MEAN_AD_TO_SIGMA * 1.0).abs() < 1e-12);
        assert_eq!(OpStats::of("a", &[5.0, 5.0]).scale_us, 1.0);
    }

    #[test]
    fn blames_the_largest_robust_z_among_present_operations() {
        let ops = vec!["a".to_string(), "b".to_string()];
        // b is optional: present in 2 of 4 traces, around 1000 µs.
        let train = vec![
            row(&[100.0, 0.0], &[true, false]),
            row(&[110.0, 1000.0], &[true, true]),
            row(&[90.0, 1100.0], &[true, true]),
            row(&[105.0, 0.0], &[true, false]),
        ];
        let stats = op_stats(&ops, &train);
        assert_eq!(stats[1].traces, 2);
        let slow_b = row(&[100.0, 5000.0], &[true, true]);
        let e = explain(&slow_b, &stats, "self", None).unwrap();
        assert_eq!((e.span.as_str(), e.service.as_deref()), ("b", Some("svc-b")));
        let slow_a = row(&[900.0, 0.0], &[true, false]);
        let map = SpanMap::from_yaml_str("spans:\n  a: frontend\n").unwrap();
        let e = explain(&slow_a, &stats, "self", Some(&map)).unwrap();
        assert_eq!((e.span.as_str(), e.service.as_deref()), ("a", Some("frontend")));
        assert!(e.why.contains("'a' 900 µs vs normal median"), "{}", e.why);
    }

    #[test]
    fn span_map_errors_say_what_was_expected() {
        let e = SpanMap::from_yaml_str("spanz: {}\n").unwrap_err();
        assert!(e.contains("expected `spans:`"), "{e}");
    }
}
