//! Label selectors (`app=frontend`, `app in (a,b)`, `app notin (a)`, `x`, `!x`, `x!=y`) and
//! field selectors (`status.phase=Running`, `metadata.name!=x`) applied to objects as JSON, as
//! the API server applies them.

use serde_json::Value;

use super::objects::ApiError;

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Requirement>);

impl LabelSelector {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let invalid = |part: &str| {
            ApiError::BadRequest(format!(
                "unable to parse requirement: invalid label selector `{part}` in `{text}`"
            ))
        };
        let mut requirements = Vec::new();
        if text.trim().is_empty() {
            return Ok(Self(requirements));
        }
        for part in split_top_level(text) {
            let part = part.trim();
            // As the API server: `a,,b` and a trailing comma are errors, not empty terms.
            if part.is_empty() {
                return Err(invalid(part));
            }
            let requirement = if let Some(key) = part.strip_prefix('!') {
                Requirement::NotExists(key.trim().to_owned())
            } else if let Some((key, value)) = part.split_once("!=") {
                Requirement::NotEquals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, value)) =
                part.split_once("==").or_else(|| part.split_once('='))
            {
                Requirement::Equals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, values)) = set_operand(part, " notin ") {
                Requirement::NotIn(key, values.ok_or_else(|| invalid(part))?)
            } else if let Some((key, values)) = set_operand(part, " in ") {
                Requirement::In(key, values.ok_or_else(|| invalid(part))?)
            } else {
                Requirement::Exists(part.to_owned())
            };
            let key = match &requirement {
                Requirement::Equals(k, _)
                | Requirement::NotEquals(k, _)
                | Requirement::In(k, _)
                | Requirement::NotIn(k, _)
                | Requirement::Exists(k)
                | Requirement::NotExists(k) => k,
            };
            let values: &[String] = match &requirement {
                Requirement::Equals(_, v) | Requirement::NotEquals(_, v) => std::slice::from_ref(v),
                Requirement::In(_, vs) | Requirement::NotIn(_, vs) => vs,
                Requirement::Exists(_) | Requirement::NotExists(_) => &[],
            };
            let set = matches!(requirement, Requirement::In(..) | Requirement::NotIn(..));
            // Keys and values as Kubernetes labels allow them, so `%%%` or `a==b==c` is an
            // error here as on a real API server instead of a selector that matches nothing.
            if !valid_key(key)
                || !values.iter().all(|v| valid_value(v))
                || (set && values.iter().any(String::is_empty))
            {
                return Err(invalid(part));
            }
            requirements.push(requirement);
        }
        Ok(Self(requirements))
    }

    /// Whether an object (its `metadata.labels`) matches.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        let label = |key: &str| labels.get(key).and_then(Value::as_str);
        self.0.iter().all(|requirement| match requirement {
            Requirement::Equals(k, v) => label(k) == Some(v),
            Requirement::NotEquals(k, v) => label(k) != Some(v),
            Requirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => !label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::Exists(k) => label(k).is_some(),
            Requirement::NotExists(k) => label(k).is_none(),
        })
    }
}

/// A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters.
fn valid_key(key: &str) -> bool {
    let (prefix, name) = key.rsplit_once('/').unwrap_or(("", key));
    let prefix_ok = !key.contains('/')
        || (!prefix.is_empty()
            && prefix.len() <= 253
            && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    prefix_ok && !name.is_empty() && valid_value(name)
}

/// A label value: empty, or at most 63 of `A-Za-z0-9-_.` starting and ending alphanumeric.
fn valid_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    value.is_empty()
        || (bytes.len() <= 63
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric())
}

/// Splits on commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `key <op> (a, b)`: the key and the values, `None` values when the parentheses are wrong.
fn set_operand(part: &str, op: &str) -> Option<(String, Option<Vec<String>>)> {
    let (key, rest) = part.split_once(op)?;
    let values = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(|inner| inner.split(',').map(|v| v.trim().to_owned()).collect());
    Some((key.trim().to_owned(), values))
}

/// A parsed field selector: `path=value`, `path==value`, `path!=value`, comma-separated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let term = if let Some((path, value)) = part.split_once("!=") {
                (path.trim().to_owned(), false, value.trim().to_owned())
            } else if let Some((path, value)) =
                part.split_once("==").or_else(|| part.split_once('='))
            {
                (path.trim().to_owned(), true, value.trim().to_owned())
            } else {
                return Err(ApiError::BadRequest(format!(
                    "invalid field selector `{part}`: expected field=value or field!=value"
                )));
            };
            terms.push(term);
        }
        Ok(Self(terms))
    }

    /// Whether an object matches; a missing field compares as the empty string.
    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(path, equal, value)| {
            let field = path.split('.').try_fold(object, |v, key| v.get(key));
            let text = match field {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (text == *value) == *equal
        })
    }
}

/// Both selectors of a list or watch request.
#[derive(Debug, Clone, Default)]
pub struct Selectors {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Selectors {
    pub fn from_query(query: &super::Query) -> Result<Self, ApiError> {
        Ok(Self {
            labels: LabelSelector::parse(query.get("labelSelector").unwrap_or(""))?,
            fields: FieldSelector::parse(query.get("fieldSelector").unwrap_or(""))?,
        })
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(app: &str, phase: &str) -> Value {
        json!({"metadata": {"name": format!("{app}-1"), "labels": {"app": app, "tier": "web"}},
               "status": {"phase": phase}})
    }

    #[test]
    fn label_selectors_match_like_kubernetes() {
        let (front, search) = (pod("frontend", "Running"), pod("search", "Pending"));
        let sel = |s: &str| LabelSelector::parse(s).unwrap();
        assert!(sel("app=frontend").matches(&front));
        assert!(!sel("app=frontend").matches(&search));
        assert!(sel("app==search").matches(&search));
        assert!(sel("app in (frontend, search)").matches(&search));
        assert!(!sel("app notin (frontend,search)").matches(&search));
        assert!(sel("app notin (geo)").matches(&search));
        assert!(sel("tier,app!=search").matches(&front));
        assert!(!sel("tier,app!=search").matches(&search));
        assert!(sel("!missing").matches(&front));
        assert!(!sel("!tier").matches(&front));
        assert!(sel("").matches(&front));
        assert!(LabelSelector::parse("app in frontend").is_err());
        assert!(LabelSelector::parse("a b").is_err());
    }

    #[test]
    fn malformed_label_selectors_are_rejected_as_kubernetes_does() {
        for bad in
            ["%%%", "a==b==c", "a notin ()", "a in (x,)", ",,,", "app=x,", "a in (", "!", "-a"]
        {
            assert!(LabelSelector::parse(bad).is_err(), "{bad} should be rejected");
        }
        for good in
            ["", "  ", "example.com/app=web", "a=", "a in (x, y-z)", "app.kubernetes.io/name"]
        {
            assert!(LabelSelector::parse(good).is_ok(), "{good} should parse");
        }
    }

    #[test]
    fn field_selectors_follow_the_json_path() {
        let running = pod("frontend", "Running");
        let f = |s: &str| FieldSelector::parse(s).unwrap();
        assert!(f("status.phase=Running").matches(&running));
        assert!(!f("status.phase!=Running").matches(&running));
        assert!(f("metadata.name=frontend-1,status.phase==Running").matches(&running));
        assert!(f("spec.nodeName=").matches(&running));
        assert!(FieldSelector::parse("status.phase").is_err());
    }
}
