//! [`Limits`]: how much one HTTP service accepts before it pushes back.

use std::time::Duration;

use serde::{de, Deserialize, Deserializer};

use crate::config::ConfigError;

/// Request limits enforced by [`with_middleware`](super::with_middleware).
///
/// In settings files and the environment, `request_timeout` is a number of seconds (`10`,
/// `0.5`) or a string with a unit (`"500ms"`, `"10s"`, `"2m"`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted request body; larger ones get 413. Default 1 MiB.
    pub body_limit_bytes: usize,
    /// Requests handled at once at most (the hard limit); more are shed with 429 +
    /// `Retry-After`. Default 512.
    pub concurrency_limit: usize,
    /// Whether the limit adapts below `concurrency_limit` to the latency the service gives
    /// (see [`crate::adaptive`]), so that a served request never waits behind hundreds of
    /// others. Default true.
    pub adaptive: bool,
    /// The adaptive limit never goes below this (clamped to `concurrency_limit`). Default:
    /// four per core, at least 16.
    pub min_concurrency: usize,
    /// Longest a request may take; slower ones get 503 + `Retry-After`. Default 10 s.
    #[serde(deserialize_with = "deserialize_duration")]
    pub request_timeout: Duration,
    /// The `Retry-After` value (seconds) sent with 429 and 503. Default 1.
    pub retry_after_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_limit_bytes: 1024 * 1024,
            concurrency_limit: 512,
            adaptive: true,
            min_concurrency: crate::adaptive::LimitSettings::new(512).min,
            request_timeout: Duration::from_secs(10),
            retry_after_secs: 1,
        }
    }
}

impl Limits {
    /// The concurrency limit these limits ask for: adaptive between `min_concurrency` and
    /// `concurrency_limit`, or fixed at `concurrency_limit`.
    pub fn concurrency(&self) -> crate::adaptive::AdaptiveLimit {
        let mut settings = crate::adaptive::LimitSettings::new(self.concurrency_limit);
        if self.adaptive {
            settings.min = self.min_concurrency;
        } else {
            settings.min = self.concurrency_limit;
            settings.initial = self.concurrency_limit;
        }
        crate::adaptive::AdaptiveLimit::new(settings)
    }

    /// Checks the values that would make a service unusable; the error (for the setting
    /// `limits`) names the bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let reason = if self.body_limit_bytes == 0 {
            "limits.body_limit_bytes must be greater than zero"
        } else if self.concurrency_limit == 0 {
            "limits.concurrency_limit must be greater than zero"
        } else if self.min_concurrency == 0 {
            "limits.min_concurrency must be greater than zero"
        } else if self.request_timeout.is_zero() {
            "limits.request_timeout must be greater than zero"
        } else {
            return Ok(());
        };
        Err(ConfigError::invalid("limits", reason))
    }
}

/// Parses `"500ms"`, `"10s"`, `"2m"`, `"12h"`, `"7d"` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3600.0)
    } else if let Some(n) = text.strip_suffix('d') {
        (n, 86_400.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| {
        format!("expected a duration like 10, 0.5, \"500ms\", \"10s\", \"2m\", \"12h\" or \"7d\", got {text:?}")
    })?;
    Duration::try_from_secs_f64(value * scale).map_err(|error| format!("{text:?}: {error}"))
}

/// Serde `deserialize_with` for a [`Duration`] setting: a number of seconds (`10`, `0.5`) or a
/// string with a unit (`"500ms"`, `"10s"`, `"2m"`, `"12h"`), as [`parse_duration`] reads it.
pub fn deserialize_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    struct Visitor;
    impl de::Visitor<'_> for Visitor {
        type Value = Duration;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a duration in seconds or a string like \"500ms\", \"10s\", \"2m\"")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
            Ok(Duration::from_secs(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
            u64::try_from(v)
                .map(Duration::from_secs)
                .map_err(|_| E::custom("a duration cannot be negative"))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
            Duration::try_from_secs_f64(v).map_err(E::custom)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            parse_duration(v).map_err(E::custom)
        }
    }
    deserializer.deserialize_any(Visitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1").is_err());
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let limits = Limits::default();
        assert_eq!(limits.body_limit_bytes, 1 << 20);
        assert_eq!(limits.concurrency_limit, 512);
        assert_eq!(limits.request_timeout, Duration::from_secs(10));
        assert!(limits.validate().is_ok());
        let zero = Limits {
            concurrency_limit: 0,
            ..Limits::default()
        };
        let error = zero.validate().unwrap_err();
        assert_eq!(error.key(), Some("limits"));
        assert!(error.to_string().contains("concurrency_limit"), "{error}");
    }
}
