//! Inline SVG line charts for the HTML reports (`ctl load --html` and `ctl campaign`'s
//! report.html): round grid steps, thinning of long series, and optional overlays: shaded
//! x ranges (bands, e.g. stress windows), vertical markers (events) and horizontal
//! reference lines (an SLO). No scripts; every label is HTML-escaped.

use super::fmt::{html_escape as esc, trim_decimals};
use std::fmt::Write as _;

/// One line of a chart.
pub(crate) struct Series<'a> {
    pub label: &'a str,
    pub color: &'a str,
    /// Dashed: the plan (target) rather than a measurement.
    pub dashed: bool,
    pub values: Vec<f64>,
}

/// A shaded x range with a short name at its top (on `row` 0 or 1; empty: none) and `label`
/// as tooltip.
pub(crate) struct Band {
    pub from: f64,
    pub to: f64,
    pub color: &'static str,
    pub label: String,
    pub short: String,
    pub row: u8,
}

/// A vertical marker at `x`; `label` shows as its tooltip. Dashed lines are boundaries (a
/// phase start) and carry `tag` as visible text at their top; solid ones are events and get a
/// small arrowhead instead.
#[derive(Clone)]
pub(crate) struct VLine {
    pub x: f64,
    pub color: &'static str,
    pub label: String,
    pub dashed: bool,
    pub tag: String,
}

/// An entry of a chart's legend for an overlay (the series have their own).
#[derive(Clone)]
pub(crate) struct Key {
    pub color: &'static str,
    pub label: &'static str,
    pub swatch: Swatch,
}

/// How a [`Key`] is drawn: a shaded box (a band), a vertical tick (a marker) or a dotted
/// line (a reference line).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Swatch {
    Shade,
    Marker,
    Dotted,
}

/// A horizontal reference line at `y`, drawn with its label.
pub(crate) struct HLine {
    pub y: f64,
    pub color: &'static str,
    pub label: String,
}

/// A chart with overlays; [`line_chart`] is the plain case.
pub(crate) struct Chart<'a> {
    pub title: &'a str,
    pub xs: &'a [f64],
    pub series: &'a [Series<'a>],
    pub bands: &'a [Band],
    pub vlines: &'a [VLine],
    pub hlines: &'a [HLine],
    /// Draw steps (the value holds until the next x) instead of straight segments.
    pub stepped: bool,
    /// The x axis' end; default: the largest x.
    pub x_max: Option<f64>,
    /// The unit printed after x tick values.
    pub x_unit: &'a str,
    /// Counts (replicas): y grid steps are whole numbers.
    pub integer_y: bool,
    /// Legend entries for the overlays.
    pub keys: &'a [Key],
}

impl<'a> Chart<'a> {
    pub fn new(title: &'a str, xs: &'a [f64], series: &'a [Series<'a>]) -> Self {
        Self {
            title,
            xs,
            series,
            bands: &[],
            vlines: &[],
            hlines: &[],
            stepped: false,
            x_max: None,
            x_unit: "s",
            integer_y: false,
            keys: &[],
        }
    }
}

const W: f64 = 960.0;
const H: f64 = 240.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 26.0;
/// More points than pixels only bloats the file; longer runs are thinned by striding.
const MAX_POINTS: usize = 1500;

/// A round grid step (1, 2, 2.5 or 5 × 10^k) giving at most `steps` steps up to `max`.
pub(crate) fn nice_step(max: f64, steps: f64) -> f64 {
    if !max.is_finite() || max <= 0.0 {
        return 1.0;
    }
    let raw = max / steps;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    step.max(f64::MIN_POSITIVE)
}

