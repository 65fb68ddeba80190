//! [`Layered`]: the loader under every service's settings. It merges defaults, an optional
//! seed-format file, `<PREFIX>__…` environment variables and a secrets directory, then
//! deserialises the result; errors name the setting and where its value came from (see the
//! [module documentation](super)).

use std::path::Path;

use figment::{
    value::{Dict, Map, Value},
    Figment, Metadata, Profile, Provider,
};
use serde::de::DeserializeOwned;

use super::{process_env, seed_file, ConfigError};

/// A layered settings loader; see the module documentation.
#[derive(Debug, Clone)]
pub struct Layered<'a> {
    env_prefix: String,
    file: Option<&'a Path>,
    file_aliases: &'a [(&'a str, &'a str)],
    secrets_dir: Option<&'a Path>,
    secret_aliases: &'a [(&'a str, &'a str)],
    env: Option<Vec<(String, String)>>,
}

/// Where a value came from, recorded so errors can name it.
#[derive(Debug, Clone)]
struct Entry {
    key: String,
    value: String,
    origin: String,
}

impl Provider for Entry {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.origin.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let nested = figment::util::nest(&self.key, Value::from(self.value.clone()));
        let dict = nested.into_dict().ok_or_else(|| {
            figment::Error::from(format!("`{}` is not a valid setting name", self.key))
        })?;
        Ok(Profile::Default.collect(dict))
    }
}

const SECRET_ORIGIN: &str = "secret file ";

impl<'a> Layered<'a> {
    /// A loader reading environment variables that start with `<env_prefix>__`.
    pub fn new(env_prefix: &str) -> Self {
        Self {
            env_prefix: env_prefix.to_owned(),
            file: None,
            file_aliases: &[],
            secrets_dir: None,
            secret_aliases: &[],
            env: None,
        }
    }

    /// Reads the seed-format file at `path` (when `Some`); `aliases` maps file keys to settings.
    #[must_use]
    pub fn file(mut self, path: Option<&'a Path>, aliases: &'a [(&'a str, &'a str)]) -> Self {
        self.file = path;
        self.file_aliases = aliases;
        self
    }

    /// Reads secrets from the files in `dir` (when `Some`); `aliases` maps file names to
    /// settings.
    #[must_use]
    pub fn secrets_dir(mut self, dir: Option<&'a Path>, aliases: &'a [(&'a str, &'a str)]) -> Self {
        self.secrets_dir = dir;
        self.secret_aliases = aliases;
        self
    }

    /// Uses these variables instead of the process environment (for tests).
    #[must_use]
    pub fn env_vars(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        self.env = Some(vars.into_iter().collect());
        self
    }

    /// Loads every layer, deserialises `T` and checks it with `validate` (a service's
    /// `Settings::validate`): what every service's `Settings::load` does.
    pub fn extract_valid<T: DeserializeOwned>(
        &self,
        validate: impl FnOnce(&T) -> Result<(), ConfigError>,
    ) -> Result<T, ConfigError> {
        let settings = self.extract()?;
        validate(&settings)?;
        Ok(settings)
    }

    /// Loads every layer and deserialises `T`.
    pub fn extract<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        let mut figment = Figment::new();
        for entry in self
            .file_entries()?
            .into_iter()
            .chain(self.env_entries())
            .chain(self.secret_entries()?)
        {
            figment = figment.merge(entry);
        }
        figment.extract_lossy::<T>().map_err(invalid_setting)
    }

    fn file_entries(&self) -> Result<Vec<Entry>, ConfigError> {
        let Some(path) = self.file else {
            return Ok(Vec::new());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_owned(),
            source,
        })?;
        let entries = seed_file::parse(path, &text)?;
        Ok(entries
            .into_iter()
            .map(|entry| Entry {
                key: alias(self.file_aliases, &entry.key),
                origin: format!(
                    "settings file {}, line {} (`{}`)",
                    path.display(),
                    entry.line,
                    entry.key
                ),
                value: entry.value,
            })
            .collect())
    }

    fn env_entries(&self) -> Vec<Entry> {
        let prefix = format!("{}__", self.env_prefix.to_ascii_uppercase());
        let vars: Vec<(String, String)> = match &self.env {
            Some(vars) => vars.clone(),
            None => process_env(),
        };
        vars.into_iter()
            .filter_map(|(name, value)| {
                let rest = name
                    .get(..prefix.len())
                    .filter(|head| head.eq_ignore_ascii_case(&prefix))
                    .map(|_| &name[prefix.len()..])?;
                if rest.is_empty() {
                    return None;
                }
                Some(Entry {
                    key: rest
                        .split("__")
                        .map(str::to_ascii_lowercase)
                        .collect::<Vec<_>>()
                        .join("."),
                    origin: format!("environment variable {name}"),
                    value,
                })
            })
            .collect()
    }

    fn secret_entries(&self) -> Result<Vec<Entry>, ConfigError> {
        let Some(dir) = self.secrets_dir else {
            return Ok(Vec::new());
        };
        let read_error = |path: &Path, source| ConfigError::ReadSecrets {
            path: path.to_owned(),
            source,
        };
        let mut entries = Vec::new();
        for item in std::fs::read_dir(dir).map_err(|e| read_error(dir, e))? {
            let item = item.map_err(|e| read_error(dir, e))?;
            let name = item.file_name().to_string_lossy().into_owned();
            let path = item.path();
            // `is_file` follows symlinks, as Kubernetes Secret volumes need; `..data` is hidden.
            if name.starts_with('.') || !path.is_file() {
                continue;
            }
            let mut value = std::fs::read_to_string(&path).map_err(|e| read_error(&path, e))?;
            if value.ends_with('\n') {
                value.pop();
                if value.ends_with('\r') {
                    value.pop();
                }
            }
            let key = match self.secret_aliases.iter().find(|(from, _)| *from == name) {
                Some((_, to)) => (*to).to_owned(),
                None => name.split("__").collect::<Vec<_>>().join("."),
            };
            entries.push(Entry {
                key,
                value,
                origin: format!("{SECRET_ORIGIN}{}", path.display()),
            });
        }
        entries.sort_by(|a, b| a.origin.cmp(&b.origin));
        Ok(entries)
    }
}

