//! The `--shape` argument: the inline grammar `kind:args` (args are comma-separated `key=value`),
//! number and duration parsing, the trace options, the error type, and `ShapeSpec` (a parsed but
//! not yet built shape). Each kind parses its own keys in its own file; this file only holds what
//! they share. Trace files are read through `trace_csv::load_trace_file`, the module's only IO.

use super::constant::Const;
use super::ramp::Ramp;
use super::sin::Sin;
use super::steps::Steps;
use super::trace::TraceSpec;
use super::weibull::WeibullParams;
use super::{Kind, Shape, trace_csv};

/// Every inline kind, in the order shown to users.
pub const KINDS: &[&str] = &["const", "ramp", "steps", "sin", "weibull", "trace"];

/// Options that only apply to trace shapes (the `--amplitude`, `--shift`, `--step`, `--fit`,
/// `--locust-compat` and `--no-loop` flags).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TraceOptions {
    /// Min-max scale the trace to `[shift, shift + amplitude]`.
    pub amplitude: Option<f64>,
    /// Lower end of the scaled range; alone, it is added to every value.
    pub shift: Option<f64>,
    /// Seconds per row (default 1).
    pub step: Option<f64>,
    /// Stretch one pass of the trace over the whole run.
    pub fit: bool,
    /// Reproduce AIPerfBootCampImpl's `locustfile_trace.py` exactly (header drop, `int()`).
    pub locust_compat: bool,
    /// Hold the last value after one pass instead of looping.
    pub no_loop: bool,
}

/// Everything that can be wrong with a shape; `Display` is the complete message for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShapeError {
    /// A value in the inline syntax is malformed or out of range. `found` is already quoted (or
    /// reads "end of input").
    #[error("--shape '{arg}': column {column}: expected {expected}, found {found}")]
    Syntax { arg: String, column: usize, expected: String, found: String },
    #[error(
        "--shape '{arg}': column {column}: unknown key '{key}' for {kind}; valid keys: {}",
        valid.join(", ")
    )]
    UnknownKey {
        arg: String,
        column: usize,
        kind: &'static str,
        key: String,
        valid: &'static [&'static str],
    },
    #[error("--shape '{arg}': {kind} needs '{key}'; valid keys: {}", valid.join(", "))]
    MissingKey {
        arg: String,
        kind: &'static str,
        key: &'static str,
        valid: &'static [&'static str],
    },
    #[error(
        "--shape '{arg}': column 1: unknown shape kind '{kind}'; valid kinds: {} \
         (anything else is a trace CSV path; write ./{arg} or trace:{arg} for a file name with ':')",
        KINDS.join(", ")
    )]
    UnknownKind { arg: String, kind: String },
    /// A trace file's content is malformed. `found` is already quoted (or reads "end of file").
    #[error("{path}:{line}:{column}: expected {expected}, found {found}")]
    File { path: String, line: usize, column: usize, expected: String, found: String },
    #[error("cannot read trace file '{path}': {reason} (built-in traces: {})", trace_csv::BUILTIN_NAMES.join(", "))]
    Read { path: String, reason: String },
    /// A trace option flag has a bad value.
    #[error("{flag}: expected {expected}, found '{found}'")]
    Flag { flag: &'static str, expected: &'static str, found: String },
    #[error("{flag} only applies to trace shapes, not to '{arg}'")]
    NotATrace { flag: &'static str, arg: String },
    #[error(
        "{what} needs the run duration (-t/--run-time with ctl load, -d/--duration with ctl shape show)"
    )]
    NeedsDuration { what: &'static str },
    /// The run duration does not fit the shape (e.g. shorter than one weibull stage).
    #[error("{0}")]
    Build(String),
}

/// Quotes offending text for an error message.
pub(super) fn quoted(text: &str) -> String {
    format!("'{text}'")
}

/// A parsed `--shape`: validated, with any trace file already read, but not yet bound to a run
/// duration.
#[derive(Debug, Clone)]
pub struct ShapeSpec {
    kind: SpecKind,
}

#[derive(Debug, Clone)]
enum SpecKind {
    Const(Const),
    Ramp(Ramp),
    Steps(Steps),
    Sin(Sin),
    Weibull(WeibullParams),
    Trace(Box<TraceSpec>),
}

