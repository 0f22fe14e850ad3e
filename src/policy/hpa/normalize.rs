//! Normalisation of the metrics' recommendation (`horizontal.go`): the legacy path for HPAs
//! without `behavior` (300 s downscale stabilisation, then min/max and the
//! max(2 x current, 4) scale-up limit) and the behavior path (stabilisation windows both
//! ways, Pods / Percent rate policies over their periods with `selectPolicy`, scale-event
//! history). Both return the condition reasons the controller would set.

use super::history::{History, Recommendation, change_in_period};
use super::model::{PolicyKind, ScalingRules, SelectPolicy};
use super::replicas::ceil_i32;
use crate::policy::Time;

/// `scaleUpLimitFactor` and `scaleUpLimitMinimum` of the legacy path.
pub const SCALE_UP_LIMIT_FACTOR: f64 = 2.0;
pub const SCALE_UP_LIMIT_MINIMUM: f64 = 4.0;

/// A condition reason with its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub reason: &'static str,
    pub message: &'static str,
}

const DESIRED_WITHIN_RANGE: Reason = Reason {
    reason: "DesiredWithinRange",
    message: "the desired count is within the acceptable range",
};
const SCALE_UP_LIMIT: Reason = Reason {
    reason: "ScaleUpLimit",
    message: "the desired replica count is increasing faster than the maximum scale rate",
};
const TOO_MANY: Reason = Reason {
    reason: "TooManyReplicas",
    message: "the desired replica count is more than the maximum replica count",
};
const TOO_FEW: Reason = Reason {
    reason: "TooFewReplicas",
    message: "the desired replica count is less than the minimum replica count",
};
const SCALE_DOWN_LIMIT: Reason = Reason {
    reason: "ScaleDownLimit",
    message: "the desired replica count is decreasing faster than the maximum scale rate",
};
pub const READY_FOR_NEW_SCALE: Reason =
    Reason { reason: "ReadyForNewScale", message: "recommended size matches current size" };
const SCALE_DOWN_STABILIZED: Reason = Reason {
    reason: "ScaleDownStabilized",
    message: "recent recommendations were higher than current one, applying the highest recent recommendation",
};
const SCALE_UP_STABILIZED: Reason = Reason {
    reason: "ScaleUpStabilized",
    message: "recent recommendations were lower than current one, applying the lowest recent recommendation",
};

/// The outcome of normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// After stabilisation, before the limits.
    pub stabilized: i32,
    pub replicas: i32,
    /// `AbleToScale` reason: stabilised or ready for a new scale.
    pub able_to_scale: Reason,
    /// `ScalingLimited` reason; the condition is True when `replicas != stabilized`.
    pub scaling_limited: Reason,
}

/// `normalizeDesiredReplicas`: the legacy path.
pub fn legacy(
    history: &mut History,
    current: i32,
    desired: i32,
    min: i32,
    max: i32,
    downscale_window: f64,
    now: Time,
) -> Normalized {
    let stabilized = stabilize_legacy(history, desired, downscale_window, now);
    let able_to_scale =
        if stabilized != desired { SCALE_DOWN_STABILIZED } else { READY_FOR_NEW_SCALE };
    let (replicas, scaling_limited) = convert_with_rules(current, stabilized, min, max);
    Normalized { stabilized, replicas, able_to_scale, scaling_limited }
}

/// `stabilizeRecommendation`: the max of the desired count and every recommendation within
/// the downscale window; the desired count is stored in the last expired slot or appended.
pub fn stabilize_legacy(history: &mut History, desired: i32, window: f64, now: Time) -> i32 {
    let cutoff = now - window;
    let mut max = desired;
    let mut old = None;
    for (i, rec) in history.recommendations().iter().enumerate() {
        if rec.timestamp < cutoff {
            old = Some(i);
        } else if rec.replicas > max {
            max = rec.replicas;
        }
    }
    history.store_recommendation(old, Recommendation { replicas: desired, timestamp: now });
    max
}

/// `convertDesiredReplicasWithRules`: min/max and the max(2 x current, 4) scale-up limit.
pub fn convert_with_rules(current: i32, desired: i32, min: i32, max: i32) -> (i32, Reason) {
    let scale_up_limit = scale_up_limit(current);
    let (maximum, limiting) =
        if max > scale_up_limit { (scale_up_limit, SCALE_UP_LIMIT) } else { (max, TOO_MANY) };
    if desired < min {
        (min, TOO_FEW)
    } else if desired > maximum {
        (maximum, limiting)
    } else {
        (desired, DESIRED_WITHIN_RANGE)
    }
}

/// `calculateScaleUpLimit`: `int32(max(2 x current, 4))`.
pub fn scale_up_limit(current: i32) -> i32 {
    (SCALE_UP_LIMIT_FACTOR * f64::from(current)).max(SCALE_UP_LIMIT_MINIMUM) as i32
}

/// Everything the behavior path needs besides the history.
#[derive(Debug, Clone, Copy)]
pub struct BehaviorArgs<'a> {
    pub scale_up: &'a ScalingRules,
    pub scale_down: &'a ScalingRules,
    /// The controller's downscale window, used when `scaleDown` has none.
    pub default_down_window: i32,
    pub min: i32,
    pub max: i32,
    pub current: i32,
    pub desired: i32,
}

