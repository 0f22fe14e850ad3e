//! Path and body templates: literal text with `{param}` holes filled from drawn parameters.
//! `{{` and `}}` are literal braces, so JSON bodies stay writable.

use super::Params;

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Param(usize),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses `text`; every `{name}` must be one of `params`.
    pub fn parse(text: &str, params: &Params) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let column = text[..i].chars().count() + 1;
                    let rest = &text[i + 1..];
                    let end = rest
                        .find('}')
                        .ok_or_else(|| format!("column {column}: expected '}}' to close '{{'"))?;
                    let name = &rest[..end];
                    let index = params
                        .index_of(name)
                        .ok_or_else(|| format!("column {column}: expected a parameter defined in `params`, found '{{{name}}}'"))?;
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Param(index));
                    for _ in 0..=end {
                        chars.next();
                    }
                }
                '}' => {
                    return Err(format!(
                        "column {}: unmatched '}}' (write '}}}}' for a literal brace)",
                        text[..i].chars().count() + 1
                    ));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Self { pieces })
    }

    /// Fills the holes with `values` (indexed like the params).
    pub fn render(&self, values: &[String]) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Param(i) => out.push_str(&values[*i]),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::ParamSpec;

    fn params() -> Params {
        let specs: Vec<ParamSpec> =
            serde_yaml::from_str("- {name: a, choice: [x]}\n- {name: b, int: [5, 5]}").unwrap();
        Params::new(specs).unwrap()
    }

    #[test]
    fn renders_holes_and_escaped_braces() {
        let t = Template::parse("/p?a={a}&b={b}&j={{\"k\":1}}", &params()).unwrap();
        assert_eq!(t.render(&["x".into(), "5".into()]), "/p?a=x&b=5&j={\"k\":1}");
    }

    #[test]
    fn unknown_parameter_names_the_column() {
        let e = Template::parse("/p?c={c}", &params()).unwrap_err();
        assert!(e.starts_with("column 6:") && e.contains("{c}"), "{e}");
        assert!(Template::parse("/p{a", &params()).unwrap_err().contains("expected '}'"));
    }
}
