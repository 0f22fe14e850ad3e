//! Random request parameters (`params:` in a workload request): integers with bounds that may
//! refer to earlier parameters (`[in+1, 30]`, as the hotel mix's check-out date needs),
//! scaled integers for coordinates, and choices. Drawn in declaration order.

use rand::Rng;
use serde::Deserialize;

/// Widest `pad` / `decimals` accepted: wider is a typo that would make huge requests.
const MAX_WIDTH: usize = 64;

/// One bound of an `int` range: a literal or `NAME`, `NAME+N`, `NAME-N` of an earlier param.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum BoundSpec {
    Literal(i64),
    Expr(String),
}

/// A parameter as written in YAML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    pub name: String,
    /// Inclusive integer range, like Python's `random.randint(a, b)`.
    #[serde(default)]
    pub int: Option<[BoundSpec; 2]>,
    /// One of these strings, uniformly.
    #[serde(default)]
    pub choice: Option<Vec<String>>,
    /// Zero-pad integers to this width (`2` renders 9 as `09`).
    #[serde(default)]
    pub pad: Option<usize>,
    /// Render `offset + scale * n` instead of `n`.
    #[serde(default)]
    pub scale: Option<f64>,
    #[serde(default)]
    pub offset: Option<f64>,
    /// Decimals for scaled values (default 4).
    #[serde(default)]
    pub decimals: Option<usize>,
}

#[derive(Debug, Clone)]
enum Bound {
    Literal(i64),
    Ref { index: usize, delta: i64 },
}

#[derive(Debug, Clone)]
enum Kind {
    Int { low: Bound, high: Bound, pad: usize, affine: Option<(f64, f64, usize)> },
    Choice(Vec<String>),
}

#[derive(Debug, Clone)]
struct Param {
    name: String,
    kind: Kind,
}

/// The validated parameters of one request.
#[derive(Debug, Clone, Default)]
pub struct Params {
    params: Vec<Param>,
}

impl Params {
    /// Validates specs; the error says which parameter and what was expected.
    pub fn new(specs: Vec<ParamSpec>) -> Result<Self, String> {
        let mut params: Vec<Param> = Vec::with_capacity(specs.len());
        for spec in specs {
            let at = |m: String| format!("param '{}': {m}", spec.name);
            if spec.name.is_empty()
                || !spec.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(format!(
                    "param name: expected letters, digits or '_', found '{}'",
                    spec.name
                ));
            }
            if params.iter().any(|p| p.name == spec.name) {
                return Err(at("defined twice".into()));
            }
            let kind = match (&spec.int, &spec.choice) {
                (Some([low, high]), None) => {
                    let low = resolve(low, &params).map_err(at)?;
                    let high = resolve(high, &params).map_err(at)?;
                    let affine = match (spec.scale, spec.offset) {
                        (None, None) => None,
                        (scale, offset) => {
                            let (s, o) = (scale.unwrap_or(1.0), offset.unwrap_or(0.0));
                            if !s.is_finite() || !o.is_finite() {
                                return Err(at("scale/offset: expected finite numbers".into()));
                            }
                            Some((s, o, spec.decimals.unwrap_or(4)))
                        }
                    };
                    if spec.pad.unwrap_or(0) > MAX_WIDTH || spec.decimals.unwrap_or(0) > MAX_WIDTH {
                        return Err(at(format!("pad/decimals: expected at most {MAX_WIDTH}")));
                    }
                    Kind::Int { low, high, pad: spec.pad.unwrap_or(0), affine }
                }
                (None, Some(choices)) if !choices.is_empty() => Kind::Choice(choices.clone()),
                (None, Some(_)) => return Err(at("choice: expected at least one value".into())),
                _ => {
                    return Err(at(
                        "expected exactly one of `int: [low, high]` or `choice: [...]`".into(),
                    ));
                }
            };
            params.push(Param { name: spec.name, kind });
        }
        Ok(Self { params })
    }

    /// True when there is nothing to draw (the request is the same every time).
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Index of a parameter by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }

    /// Draws one value per parameter, rendered as text, in declaration order.
    pub fn draw(&self, rng: &mut impl Rng) -> Vec<String> {
        let mut ints: Vec<i64> = Vec::with_capacity(self.params.len());
        let mut out = Vec::with_capacity(self.params.len());
        for p in &self.params {
            match &p.kind {
                Kind::Int { low, high, pad, affine } => {
                    let (a, b) = (value(low, &ints), value(high, &ints));
                    // An empty range (e.g. `in+1` past the high bound) yields the low bound
                    // rather than failing mid-run.
                    let n = if b > a { rng.random_range(a..=b) } else { a };
                    ints.push(n);
                    out.push(match affine {
                        Some((scale, offset, decimals)) => {
                            format!("{:.*}", *decimals, offset + scale * n as f64)
                        }
                        None => format!("{n:0pad$}", pad = *pad),
                    });
                }
                Kind::Choice(choices) => {
                    ints.push(0);
                    out.push(choices[rng.random_range(0..choices.len())].clone());
                }
            }
        }
        out
    }
}

fn value(bound: &Bound, ints: &[i64]) -> i64 {
    match bound {
        Bound::Literal(v) => *v,
        Bound::Ref { index, delta } => ints[*index].saturating_add(*delta),
    }
}

fn resolve(bound: &BoundSpec, earlier: &[Param]) -> Result<Bound, String> {
    let expr = match bound {
        BoundSpec::Literal(v) => return Ok(Bound::Literal(*v)),
        BoundSpec::Expr(e) => e.replace(' ', ""),
    };
    let split = expr.find(['+', '-']).unwrap_or(expr.len());
    let (name, rest) = expr.split_at(split);
    let delta = match rest {
        "" => 0,
        _ => rest
            .parse::<i64>()
            .map_err(|_| format!("bound '{expr}': expected NAME, NAME+N or NAME-N"))?,
    };
    let index = earlier
        .iter()
        .position(|p| p.name == name && matches!(p.kind, Kind::Int { .. }))
        .ok_or_else(|| {
        format!("bound '{expr}': expected an integer parameter defined earlier, found '{name}'")
    })?;
    Ok(Bound::Ref { index, delta })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn spec(yaml: &str) -> Vec<ParamSpec> {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn dependent_bounds_hold_for_every_draw() {
        let p = Params::new(spec(
            "- {name: in, int: [9, 23], pad: 2}\n- {name: out, int: [in+1, 30], pad: 2}",
        ))
        .unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..2000 {
            let v = p.draw(&mut rng);
            let (i, o): (i64, i64) = (v[0].parse().unwrap(), v[1].parse().unwrap());
            assert!((9..=23).contains(&i) && o > i && o <= 30, "{v:?}");
            assert_eq!(v[0].len(), 2);
        }
    }

    #[test]
    fn scaled_ints_render_with_decimals() {
        let p = Params::new(spec("- {name: lat, int: [0, 481], scale: 0.001, offset: 37.783}"))
            .unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..500 {
            let lat: f64 = p.draw(&mut rng)[0].parse().unwrap();
            assert!((37.783..=38.264).contains(&lat), "{lat}");
        }
    }

    #[test]
    fn errors_name_the_parameter() {
        let e = Params::new(spec("- {name: out, int: [in+1, 30]}")).unwrap_err();
        assert!(e.contains("param 'out'") && e.contains("'in'"), "{e}");
        let e = Params::new(spec("- {name: x}")).unwrap_err();
        assert!(e.contains("exactly one of"), "{e}");
        let e = Params::new(spec("- {name: x, int: [1, y*2]}")).unwrap_err();
        assert!(e.contains("param 'x'"), "{e}");
    }
}
