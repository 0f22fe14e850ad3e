//! The controller's memory for one HPA: unstabilised recommendations and scale events with
//! their timestamps (`recommendations`, `scaleUpEvents`, `scaleDownEvents` in
//! `horizontal.go`). Serialised as JSON with RFC 3339 timestamps so `ctl hpa` calls chain.
//! Slot reuse (an outdated entry is overwritten instead of appended) follows upstream, so
//! the stored lists are the ones the real controller would hold.

use crate::policy::Time;
use serde::{Deserialize, Serialize};

/// One unstabilised recommendation (`timestampedRecommendation`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub replicas: i32,
    #[serde(with = "rfc3339")]
    pub timestamp: Time,
}

/// One applied scale change (`timestampedScaleEvent`); `change` is always positive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScaleEvent {
    pub change: i32,
    #[serde(with = "rfc3339")]
    pub timestamp: Time,
    /// Older than the longest policy period when last checked: its slot may be reused.
    #[serde(default)]
    pub outdated: bool,
}

/// Everything the controller remembers between syncs of one HPA.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct History {
    /// `None` = a controller that has never seen this HPA: its first sync records the
    /// current replica count as a recommendation (`recordInitialRecommendation`), which
    /// holds off a scale-down for one stabilisation window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendations: Option<Vec<Recommendation>>,
    #[serde(default)]
    pub scale_up_events: Vec<ScaleEvent>,
    #[serde(default)]
    pub scale_down_events: Vec<ScaleEvent>,
}

impl History {
    /// `recordInitialRecommendation`.
    pub fn record_initial(&mut self, current_replicas: i32, now: Time) {
        if self.recommendations.is_none() {
            self.recommendations =
                Some(vec![Recommendation { replicas: current_replicas, timestamp: now }]);
        }
    }

    pub fn recommendations(&self) -> &[Recommendation] {
        self.recommendations.as_deref().unwrap_or(&[])
    }

    /// Stores a recommendation in the slot at `reuse` (an obsolete one) or appends it.
    pub fn store_recommendation(&mut self, reuse: Option<usize>, rec: Recommendation) {
        let list = self.recommendations.get_or_insert_with(Vec::new);
        match reuse {
            Some(i) if i < list.len() => list[i] = rec,
            _ => list.push(rec),
        }
    }

    /// `storeScaleEvent` (only called when the HPA has a `behavior`): marks events older
    /// than the direction's longest policy period as outdated, then overwrites the last
    /// outdated one or appends.
    pub fn store_scale_event(
        &mut self,
        longest_period_up: i32,
        longest_period_down: i32,
        prev_replicas: i32,
        new_replicas: i32,
        now: Time,
    ) {
        let (events, period, change) = if new_replicas > prev_replicas {
            (&mut self.scale_up_events, longest_period_up, new_replicas - prev_replicas)
        } else {
            (&mut self.scale_down_events, longest_period_down, prev_replicas - new_replicas)
        };
        let cutoff = now - f64::from(period);
        for e in events.iter_mut() {
            if e.timestamp < cutoff {
                e.outdated = true;
            }
        }
        let event = ScaleEvent { change, timestamp: now, outdated: false };
        match events.iter().rposition(|e| e.outdated) {
            Some(i) => events[i] = event,
            None => events.push(event),
        }
    }
}

/// `getReplicasChangePerPeriod`: the sum of changes strictly younger than the period.
pub fn change_in_period(events: &[ScaleEvent], period_seconds: i32, now: Time) -> i32 {
    let cutoff = now - f64::from(period_seconds);
    events.iter().filter(|e| e.timestamp > cutoff).fold(0i32, |a, e| a.saturating_add(e.change))
}

/// 9999-12-31T23:59:59Z in Unix seconds.
const LAST_RFC3339_SECOND: f64 = 253_402_300_799.0;

/// Unix seconds as RFC 3339 text (UTC, millisecond precision when fractional).
pub fn format_time(t: Time) -> String {
    let secs = t.floor();
    let millis = ((t - secs) * 1000.0).round() as u32;
    let (secs, millis) = if millis >= 1000 { (secs + 1.0, 0) } else { (secs, millis) };
    // humantime's RFC 3339 formatter fails (and `to_string` panics) outside years 1970..=9999.
    if !(0.0..=LAST_RFC3339_SECOND).contains(&secs) {
        return format!("{t}");
    }
    let Some(st) = system_time(secs, millis) else { return format!("{t}") };
    if millis == 0 {
        humantime::format_rfc3339_seconds(st).to_string()
    } else {
        humantime::format_rfc3339_millis(st).to_string()
    }
}

/// Parses RFC 3339 text (`2024-05-01T12:00:00Z`, fractional seconds allowed) to Unix seconds.
pub fn parse_time(text: &str) -> Option<Time> {
    let st = humantime::parse_rfc3339_weak(text.trim()).ok()?;
    Some(match st.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    })
}

fn system_time(secs: f64, millis: u32) -> Option<std::time::SystemTime> {
    let base = std::time::UNIX_EPOCH;
    if secs >= 0.0 {
        base.checked_add(std::time::Duration::new(secs as u64, millis * 1_000_000))
    } else {
        base.checked_sub(std::time::Duration::from_secs((-secs) as u64))?
            .checked_add(std::time::Duration::from_millis(u64::from(millis)))
    }
}

/// Serde adapter: timestamps as RFC 3339 strings; Unix seconds are accepted on input.
mod rfc3339 {
    use super::{format_time, parse_time};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(t: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_time(*t))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Seconds(f64),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Seconds(s) if s.is_finite() => Ok(s),
            Raw::Seconds(_) => Err(D::Error::custom("expected a finite number of seconds")),
            Raw::Text(t) => parse_time(&t).ok_or_else(|| {
                D::Error::custom(format!(
                    "expected an RFC 3339 time like 2024-05-01T12:00:00Z, found '{t}'"
                ))
            }),
        }
    }
}