/// A plain line chart.
pub(crate) fn line_chart(h: &mut String, title: &str, xs: &[f64], series: &[Series<'_>]) {
    render(h, &Chart::new(title, xs, series));
}

/// A chart with its overlays.
pub(crate) fn render(h: &mut String, c: &Chart<'_>) {
    let x_max = c.x_max.unwrap_or_else(|| c.xs.iter().cloned().fold(1.0f64, f64::max)).max(1e-9);
    let y_top = c
        .series
        .iter()
        .flat_map(|s| s.values.iter().cloned())
        // Headroom above a reference line, so its label stays inside the plot.
        .chain(c.hlines.iter().map(|l| l.y * 1.12))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let y_step = if c.integer_y { nice_step(y_top, 4.0).ceil() } else { nice_step(y_top, 4.0) };
    // As many grid steps as needed to reach the top, so the data fills the plot.
    let y_ticks = (y_top / y_step).ceil().clamp(1.0, 4.0) as u32;
    let y_max = y_step * f64::from(y_ticks);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let px = |x: f64| LEFT + (x / x_max).clamp(0.0, 1.0) * pw;
    let py = |y: f64| TOP + ph - (y / y_max).clamp(0.0, 1.0) * ph;

    let _ = write!(h, "<figure><figcaption>{}</figcaption><div class=\"legend\">", esc(c.title));
    for s in c.series {
        let style = if s.dashed {
            format!("height:0;border-top:2px dashed {}", s.color)
        } else {
            format!("background:{}", s.color)
        };
        let _ = write!(h, "<span><i style=\"{style}\"></i>{}</span>", esc(s.label));
    }
    for k in c.keys {
        let class = match k.swatch {
            Swatch::Shade => "shade",
            Swatch::Marker => "marker",
            Swatch::Dotted => "dotted",
        };
        let _ = write!(
            h,
            "<span><i class=\"{class}\" style=\"--c:{}\"></i>{}</span>",
            k.color,
            esc(k.label)
        );
    }
    let _ = write!(
        h,
        "</div><svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">",
        esc(c.title)
    );
    for b in c.bands {
        let (x1, x2) = (px(b.from), px(b.to));
        // The visible name is cut to the band's width (about 6 px per character); the tooltip
        // has it all. Bands with `short` on the second row keep names of adjacent bands apart.
        let fits = ((x2 - x1 - 4.0) / 6.0).max(0.0) as usize;
        let name: String = if b.short.chars().count() <= fits {
            b.short.clone()
        } else if fits >= 2 {
            b.short.chars().take(fits - 1).chain(['…']).collect()
        } else {
            String::new()
        };
        let _ = write!(
            h,
            "<rect x=\"{x1:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{ph:.1}\" fill=\"{}\" fill-opacity=\"0.16\">\
             <title>{}</title></rect>",
            (x2 - x1).max(0.5),
            b.color,
            esc(&b.label),
        );
        if !name.is_empty() {
            let _ = write!(
                h,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{}</text>",
                x1 + 3.0,
                TOP + 11.0 + 12.0 * f64::from(b.row),
                esc(&name)
            );
        }
    }
    for i in 0..=y_ticks {
        let v = y_step * f64::from(i);
        let y = py(v);
        let _ = write!(
            h,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#eef0f3\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            trim_decimals(v, 2)
        );
    }
    // Campaigns of many minutes read better in minutes than in hundreds of seconds.
    let minutes = c.x_unit == "s" && x_max >= 300.0;
    let x_step =
        if minutes { nice_step(x_max / 60.0, 6.0).max(1.0) * 60.0 } else { nice_step(x_max, 6.0) };
    let mut x = 0.0;
    while x <= x_max + 1e-9 {
        let label = if minutes {
            format!("{}m", trim_decimals(x / 60.0, 1))
        } else {
            format!("{}{}", trim_decimals(x, 0), c.x_unit)
        };
        let _ = write!(
            h,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            px(x),
            H - 8.0,
            esc(&label)
        );
        x += x_step;
    }
    let _ = write!(
        h,
        "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#c9ced6\"/>",
        W - RIGHT,
        TOP + ph,
        TOP + ph
    );
    for l in c.hlines {
        let y = py(l.y);
        let _ = write!(
            h,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{}\" stroke-width=\"1.4\" stroke-dasharray=\"2 3\"><title>{}</title></line>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" style=\"fill:{}\">{}</text>",
            W - RIGHT,
            l.color,
            esc(&l.label),
            W - RIGHT - 2.0,
            y - 3.0,
            l.color,
            esc(&l.label)
        );
    }
    let stride = c.xs.len().div_ceil(MAX_POINTS).max(1);
    let n = c.series.len() as f64;
    for (k, s) in c.series.iter().enumerate() {
        // Stepped counts often coincide (eight deployments at 1 replica): spreading the lines
        // 1.5 px apart keeps each one visible.
        let dy = if c.stepped { (k as f64 - (n - 1.0) / 2.0) * 1.5 } else { 0.0 };
        // A missing sample (NaN) breaks the line rather than drawing a false zero.
        let mut segments: Vec<Vec<String>> = vec![Vec::new()];
        let mut last_y: Option<f64> = None;
        for (x, y) in c.xs.iter().zip(&s.values).step_by(stride) {
            if !y.is_finite() {
                if segments.last().is_some_and(|p| !p.is_empty()) {
                    segments.push(Vec::new());
                }
                last_y = None;
                continue;
            }
            let y = py(*y) + dy;
            let Some(points) = segments.last_mut() else { break };
            if c.stepped
                && let Some(prev) = last_y
            {
                points.push(format!("{:.1},{prev:.1}", px(*x)));
            }
            points.push(format!("{:.1},{y:.1}", px(*x)));
            last_y = Some(y);
        }
        if c.stepped
            && let (Some(y), Some(last)) = (last_y, c.xs.last())
            && c.x_max.is_some_and(|m| m > *last)
            && let Some(points) = segments.last_mut()
        {
            // The last value holds to the end of the axis.
            points.push(format!("{:.1},{y:.1}", px(x_max)));
        }
        let dash = if s.dashed { " stroke-dasharray=\"6 4\"" } else { "" };
        for points in segments.iter().filter(|p| !p.is_empty()) {
            let _ = write!(
                h,
                "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\"{dash} points=\"{}\"><title>{}</title></polyline>",
                s.color,
                points.join(" "),
                esc(s.label)
            );
        }
    }
    for v in c.vlines {
        let x = px(v.x);
        let _ = write!(h, "<g><title>{}</title>", esc(&v.label));
        if v.dashed {
            let _ = write!(
                h,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"1.2\" stroke-dasharray=\"3 3\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" class=\"tag\">{}</text></g>",
                TOP + ph,
                v.color,
                x + 4.0,
                TOP + 11.0,
                esc(&v.tag)
            );
        } else {
            let _ = write!(
                h,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"1\" stroke-opacity=\"0.75\"/>\
                 <path d=\"M{:.1} {TOP} h7 l-3.5 6 z\" fill=\"{}\"/></g>",
                TOP + ph,
                v.color,
                x - 3.5,
                v.color
            );
        }
    }
    h.push_str("</svg></figure>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_axis_steps() {
        assert_eq!(nice_step(0.0, 4.0), 1.0);
        assert_eq!(nice_step(380.0, 4.0), 100.0);
        assert_eq!(nice_step(7.0, 4.0), 2.0);
        assert_eq!(nice_step(87.0, 4.0), 25.0);
    }

    #[test]
    fn overlays_are_drawn_and_escaped() {
        let xs = [0.0, 1.0, 2.0];
        let series =
            [Series { label: "r", color: "#000", dashed: false, values: vec![1.0, 2.0, 1.0] }];
        let bands = [Band {
            from: 0.5,
            to: 1.5,
            color: "#f00",
            label: "cpu <stress> on app=x".into(),
            short: "cpu <stress>".into(),
            row: 1,
        }];
        let vlines = [
            VLine {
                x: 1.0,
                color: "#00f",
                label: "scale 1 -> 2".into(),
                dashed: false,
                tag: String::new(),
            },
            VLine {
                x: 2.0,
                color: "#999",
                label: "phase b".into(),
                dashed: true,
                tag: "b<1>".into(),
            },
        ];
        let hlines = [HLine { y: 5.0, color: "#f00", label: "SLO p95 5 ms".into() }];
        let mut h = String::new();
        render(
            &mut h,
            &Chart {
                bands: &bands,
                vlines: &vlines,
                hlines: &hlines,
                stepped: true,
                x_max: Some(4.0),
                ..Chart::new("t", &xs, &series)
            },
        );
        assert!(h.contains("<rect") && h.contains("cpu &lt;stress&gt;"));
        assert!(h.contains("scale 1 -&gt; 2"));
        assert!(h.contains("class=\"tag\">b&lt;1&gt;</text>"), "a phase line shows its tag");
        assert_eq!(h.matches("<path").count(), 1, "only the event marker has an arrowhead");
        assert!(h.contains("SLO p95 5 ms"));
        // Stepped: 3 points, 2 risers and the hold to the axis end.
        let points = h.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(points.split(' ').count(), 6, "{points}");
        // The SLO line (5) sets the top of the y axis (6), above the data (2).
        assert!(h.contains(">6</text>") && !h.contains(">8</text>"), "{h}");
    }

    #[test]
    fn missing_samples_break_the_line_and_long_runs_tick_in_minutes() {
        let xs = [0.0, 60.0, 120.0, 180.0, 600.0];
        let series = [Series {
            label: "cpu",
            color: "#000",
            dashed: false,
            values: vec![1.0, 2.0, f64::NAN, 3.0, 4.0],
        }];
        let mut h = String::new();
        render(&mut h, &Chart::new("t", &xs, &series));
        assert_eq!(h.matches("<polyline").count(), 2, "{h}");
        assert!(h.contains(">2m</text>") && h.contains(">10m</text>"), "{h}");
        assert!(!h.contains(">600s</text>"));
    }

    #[test]
    fn counts_get_whole_number_ticks() {
        let xs = [0.0, 1.0];
        let series = [Series { label: "r", color: "#000", dashed: false, values: vec![1.0, 1.0] }];
        let ticks = |integer_y: bool| {
            let mut h = String::new();
            render(&mut h, &Chart { integer_y, ..Chart::new("t", &xs, &series) });
            h.split("text-anchor=\"end\">")
                .skip(1)
                .map(|t| t.split('<').next().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ticks(false), ["0", "0.25", "0.5", "0.75", "1"]);
        assert_eq!(ticks(true), ["0", "1"]);
    }
}
