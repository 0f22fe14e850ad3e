//! Stressors: specs, the scripts in `stressors/`, and the runner (placeholder, being written).