impl ShapeSpec {
    /// Parses the --shape argument: inline syntax `kind:args`, `trace:PATH`, or a trace CSV
    /// path / built-in trace name.
    pub fn parse(arg: &str, trace: &TraceOptions) -> Result<ShapeSpec, ShapeError> {
        let trimmed = arg.trim();
        if trimmed.is_empty() {
            return Err(ShapeError::Syntax {
                arg: arg.to_string(),
                column: 1,
                expected: "a shape (kind:args, e.g. const:50, or a trace CSV path)".into(),
                found: "end of input".into(),
            });
        }
        let inline = Inline { arg };
        // Leading blanks are tolerated; `colon` stays a byte offset into the untrimmed `arg`.
        let lead = arg.len() - arg.trim_start().len();
        let Some((kind, colon)) = split_kind(trimmed).map(|(k, c)| (k, c + lead)) else {
            if let Some(kind) = KINDS.iter().find(|k| k.eq_ignore_ascii_case(trimmed))
                && *kind != "trace"
            {
                // A bare kind name is almost certainly not meant as a file called "sin".
                return Err(inline.error(
                    Field { text: "", offset: arg.len() },
                    &format!("':' and arguments after '{kind}' (e.g. {})", example(kind)),
                ));
            }
            return Self::trace_file(trimmed, trace);
        };
        let Some(kind) = KINDS.iter().find(|k| k.eq_ignore_ascii_case(kind)) else {
            return Err(ShapeError::UnknownKind { arg: arg.to_string(), kind: kind.to_string() });
        };
        let body = Field { text: &arg[colon + 1..], offset: colon + 1 };
        if *kind == "trace" {
            let path = body.text.trim();
            if path.is_empty() {
                return Err(inline.error(body, "a trace CSV path after 'trace:'"));
            }
            return Self::trace_file(path, trace);
        }
        reject_trace_options(arg, trace)?;
        let kind = match *kind {
            "const" => SpecKind::Const(Const::parse(&inline, body)?),
            "ramp" => SpecKind::Ramp(Ramp::parse(&inline, body)?),
            "steps" => SpecKind::Steps(Steps::parse(&inline, body)?),
            "sin" => SpecKind::Sin(Sin::parse(&inline, body)?),
            _ => SpecKind::Weibull(WeibullParams::parse(&inline, body)?),
        };
        Ok(ShapeSpec { kind })
    }

    /// A trace shape from CSV text that is already in memory (`name` is used in messages).
    pub fn from_trace_text(
        name: &str,
        text: &str,
        trace: &TraceOptions,
    ) -> Result<ShapeSpec, ShapeError> {
        let spec = TraceSpec::new(name, text, trace)?;
        Ok(ShapeSpec { kind: SpecKind::Trace(Box::new(spec)) })
    }

    fn trace_file(path: &str, trace: &TraceOptions) -> Result<ShapeSpec, ShapeError> {
        // Validate the flags before touching the disk so flag errors win over file errors.
        TraceSpec::check_options(trace)?;
        let file = trace_csv::load_trace_file(path)?;
        Self::from_trace_text(&file.name, &file.text, trace)
    }

    /// Builds the shape for a run of `duration` seconds (None = not given; weibull and trace
    /// --fit require it).
    pub fn build(&self, duration: Option<f64>) -> Result<Shape, ShapeError> {
        if let Some(d) = duration
            && !(d.is_finite() && d > 0.0)
        {
            return Err(ShapeError::Build(format!(
                "the run duration must be a positive number of seconds, got {d}"
            )));
        }
        let kind = match &self.kind {
            SpecKind::Const(c) => Kind::Const(c.clone()),
            SpecKind::Ramp(r) => Kind::Ramp(r.clone()),
            SpecKind::Steps(s) => Kind::Steps(s.clone()),
            SpecKind::Sin(s) => Kind::Sin(s.clone()),
            SpecKind::Weibull(w) => Kind::Weibull(w.build(duration)?),
            SpecKind::Trace(t) => Kind::Trace(t.build(duration)?),
        };
        Ok(Shape { kind })
    }

