//! Where a key of a block-style YAML document is, for errors found after deserialization
//! (cross-field checks, shapes that need a sibling's options): serde_yaml reports locations
//! for its own errors only, and `serde_yaml::Value` keeps none. This is a small scanner over
//! indentation, not a YAML parser: it understands block mappings and `- ` sequences, which
//! is what scenario files use; anything it cannot follow falls back to the deepest enclosing
//! key it did find (or line 1), so an error always has a location.

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// `"stress[1].start"` as segments; used by callers to name a field the way serde_yaml does.
pub fn path(text: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in text.split('.') {
        let (key, rest) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            out.push(Seg::Key(key.to_string()));
        }
        for index in rest.split('[') {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                out.push(Seg::Index(i));
            }
        }
    }
    out
}

/// A significant line: 1-based number, the column where its content starts (0-based), the
/// content without a trailing comment.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    text.lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
                return None;
            }
            Some(Line { number: i + 1, indent: raw.len() - trimmed.len(), text: trimmed })
        })
        .collect()
}

/// Line and column (both 1-based) of the value at `path` (of its key, for mappings).
pub fn locate(text: &str, path: &[Seg]) -> (usize, usize) {
    let all = lines(text);
    let mut best = (1, 1);
    // The current block: lines [start, end) whose content is at column >= `indent`.
    let (mut start, mut end) = (0, all.len());
    // A `- key: v` item continues its first line's mapping at the column after "- ".
    let mut first_override: Option<(usize, usize)> = None;
    for seg in path {
        let Some(first) = all.get(start) else { break };
        let (first_indent, first_text) = match first_override.take() {
            Some((indent, skip)) => (indent, &first.text[skip..]),
            None => (first.indent, first.text),
        };
        let block_indent = first_indent;
        match seg {
            Seg::Key(key) => {
                let mut found = None;
                for (i, line) in all.iter().enumerate().take(end).skip(start) {
                    let (indent, text) = if i == start {
                        (first_indent, first_text)
                    } else {
                        (line.indent, line.text)
                    };
                    if indent != block_indent {
                        continue;
                    }
                    if let Some(rest) = text.strip_prefix(key.as_str())
                        && rest.trim_start().starts_with(':')
                    {
                        found = Some((i, indent));
                        break;
                    }
                }
                let Some((i, indent)) = found else { break };
                best = (all[i].number, indent + 1);
                // The value is either inline (then deeper segments stay on this line) or the
                // following lines indented further.
                // (A sequence may sit at the same indentation as its key.)
                let mut j = i + 1;
                while j < end
                    && (all[j].indent > indent
                        || (all[j].indent == indent && all[j].text.starts_with('-')))
                {
                    j += 1;
                }
                if j == i + 1 {
                    break;
                }
                (start, end) = (i + 1, j);
            }
            Seg::Index(n) => {
                let items: Vec<usize> = (start..end)
                    .filter(|&i| all[i].indent == block_indent && all[i].text.starts_with('-'))
                    .collect();
                let Some(&i) = items.get(*n) else { break };
                let item_end = items.get(n + 1).copied().unwrap_or(end);
                let dash = all[i].text;
                let skip = dash.len() - dash[1..].trim_start().len();
                best = (all[i].number, all[i].indent + skip + 1);
                first_override = Some((all[i].indent + skip, skip));
                (start, end) = (i, item_end);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
label: x   # comment
load:
  shape: const:5
  trace:
    amplitude: 3
stress:
  - kind: cpu
    start: 10s
  - kind: memory
    # a comment line
    start: 20s
    stop: 30s
phases:
- name: a
  measurement: 5s
";

    #[test]
    fn finds_nested_keys_and_sequence_items() {
        assert_eq!(locate(DOC, &path("label")), (1, 1));
        assert_eq!(locate(DOC, &path("load.shape")), (3, 3));
        assert_eq!(locate(DOC, &path("load.trace.amplitude")), (5, 5));
        assert_eq!(locate(DOC, &path("stress[0].kind")), (7, 5));
        assert_eq!(locate(DOC, &path("stress[1].start")), (11, 5));
        assert_eq!(locate(DOC, &path("stress[1].stop")), (12, 5));
        assert_eq!(locate(DOC, &path("phases[0].measurement")), (15, 3));
        assert_eq!(locate(DOC, &path("phases[0].name")), (14, 3));
    }

    #[test]
    fn falls_back_to_the_deepest_key_found() {
        assert_eq!(locate(DOC, &path("load.missing")), (2, 1));
        assert_eq!(locate(DOC, &path("stress[5].start")), (6, 1));
        assert_eq!(locate(DOC, &path("nothing")), (1, 1));
        assert_eq!(locate("", &path("a.b")), (1, 1));
    }
}
