//! The charts of `report.html`, on the campaign clock: target vs achieved load and latency
//! percentiles with the SLO line per second, then replicas, CPU and memory per Deployment per
//! controller interval. Every chart names the phases at their starts and shades the
//! stabilisation and stress windows; the latency chart marks anomalies, the replicas chart
//! scaling actions. Drawn with the shared `load::output::chart` module.

use super::record::{DeploymentSample, MarkKind, SecondPoint};
use super::report::ReportInput;
use super::timeline::{clock, describe_stress};
use crate::load::output::chart::{self, Band, Chart, HLine, Key, Series, Swatch, VLine};
use crate::load::output::fmt::human_us;

/// Colours for deployments, in order.
const PALETTE: [&str; 8] =
    ["#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#475569"];

/// One per-deployment quantity of a controller interval.
type Metric = fn(&DeploymentSample) -> Option<f64>;

/// Overlay colours: stabilisation shade and phase lines, stress, scaling, anomalies.
const GREY: &str = "#9ca3af";
const STRESS: &str = "#dc2626";
const SCALE: &str = "#2563eb";
const ANOMALY: &str = "#b91c1c";

const KEY_STABILISATION: Key =
    Key { color: GREY, label: "stabilisation (not measured)", swatch: Swatch::Shade };
const KEY_STRESS: Key = Key { color: STRESS, label: "stress", swatch: Swatch::Shade };

