//! Anomaly detection, pure: per-trace features from spans (`features`), an Isolation Forest
//! with scikit-learn's semantics (`forest`), the trained model with its JSON form (`model`),
//! explanations that name the span and service most responsible (`explain`) and streaming
//! detectors for metric series (`stream`). No IO and no clock here: traces come in as data
//! (see `observe` for Jaeger files and the query API) and time is an argument.

pub mod explain;
pub mod features;
pub mod forest;
pub mod model;
pub mod sklearn_rng;
pub mod stats;
pub mod stream;

pub use explain::{Explanation, OpStats, SpanMap};
pub use features::{FeatureKind, Repeated, Schema, Span, Trace, TraceFeatures};
pub use forest::{Forest, ForestParams, Matrix};
pub use model::{Contamination, Model, TrainOptions, Verdict};
pub use stream::{Alarm, Direction, EwmaDetector, MadDetector, StreamConfig};
