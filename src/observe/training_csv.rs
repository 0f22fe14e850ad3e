//! Seed 000's `anomaly_detection/training-set.csv`: a header `id, <operation columns>,
//! startTime, total, pattern` (in any order) and one row per trace with inclusive span
//! durations in µs (the last span of a name won), `total` and the 0/1 `pattern` over the
//! Python-sorted operation names.
//!
//! The original file is a concatenation of exports whose headers were stripped: after the
//! first 100 rows the fields no longer line up with the header, and pandas silently padded
//! and shifted them. Here a row must match the header exactly: as many fields, numbers where
//! durations belong, and a pattern consistent with the values (bit set exactly where the
//! duration is > 0), or the error names file:line and what was expected.

use super::ObserveError;
use crate::anomaly::{Schema, TraceFeatures};

const META: [&str; 4] = ["id", "startTime", "total", "pattern"];

/// The rows of a training-set CSV, over the sorted operation columns.
#[derive(Debug)]
pub struct CsvTable {
    pub schema: Schema,
    pub rows: Vec<TraceFeatures>,
    /// With `skip_bad_rows`: the message of every row left out.
    pub skipped: Vec<String>,
}

/// Splits one CSV line (RFC 4180 quotes; no embedded newlines in this format).
fn split(line: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => cur.push(c),
            (false, '"') if cur.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut cur)),
            (false, c) => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated quote");
    }
    fields.push(cur);
    Ok(fields)
}

struct Layout {
    header: Vec<String>,
    id: usize,
    total: usize,
    pattern: usize,
    /// Field index of each sorted schema column.
    ops: Vec<usize>,
    schema: Schema,
}

fn layout(line: &str, origin: &str) -> Result<Layout, ObserveError> {
    let header = split(line)
        .map_err(|e| ObserveError::input(&format!("{origin}:1"), format!("header: {e}")))?;
    let find = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            ObserveError::input(&format!("{origin}:1"), format!("expected a column '{name}' in the header (id, <operations>, startTime, total, pattern)"))
        })
    };
    let (id, total, pattern) = (find("id")?, find("total")?, find("pattern")?);
    find("startTime")?;
    let names: Vec<String> =
        header.iter().filter(|h| !META.contains(&h.as_str())).cloned().collect();
    let schema = Schema::new(names.iter().cloned());
    if schema.len() != names.len() {
        return Err(ObserveError::input(
            &format!("{origin}:1"),
            "the header repeats an operation column",
        ));
    }
    if schema.is_empty() {
        return Err(ObserveError::input(
            &format!("{origin}:1"),
            "the header has no operation columns",
        ));
    }
    let ops = schema
        .operations
        .iter()
        .map(|op| header.iter().position(|h| h == op).unwrap_or(0))
        .collect();
    Ok(Layout { header, id, total, pattern, ops, schema })
}

fn duration(field: &str, name: &str, at: usize) -> Result<f64, String> {
    match field.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "column '{name}' (field {}): expected a duration in µs, found '{field}'",
            at + 1
        )),
    }
}

fn row(l: &Layout, line: &str) -> Result<TraceFeatures, String> {
    let f = split(line)?;
    if f.len() != l.header.len() {
        return Err(format!(
            "expected {} fields as in the header ({} ... {}), found {}: the row does not match the header",
            l.header.len(),
            l.header[0],
            l.header[l.header.len() - 1],
            f.len()
        ));
    }
    let mut values = Vec::with_capacity(l.ops.len());
    for (op, &at) in l.schema.operations.iter().zip(&l.ops) {
        values.push(duration(&f[at], op, at)?);
    }
    let total_us = duration(&f[l.total], "total", l.total)?;
    let pattern = f[l.pattern].trim();
    if pattern.len() != values.len() || !pattern.bytes().all(|b| b == b'0' || b == b'1') {
        return Err(format!(
            "column 'pattern' (field {}): expected {} characters of 0/1, found '{pattern}'",
            l.pattern + 1,
            values.len()
        ));
    }
    let present: Vec<bool> = pattern.bytes().map(|b| b == b'1').collect();
    if let Some(c) = (0..values.len()).find(|&c| present[c] != (values[c] > 0.0)) {
        return Err(format!(
            "column 'pattern': the bit for '{}' is {} but its duration is {}: the row does not match the header",
            l.schema.operations[c], present[c] as u8, values[c]
        ));
    }
    let n = values.len();
    Ok(TraceFeatures {
        trace_id: f[l.id].clone(),
        values,
        present,
        total_us,
        services: vec![None; n],
        unknown: vec![],
    })
}

