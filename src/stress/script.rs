//! The stressor scripts, embedded from `stressors/` and rendered per run. Each template starts
//! with two parameter lines (the marker and the shell assignments, with defaults so the file
//! runs by hand); rendering replaces them with the run's values. The first line of every
//! rendered script is the marker the kill sweep and the embedded cluster recognise:
//! `# ctl-stressor kind=... key=value ... run=ID`.

use std::time::Duration;

use super::spec::{RunId, StressSpec};

const CPU: &str = include_str!("../../stressors/cpu.sh");
const MEMORY: &str = include_str!("../../stressors/memory.sh");
const SWEEP: &str = include_str!("../../stressors/sweep.sh");
const CLEANUP: &str = include_str!("../../stressors/cleanup.sh");
const PREFLIGHT: &str = include_str!("../../stressors/preflight.sh");

/// The template's body: everything after its two parameter lines.
fn body(template: &'static str) -> &'static str {
    let mut rest = template;
    for _ in 0..2 {
        rest = rest.split_once('\n').map_or("", |(_, r)| r);
    }
    rest
}

/// The TTL as the scripts take it: whole seconds, at least 1.
pub fn ttl_secs(ttl: Duration) -> u64 {
    ttl.as_secs_f64().ceil().max(1.0) as u64
}

/// The stressor script for `spec`, ending on its own after `ttl`.
pub fn stressor(spec: &StressSpec, ttl: Duration, run: &RunId) -> String {
    let ttl = ttl_secs(ttl);
    let (params, template) = match spec {
        StressSpec::Cpu { workers, load } => {
            (format!("workers={workers} load={load} ttl={ttl} run={run}"), CPU)
        }
        StressSpec::Memory { mb, mode } => {
            (format!("mb={mb} mode={} ttl={ttl} run={run}", mode.as_str()), MEMORY)
        }
    };
    format!("# ctl-stressor kind={} {params}\n{params}\n{}", spec.kind(), body(template))
}

/// The kill sweep for `run` (every ctl stressor in the container when `None`).
pub fn sweep(run: Option<&RunId>) -> String {
    match run {
        Some(run) => format!("# ctl-stressor kind=sweep run={run}\nrun={run}\n{}", body(SWEEP)),
        None => format!("# ctl-stressor kind=sweep\nrun=\n{}", body(SWEEP)),
    }
}

/// Removes the /dev/shm files of `run`'s memory stressors.
pub fn cleanup(run: &RunId) -> String {
    format!("# ctl-stressor kind=cleanup run={run}\nrun={run}\n{}", body(CLEANUP))
}

/// Checks that the container has `needs` (tool names), printing `ok` or `missing: ...`.
pub fn preflight(needs: &[&str]) -> String {
    let needs = needs.join(",");
    format!("# ctl-stressor kind=preflight needs={needs}\nneeds={needs}\n{}", body(PREFLIGHT))
}

/// The argv ctl execs for a script.
pub fn command(script: String) -> Vec<String> {
    vec!["sh".to_owned(), "-c".to_owned(), script]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stress::spec::MemoryMode;

    fn first_line(s: &str) -> &str {
        s.lines().next().unwrap()
    }

    #[test]
    fn templates_start_with_their_parameter_lines() {
        for (t, kind) in [
            (CPU, "cpu"),
            (MEMORY, "memory"),
            (SWEEP, "sweep"),
            (CLEANUP, "cleanup"),
            (PREFLIGHT, "preflight"),
        ] {
            assert!(first_line(t).starts_with(&format!("# ctl-stressor kind={kind}")), "{kind}");
            assert!(
                !t.lines().nth(1).unwrap().starts_with('#'),
                "{kind}: line 2 must hold the assignments"
            );
        }
    }

    #[test]
    fn rendered_scripts_carry_the_marker_and_the_values() {
        let run = RunId::parse("r1").unwrap();
        let cpu = stressor(
            &StressSpec::Cpu { workers: 2, load: 50 },
            Duration::from_millis(29_500),
            &run,
        );
        assert_eq!(first_line(&cpu), "# ctl-stressor kind=cpu workers=2 load=50 ttl=30 run=r1");
        assert_eq!(cpu.lines().nth(1).unwrap(), "workers=2 load=50 ttl=30 run=r1");
        assert!(cpu.ends_with(body(CPU)));
        let mem = stressor(
            &StressSpec::Memory { mb: 64, mode: MemoryMode::Shm },
            Duration::from_secs(5),
            &run,
        );
        assert_eq!(first_line(&mem), "# ctl-stressor kind=memory mb=64 mode=shm ttl=5 run=r1");
        assert_eq!(first_line(&sweep(Some(&run))), "# ctl-stressor kind=sweep run=r1");
        assert_eq!(first_line(&sweep(None)), "# ctl-stressor kind=sweep");
        assert_eq!(first_line(&cleanup(&run)), "# ctl-stressor kind=cleanup run=r1");
        assert_eq!(
            first_line(&preflight(&["sh", "dd"])),
            "# ctl-stressor kind=preflight needs=sh,dd"
        );
    }
}
