//! What to run inside each pod: a CPU or memory stressor and its parameters, validated, and
//! the run id every stressor of one ctl run carries (its marker for the kill sweep).

use serde::{Deserialize, Serialize};

use super::StressError;

/// How a memory stressor holds its MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MemoryMode {
    /// Anonymous memory (dd's block buffer): freed when the process ends.
    Anon,
    /// A file in /dev/shm (tmpfs): charged until the file is removed; needs free space.
    Shm,
}

impl MemoryMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MemoryMode::Anon => "anon",
            MemoryMode::Shm => "shm",
        }
    }
}

/// One stressor per pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum StressSpec {
    /// `workers` busy workers at `load` % of one CPU each.
    Cpu { workers: u32, load: u32 },
    /// `mb` MiB held in `mode`.
    Memory { mb: u32, mode: MemoryMode },
}

impl StressSpec {
    /// Checks the ranges of the contract: workers 1..=1024, load 1..=100, mb >= 1.
    pub fn validate(&self) -> Result<(), StressError> {
        match *self {
            StressSpec::Cpu { workers, load } => {
                if !(1..=1024).contains(&workers) {
                    return Err(StressError::Spec(format!(
                        "--workers: expected 1 to 1024, found {workers}"
                    )));
                }
                if !(1..=100).contains(&load) {
                    return Err(StressError::Spec(format!(
                        "--load: expected 1 to 100 (percent of one CPU per worker), found {load}"
                    )));
                }
            }
            StressSpec::Memory { mb, .. } => {
                if !(1..=1_048_576).contains(&mb) {
                    return Err(StressError::Spec(format!(
                        "--mb: expected 1 to 1048576, found {mb}"
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn kind(&self) -> &'static str {
        match self {
            StressSpec::Cpu { .. } => "cpu",
            StressSpec::Memory { .. } => "memory",
        }
    }

    /// The tools the stressor (and the sweep that may end it) needs in the container.
    pub fn needs(&self) -> &'static [&'static str] {
        match self {
            StressSpec::Cpu { .. } => &["sh", "dd", "sleep"],
            StressSpec::Memory { mode: MemoryMode::Anon, .. } => &["sh", "dd", "sleep"],
            StressSpec::Memory { mode: MemoryMode::Shm, .. } => &["sh", "dd", "sleep", "rm", "df"],
        }
    }

    /// A short description for status lines (`cpu 2x50%`, `memory 64MiB shm`).
    pub fn describe(&self) -> String {
        match self {
            StressSpec::Cpu { workers, load } => format!("cpu {workers}x{load}%"),
            StressSpec::Memory { mb, mode } => format!("memory {mb}MiB {}", mode.as_str()),
        }
    }
}

/// A run id: `[A-Za-z0-9_-]{1,64}`, the same for every stressor of one ctl run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RunId(String);

impl RunId {
    /// A fresh id from the clock and the process id (unique enough across runs and hosts'
    /// concurrent ctl processes; it only has to tell runs apart inside one pod).
    pub fn generate() -> RunId {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        RunId(format!("ctl{:x}{:x}", std::process::id(), nanos % (1u128 << 48)))
    }

    /// Checks the contract's alphabet and length.
    pub fn parse(text: &str) -> Result<RunId, StressError> {
        let ok = !text.is_empty()
            && text.len() <= 64
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(RunId(text.to_owned()))
        } else {
            Err(StressError::Spec(format!(
                "--run: expected 1 to 64 of A-Z a-z 0-9 _ -, found '{text}'"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked() {
        assert!(StressSpec::Cpu { workers: 2, load: 50 }.validate().is_ok());
        assert!(StressSpec::Cpu { workers: 0, load: 50 }.validate().is_err());
        assert!(StressSpec::Cpu { workers: 1, load: 101 }.validate().is_err());
        assert!(StressSpec::Cpu { workers: 1, load: 0 }.validate().is_err());
        assert!(StressSpec::Memory { mb: 0, mode: MemoryMode::Anon }.validate().is_err());
    }

    #[test]
    fn run_ids_follow_the_contract() {
        let id = RunId::generate();
        assert!(RunId::parse(id.as_str()).is_ok(), "{id}");
        assert_ne!(RunId::generate().as_str(), "");
        assert!(RunId::parse("a b").is_err());
        assert!(RunId::parse(&"x".repeat(65)).is_err());
        assert!(RunId::parse("ok_-1").is_ok());
    }
}
