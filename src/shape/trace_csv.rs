//! Trace CSV files: finding and reading them (`load_trace_file`, the only IO in `shape/`), the
//! three traces shipped inside the binary, and turning the text into rows (pure).
//!
//! Format: one value per line, or `t,value` (t in seconds). CRLF is accepted, blank lines at the
//! end are ignored, a first line that is not a number is a header. With `--locust-compat` the
//! file is read the way `pandas.read_csv` read it for `locustfile_trace.py`: blank lines skipped,
//! the first line always dropped as a header, the first column used.

use std::borrow::Cow;

use super::parse::{ShapeError, quoted};

/// The traces of AIPerfBootCampImpl, embedded so `--shape sin400.csv` works from any directory.
const BUILTIN: &[(&str, &str)] = &[
    ("sin400.csv", include_str!("../../workloads/sin400.csv")),
    ("sin800.csv", include_str!("../../workloads/sin800.csv")),
    ("twitter.csv", include_str!("../../workloads/twitter.csv")),
];

pub const BUILTIN_NAMES: &[&str] = &["sin400.csv", "sin800.csv", "twitter.csv"];

/// The text of a trace and the name to use for it in messages.
#[derive(Debug, Clone)]
pub struct TraceFile {
    pub name: String,
    pub text: Cow<'static, str>,
}

/// The text of a built-in trace (`sin400.csv`, `sin800.csv`, `twitter.csv`).
pub fn builtin_trace(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Reads a trace: `path` relative to the current directory first; if there is no such file and
/// `path` is a bare name or starts with `workloads/`, the built-in copy of that name.
pub fn load_trace_file(path: &str) -> Result<TraceFile, ShapeError> {
    let read_error = |reason: String| ShapeError::Read { path: path.to_string(), reason };
    match read_bounded(path, MAX_TRACE_BYTES) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(TraceFile { name: path.to_string(), text: Cow::Owned(text) }),
            Err(e) => {
                let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let valid = std::str::from_utf8(valid).unwrap_or_default();
                let line = valid.matches('\n').count() + 1;
                let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                Err(ShapeError::File {
                    path: path.to_string(),
                    line,
                    column,
                    expected: "UTF-8 text".into(),
                    found: "invalid bytes".into(),
                })
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bare = !path.contains(['/', '\\']);
            let name = path.strip_prefix("workloads/").unwrap_or(path);
            match builtin_trace(name) {
                Some(text) if bare || path.starts_with("workloads/") => {
                    Ok(TraceFile { name: name.to_string(), text: Cow::Borrowed(text) })
                }
                _ => Err(read_error("no such file".into())),
            }
        }
        Err(e) => Err(read_error(e.to_string())),
    }
}

/// The largest trace file read (the shipped twitter.csv is 64 KiB): a bound so that a path
/// like `/dev/zero` is an error instead of a read that never ends.
pub const MAX_TRACE_BYTES: u64 = 64 << 20;

/// Reads at most `max` bytes of `path`; more is an `InvalidData` error.
pub fn read_bounded(path: &str, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} MiB", max >> 20),
        ));
    }
    Ok(bytes)
}

/// Parsed rows: either one value per row (`times` is None) or `t,value` knots.
#[derive(Debug, Clone)]
pub(super) struct Rows {
    pub times: Option<Vec<f64>>,
    pub values: Vec<f64>,
}

/// One line of the file, numbered from 1, without its line ending.
struct Line<'a> {
    number: usize,
    text: &'a str,
}