/// Parses the CSV; `origin` prefixes errors as `origin:line: ...`.
pub fn parse(text: &str, origin: &str, skip_bad_rows: bool) -> Result<CsvTable, ObserveError> {
    let mut lines = text.lines().enumerate();
    let Some((_, first)) = lines.next() else {
        return Err(ObserveError::input(origin, "empty"));
    };
    let l = layout(first.trim_start_matches('\u{feff}').trim_end_matches('\r'), origin)?;
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for (i, line) in lines {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        match row(&l, line) {
            Ok(r) => rows.push(r),
            Err(e) if skip_bad_rows => skipped.push(format!("{origin}:{}: {e}", i + 1)),
            Err(e) => return Err(ObserveError::input(&format!("{origin}:{}", i + 1), e)),
        }
    }
    if rows.is_empty() {
        return Err(ObserveError::input(origin, "no data rows"));
    }
    Ok(CsvTable { schema: l.schema, rows, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "id,b op,a op,startTime,total,pattern\n";

    #[test]
    fn reads_rows_in_sorted_column_order() {
        let text = format!("{HEAD}t1,5.0,0.0,2026-02-24 09:28:49.1,9,01\r\nt2,\"1\",2,x,3,11\n\n");
        let t = parse(&text, "f.csv", false).unwrap();
        assert_eq!(t.schema.operations, ["a op", "b op"]);
        assert_eq!(t.rows[0].values, [0.0, 5.0]);
        assert_eq!(t.rows[0].pattern(), "01");
        assert_eq!((t.rows[1].trace_id.as_str(), t.rows[1].total_us), ("t2", 3.0));
    }

    #[test]
    fn misaligned_rows_are_rejected_with_file_line_and_what_was_expected() {
        let short = format!("{HEAD}t1,5.0,0.0,x,9,01\nt2,5.0,2026-02-24,9,01\n");
        let e = parse(&short, "f.csv", false).unwrap_err().to_string();
        assert!(
            e.starts_with("f.csv:3: expected 6 fields as in the header (id ... pattern), found 5"),
            "{e}"
        );
        let shifted = format!("{HEAD}t1,2026-02-24 09:28:49,0.0,1,9,01\n");
        let e = parse(&shifted, "f.csv", false).unwrap_err().to_string();
        assert!(e.contains("f.csv:2: column 'b op' (field 2): expected a duration in µs, found '2026-02-24 09:28:49'"), "{e}");
        let wrong_bits = format!("{HEAD}t1,5.0,0.0,x,9,10\n");
        let e = parse(&wrong_bits, "f.csv", false).unwrap_err().to_string();
        assert!(e.contains("the bit for 'a op' is 1 but its duration is 0"), "{e}");
        let skipped = parse(&format!("{short}t3,1,1,x,2,11\n"), "f.csv", true).unwrap();
        assert_eq!((skipped.rows.len(), skipped.skipped.len()), (2, 1));
    }

    #[test]
    fn header_problems_are_named() {
        let e = parse("id,a,total,pattern\n", "f.csv", false).unwrap_err().to_string();
        assert!(e.contains("expected a column 'startTime'"), "{e}");
        let e = parse("id,a,a,startTime,total,pattern\n", "f.csv", false).unwrap_err().to_string();
        assert!(e.contains("repeats"), "{e}");
    }

    #[test]
    fn reads_the_seed_head100_extract() {
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/anomaly/training-set.head100.csv");
        let text = std::fs::read_to_string(path).unwrap();
        let t = parse(&text, path, false).unwrap();
        assert_eq!((t.rows.len(), t.schema.len()), (100, 22));
        assert_eq!(t.rows[0].trace_id, "0139a064f16c11df");
        assert_eq!(t.rows[0].total_us, 393130.0);
    }
}
