//! [`Layout`]: where one binary's settings come from, declared once as a `const` and loaded
//! with [`Layout::load`]. It is [`Layered`] plus the seed's own environment variable names
//! (`REDIS_HOST`, `PORT`, `MONGODB_URL`, …): each counts as the `<PREFIX>__…` variable of its
//! setting unless that variable is set, and errors about its value name the seed's variable.
//!
//! A service's `Settings` implement [`Load`]: its layout and its checks; loading comes with it.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::{process_env, ConfigError, Layered};

/// A name (seed variable, config file key or secret file) and the dotted setting it sets.
pub type Alias = (&'static str, &'static str);

/// How the values of a [`Layout`]'s seed variables are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedValues {
    /// Trimmed of surrounding whitespace; an empty value counts as unset (what the Go seeds
    /// did with their variables).
    Trimmed,
    /// As given, empty values included (so that an empty value still fails where a setting
    /// needs one).
    AsGiven,
}

/// Where one binary's settings come from, besides the config file and secrets directory it is
/// given: its environment prefix and the seed's names for its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// `<PREFIX>__A__B` sets `a.b`.
    pub prefix: &'static str,
    /// The seed's variables and the settings they set, below the `<PREFIX>__…` variables.
    pub seed_vars: &'static [Alias],
    /// How the seed variables' values are read.
    pub seed_values: SeedValues,
    /// Config file keys (the seed's or the Helm values' names) and the settings they set; other
    /// keys are dotted setting names.
    pub file_keys: &'static [Alias],
    /// Secret file names and the settings they set; other files are setting names with `__`
    /// as the separator.
    pub secret_files: &'static [Alias],
}

impl Layout {
    /// The `<PREFIX>__A__B` variable of the dotted setting `a.b`.
    pub fn env_var(&self, key: &str) -> String {
        format!(
            "{}__{}",
            self.prefix,
            key.split('.')
                .map(str::to_ascii_uppercase)
                .collect::<Vec<_>>()
                .join("__")
        )
    }

    /// Loads `T` from the process environment and the given file and secrets directory (each
    /// optional), then checks it with `validate` (the service's `Settings::validate`); fails
    /// naming the bad setting and where its value came from.
    pub fn load<T: DeserializeOwned>(
        &self,
        config_file: Option<&Path>,
        secrets_dir: Option<&Path>,
        validate: impl FnOnce(&T) -> Result<(), ConfigError>,
    ) -> Result<T, ConfigError> {
        self.load_with_env(config_file, secrets_dir, process_env(), validate)
    }