    /// true for trace shapes (the CLI uses this to pick the default load model).
    pub fn is_trace(&self) -> bool {
        matches!(self.kind, SpecKind::Trace(_))
    }
}

/// `kind` and the byte index of its ':' when `arg` looks like inline syntax. Only a word of two
/// or more letters/digits/`_`/`-` counts, so `./a:b.csv` or a Windows `C:\x.csv` stay paths.
fn split_kind(arg: &str) -> Option<(&str, usize)> {
    let colon = arg.find(':')?;
    let prefix = &arg[..colon];
    let word = prefix.len() >= 2
        && prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    word.then_some((prefix, colon))
}

fn example(kind: &str) -> &'static str {
    match kind {
        "const" => "const:50",
        "ramp" => "ramp:from=0,to=100,duration=60s",
        "steps" => "steps:10@30s,100@2m,0@30s",
        "sin" => "sin:min=10,max=80,period=400s",
        _ => "weibull:k=1,mean=150",
    }
}

/// Trace flags given with an inline shape are a mistake worth reporting, not ignoring.
fn reject_trace_options(arg: &str, t: &TraceOptions) -> Result<(), ShapeError> {
    let flag = if t.amplitude.is_some() {
        "--amplitude"
    } else if t.shift.is_some() {
        "--shift"
    } else if t.step.is_some() {
        "--step"
    } else if t.fit {
        "--fit"
    } else if t.locust_compat {
        "--locust-compat"
    } else if t.no_loop {
        "--no-loop"
    } else {
        return Ok(());
    };
    Err(ShapeError::NotATrace { flag, arg: arg.to_string() })
}

/// A piece of the argument and its byte offset in it (for error columns).
#[derive(Debug, Clone, Copy)]
pub(super) struct Field<'a> {
    pub text: &'a str,
    pub offset: usize,
}

impl<'a> Field<'a> {
    /// The same field without surrounding whitespace, offset adjusted.
    fn trim(self) -> Field<'a> {
        let start = self.text.len() - self.text.trim_start().len();
        Field { text: self.text.trim(), offset: self.offset + start }
    }

    /// Splits at the first `sep`, if present.
    pub fn split_once(self, sep: char) -> Option<(Field<'a>, Field<'a>)> {
        let i = self.text.find(sep)?;
        Some((
            Field { text: &self.text[..i], offset: self.offset }.trim(),
            Field {
                text: &self.text[i + sep.len_utf8()..],
                offset: self.offset + i + sep.len_utf8(),
            }
            .trim(),
        ))
    }
}

/// The whole `--shape` argument, for building errors that point into it.
pub(super) struct Inline<'a> {
    pub arg: &'a str,
}

impl<'a> Inline<'a> {
    /// 1-based character column of a byte offset.
    fn column(&self, offset: usize) -> usize {
        self.arg.get(..offset).map_or(offset, |s| s.chars().count()) + 1
    }

    pub fn error(&self, at: Field, expected: &str) -> ShapeError {
        ShapeError::Syntax {
            arg: self.arg.to_string(),
            column: self.column(at.offset),
            expected: expected.to_string(),
            found: if at.text.is_empty() && at.offset >= self.arg.trim_end().len() {
                "end of input".to_string()
            } else {
                quoted(at.text)
            },
        }
    }

    /// Comma-separated, trimmed fields of `body`.
    pub fn fields(&self, body: Field<'a>) -> Vec<Field<'a>> {
        let mut out = Vec::new();
        let mut offset = body.offset;
        for part in body.text.split(',') {
            out.push(Field { text: part, offset }.trim());
            offset += part.len() + 1;
        }
        out
    }

    /// `key=value` pairs of `body`, checked against `valid` (no unknown or repeated keys).
    pub fn params(
        &self,
        kind: &'static str,
        body: Field<'a>,
        valid: &'static [&'static str],
    ) -> Result<Params<'a, '_>, ShapeError> {
        let mut entries: Vec<(&'static str, Field<'a>)> = Vec::new();
        for field in self.fields(body) {
            if field.text.is_empty() && body.text.trim().is_empty() {
                break; // `kind:` with nothing after it: let missing keys be reported
            }
            let Some((key, value)) = field.split_once('=') else {
                return Err(self.error(field, "key=value"));
            };
            let Some(&known) = valid.iter().find(|v| **v == key.text) else {
                return Err(ShapeError::UnknownKey {
                    arg: self.arg.to_string(),
                    column: self.column(key.offset),
                    kind,
                    key: key.text.to_string(),
                    valid,
                });
            };
            if entries.iter().any(|(k, _)| *k == known) {
                return Err(self.error(key, &format!("each key once ('{known}' is repeated)")));
            }
            entries.push((known, value));
        }
        Ok(Params { inline: self, kind, valid, entries })
    }

