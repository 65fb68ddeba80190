//! Logging: one global `tracing` subscriber per process, configured from the environment.
//!
//! - `RUST_LOG` (an [`EnvFilter`] directive) wins; without it the level is `info`, or whatever a
//!   service later sets from its own settings with [`set_default_level`].
//! - `LOG_FORMAT=json` gives one JSON object per line (the Helm default); anything else gives
//!   human-readable lines.
//! - [`init`] is idempotent, so tests and in-process servers may call it many times.

use std::sync::OnceLock;

use tracing_subscriber::{
    layer::SubscriberExt, reload, util::SubscriberInitExt, EnvFilter, Layer, Registry,
};

/// Handle used to change the filter after start-up (when `RUST_LOG` is not set).
type FilterHandle = reload::Handle<EnvFilter, Registry>;

static FILTER: OnceLock<Option<FilterHandle>> = OnceLock::new();

/// The error [`set_default_level`] and [`level_directive`] return.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The level is neither a seed-style number (0–6) nor a valid `EnvFilter` directive.
    #[error("invalid log level {level:?}: {reason}")]
    InvalidLevel {
        /// The level as given.
        level: String,
        /// Why it was rejected.
        reason: String,
    },
}

/// Installs the global subscriber for `service` (idempotent: later calls do nothing).
///
/// If another subscriber was installed first (for example by a test framework), that one is kept.
pub fn init(service: &str) {
    FILTER.get_or_init(|| {
        let (filter, handle) = reload::Layer::new(env_filter());
        let json = std::env::var("LOG_FORMAT").is_ok_and(|format| format == "json");
        let format_layer = if json {
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .boxed()
        } else {
            tracing_subscriber::fmt::layer().with_target(true).boxed()
        };
        match tracing_subscriber::registry()
            .with(filter)
            .with(format_layer)
            .try_init()
        {
            Ok(()) => {
                tracing::debug!(service, json, "telemetry initialised");
                Some(handle)
            }
            Err(_) => None,
        }
    });
}

/// Initialises logging for tests: prints only when `TEST_LOG` is set, so test output stays quiet.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        init("test");
    }
}

/// Sets the level used when `RUST_LOG` is not set, e.g. from a service's `logLevel` setting.
///
/// Accepts the seed's logrus numbers (see [`level_directive`]) or any `EnvFilter` directive.
/// Does nothing when `RUST_LOG` is set or when [`init`] did not install the subscriber.
pub fn set_default_level(level: &str) -> Result<(), TelemetryError> {
    let directive = level_directive(level)?;
    if std::env::var_os("RUST_LOG").is_some() {
        return Ok(());
    }
    if let Some(Some(handle)) = FILTER.get() {
        let filter =
            EnvFilter::try_new(&directive).map_err(|error| TelemetryError::InvalidLevel {
                level: level.to_owned(),
                reason: error.to_string(),
            })?;
        if let Err(error) = handle.reload(filter) {
            tracing::warn!(%error, "could not change the log level");
        }
    }
    Ok(())
}

/// Translates a log level setting into an `EnvFilter` directive.
///
/// The seed used logrus numbers: 0 panic, 1 fatal, 2 error, 3 warn, 4 info, 5 debug, 6 trace
/// (panic and fatal map to `error`). Names and full directives are passed through after a
/// syntax check; an empty value means `info`.
pub fn level_directive(level: &str) -> Result<String, TelemetryError> {
    let level = level.trim();
    let directive = match level {
        "" => "info",
        "0" | "1" | "2" => "error",
        "3" => "warn",
        "4" => "info",
        "5" => "debug",
        "6" => "trace",
        other => other,
    };
    if directive.parse::<i64>().is_ok() {
        return Err(TelemetryError::InvalidLevel {
            level: level.to_owned(),
            reason: "numeric levels go from 0 (panic) to 6 (trace)".to_owned(),
        });
    }
    EnvFilter::try_new(directive).map_err(|error| TelemetryError::InvalidLevel {
        level: level.to_owned(),
        reason: error.to_string(),
    })?;
    Ok(directive.to_owned())
}

fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_is_idempotent() {
        init("one");
        init("two");
    }

    #[test]
    fn seed_levels_map_to_directives() {
        assert_eq!(level_directive("4").unwrap(), "info");
        assert_eq!(level_directive("0").unwrap(), "error");
        assert_eq!(level_directive("6").unwrap(), "trace");
        assert_eq!(level_directive("").unwrap(), "info");
        assert_eq!(level_directive("debug").unwrap(), "debug");
        assert_eq!(
            level_directive("accountd=debug,info").unwrap(),
            "accountd=debug,info"
        );
        assert!(level_directive("7").is_err());
        assert!(level_directive("not a [level").is_err());
    }
}
