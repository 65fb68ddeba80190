//! event-simulator's settings: defaults → config file → the seed's variables →
//! `EVENT_SIMULATOR__…` environment.
//!
//! | setting | environment | seed variable | default |
//! |---|---|---|---|
//! | `producer_url` | `EVENT_SIMULATOR__PRODUCER_URL` | `EVENT_PRODUCER_URL`, else `http://$EVENT_PRODUCER_HOST:$EVENT_PRODUCER_PORT` | `http://event-producer-svc:8080` |
//! | `events_per_second` | `EVENT_SIMULATOR__EVENTS_PER_SECOND` | `EVENTS_PER_SECOND` | 1 (0 = as fast as `concurrency` allows) |
//! | `concurrency` | `EVENT_SIMULATOR__CONCURRENCY` | | 1 |
//! | `duration` | `EVENT_SIMULATOR__DURATION` | | until stopped |
//! | `max_events` | `EVENT_SIMULATOR__MAX_EVENTS` | | unbounded |
//! | `description` | `EVENT_SIMULATOR__DESCRIPTION` | | `hello world` (`{seq}` → the sequence number) |
//! | `request_timeout` | `EVENT_SIMULATOR__REQUEST_TIMEOUT` | | 5 s |
//! | `token` | `EVENT_SIMULATOR__TOKEN` | `EVENT_PRODUCER_TOKEN` | none: no `Authorization` header |
//!
//! `token` is the bearer token sent with every event (needed when the producer has a JWT
//! secret; `mockvideo-token --audience event-producer` mints one); it is never logged.
//!
//! The log level is `RUST_LOG`, else the seed's `LOG_LEVEL` (read by the binary).

use std::{path::Path, time::Duration};

use platform::config::{ConfigError, Layout, SeedValues};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

/// Environment variable prefix: `EVENT_SIMULATOR__CONCURRENCY` sets `concurrency`.
pub const ENV_PREFIX: &str = "EVENT_SIMULATOR";
/// The seed's producer host.
pub const DEFAULT_PRODUCER_HOST: &str = "event-producer-svc";
/// The seed's producer port.
pub const DEFAULT_PRODUCER_PORT: u16 = 8080;

/// Where the settings come from, besides the given file (the simulator has no secrets).
const LAYOUT: Layout = Layout {
    prefix: ENV_PREFIX,
    seed_vars: &[
        ("EVENT_PRODUCER_URL", "producer_url"),
        ("EVENTS_PER_SECOND", "events_per_second"),
        ("EVENT_PRODUCER_TOKEN", "token"),
    ],
    seed_values: SeedValues::Trimmed,
    file_keys: &[
        ("producerUrl", "producer_url"),
        ("eventsPerSecond", "events_per_second"),
        ("eventPerSecond", "events_per_second"),
    ],
    secret_files: &[],
};

/// Everything event-simulator needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Base URL of the producer (`/event` is appended).
    pub producer_url: String,
    /// Target rate; 0 = as fast as `concurrency` allows. Default 1.
    pub events_per_second: f64,
    /// Requests in flight at most. Default 1.
    pub concurrency: usize,
    /// Stop after this long; `None` = until stopped.
    #[serde(deserialize_with = "optional_duration")]
    pub duration: Option<Duration>,
    /// Stop after this many events; `None` = unbounded.
    pub max_events: Option<u64>,
    /// Description of each event; `{seq}` is replaced by the event's sequence number.
    pub description: String,
    /// Longest one request may take. Default 5 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub request_timeout: Duration,
    /// Bearer token sent as `Authorization: Bearer …` with every event; `None`: no header.
    pub token: Option<SecretString>,
    /// Retries of an event answered 503 or 429, or not answered at all, each after an
    /// exponential backoff with jitter (100 ms doubling, at most 2 s). Every event then carries
    /// an `Idempotency-Key`, so a retried event is stored once. Default 3; 0 = none, and no key.
    pub retries: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            producer_url: format!("http://{DEFAULT_PRODUCER_HOST}:{DEFAULT_PRODUCER_PORT}"),
            events_per_second: 1.0,
            concurrency: 1,
            duration: None,
            max_events: None,
            description: "hello world".to_owned(),
            request_timeout: Duration::from_secs(5),
            token: None,
            retries: 3,
        }
    }
}

fn optional_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "platform::http::deserialize_duration")] Duration);
    Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|wrapped| wrapped.0))
}

impl Settings {
    /// Loads the settings from the process environment and the given file (optional).
    pub fn load(config_file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_env(config_file, platform::config::process_env())
    }

