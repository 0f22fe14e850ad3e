//! Tests of the whole shape module, one file per area, and the helpers they share.

mod arrivals;
mod golden;
mod kinds;
mod trace;

use super::{Shape, ShapeSpec, TraceOptions};

pub(super) fn shape(arg: &str, duration: Option<f64>) -> Shape {
    ShapeSpec::parse(arg, &TraceOptions::default())
        .and_then(|s| s.build(duration))
        .unwrap_or_else(|e| panic!("{arg}: {e}"))
}

pub(super) fn parse_err(arg: &str) -> String {
    match ShapeSpec::parse(arg, &TraceOptions::default()) {
        Ok(s) => panic!("{arg} parsed: {s:?}"),
        Err(e) => e.to_string(),
    }
}

pub(super) fn trace(text: &str, opts: &TraceOptions, duration: Option<f64>) -> Shape {
    ShapeSpec::from_trace_text("x.csv", text, opts)
        .and_then(|s| s.build(duration))
        .unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn trace_err(text: &str, opts: &TraceOptions) -> String {
    match ShapeSpec::from_trace_text("x.csv", text, opts) {
        Ok(s) => panic!("parsed: {s:?}"),
        Err(e) => e.to_string(),
    }
}

pub(super) fn compat(amplitude: f64, shift: f64, fit: bool) -> TraceOptions {
    TraceOptions {
        amplitude: Some(amplitude),
        shift: Some(shift),
        fit,
        locust_compat: true,
        ..TraceOptions::default()
    }
}

pub(super) fn built(arg: &str, opts: &TraceOptions, duration: f64) -> Shape {
    ShapeSpec::parse(arg, opts)
        .and_then(|s| s.build(Some(duration)))
        .unwrap_or_else(|e| panic!("{e}"))
}
