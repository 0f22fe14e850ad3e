//! Per-trace features: one column per operation name (sorted, so the schema is the same
//! whatever order traces arrive in), self or inclusive time in µs, `total` and the `pattern`.
//!
//! Rules, pinned by the tests below:
//! - **self time** of a span = its duration minus the durations of its `CHILD_OF` children,
//!   clipped at 0 (parallel children can sum to more than the parent). `FOLLOWS_FROM`
//!   children are not subtracted: the parent does not wait for them.
//! - **inclusive time** is the span's own duration.
//! - **a repeated operation** (one name on several spans of a trace) is *summed* by default
//!   (`Repeated::Sum`): self times over every span with that name; inclusive times over the
//!   outermost ones only (a span with an ancestor of the same name is already inside it, so
//!   adding it would count that time twice). Seed 000 kept the last span in the trace's span
//!   order (`Repeated::Last`, available to reproduce its features exactly), which hides a slow
//!   earlier call and depends on span order; its `training-set.csv` holds those values.
//! - a missing operation is 0, and `pattern` is the 0/1 presence string over the sorted
//!   names (as seed 000's, built over Python-sorted column names).
//! - `total` is the sum of every span's duration (seed 000's definition, so deadlines learnt
//!   from its CSV and from Jaeger agree), not the root span's duration.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// One span, as the trace sources hand it over (times in µs).
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub span_id: String,
    pub operation: String,
    /// The span it is a `CHILD_OF`, if any (absent or unknown parents make a root).
    pub parent: Option<String>,
    pub duration_us: f64,
    /// The Jaeger process's `serviceName`.
    pub service: Option<String>,
}

/// One trace: an id and its spans.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub trace_id: String,
    pub spans: Vec<Span>,
}

/// Which time a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureKind {
    /// Duration minus `CHILD_OF` children (the default: a slow child does not make every
    /// ancestor look slow, so the forest and the explanation blame the right span).
    #[serde(rename = "self")]
    SelfTime,
    /// The span's own duration, as Jaeger reports it and seed 000's CSV holds.
    Inclusive,
}

impl FeatureKind {
    pub fn name(self) -> &'static str {
        match self {
            FeatureKind::SelfTime => "self",
            FeatureKind::Inclusive => "inclusive",
        }
    }
}

/// What a column holds when an operation appears on several spans of one trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Repeated {
    /// The sum (see the module doc): the time the trace spent in that operation.
    #[default]
    Sum,
    /// The last span's value, as seed 000 built its table.
    Last,
}

/// The sorted operation names: the model's columns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Schema {
    pub operations: Vec<String>,
}

impl Schema {
    /// The sorted, de-duplicated names.
    pub fn new<I: IntoIterator<Item = String>>(names: I) -> Self {
        let set: BTreeSet<String> = names.into_iter().collect();
        Schema { operations: set.into_iter().collect() }
    }

    /// Every operation seen in `traces`.
    pub fn of(traces: &[Trace]) -> Self {
        Self::new(traces.iter().flat_map(|t| t.spans.iter().map(|s| s.operation.clone())))
    }

    pub fn len(&self) -> usize {
        self.operations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    pub fn index(&self, op: &str) -> Option<usize> {
        self.operations.binary_search_by(|o| o.as_str().cmp(op)).ok()
    }
}

/// One trace as a row of the model's table.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceFeatures {
    pub trace_id: String,
    /// Per schema column, in µs (self or inclusive time, see the module doc).
    pub values: Vec<f64>,
    /// Per schema column: does the trace have a span with that name.
    pub present: Vec<bool>,
    /// The sum of every span's duration, µs.
    pub total_us: f64,
    /// Per schema column: the service of the span that contributed most (None from CSV).
    pub services: Vec<Option<String>>,
    /// Operations of this trace that are not in the schema (sorted).
    pub unknown: Vec<String>,
}

impl TraceFeatures {
    /// The 0/1 presence string over the schema's columns.
    pub fn pattern(&self) -> String {
        self.present.iter().map(|&p| if p { '1' } else { '0' }).collect()
    }
}

/// Self and inclusive time of every span of `trace`, in span order.
fn span_times(trace: &Trace) -> (Vec<f64>, Vec<bool>) {
    let by_id: HashMap<&str, usize> =
        trace.spans.iter().enumerate().map(|(i, s)| (s.span_id.as_str(), i)).collect();
    let parent: Vec<Option<usize>> = trace
        .spans
        .iter()
        .enumerate()
        .map(|(i, s)| s.parent.as_deref().and_then(|p| by_id.get(p).copied()).filter(|&p| p != i))
        .collect();
    let mut self_time: Vec<f64> = trace.spans.iter().map(|s| s.duration_us).collect();
    for (i, p) in parent.iter().enumerate() {
        if let Some(p) = *p {
            self_time[p] -= trace.spans[i].duration_us;
        }
    }
    for v in &mut self_time {
        *v = v.max(0.0);
    }
    // Outermost: no ancestor with the same name. The walk is bounded by the span count,
    // so a malformed trace with a reference cycle cannot loop forever.
    let outermost = (0..trace.spans.len())
        .map(|i| {
            let op = &trace.spans[i].operation;
            let mut cur = parent[i];
            for _ in 0..trace.spans.len() {
                match cur {
                    Some(a) if &trace.spans[a].operation == op => return false,
                    Some(a) => cur = parent[a],
                    None => break,
                }
            }
            true
        })
        .collect();
    (self_time, outermost)
}