    /// A finite number.
    pub fn number(&self, f: Field) -> Result<f64, ShapeError> {
        match f.text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(self.error(f, "a finite number")),
        }
    }

    /// A finite number >= 0.
    pub fn non_negative(&self, f: Field) -> Result<f64, ShapeError> {
        match self.number(f) {
            Ok(v) if v >= 0.0 => Ok(v),
            _ => Err(self.error(f, "a finite number >= 0")),
        }
    }

    /// A duration in seconds: humantime (`30s`, `2m`, `1h30m`, `500ms`) or a bare number of
    /// seconds.
    pub fn duration(&self, f: Field) -> Result<f64, ShapeError> {
        parse_duration(f.text)
            .ok_or_else(|| self.error(f, "a duration like 30s, 2m, 1h30m, 500ms or 45 (seconds)"))
    }
}

/// Seconds from humantime syntax or a bare non-negative number; None when malformed.
pub fn parse_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then_some(secs);
    }
    humantime::parse_duration(text).ok().map(|d| d.as_secs_f64())
}

/// A duration flag or key (`90s`, `2m`, `1h30m`, `500ms` or bare seconds) of at most `max`;
/// the error says what was expected, for the caller to place on its flag or key.
pub fn parse_bounded_duration(
    text: &str,
    max: std::time::Duration,
) -> Result<std::time::Duration, String> {
    let expected = || format!("expected a duration like 30s, 2m or 1h30m, found '{text}'");
    let duration = parse_duration(text)
        .and_then(|secs| std::time::Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(expected)?;
    if duration > max {
        let days = max.as_secs() / 86_400;
        return Err(format!("expected a duration of at most {days} days, found '{text}'"));
    }
    Ok(duration)
}

/// The checked `key=value` pairs of one inline shape.
pub(super) struct Params<'a, 'i> {
    inline: &'i Inline<'a>,
    kind: &'static str,
    valid: &'static [&'static str],
    entries: Vec<(&'static str, Field<'a>)>,
}

impl Params<'_, '_> {
    pub fn field(&self, key: &str) -> Option<Field<'_>> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, f)| *f)
    }

    pub fn require(&self, key: &'static str) -> Result<Field<'_>, ShapeError> {
        self.field(key).ok_or_else(|| ShapeError::MissingKey {
            arg: self.inline.arg.to_string(),
            kind: self.kind,
            key,
            valid: self.valid,
        })
    }

    pub fn number(&self, key: &'static str, default: Option<f64>) -> Result<f64, ShapeError> {
        match (self.field(key), default) {
            (Some(f), _) => self.inline.number(f),
            (None, Some(d)) => Ok(d),
            (None, None) => self.inline.number(self.require(key)?),
        }
    }

    pub fn non_negative(&self, key: &'static str, default: Option<f64>) -> Result<f64, ShapeError> {
        match (self.field(key), default) {
            (Some(f), _) => self.inline.non_negative(f),
            (None, Some(d)) => Ok(d),
            (None, None) => self.inline.non_negative(self.require(key)?),
        }
    }

    pub fn duration(&self, key: &'static str, default: Option<f64>) -> Result<f64, ShapeError> {
        match (self.field(key), default) {
            (Some(f), _) => self.inline.duration(f),
            (None, Some(d)) => Ok(d),
            (None, None) => self.inline.duration(self.require(key)?),
        }
    }

    /// An error pointing at `key`'s value (or at the end when the key was defaulted).
    pub fn invalid(&self, key: &str, expected: &str) -> ShapeError {
        let at = self.field(key).unwrap_or(Field { text: "", offset: self.inline.arg.len() });
        self.inline.error(at, expected)
    }
}
