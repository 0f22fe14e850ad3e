//! The KPA decision, ported from knative/serving `pkg/autoscaler/scaling/autoscaler.go`
//! (`autoscaler.Scale`): stable and panic pod counts from the observed window averages,
//! max scale-up / scale-down rates, activation scale, panic mode with its high-water mark,
//! the scale-down delay window and the excess burst capacity. Float operations keep Go's order.

use std::time::Duration;

use super::Metric;
use super::aggregation::MaxWindow;
use crate::policy::Time;

/// The decider's cadence upstream (`tickInterval`); the scale-down delay window uses it as
/// its bucket width.
pub const TICK_INTERVAL_SECS: u64 = 2;

/// Upstream's `DeciderSpec`: everything `Scale` reads.
#[derive(Debug, Clone, PartialEq)]
pub struct DeciderSpec {
    pub metric: Metric,
    /// Per-pod value to aim for (e.g. 70 concurrent requests).
    pub target_value: f64,
    /// Per-pod capacity the target is a share of (e.g. 100).
    pub total_value: f64,
    pub target_burst_capacity: f64,
    pub activator_capacity: f64,
    /// Desired panic pods / ready pods at or above which the decider panics (2.0 = 200 %).
    pub panic_threshold: f64,
    pub max_scale_up_rate: f64,
    pub max_scale_down_rate: f64,
    pub stable_window: Duration,
    pub scale_down_delay: Duration,
    /// Minimum pods when scaling from zero; 0 or 1 = off.
    pub activation_scale: u32,
    /// False when the revision gets no traffic (e.g. a newer revision took over): then
    /// scale-down is not rate limited.
    pub reachable: bool,
}

impl Default for DeciderSpec {
    /// Knative's defaults (target 70 of 100 concurrent requests).
    fn default() -> Self {
        DeciderSpec {
            metric: Metric::Concurrency,
            target_value: 70.0,
            total_value: 100.0,
            target_burst_capacity: 211.0,
            activator_capacity: 100.0,
            panic_threshold: 2.0,
            max_scale_up_rate: 1000.0,
            max_scale_down_rate: 2.0,
            stable_window: Duration::from_secs(60),
            scale_down_delay: Duration::ZERO,
            activation_scale: 0,
            reachable: true,
        }
    }
}

/// Upstream's `ScaleResult`, plus the intermediate values that explain it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleResult {
    pub desired_pod_count: i32,
    pub excess_burst_capacity: i32,
    /// False when there was no data to decide on (upstream's `invalidSR`).
    pub scale_valid: bool,
    pub observed_stable: f64,
    pub observed_panic: f64,
    /// Desired stable / panic pod counts after the rate clamps.
    pub stable_pods: i32,
    pub panic_pods: i32,
    pub max_scale_up: f64,
    pub max_scale_down: f64,
    pub in_panic: bool,
    /// The scale-down delay window held the count up (from this value).
    pub delayed_from: Option<i32>,
}

impl ScaleResult {
    fn invalid() -> ScaleResult {
        ScaleResult {
            desired_pod_count: 0,
            excess_burst_capacity: 0,
            scale_valid: false,
            observed_stable: 0.0,
            observed_panic: 0.0,
            stable_pods: 0,
            panic_pods: 0,
            max_scale_up: 0.0,
            max_scale_down: 0.0,
            in_panic: false,
            delayed_from: None,
        }
    }
}

/// One revision's decider state: panic mode and the delay window.
#[derive(Debug, Clone)]
pub struct Decider {
    pub spec: DeciderSpec,
    /// Last time the panic threshold was crossed; `None` = stable mode.
    pub panic_time: Option<Time>,
    /// High-water mark while panicking: the pod count never drops below it.
    pub max_panic_pods: i32,
    delay_window: Option<MaxWindow>,
}

