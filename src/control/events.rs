//! `anomalies.jsonl` and `events.jsonl`: one JSON object per line, flushed every interval.
//! Times are Unix seconds (`time`) plus RFC 3339 (`at`) for people.

use std::io::Write;

use serde::Serialize;

use super::record::{AnomalyRecord, EventRecord};
use crate::policy::hpa::history::format_time;

/// A JSON-lines writer.
pub struct JsonLines<W: Write> {
    out: W,
}

#[derive(Serialize)]
struct Stamped<'a, T: Serialize> {
    at: String,
    #[serde(flatten)]
    record: &'a T,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W) -> Self {
        JsonLines { out }
    }

    fn write<T: Serialize>(&mut self, time: f64, records: &[T]) -> std::io::Result<()> {
        for record in records {
            let line = serde_json::to_string(&Stamped { at: format_time(time), record })
                .map_err(std::io::Error::other)?;
            writeln!(self.out, "{line}")?;
        }
        self.out.flush()
    }

    pub fn anomalies(&mut self, records: &[AnomalyRecord]) -> std::io::Result<()> {
        for r in records {
            self.write(r.time, std::slice::from_ref(r))?;
        }
        Ok(())
    }

    pub fn events(&mut self, records: &[EventRecord]) -> std::io::Result<()> {
        for r in records {
            self.write(r.time, std::slice::from_ref(r))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_object_per_line_with_both_times() {
        let mut buf = Vec::new();
        let mut w = JsonLines::new(&mut buf);
        w.events(&[EventRecord::new(1_714_564_800.5, "hold", "metrics: down")]).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["at"], "2024-05-01T12:00:00.500Z");
        assert_eq!(v["kind"], "hold");
        assert_eq!(v["time"], 1_714_564_800.5);
        assert_eq!(text.lines().count(), 1);
    }
}