/// Parses trace text into rows; `name` is the path used in error messages.
pub(super) fn parse_rows(name: &str, text: &str, locust_compat: bool) -> Result<Rows, ShapeError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<Line> = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| Line { number: i + 1, text: l.strip_suffix('\r').unwrap_or(l) })
        .collect();
    while lines.last().is_some_and(|l| l.text.trim().is_empty()) {
        lines.pop();
    }
    let err = |line: usize, column: usize, expected: &str, found: String| ShapeError::File {
        path: name.to_string(),
        line,
        column,
        expected: expected.to_string(),
        found,
    };
    if locust_compat {
        // pandas skips blank lines anywhere and always takes the first line as the header.
        lines.retain(|l| !l.text.trim().is_empty());
        let header = if lines.is_empty() { 0 } else { lines.remove(0).number };
        if lines.is_empty() {
            return Err(err(
                header + 1,
                1,
                "a value after the header line (--locust-compat drops the first line)",
                "end of file".into(),
            ));
        }
        let mut values = Vec::with_capacity(lines.len());
        for line in &lines {
            let first = fields(line.text).next().unwrap_or((1, ""));
            values.push(value(name, line.number, first)?);
        }
        return Ok(Rows { times: None, values });
    }
    // A header is a first line that is not made of numbers.
    if lines.first().is_some_and(|l| fields(l.text).any(|(_, f)| f.parse::<f64>().is_err())) {
        lines.remove(0);
    }
    let Some(first) = lines.first() else {
        return Err(err(1, 1, "at least one value", "end of file".into()));
    };
    let width = fields(first.text).count();
    if width > 2 {
        let (column, _) = fields(first.text).nth(2).unwrap_or((1, ""));
        return Err(err(first.number, column, "one value per line or t,value", quoted(first.text)));
    }
    let mut times = Vec::new();
    let mut values = Vec::with_capacity(lines.len());
    for line in &lines {
        let mut it = fields(line.text);
        if width == 2 {
            let t = it.next().unwrap_or((1, ""));
            let Some(v) = it.next() else {
                let end = line.text.chars().count() + 1;
                return Err(err(line.number, end, "t,value", quoted(line.text)));
            };
            let time = value(name, line.number, t)?;
            if let Some(&previous) = times.last()
                && time <= previous
            {
                let expected = format!("a time greater than the previous row's ({previous})");
                return Err(err(line.number, t.0, &expected, quoted(t.1)));
            }
            times.push(time);
            values.push(value(name, line.number, v)?);
        } else {
            values.push(value(name, line.number, it.next().unwrap_or((1, "")))?);
        }
        if let Some((column, extra)) = it.next() {
            let expected = if width == 2 {
                "end of line after t,value"
            } else {
                "end of line after the value (the first row has one column)"
            };
            return Err(err(line.number, column, expected, quoted(extra)));
        }
    }
    Ok(Rows { times: (width == 2).then_some(times), values })
}

/// Comma-separated fields of a line with their 1-based start columns, whitespace trimmed.
fn fields(line: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut column = 1;
    line.split(',').map(move |field| {
        let lead = field.chars().take_while(|c| c.is_whitespace()).count();
        let start = column + lead;
        column += field.chars().count() + 1;
        (start, field.trim())
    })
}

/// A load value or a time: a finite number >= 0.
fn value(name: &str, line: usize, (column, text): (usize, &str)) -> Result<f64, ShapeError> {
    let expected = match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => return Ok(v),
        Ok(v) if v.is_nan() => "a number (NaN is not a load)",
        Ok(v) if v.is_infinite() => "a finite number",
        Ok(_) => "a non-negative number",
        Err(_) => "a number",
    };
    Err(ShapeError::File {
        path: name.to_string(),
        line,
        column,
        expected: expected.to_string(),
        found: quoted(text),
    })
}

#[cfg(test)]
mod bounded_tests {
    use super::*;

    #[test]
    fn reads_are_bounded_so_an_endless_file_is_an_error() {
        let path = std::env::temp_dir().join(format!("ctl-bounded-{}.csv", std::process::id()));
        std::fs::write(&path, "1\n2\n").unwrap();
        let p = path.to_str().unwrap();
        assert_eq!(read_bounded(p, 4).unwrap(), b"1\n2\n");
        let err = read_bounded(p, 3).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        std::fs::remove_file(&path).unwrap();
        // An endless device ends at the bound instead of growing memory forever.
        if std::path::Path::new("/dev/zero").exists() {
            let err = load_trace_file("/dev/zero").map(|_| ()).unwrap_err();
            assert!(err.to_string().contains("larger than 64 MiB"), "{err}");
        }
    }
}
