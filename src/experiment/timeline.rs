//! The campaign timeline: phases with their windows and the stress windows on the one
//! campaign clock (seconds since the load started), and its text rendering for `--dry-run`.
//! Pure data: the runner reads it, nothing here reads a clock.

use std::fmt::Write as _;

use super::scenario::{PolicyName, StressAction};

/// One phase on the campaign clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub name: String,
    /// Campaign seconds: start, end of stabilisation (= start of measurement), end.
    pub start: f64,
    pub measure_start: f64,
    pub end: f64,
    /// The controller acts (true) or only observes (false).
    pub control: bool,
    /// The policy that acts (or observes) in this phase.
    pub policy: Option<PolicyName>,
}

impl Phase {
    pub fn stabilisation(&self) -> f64 {
        self.measure_start - self.start
    }

    pub fn measurement(&self) -> f64 {
        self.end - self.measure_start
    }
}

/// One stress action in one phase, on the campaign clock.
#[derive(Debug, Clone)]
pub struct StressWindow {
    /// Index into the scenario's `stress` list.
    pub action: usize,
    pub name: String,
    pub phase: usize,
    pub start: f64,
    pub stop: f64,
    pub spec: StressAction,
}

/// Everything that happens when, in campaign seconds.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub phases: Vec<Phase>,
    pub stress: Vec<StressWindow>,
    /// Controller interval in seconds (None: no controller).
    pub interval: Option<f64>,
}

impl Timeline {
    /// The campaign's length in seconds.
    pub fn duration(&self) -> f64 {
        self.phases.last().map_or(0.0, |p| p.end)
    }

    /// The phase at campaign time `t` (the last one at and after the end).
    pub fn phase_at(&self, t: f64) -> Option<usize> {
        if self.phases.is_empty() {
            return None;
        }
        Some(self.phases.iter().position(|p| t < p.end).unwrap_or(self.phases.len() - 1))
    }

    /// Whether `t` falls in a measurement window.
    pub fn measured(&self, t: f64) -> bool {
        self.phase_at(t).is_some_and(|i| {
            let p = &self.phases[i];
            t >= p.measure_start && t < p.end
        })
    }

    /// The timeline as text, one event per line in time order.
    pub fn render(&self) -> String {
        let mut events: Vec<(f64, u8, String)> = Vec::new();
        for p in &self.phases {
            let acting = match (p.control, p.policy) {
                (true, Some(policy)) => format!("controller acts ({})", policy.as_str()),
                (false, Some(policy)) => format!("controller observes ({})", policy.as_str()),
                (_, None) => "no controller".to_string(),
            };
            events.push((
                p.start,
                0,
                format!(
                    "phase {} starts: stabilisation {}, {acting}",
                    p.name,
                    secs(p.stabilisation())
                ),
            ));
            events.push((
                p.measure_start,
                1,
                format!("phase {}: measurement {}", p.name, secs(p.measurement())),
            ));
        }
        for s in &self.stress {
            let what = describe_stress(&s.spec);
            events.push((s.start, 2, format!("stress {} starts: {what}", s.name)));
            events.push((s.stop, 3, format!("stress {} stops", s.name)));
        }
        events.push((self.duration(), 4, "end of campaign".to_string()));
        events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut out = String::new();
        for (t, _, text) in events {
            let _ = writeln!(out, "{:>9}  {text}", clock(t));
        }
        out
    }
}

/// `cpu 4 workers at 100% on app=webapp`.
pub fn describe_stress(s: &StressAction) -> String {
    format!("{} on {}", super::checks::stress_spec(s).describe(), s.selector)
}

/// `T+1:05` style campaign time.
pub fn clock(t: f64) -> String {
    // Like a clock: 6.5 s is still T+0:06 (the epsilon absorbs float error in sums of windows).
    let t = (t.max(0.0) + 1e-6).floor() as u64;
    format!("T+{}:{:02}", t / 60, t % 60)
}

fn secs(t: f64) -> String {
    super::scenario::Dur(std::time::Duration::from_secs_f64(t.max(0.0))).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(name: &str, start: f64, stab: f64, end: f64) -> Phase {
        Phase {
            name: name.into(),
            start,
            measure_start: start + stab,
            end,
            control: name != "baseline",
            policy: Some(PolicyName::Hpa),
        }
    }

    #[test]
    fn phases_and_measurement_windows() {
        let t = Timeline {
            phases: vec![
                phase("baseline", 0.0, 10.0, 60.0),
                phase("adaptation", 60.0, 10.0, 120.0),
            ],
            stress: vec![],
            interval: Some(5.0),
        };
        assert_eq!(t.duration(), 120.0);
        assert_eq!(t.phase_at(0.0), Some(0));
        assert_eq!(t.phase_at(59.9), Some(0));
        assert_eq!(t.phase_at(60.0), Some(1));
        assert_eq!(t.phase_at(500.0), Some(1));
        assert!(!t.measured(5.0));
        assert!(t.measured(10.0));
        assert!(!t.measured(65.0));
        assert!(t.measured(119.0));
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[0].contains("T+0:00") && lines[0].contains("phase baseline starts"));
        assert!(lines[0].contains("controller observes (hpa)"), "{text}");
        assert!(lines[2].contains("T+1:00") && lines[2].contains("controller acts (hpa)"));
        assert!(lines[4].contains("T+2:00") && lines[4].contains("end of campaign"));
    }
}