/// `normalizeDesiredReplicasWithBehaviors`.
pub fn with_behavior(history: &mut History, args: BehaviorArgs<'_>, now: Time) -> Normalized {
    let up_window = args.scale_up.stabilization_window_seconds.unwrap_or(0);
    let down_window =
        args.scale_down.stabilization_window_seconds.unwrap_or(args.default_down_window);
    let (stabilized, stabilize_reason) =
        stabilize_with_behavior(history, args.current, args.desired, up_window, down_window, now);
    let able_to_scale =
        if stabilized != args.desired { stabilize_reason } else { READY_FOR_NEW_SCALE };
    let (replicas, scaling_limited) =
        convert_with_behavior_rate(history, BehaviorArgs { desired: stabilized, ..args }, now);
    Normalized { stabilized, replicas, able_to_scale, scaling_limited }
}

/// `stabilizeRecommendationWithBehaviors`: the current count clamped into
/// [min of recent recommendations (scale-up window), max of recent ones (scale-down
/// window)], the desired count included in both; a slot older than both windows is reused.
pub fn stabilize_with_behavior(
    history: &mut History,
    current: i32,
    desired: i32,
    up_window: i32,
    down_window: i32,
    now: Time,
) -> (i32, Reason) {
    let up_cutoff = now - f64::from(up_window);
    let down_cutoff = now - f64::from(down_window);
    let mut up = desired;
    let mut down = desired;
    let mut old = None;
    for (i, rec) in history.recommendations().iter().enumerate() {
        if rec.timestamp > up_cutoff {
            up = up.min(rec.replicas);
        }
        if rec.timestamp > down_cutoff {
            down = down.max(rec.replicas);
        }
        if rec.timestamp < up_cutoff && rec.timestamp < down_cutoff {
            old = Some(i);
        }
    }
    let recommendation = current.max(up).min(down);
    history.store_recommendation(old, Recommendation { replicas: desired, timestamp: now });
    let reason = if desired >= current { SCALE_UP_STABILIZED } else { SCALE_DOWN_STABILIZED };
    (recommendation, reason)
}

/// `convertDesiredReplicasWithBehaviorRate`: the rate policies, then min/max.
pub fn convert_with_behavior_rate(
    history: &History,
    args: BehaviorArgs<'_>,
    now: Time,
) -> (i32, Reason) {
    if args.desired > args.current {
        let limit =
            scale_up_limit_with_rules(args.current, history, args.scale_up, now).max(args.current);
        let (maximum, reason) =
            if args.max > limit { (limit, SCALE_UP_LIMIT) } else { (args.max, TOO_MANY) };
        if args.desired > maximum {
            return (maximum, reason);
        }
    } else if args.desired < args.current {
        let limit = scale_down_limit_with_rules(args.current, history, args.scale_down, now)
            .min(args.current);
        let (minimum, reason) =
            if args.min < limit { (limit, SCALE_DOWN_LIMIT) } else { (args.min, TOO_FEW) };
        if args.desired < minimum {
            return (minimum, reason);
        }
    }
    (args.desired, DESIRED_WITHIN_RANGE)
}

/// The replica count each policy allows at the start of its period: the current count
/// minus the scale-ups and plus the scale-downs that happened within the period.
fn period_start(current: i32, history: &History, period: i32, now: Time) -> i32 {
    let added = change_in_period(&history.scale_up_events, period, now);
    let deleted = change_in_period(&history.scale_down_events, period, now);
    current.saturating_sub(added).saturating_add(deleted)
}

/// `calculateScaleUpLimitWithScalingRules`.
pub fn scale_up_limit_with_rules(
    current: i32,
    history: &History,
    rules: &ScalingRules,
    now: Time,
) -> i32 {
    let (mut result, pick): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i32::MAX, i32::min),
        SelectPolicy::Max => (i32::MIN, i32::max),
    };
    for p in &rules.policies {
        let start = period_start(current, history, p.period_seconds, now);
        let proposed = match p.kind {
            PolicyKind::Pods => start.saturating_add(p.value),
            // Rounded up so a small percentage still adds a pod.
            PolicyKind::Percent => ceil_i32(f64::from(start) * (1.0 + f64::from(p.value) / 100.0)),
        };
        result = pick(result, proposed);
    }
    result
}

/// `calculateScaleDownLimitWithBehaviors`.
pub fn scale_down_limit_with_rules(
    current: i32,
    history: &History,
    rules: &ScalingRules,
    now: Time,
) -> i32 {
    let (mut result, pick): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i32::MIN, i32::max),
        SelectPolicy::Max => (i32::MAX, i32::min),
    };
    for p in &rules.policies {
        let start = period_start(current, history, p.period_seconds, now);
        let proposed = match p.kind {
            PolicyKind::Pods => start.saturating_sub(p.value),
            // Truncated toward zero, as Go's int32(float64) does.
            PolicyKind::Percent => (f64::from(start) * (1.0 - f64::from(p.value) / 100.0)) as i32,
        };
        result = pick(result, proposed);
    }
    result
}
