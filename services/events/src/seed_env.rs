//! Settings loading shared by the three binaries: [`platform::config::Layered`] plus the
//! seed's own environment variable names (`REDIS_HOST`, `REST_SERVER_PORT`, …), which count as
//! `<PREFIX>__…` variables unless those are set. Values are trimmed (as the seed did); empty ones
//! count as unset. Errors name the variable the value came from.

use std::path::Path;

use platform::config::{ConfigError, Layered};
use serde::de::DeserializeOwned;

/// A seed environment variable and the dotted setting it sets.
pub(crate) type Alias = (&'static str, &'static str);

/// Where to read the settings from.
pub(crate) struct Sources<'a> {
    pub prefix: &'static str,
    pub aliases: &'a [Alias],
    pub config_file: Option<&'a Path>,
    pub file_keys: &'a [(&'a str, &'a str)],
    pub secrets_dir: Option<&'a Path>,
    pub secret_files: &'a [(&'a str, &'a str)],
}

/// The process environment as UTF-8 pairs (others are skipped).
pub(crate) fn process_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

/// The `<PREFIX>__A__B` variable of the dotted setting `a.b`.
fn prefixed(prefix: &str, key: &str) -> String {
    format!(
        "{prefix}__{}",
        key.split('.')
            .map(str::to_ascii_uppercase)
            .collect::<Vec<_>>()
            .join("__")
    )
}

/// Loads `T` from the sources and `env`.
pub(crate) fn load<T: DeserializeOwned>(
    sources: &Sources<'_>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let mut env: Vec<(String, String)> = env.into_iter().collect();
    let mut renamed: Vec<(String, &'static str)> = Vec::new();
    for (seed, key) in sources.aliases {
        let target = prefixed(sources.prefix, key);
        if env
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(&target))
        {
            continue;
        }
        let Some(value) = env
            .iter()
            .find(|(name, _)| name == seed)
            .map(|(_, value)| value.trim().to_owned())
        else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        renamed.push((format!("environment variable {target}"), seed));
        env.push((target, value));
    }
    Layered::new(sources.prefix)
        .file(sources.config_file, sources.file_keys)
        .secrets_dir(sources.secrets_dir, sources.secret_files)
        .env_vars(env)
        .extract()
        .map_err(|error| match error {
            ConfigError::Invalid {
                key,
                origin,
                reason,
            } => {
                let origin = renamed
                    .iter()
                    .find(|(synthetic, _)| *synthetic == origin)
                    .map_or(origin, |(_, seed)| format!("environment variable {seed}"));
                ConfigError::Invalid {
                    key,
                    origin,
                    reason,
                }
            }
            other => other,
        })
}

/// Checks a log level setting.
pub(crate) fn check_log_level(level: &str) -> Result<(), ConfigError> {
    platform::telemetry::level_directive(level)
        .map(|_| ())
        .map_err(|error| ConfigError::invalid("log_level", error.to_string()))
}
