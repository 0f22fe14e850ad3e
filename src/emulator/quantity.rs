//! Scalar values of the topology files: CPU (`100m`, `0.5`), memory (`64Mi`, `1Gi`, bytes),
//! durations (`3s`, `500us`, bare seconds) and service-time distributions (`const:5ms`,
//! `exp:5ms`, `lognormal:mean=5ms,sigma=0.5`), each deserialized from YAML so that a bad value
//! is reported by serde_yaml with its line and column. Pure; must not depend on `control/`.

use std::fmt;
use std::time::Duration;

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A scalar given as a YAML string or number; every quantity below parses from its text.
fn scalar_text<'de, D: Deserializer<'de>>(
    deserializer: D,
    expecting: &'static str,
) -> Result<String, D::Error> {
    struct Text(&'static str);
    impl Visitor<'_> for Text {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.trim().to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    deserializer.deserialize_any(Text(expecting))
}

/// CPU in millicores, written as Kubernetes writes it: `250m` or cores (`1`, `0.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Millicores(pub f64);

impl Millicores {
    pub fn parse(text: &str) -> Option<Self> {
        let value = match text.strip_suffix('m') {
            Some(millis) => millis.parse::<f64>().ok()?,
            None => text.parse::<f64>().ok()? * 1000.0,
        };
        (value.is_finite() && value >= 0.0).then_some(Millicores(value))
    }
}

impl<'de> Deserialize<'de> for Millicores {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = scalar_text(deserializer, "CPU as millicores (`250m`) or cores (`0.5`)")?;
        Millicores::parse(&text).ok_or_else(|| {
            de::Error::custom(format!(
                "invalid CPU `{text}`: expected millicores like `250m` or cores like `0.5`"
            ))
        })
    }
}

/// Memory in bytes, written as Kubernetes writes it: `64Mi`, `1Gi`, `512Ki`, `100M`, or bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl Bytes {
    pub fn parse(text: &str) -> Option<Self> {
        const UNITS: [(&str, f64); 8] = [
            ("Ki", 1024.0),
            ("Mi", 1048576.0),
            ("Gi", 1073741824.0),
            ("Ti", 1099511627776.0),
            ("k", 1e3),
            ("M", 1e6),
            ("G", 1e9),
            ("T", 1e12),
        ];
        let (number, factor) = UNITS
            .iter()
            .find_map(|(suffix, factor)| text.strip_suffix(suffix).map(|n| (n, *factor)))
            .unwrap_or((text, 1.0));
        let value = number.parse::<f64>().ok()? * factor;
        (0.0..1.0e18).contains(&value).then_some(Bytes(value.round() as u64))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = scalar_text(deserializer, "memory like `64Mi`, `1Gi` or bytes")?;
        Bytes::parse(&text).ok_or_else(|| {
            de::Error::custom(format!(
                "invalid memory `{text}`: expected `64Mi`, `1Gi`, `512Ki` or bytes"
            ))
        })
    }
}

/// A duration: humantime (`3s`, `500us`, `1m30s`) or bare seconds (`0.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seconds(pub f64);

impl Seconds {
    pub fn parse(text: &str) -> Option<Self> {
        let seconds = match text.parse::<f64>() {
            Ok(bare) => bare,
            Err(_) => humantime::parse_duration(text).ok()?.as_secs_f64(),
        };
        (seconds.is_finite() && seconds >= 0.0).then_some(Seconds(seconds))
    }

    pub fn as_duration(self) -> Duration {
        Duration::from_secs_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = scalar_text(deserializer, "a duration like `3s`, `500us` or seconds")?;
        Seconds::parse(&text).ok_or_else(|| {
            de::Error::custom(format!(
                "invalid duration `{text}`: expected `3s`, `500us`, `1m30s` or seconds"
            ))
        })
    }
}

/// CPU time a call needs at 1000m (one full core), drawn per call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServiceTime {
    Const {
        seconds: f64,
    },
    /// Exponential with this mean.
    Exp {
        mean: f64,
    },
    /// Log-normal with this mean and shape `sigma` (the σ of the underlying normal).
    LogNormal {
        mean: f64,
        sigma: f64,
    },
}

