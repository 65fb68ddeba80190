//! Settings loading shared by the three binaries: [`platform::config::Layered`] plus the
//! seed's own environment variable names (`REDIS_HOST`, `REST_SERVER_PORT`, …), which count as
//! `<PREFIX>__…` variables unless those are set. Values are trimmed (as the seed did); empty ones
//! count as unset. Errors name the variable the value came from.

use std::path::Path;

use platform::config::{ConfigError, Layered};
use serde::de::DeserializeOwned;

/// A seed environment variable and the dotted setting it sets.
pub(crate) type Alias = (&'static str, &'static str);

/// Where one binary's settings come from, besides the config file and secrets directory it
/// is given.
pub(crate) struct Layout {
    /// `<PREFIX>__A__B` sets `a.b`.
    pub prefix: &'static str,
    /// The seed's variables and the settings they set.
    pub seed_vars: &'static [Alias],
    /// Config file keys (the Helm values' names) and the settings they set.
    pub file_keys: &'static [(&'static str, &'static str)],
    /// Secret file names and the settings they set.
    pub secret_files: &'static [(&'static str, &'static str)],
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

impl Layout {
    /// Loads `T` from `config_file`, `env` and `secrets_dir` (each optional) and checks it with
    /// `validate`.
    pub(crate) fn load<T: DeserializeOwned>(
        &self,
        config_file: Option<&Path>,
        secrets_dir: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        validate: impl FnOnce(&T) -> Result<(), ConfigError>,
    ) -> Result<T, ConfigError> {
        let mut env: Vec<(String, String)> = env.into_iter().collect();
        let mut renamed: Vec<(String, &'static str)> = Vec::new();
        for (seed, key) in self.seed_vars {
            let target = prefixed(self.prefix, key);
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
        Layered::new(self.prefix)
            .file(config_file, self.file_keys)
            .secrets_dir(secrets_dir, self.secret_files)
            .env_vars(env)
            .extract_valid(validate)
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
}