fn alias(aliases: &[(&str, &str)], key: &str) -> String {
    aliases
        .iter()
        .find(|(from, _)| *from == key)
        .map_or_else(|| key.to_owned(), |(_, to)| (*to).to_owned())
}

fn invalid_setting(error: figment::Error) -> ConfigError {
    use figment::error::Kind;

    // Figment's path already ends with the field for unknown fields; make sure it does for
    // missing ones too.
    let mut path = error.path.clone();
    let field = match &error.kind {
        Kind::MissingField(field) => Some(field.to_string()),
        Kind::UnknownField(field, _) => Some(field.clone()),
        _ => None,
    };
    if let Some(field) = field {
        if path.last() != Some(&field) {
            path.push(field);
        }
    }
    let key = path.join(".");
    let origin = error
        .metadata
        .as_ref()
        .map_or_else(|| "the defaults".to_owned(), |m| m.name.to_string());
    let reason = if origin.starts_with(SECRET_ORIGIN) {
        // The value is a secret: describe the problem without echoing it.
        match &error.kind {
            Kind::UnknownField(..) => "unknown setting".to_owned(),
            _ => "invalid value (not shown: it is a secret)".to_owned(),
        }
    } else {
        match &error.kind {
            Kind::UnknownField(field, expected) => {
                format!(
                    "unknown setting `{field}`; expected one of {}",
                    expected.join(", ")
                )
            }
            kind => kind.to_string(),
        }
    };
    ConfigError::Invalid {
        key,
        origin,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::fixtures::{Settings, FILE_KEYS, SECRET_KEYS};

    fn no_env() -> Vec<(String, String)> {
        Vec::new()
    }

    use crate::config::vars as env;

    #[test]
    fn defaults_when_nothing_is_given() {
        let settings: Settings = Layered::new("TEST").env_vars(no_env()).extract().unwrap();
        assert_eq!(settings.port, 5000);
        assert_eq!(settings.db.host, "localhost");
        assert_eq!(settings.db.password.expose_secret(), "admin");
    }

    #[test]
    fn file_overrides_defaults_with_seed_keys_and_dotted_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "# the seed's example\nport=5001\n\nlogLevel=4\ndbHost=10.0.0.223\ndbPort=6603\nlimits.request_timeout=500ms\n",
        )
        .unwrap();
        let settings: Settings = Layered::new("TEST")
            .file(Some(&path), FILE_KEYS)
            .env_vars(no_env())
            .extract()
            .unwrap();
        assert_eq!(settings.port, 5001);
        assert_eq!(settings.log_level, "4");
        assert_eq!(settings.db.host, "10.0.0.223");
        assert_eq!(settings.db.port, 6603);
        assert_eq!(settings.limits.request_timeout, Duration::from_millis(500));
        assert_eq!(settings.db.user, "admin");
    }

    #[test]
    fn env_overrides_file_with_double_underscore_nesting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "dbHost=from-file\nport=5001\n").unwrap();
        let settings: Settings = Layered::new("TEST")
            .file(Some(&path), FILE_KEYS)
            .env_vars(env(&[
                ("TEST__DB__HOST", "from-env"),
                ("TEST__VERBOSE", "true"),
                ("TEST__LIMITS__CONCURRENCY_LIMIT", "7"),
                ("TEST__DB__PASSWORD", "12345"),
                ("OTHER__PORT", "1"),
                ("TEST_PORT", "2"),
            ]))
            .extract()
            .unwrap();
        assert_eq!(settings.db.host, "from-env");
        assert_eq!(settings.port, 5001);
        assert!(settings.verbose);
        assert_eq!(settings.limits.concurrency_limit, 7);
        // A numeric-looking password stays a string.
        assert_eq!(settings.db.password.expose_secret(), "12345");
    }

    #[test]
    fn secrets_override_env_and_lose_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dbuser"), "someuser\n").unwrap();
        std::fs::write(dir.path().join("dbpassword"), "some=pass word\n\n").unwrap();
        std::fs::create_dir(dir.path().join("..data")).unwrap();
        std::fs::write(dir.path().join(".hidden"), "x").unwrap();
        let settings: Settings = Layered::new("TEST")
            .env_vars(env(&[("TEST__DB__USER", "env-user")]))
            .secrets_dir(Some(dir.path()), SECRET_KEYS)
            .extract()
            .unwrap();
        assert_eq!(settings.db.user, "someuser");
        assert_eq!(settings.db.password.expose_secret(), "some=pass word\n");
    }

    #[cfg(unix)]
    #[test]
    fn secrets_through_symlinks_like_kubernetes_volumes() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("..2024_01_01");
        std::fs::create_dir(&data).unwrap();
        std::fs::write(data.join("dbuser"), "k8s-user").unwrap();
        std::os::unix::fs::symlink(&data, dir.path().join("..data")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("..data/dbuser"), dir.path().join("dbuser"))
            .unwrap();
        let settings: Settings = Layered::new("TEST")
            .env_vars(no_env())
            .secrets_dir(Some(dir.path()), SECRET_KEYS)
            .extract()
            .unwrap();
        assert_eq!(settings.db.user, "k8s-user");
    }

    #[test]
    fn missing_secrets_dir_is_an_error() {
        let error = Layered::new("TEST")
            .env_vars(no_env())
            .secrets_dir(Some(Path::new("/nonexistent/secrets")), SECRET_KEYS)
            .extract::<Settings>()
            .unwrap_err();
        assert!(matches!(error, ConfigError::ReadSecrets { .. }), "{error}");
    }

    #[test]
    fn bad_value_names_the_key_and_the_source() {
        let error = Layered::new("TEST")
            .env_vars(env(&[("TEST__DB__PORT", "not-a-port")]))
            .extract::<Settings>()
            .unwrap_err();
        assert_eq!(error.key(), Some("db.port"));
        let message = error.to_string();
        assert!(message.contains("`db.port`"), "{message}");
        assert!(message.contains("TEST__DB__PORT"), "{message}");
    }

    #[test]
    fn bad_file_value_names_the_file_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "port=5000\ndbPort=abc\n").unwrap();
        let error = Layered::new("TEST")
            .file(Some(&path), FILE_KEYS)
            .env_vars(no_env())
            .extract::<Settings>()
            .unwrap_err();
        let message = error.to_string();
        assert_eq!(error.key(), Some("db.port"), "{message}");
        assert!(message.contains("line 2 (`dbPort`)"), "{message}");
    }

    #[test]
    fn unknown_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "dbHots=typo\n").unwrap();
        let error = Layered::new("TEST")
            .file(Some(&path), FILE_KEYS)
            .env_vars(no_env())
            .extract::<Settings>()
            .unwrap_err();
        assert_eq!(error.key(), Some("dbHots"), "{error}");

        let error = Layered::new("TEST")
            .env_vars(env(&[("TEST__DB__HOTS", "typo")]))
            .extract::<Settings>()
            .unwrap_err();
        assert_eq!(error.key(), Some("db.hots"), "{error}");
    }

    #[test]
    fn secret_values_are_not_echoed_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("port"), "hunter2").unwrap();
        let error = Layered::new("TEST")
            .env_vars(no_env())
            .secrets_dir(Some(dir.path()), SECRET_KEYS)
            .extract::<Settings>()
            .unwrap_err();
        assert_eq!(error.key(), Some("port"));
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    #[test]
    fn unreadable_file_is_an_error() {
        let error = Layered::new("TEST")
            .file(Some(Path::new("/nonexistent/config")), FILE_KEYS)
            .env_vars(no_env())
            .extract::<Settings>()
            .unwrap_err();
        assert!(error.to_string().contains("/nonexistent/config"), "{error}");
    }
}