    /// Like [`Layout::load`] with these variables instead of the process environment.
    pub fn load_with_env<T: DeserializeOwned>(
        &self,
        config_file: Option<&Path>,
        secrets_dir: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        validate: impl FnOnce(&T) -> Result<(), ConfigError>,
    ) -> Result<T, ConfigError> {
        let mut env: Vec<(String, String)> = env.into_iter().collect();
        // The origin each stand-in variable would be named by, and the seed variable it stands
        // for, so that errors name what the user set.
        let mut renamed: Vec<(String, &'static str)> = Vec::new();
        for (seed, key) in self.seed_vars {
            let target = self.env_var(key);
            if env
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case(&target))
            {
                continue;
            }
            let Some(value) = env
                .iter()
                .find(|(name, _)| name == seed)
                .map(|(_, value)| self.seed_value(value))
            else {
                continue;
            };
            if value.is_empty() && self.seed_values == SeedValues::Trimmed {
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
                        .find(|(stand_in, _)| *stand_in == origin)
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

    fn seed_value(&self, value: &str) -> String {
        match self.seed_values {
            SeedValues::Trimmed => value.trim().to_owned(),
            SeedValues::AsGiven => value.to_owned(),
        }
    }
}

/// Settings that load through a [`Layout`]: a service declares [`Load::LAYOUT`] and
/// [`Load::validate`], and gets [`Load::load`] and [`Load::load_with_env`].
pub trait Load: DeserializeOwned {
    /// Where the settings come from, besides the given file and secrets directory.
    const LAYOUT: Layout;

    /// Checks what types cannot (positive sizes, a usable log level, an address to talk to…);
    /// the error names the bad setting.
    fn validate(&self) -> Result<(), ConfigError>;

    /// Loads the settings from the process environment and the given file and secrets
    /// directory (each optional) and checks them; fails naming the bad setting.
    fn load(config_file: Option<&Path>, secrets_dir: Option<&Path>) -> Result<Self, ConfigError> {
        Self::LAYOUT.load(config_file, secrets_dir, Self::validate)
    }

    /// Like [`Load::load`] with these variables instead of the process environment.
    fn load_with_env(
        config_file: Option<&Path>,
        secrets_dir: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        Self::LAYOUT.load_with_env(config_file, secrets_dir, env, Self::validate)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::{
        fixtures::{Settings, FILE_KEYS, SECRET_KEYS},
        vars as env,
    };

    const LAYOUT: Layout = Layout {
        prefix: "TEST",
        seed_vars: &[
            ("PORT", "port"),
            ("LOG_LEVEL", "log_level"),
            ("DB_HOST", "db.host"),
        ],
        seed_values: SeedValues::Trimmed,
        file_keys: FILE_KEYS,
        secret_files: SECRET_KEYS,
    };

    const AS_GIVEN: Layout = Layout {
        seed_values: SeedValues::AsGiven,
        ..LAYOUT
    };

    fn load(layout: &Layout, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        layout.load_with_env(None, None, env(vars), |_: &Settings| Ok(()))
    }

    #[test]
    fn env_var_names_the_prefixed_variable_of_a_setting() {
        assert_eq!(LAYOUT.env_var("port"), "TEST__PORT");
        assert_eq!(LAYOUT.env_var("db.host"), "TEST__DB__HOST");
    }

    #[test]
    fn seed_variables_set_their_settings_trimmed_and_empty_ones_are_unset() {
        let vars = [("PORT", " 9000 "), ("DB_HOST", "db"), ("LOG_LEVEL", "  ")];
        let settings = load(&LAYOUT, &vars).unwrap();
        assert_eq!(settings.port, 9000);
        assert_eq!(settings.db.host, "db");
        assert_eq!(settings.log_level, "info");
    }

    #[test]
    fn as_given_seed_values_keep_whitespace_and_empty_values() {
        let settings = load(&AS_GIVEN, &[("LOG_LEVEL", " debug "), ("DB_HOST", "")]).unwrap();
        assert_eq!(settings.log_level, " debug ");
        assert_eq!(settings.db.host, "");
    }

    #[test]
    fn prefixed_variables_win_over_seed_ones_in_any_case() {
        let settings = load(&LAYOUT, &[("PORT", "9000"), ("TEST__PORT", "0")]).unwrap();
        assert_eq!(settings.port, 0);
        let settings = load(&LAYOUT, &[("DB_HOST", "seed"), ("test__db__host", "own")]).unwrap();
        assert_eq!(settings.db.host, "own");
    }

    #[test]
    fn a_bad_seed_value_names_the_seed_variable() {
        let error = load(&LAYOUT, &[("PORT", "http")]).unwrap_err();
        assert_eq!(error.key(), Some("port"));
        let message = error.to_string();
        assert!(message.contains("environment variable PORT"), "{message}");
        assert!(!message.contains("TEST__PORT"), "{message}");
        let error = load(&LAYOUT, &[("TEST__PORT", "http")]).unwrap_err();
        assert!(error.to_string().contains("TEST__PORT"), "{error}");
    }

    #[test]
    fn file_keys_and_secret_files_are_the_layouts() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(&config, "dbHost=from-file\nlogLevel=4\n").unwrap();
        let secrets = dir.path().join("secrets");
        std::fs::create_dir(&secrets).unwrap();
        std::fs::write(secrets.join("dbpassword"), "s3cret\n").unwrap();
        let settings: Settings = LAYOUT
            .load_with_env(Some(&config), Some(&secrets), env(&[]), |_: &Settings| {
                Ok(())
            })
            .unwrap();
        assert_eq!(settings.db.host, "from-file");
        assert_eq!(settings.log_level, "4");
        assert_eq!(settings.db.password.expose_secret(), "s3cret");
    }

    impl Load for Settings {
        const LAYOUT: Layout = LAYOUT;

        fn validate(&self) -> Result<(), ConfigError> {
            if self.log_level.is_empty() {
                return Err(ConfigError::invalid("log_level", "must not be empty"));
            }
            Ok(())
        }
    }

    #[test]
    fn settings_that_implement_load_load_through_their_layout_and_checks() {
        let settings = Settings::load_with_env(None, None, env(&[("PORT", "9000")])).unwrap();
        assert_eq!(settings.port, 9000);
        let error =
            Settings::load_with_env(None, None, env(&[("TEST__LOG_LEVEL", "")])).unwrap_err();
        assert_eq!(error.key(), Some("log_level"));
    }

    #[test]
    fn validation_runs_on_the_loaded_settings() {
        let error = LAYOUT
            .load_with_env(None, None, env(&[("PORT", "1")]), |settings: &Settings| {
                if settings.port < 1024 {
                    Err(ConfigError::invalid("port", "must be 1024 or above"))
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
        assert_eq!(error.key(), Some("port"));
        assert!(error.to_string().contains("1024"), "{error}");
    }
}
