//! `const:50` / `const:value=50`: the same load for the whole run.

use super::Profile;
use super::parse::{Field, Inline, ShapeError};

#[derive(Debug, Clone)]
pub(super) struct Const {
    value: f64,
}

const KEYS: &[&str] = &["value"];

impl Const {
    pub fn new(value: f64) -> Self {
        Const { value }
    }

    pub fn parse(inline: &Inline, body: Field) -> Result<Self, ShapeError> {
        // The positional form is the common one; `value=` exists for symmetry with other kinds.
        if !body.text.contains('=') {
            let fields = inline.fields(body);
            if let Some(extra) = fields.get(1) {
                return Err(inline.error(*extra, "nothing after the value (const takes one value)"));
            }
            return Ok(Const::new(inline.non_negative(fields[0])?));
        }
        let params = inline.params("const", body, KEYS)?;
        Ok(Const::new(params.non_negative("value", None)?))
    }
}

impl Profile for Const {
    fn value(&self, _t: f64) -> f64 {
        self.value
    }

    fn natural_duration(&self) -> Option<f64> {
        None
    }

    fn max_value(&self, _duration: f64) -> f64 {
        self.value
    }

    fn describe(&self) -> String {
        format!("const {}", self.value)
    }
}