pub(super) fn charts(h: &mut String, r: &ReportInput<'_>) {
    let rec = r.recording;
    let t = r.timeline;
    h.push_str("<h2>Over time</h2>");
    let x_max = Some(t.duration().max(rec.stopped_at).max(1.0));
    // Row 0 of a chart's top holds the phase names; stress names go on row 1.
    let mut bands: Vec<Band> = t
        .phases
        .iter()
        .filter(|p| p.stabilisation() > 0.0)
        .map(|p| Band {
            from: p.start,
            to: p.measure_start,
            color: GREY,
            label: format!("{} stabilisation (not measured)", p.name),
            short: String::new(),
            row: 0,
        })
        .collect();
    bands.extend(t.stress.iter().map(|s| Band {
        from: s.start,
        to: s.stop,
        color: STRESS,
        label: format!("{}: {}", s.name, describe_stress(&s.spec)),
        short: s.name.clone(),
        row: 1,
    }));
    let mut base_keys = vec![KEY_STABILISATION];
    if !t.stress.is_empty() {
        base_keys.push(KEY_STRESS);
    }
    // Every chart shows where each phase starts, named.
    let phase_lines: Vec<VLine> = t
        .phases
        .iter()
        .map(|p| VLine {
            x: p.start,
            color: GREY,
            label: format!("{} phase {}", clock(p.start), p.name),
            dashed: true,
            tag: p.name.clone(),
        })
        .collect();
    // The phase lines plus the marks of one kind.
    let with_marks = |kind: MarkKind, color: &'static str| -> Vec<VLine> {
        let mut v: Vec<VLine> = phase_lines.iter().map(VLine::clone).collect();
        v.extend(rec.marks.iter().filter(|m| m.kind == kind).map(|m| VLine {
            x: m.t,
            color,
            label: format!("{} {}", clock(m.t), m.text),
            dashed: false,
            tag: String::new(),
        }));
        v
    };
    let keys = |extra: &[Key]| -> Vec<Key> { base_keys.iter().chain(extra).cloned().collect() };

    // Load.
    let xs: Vec<f64> = rec.seconds.iter().map(|s| s.second as f64).collect();
    let col = |f: fn(&SecondPoint) -> f64| rec.seconds.iter().map(f).collect::<Vec<f64>>();
    let users_model = r.model.starts_with("users");
    let mut load = vec![
        Series {
            label: if users_model { "target users" } else { "target req/s" },
            color: GREY,
            dashed: true,
            values: col(|s| s.target),
        },
        Series {
            label: "achieved req/s",
            color: "#2563eb",
            dashed: false,
            values: col(|s| s.requests as f64),
        },
        Series {
            label: "errors/s",
            color: "#dc2626",
            dashed: false,
            values: col(|s| s.failures as f64),
        },
    ];
    if users_model {
        load.push(Series {
            label: "active users",
            color: "#7c3aed",
            dashed: false,
            values: col(|s| s.users as f64),
        });
    }
    let load_title =
        if users_model { "Load (req/s and users)" } else { "Load: target vs achieved (req/s)" };
    let plain_keys = keys(&[]);
    chart::render(
        h,
        &Chart {
            bands: &bands,
            vlines: &phase_lines,
            x_max,
            keys: &plain_keys,
            ..Chart::new(load_title, &xs, &load)
        },
    );

    let latency = vec![
        Series { label: "p50", color: "#16a34a", dashed: false, values: col(|s| s.p50_ms) },
        Series { label: "p95", color: "#d97706", dashed: false, values: col(|s| s.p95_ms) },
        Series { label: "p99", color: "#dc2626", dashed: false, values: col(|s| s.p99_ms) },
    ];
    let slo = [HLine {
        y: r.summary.slo.latency_ms,
        color: "#b91c1c",
        label: format!(
            "SLO p{} {}",
            r.summary.slo.percentile,
            human_us(r.summary.slo.latency_ms * 1000.0)
        ),
    }];
    let anomalies = with_marks(MarkKind::Anomaly, ANOMALY);
    let latency_keys = keys(&[
        Key { color: "#b91c1c", label: "SLO", swatch: Swatch::Dotted },
        Key { color: ANOMALY, label: "anomaly", swatch: Swatch::Marker },
    ]);
    chart::render(
        h,
        &Chart {
            bands: &bands,
            vlines: &anomalies,
            hlines: &slo,
            x_max,
            keys: &latency_keys,
            ..Chart::new("Latency per second, from intended start (ms)", &xs, &latency)
        },
    );

    if rec.intervals.is_empty() {
        h.push_str("<p class=\"empty\">No controller intervals were recorded (no control section, or the run stopped before the first one).</p>\n");
        return;
    }
    // Per-deployment series over the controller's intervals.
    let ixs: Vec<f64> = rec.intervals.iter().map(|i| i.t).collect();
    let mut names: Vec<&str> = Vec::new();
    for i in &rec.intervals {
        for d in &i.deployments {
            if !names.contains(&d.name.as_str()) {
                names.push(&d.name);
            }
        }
    }
    let per_deployment = |f: Metric| -> Vec<Series<'_>> {
        names
            .iter()
            .enumerate()
            .map(|(k, name)| Series {
                label: name,
                color: PALETTE[k % PALETTE.len()],
                dashed: false,
                values: rec
                    .intervals
                    .iter()
                    .map(|i| {
                        i.deployments
                            .iter()
                            .find(|d| d.name == *name)
                            .and_then(f)
                            .unwrap_or(f64::NAN)
                    })
                    .collect(),
            })
            .collect()
    };
    let scales = with_marks(MarkKind::Scale, SCALE);
    let scale_keys = keys(&[Key { color: SCALE, label: "scaling action", swatch: Swatch::Marker }]);
    let mut replicas = per_deployment(|d| Some(f64::from(d.replicas)));
    // Lines of equal counts lie on each other: the legend says each deployment's range.
    let labels: Vec<String> = replicas
        .iter()
        .map(|s| {
            let finite = || s.values.iter().copied().filter(|v| v.is_finite());
            let lo = finite().fold(f64::INFINITY, f64::min);
            let hi = finite().fold(f64::NEG_INFINITY, f64::max);
            match (lo.is_finite(), lo == hi) {
                (false, _) => s.label.to_string(),
                (true, true) => format!("{} {lo}", s.label),
                (true, false) => format!("{} {lo}–{hi}", s.label),
            }
        })
        .collect();
    for (s, label) in replicas.iter_mut().zip(&labels) {
        s.label = label;
    }
    chart::render(
        h,
        &Chart {
            bands: &bands,
            vlines: &scales,
            stepped: true,
            integer_y: true,
            x_max,
            keys: &scale_keys,
            ..Chart::new("Replicas per deployment (pods)", &ixs, &replicas)
        },
    );
    let resources: [(&str, Metric); 2] = [
        ("CPU usage per deployment (millicores, summed over its pods)", |d| d.cpu_millicores),
        ("Memory per deployment (MiB, summed over its pods)", |d| d.memory_mib),
    ];
    for (title, get) in resources {
        let series = per_deployment(get);
        chart::render(
            h,
            &Chart {
                bands: &bands,
                vlines: &phase_lines,
                x_max,
                keys: &plain_keys,
                ..Chart::new(title, &ixs, &series)
            },
        );
    }
}