impl ServiceTime {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (kind, args) = text
            .split_once(':')
            .ok_or_else(|| format!("invalid service time `{text}`: {}", Self::GRAMMAR))?;
        let duration = |value: &str| {
            Seconds::parse(value.trim())
                .map(|s| s.0)
                .ok_or_else(|| format!("invalid duration `{value}` in `{text}`"))
        };
        match kind.trim() {
            "const" => Ok(ServiceTime::Const { seconds: duration(args)? }),
            "exp" => Ok(ServiceTime::Exp { mean: duration(args)? }),
            "lognormal" => {
                let (mut mean, mut sigma) = (None, None);
                for pair in args.split(',') {
                    match pair.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                        Some(("mean", v)) => mean = Some(duration(v)?),
                        Some(("sigma", v)) => {
                            sigma = v.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0);
                            if sigma.is_none() {
                                return Err(format!(
                                    "invalid sigma `{v}` in `{text}`: expected a number >= 0"
                                ));
                            }
                        }
                        _ => {
                            return Err(format!(
                                "invalid argument `{pair}` in `{text}`: {}",
                                Self::GRAMMAR
                            ));
                        }
                    }
                }
                match (mean, sigma) {
                    (Some(mean), Some(sigma)) => Ok(ServiceTime::LogNormal { mean, sigma }),
                    _ => Err(format!("`{text}` needs both mean= and sigma=: {}", Self::GRAMMAR)),
                }
            }
            other => Err(format!("unknown service-time kind `{other}`: {}", Self::GRAMMAR)),
        }
    }

    const GRAMMAR: &'static str =
        "expected `const:5ms`, `exp:5ms` or `lognormal:mean=5ms,sigma=0.5`";

    pub fn mean(&self) -> f64 {
        match *self {
            ServiceTime::Const { seconds } => seconds,
            ServiceTime::Exp { mean } | ServiceTime::LogNormal { mean, .. } => mean,
        }
    }

    /// A sampler built once, so drawing does not re-validate the parameters.
    pub fn sampler(&self) -> Sampler {
        match *self {
            ServiceTime::Const { seconds } => Sampler::Const(seconds),
            ServiceTime::Exp { mean } if mean > 0.0 => {
                Exp::new(1.0 / mean).map_or(Sampler::Const(mean), Sampler::Exp)
            }
            ServiceTime::Exp { mean } => Sampler::Const(mean),
            // mu chosen so that E[X] = exp(mu + sigma²/2) is the configured mean.
            ServiceTime::LogNormal { mean, sigma } if mean > 0.0 => {
                LogNormal::new(mean.ln() - sigma * sigma / 2.0, sigma)
                    .map_or(Sampler::Const(mean), Sampler::LogNormal)
            }
            ServiceTime::LogNormal { mean, .. } => Sampler::Const(mean),
        }
    }
}

impl<'de> Deserialize<'de> for ServiceTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = scalar_text(deserializer, "a service time like `exp:5ms`")?;
        ServiceTime::parse(&text).map_err(de::Error::custom)
    }
}

/// Draws CPU seconds at 1000m.
#[derive(Debug, Clone)]
pub enum Sampler {
    Const(f64),
    Exp(Exp<f64>),
    LogNormal(LogNormal<f64>),
}

impl Sampler {
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Sampler::Const(seconds) => *seconds,
            Sampler::Exp(exp) => exp.sample(rng),
            Sampler::LogNormal(lognormal) => lognormal.sample(rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubernetes_quantities() {
        assert_eq!(Millicores::parse("250m"), Some(Millicores(250.0)));
        assert_eq!(Millicores::parse("1.5"), Some(Millicores(1500.0)));
        assert_eq!(Millicores::parse("-1"), None);
        assert_eq!(Bytes::parse("64Mi"), Some(Bytes(64 << 20)));
        assert_eq!(Bytes::parse("1Gi"), Some(Bytes(1 << 30)));
        assert_eq!(Bytes::parse("100M"), Some(Bytes(100_000_000)));
        assert_eq!(Bytes::parse("12x"), None);
        assert_eq!(Seconds::parse("500us"), Some(Seconds(0.0005)));
        assert_eq!(Seconds::parse("2"), Some(Seconds(2.0)));
    }

    #[test]
    fn parses_service_times() {
        assert_eq!(ServiceTime::parse("const:5ms"), Ok(ServiceTime::Const { seconds: 0.005 }));
        assert_eq!(ServiceTime::parse("exp:0.5"), Ok(ServiceTime::Exp { mean: 0.5 }));
        assert_eq!(
            ServiceTime::parse("lognormal:mean=2ms,sigma=0.5"),
            Ok(ServiceTime::LogNormal { mean: 0.002, sigma: 0.5 })
        );
        assert!(ServiceTime::parse("weibull:1").is_err());
        assert!(ServiceTime::parse("lognormal:mean=2ms").is_err());
    }

    #[test]
    fn lognormal_sampler_has_the_configured_mean() {
        use rand::SeedableRng;
        let sampler = ServiceTime::LogNormal { mean: 0.002, sigma: 0.8 }.sampler();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let n = 200_000;
        let mean = (0..n).map(|_| sampler.draw(&mut rng)).sum::<f64>() / n as f64;
        assert!((mean / 0.002 - 1.0).abs() < 0.02, "mean {mean}");
    }
}