    /// Like [`Settings::load`] with these variables instead of the process environment.
    pub fn load_with_env(
        config_file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let env = with_producer_url(env.into_iter().collect())?;
        LAYOUT.load_with_env(config_file, None, env, Settings::validate)
    }

    /// Checks what types cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = url::Url::parse(&self.producer_url)
            .map_err(|error| ConfigError::invalid("producer_url", error.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::invalid(
                "producer_url",
                "must be an http:// URL",
            ));
        }
        if !self.events_per_second.is_finite() || self.events_per_second < 0.0 {
            return Err(ConfigError::invalid(
                "events_per_second",
                "must be a number ≥ 0 (0 = unthrottled)",
            ));
        }
        if self.concurrency == 0 {
            return Err(ConfigError::invalid(
                "concurrency",
                "must be greater than zero",
            ));
        }
        if self.request_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "request_timeout",
                "must be greater than zero",
            ));
        }
        Ok(())
    }
}

/// `env` plus the `EVENT_PRODUCER_URL` that the seed's `EVENT_PRODUCER_HOST` and
/// `EVENT_PRODUCER_PORT` stand for (each defaulted), unless that URL is set.
fn with_producer_url(mut env: Vec<(String, String)>) -> Result<Vec<(String, String)>, ConfigError> {
    let get = |env: &[(String, String)], name: &str| {
        env.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    if get(&env, "EVENT_PRODUCER_URL").is_some() {
        return Ok(env);
    }
    let host = get(&env, "EVENT_PRODUCER_HOST");
    let port = get(&env, "EVENT_PRODUCER_PORT");
    if host.is_some() || port.is_some() {
        let host = host.unwrap_or_else(|| DEFAULT_PRODUCER_HOST.to_owned());
        let port = port.unwrap_or_else(|| DEFAULT_PRODUCER_PORT.to_string());
        port.parse::<u16>().map_err(|error| ConfigError::Invalid {
            key: "producer_url".to_owned(),
            origin: "environment variable EVENT_PRODUCER_PORT".to_owned(),
            reason: format!("{port:?} is not a port number: {error}"),
        })?;
        env.push((
            "EVENT_PRODUCER_URL".to_owned(),
            format!("http://{host}:{port}"),
        ));
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use platform::config::vars as env;

    use super::*;

    #[test]
    fn defaults_need_no_environment() {
        let settings = Settings::load_with_env(None, env(&[])).unwrap();
        assert_eq!(settings.producer_url, "http://event-producer-svc:8080");
        assert!((settings.events_per_second - 1.0).abs() < f64::EPSILON);
        assert_eq!(settings.concurrency, 1);
        assert_eq!(settings.duration, None);
        assert_eq!(settings.max_events, None);
        assert_eq!(settings.description, "hello world");
    }

    #[test]
    fn seed_variables() {
        let settings = Settings::load_with_env(
            None,
            env(&[
                ("EVENT_PRODUCER_HOST", "127.0.0.1"),
                ("EVENT_PRODUCER_PORT", "9000"),
                ("EVENTS_PER_SECOND", "0"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.producer_url, "http://127.0.0.1:9000");
        assert!(settings.events_per_second.abs() < f64::EPSILON);
        let settings = Settings::load_with_env(
            None,
            env(&[
                ("EVENT_PRODUCER_HOST", "ignored"),
                ("EVENT_PRODUCER_URL", "http://10.0.0.1:1"),
                ("EVENT_SIMULATOR__DURATION", "1500ms"),
                ("EVENT_SIMULATOR__MAX_EVENTS", "10"),
                ("EVENT_SIMULATOR__CONCURRENCY", "8"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.producer_url, "http://10.0.0.1:1");
        assert_eq!(settings.duration, Some(Duration::from_millis(1500)));
        assert_eq!(settings.max_events, Some(10));
        assert_eq!(settings.concurrency, 8);
    }

    #[test]
    fn bad_values_are_named() {
        let error = Settings::load_with_env(None, env(&[("EVENTS_PER_SECOND", "-1")])).unwrap_err();
        assert_eq!(error.key(), Some("events_per_second"));
        let error =
            Settings::load_with_env(None, env(&[("EVENTS_PER_SECOND", "fast")])).unwrap_err();
        assert!(error.to_string().contains("EVENTS_PER_SECOND"), "{error}");
        let error =
            Settings::load_with_env(None, env(&[("EVENT_PRODUCER_PORT", "x")])).unwrap_err();
        assert_eq!(error.key(), Some("producer_url"));
    }
}
