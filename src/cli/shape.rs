//! `ctl shape show`: prints a shape as `t,value` CSV without sending any load, so it can be
//! previewed, plotted or diffed against the original tools' schedules.

use super::{EXIT_OK, UsageError, parse_duration};
use crate::shape::{ShapeSpec, TraceOptions};
use clap::{Args, Subcommand};
use std::io::Write;

#[derive(Debug, Subcommand)]
pub enum ShapeCommand {
    /// Print a shape as `t,value` CSV (t in seconds).
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The shape: inline (`sin:min=10,max=80,period=400s`, `const:50`, `steps:10@30s,100@2m`,
    /// `ramp:from=0,to=100,duration=60s`, `weibull:k=1,mean=150,...`) or a trace CSV file.
    pub shape: String,
    /// How long to show; defaults to the shape's own length (steps, ramp, one trace pass).
    #[arg(short = 'd', long, value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Time between printed points; default: --step, else 1s.
    #[arg(long, value_parser = parse_duration)]
    pub every: Option<std::time::Duration>,
    #[command(flatten)]
    pub trace: TraceArgs,
}

/// Options of trace shapes, shared by `ctl load` and `ctl shape show`.
#[derive(Debug, Clone, Args)]
pub struct TraceArgs {
    /// Min-max scale trace values to SHIFT..SHIFT+AMPLITUDE.
    #[arg(long)]
    pub amplitude: Option<f64>,
    /// Lowest value after scaling (or an offset added without --amplitude).
    #[arg(long)]
    pub shift: Option<f64>,
    /// Time each trace row lasts (default 1s).
    #[arg(long, value_parser = parse_duration)]
    pub step: Option<std::time::Duration>,
    /// Stretch the trace over the whole run instead of looping it.
    #[arg(long)]
    pub fit: bool,
    /// Hold the last row after the trace ends instead of looping.
    #[arg(long)]
    pub no_loop: bool,
    /// Reproduce the original Locust trace script exactly (header row dropped, integer
    /// truncation, index int(t) % n).
    #[arg(long)]
    pub locust_compat: bool,
}

impl TraceArgs {
    pub fn options(&self) -> TraceOptions {
        TraceOptions {
            amplitude: self.amplitude,
            shift: self.shift,
            step: self.step.map(|d| d.as_secs_f64()),
            fit: self.fit,
            locust_compat: self.locust_compat,
            no_loop: self.no_loop,
        }
    }
}

pub fn run(cmd: ShapeCommand) -> anyhow::Result<i32> {
    let ShapeCommand::Show(args) = cmd;
    // `--step` is both the trace's row length and the print interval (`shape show X --step 2s`
    // prints one line per row); an inline shape has no rows, so there it is the interval only.
    let mut options = args.trace.options();
    let step = options.step.take();
    let mut spec = ShapeSpec::parse(&args.shape, &options).map_err(UsageError::boxed)?;
    if spec.is_trace() && step.is_some() {
        options.step = step;
        spec = ShapeSpec::parse(&args.shape, &options).map_err(UsageError::boxed)?;
    }
    let duration = args.duration.map(|d| d.as_secs_f64());
    let shape = spec.build(duration).map_err(UsageError::boxed)?;
    let Some(length) = duration.or(shape.natural_duration()) else {
        return Err(UsageError::boxed(format!(
            "{} has no length of its own: give --duration",
            shape.describe()
        )));
    };
    let every = args.every.map_or(step.unwrap_or(1.0), |d| d.as_secs_f64());
    if every <= 0.0 {
        return Err(UsageError::boxed("--every: expected a positive duration"));
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(out, "t,value")?;
    let points = (length / every).ceil() as u64;
    for i in 0..points {
        // Rounded so 0.1 s steps print as 0.3, not 0.30000000000000004.
        let t = (i as f64 * every * 1e6).round() / 1e6;
        writeln!(out, "{},{}", number(t), number(shape.value_at(t)))?;
    }
    out.flush()?;
    Ok(EXIT_OK)
}

/// Integers without a decimal point, other values in their shortest exact form.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}