/// The features of `trace` over `schema`, repeated operations summed.
pub fn extract(trace: &Trace, schema: &Schema, kind: FeatureKind) -> TraceFeatures {
    extract_with(trace, schema, kind, Repeated::Sum)
}

/// The features of `trace` over `schema` with the given rule for repeated operations.
pub fn extract_with(
    trace: &Trace,
    schema: &Schema,
    kind: FeatureKind,
    repeated: Repeated,
) -> TraceFeatures {
    let n = schema.len();
    let (self_time, outermost) = span_times(trace);
    let mut values = vec![0.0; n];
    let mut present = vec![false; n];
    let mut best: Vec<(f64, Option<String>)> = vec![(-1.0, None); n];
    let mut unknown = BTreeSet::new();
    let mut total_us = 0.0;
    for (i, span) in trace.spans.iter().enumerate() {
        total_us += span.duration_us;
        let Some(col) = schema.index(&span.operation) else {
            unknown.insert(span.operation.clone());
            continue;
        };
        present[col] = true;
        let contribution = match (kind, repeated) {
            (FeatureKind::SelfTime, _) => self_time[i],
            (FeatureKind::Inclusive, Repeated::Last) => span.duration_us,
            (FeatureKind::Inclusive, Repeated::Sum) if outermost[i] => span.duration_us,
            (FeatureKind::Inclusive, Repeated::Sum) => 0.0,
        };
        if repeated == Repeated::Last {
            values[col] = contribution;
            best[col] = (contribution, span.service.clone());
            continue;
        }
        values[col] += contribution;
        // The service named for a column is the one whose span spent the most there: for a
        // client/server pair with one name, the server doing the work, not the caller.
        if contribution > best[col].0 {
            best[col] = (contribution, span.service.clone());
        }
    }
    TraceFeatures {
        trace_id: trace.trace_id.clone(),
        values,
        present,
        total_us,
        services: best.into_iter().map(|(_, s)| s).collect(),
        unknown: unknown.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, op: &str, parent: Option<&str>, d: f64) -> Span {
        Span {
            span_id: id.into(),
            operation: op.into(),
            parent: parent.map(str::to_string),
            duration_us: d,
            service: Some(format!("svc-{op}")),
        }
    }

    fn trace() -> Trace {
        // root (100) -> a (30) -> b (50: longer than its parent, clipped self of a)
        //            -> a (20)      repeated op, nested nowhere
        //            -> c (10) -> c (4)   nested repeat
        Trace {
            trace_id: "t1".into(),
            spans: vec![
                span("1", "root", None, 100.0),
                span("2", "a", Some("1"), 30.0),
                span("3", "b", Some("2"), 50.0),
                span("4", "a", Some("1"), 20.0),
                span("5", "c", Some("1"), 10.0),
                span("6", "c", Some("5"), 4.0),
            ],
        }
    }

    #[test]
    fn schema_is_sorted_and_deduplicated() {
        let s = Schema::of(&[trace()]);
        assert_eq!(s.operations, ["a", "b", "c", "root"]);
        assert_eq!(s.index("c"), Some(2));
        assert_eq!(s.index("zz"), None);
    }

    #[test]
    fn self_time_subtracts_children_clips_at_zero_and_sums_repeats() {
        let t = trace();
        let f = extract(&t, &Schema::of(std::slice::from_ref(&t)), FeatureKind::SelfTime);
        // a: max(0, 30-50) + 20 = 20; b: 50; c: 10-4 + 4 = 10; root: 100-30-20-10 = 40.
        assert_eq!(f.values, [20.0, 50.0, 10.0, 40.0]);
        assert_eq!(f.total_us, 214.0);
        assert_eq!(f.pattern(), "1111");
    }

    #[test]
    fn inclusive_sums_outermost_spans_only() {
        let t = trace();
        let f = extract(&t, &Schema::of(std::slice::from_ref(&t)), FeatureKind::Inclusive);
        // a: 30 + 20; c: only the outer 10 (the inner 4 is inside it).
        assert_eq!(f.values, [50.0, 50.0, 10.0, 100.0]);
    }

    #[test]
    fn the_last_rule_keeps_the_last_span_as_seed_000_did() {
        let t = trace();
        let schema = Schema::of(std::slice::from_ref(&t));
        let f = extract_with(&t, &schema, FeatureKind::Inclusive, Repeated::Last);
        // a: the second span (20); c: the inner span, last in span order (4).
        assert_eq!(f.values, [20.0, 50.0, 4.0, 100.0]);
        let f = extract_with(&t, &schema, FeatureKind::SelfTime, Repeated::Last);
        assert_eq!(f.values, [20.0, 50.0, 4.0, 40.0]);
    }

    #[test]
    fn missing_operations_are_zero_and_unknown_ones_listed() {
        let schema = Schema::new(["a".to_string(), "x".to_string()]);
        let f = extract(&trace(), &schema, FeatureKind::SelfTime);
        assert_eq!(f.values, [20.0, 0.0]);
        assert_eq!(f.pattern(), "10");
        assert_eq!(f.unknown, ["b", "c", "root"]);
        assert_eq!(f.services[0].as_deref(), Some("svc-a"));
    }

    #[test]
    fn reference_cycles_and_unknown_parents_do_not_hang() {
        let t = Trace {
            trace_id: "c".into(),
            spans: vec![
                span("1", "a", Some("2"), 10.0),
                span("2", "a", Some("1"), 5.0),
                span("3", "b", Some("missing"), 7.0),
            ],
        };
        let f = extract(&t, &Schema::of(std::slice::from_ref(&t)), FeatureKind::Inclusive);
        assert_eq!(f.values, [0.0, 7.0]);
    }
}