impl Decider {
    /// `newAutoscaler`: a decider created while more than one pod is ready starts in panic
    /// mode at that count, because a restarted autoscaler has lost its metric history and
    /// must not scale down until it has seen a window of data.
    pub fn new(spec: DeciderSpec, ready_pods: u32, now: Time) -> Decider {
        let delay_window = (spec.scale_down_delay > Duration::ZERO)
            .then(|| MaxWindow::new(spec.scale_down_delay.as_secs_f64(), TICK_INTERVAL_SECS));
        let start_in_panic = ready_pods > 1;
        Decider {
            spec,
            panic_time: start_in_panic.then_some(now),
            max_panic_pods: i32::try_from(ready_pods).unwrap_or(i32::MAX),
            delay_window,
        }
    }

    /// `Update`: a new spec, keeping panic state (and the delay window, as upstream does).
    pub fn update(&mut self, spec: DeciderSpec) {
        self.spec = spec;
    }

    /// `Scale`: `observed` is (stable, panic) window averages, `None` when there is no data.
    pub fn scale(
        &mut self,
        now: Time,
        ready_pods: u32,
        observed: Option<(f64, f64)>,
    ) -> ScaleResult {
        let spec = &self.spec;
        let Some((observed_stable, observed_panic)) = observed else {
            return ScaleResult::invalid();
        };
        // Zero ready pods count as one, so the ratios below stay finite.
        let ready = (ready_pods as f64).max(1.0);

        // ceil() guarantees growth by at least one pod even when rate * ready rounds to ready
        // (rate 1.1 at 2 pods: 2.2 -> 3).
        let max_scale_up = (spec.max_scale_up_rate * ready).ceil();
        let max_scale_down =
            if spec.reachable { (ready / spec.max_scale_down_rate).floor() } else { 0.0 };

        let dspc = (observed_stable / spec.target_value).ceil();
        let dppc = (observed_panic / spec.target_value).ceil();

        // Float to int32 saturates in Rust; Go's conversion is undefined there.
        let mut stable_pods = dspc.max(max_scale_down).min(max_scale_up) as i32;
        let mut panic_pods = dppc.max(max_scale_down).min(max_scale_up) as i32;

        let activation = i32::try_from(spec.activation_scale).unwrap_or(i32::MAX);
        if activation > 1 {
            if dspc > 0.0 && activation > stable_pods {
                stable_pods = activation;
            }
            if dppc > 0.0 && activation > panic_pods {
                panic_pods = activation;
            }
        }

        // The threshold is on the desired panic pods relative to the ready pods.
        let over_threshold = dppc / ready >= spec.panic_threshold;
        let stable_window = spec.stable_window.as_secs_f64();
        match self.panic_time {
            _ if over_threshold => self.panic_time = Some(now),
            // Leave panic once the surge has been in the stable window for a whole window.
            Some(t) if t + stable_window < now => {
                self.panic_time = None;
                self.max_panic_pods = 0;
            }
            _ => {}
        }

        let mut desired = stable_pods;
        let in_panic = self.panic_time.is_some();
        if in_panic {
            // Provision for the larger of the two: the stable window may see more.
            desired = desired.max(panic_pods);
            // Never scale down while panicking.
            self.max_panic_pods = self.max_panic_pods.max(desired);
            desired = self.max_panic_pods;
        }

        let mut delayed_from = None;
        if let Some(window) = &mut self.delay_window {
            window.record(now, desired as f64);
            let delayed = window.current() as i32;
            // An unreachable revision (a newer one took the traffic) is not held up: upstream's
            // TestAutoscalerScaleDownDelayNotReachable.
            if delayed != desired && spec.reachable {
                delayed_from = Some(desired);
                desired = delayed;
            }
        }

        // Spare capacity after absorbing the panic-window load and the burst allowance;
        // negative means the activator should stay in the request path.
        let ebc = if spec.target_burst_capacity == 0.0 {
            0.0
        } else if spec.target_burst_capacity > 0.0 {
            let total_capacity = ready_pods as f64 * spec.total_value;
            (total_capacity - spec.target_burst_capacity - observed_panic).floor()
        } else {
            -1.0
        };

        ScaleResult {
            desired_pod_count: desired,
            excess_burst_capacity: ebc as i32,
            scale_valid: true,
            observed_stable,
            observed_panic,
            stable_pods,
            panic_pods,
            max_scale_up,
            max_scale_down,
            in_panic,
            delayed_from,
        }
    }
}
