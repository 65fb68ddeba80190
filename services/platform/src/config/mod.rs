//! Layered settings: defaults → optional file → environment → secrets directory.
//!
//! A service describes its settings as a `Deserialize` struct with `#[serde(default)]` (the
//! defaults) and `#[serde(deny_unknown_fields)]`, and implements [`Load`]: where they come from
//! (a [`Layout`]) and what types cannot check. Loading comes with it:
//!
//! ```
//! # use serde::Deserialize;
//! use platform::config::{vars, ConfigError, Layout, Load, SeedValues};
//!
//! #[derive(Debug, Default, Deserialize)]
//! #[serde(default, deny_unknown_fields)]
//! struct Settings { port: u16, db: Db }
//! #[derive(Debug, Default, Deserialize)]
//! #[serde(default, deny_unknown_fields)]
//! struct Db { host: String, user: String }
//!
//! impl Load for Settings {
//!     const LAYOUT: Layout = Layout {
//!         prefix: "DEMO",
//!         seed_vars: &[("DB_HOST", "db.host")],    // the original's variable → setting
//!         seed_values: SeedValues::Trimmed,
//!         file_keys: &[("dbHost", "db.host")],     // seed file key → setting
//!         secret_files: &[("dbuser", "db.user")],  // file name → setting
//!     };
//!
//!     fn validate(&self) -> Result<(), ConfigError> {
//!         Ok(())
//!     }
//! }
//!
//! let settings = Settings::load_with_env(
//!     None,
//!     None,
//!     vars(&[("DB_HOST", "mysql"), ("DEMO__PORT", "8080")]),
//! )?;
//! assert_eq!((settings.db.host.as_str(), settings.port), ("mysql", 8080));
//! # Ok::<(), ConfigError>(())
//! ```
//!
//! Under a [`Layout`] is [`Layered`], which merges:
//!
//! - **File**: the seed's `key=value` format ([`seed_file`]). Each key is looked up in the
//!   alias table (the seed's camelCase names), otherwise used as a dotted setting path
//!   (`db.host=…`).
//! - **Environment**: `<PREFIX>__A__B=value` sets `a.b` (`ACCOUNTD__DB__HOST` → `db.host`); a
//!   [`Layout`]'s seed variables count as such a variable unless it is set.
//! - **Secrets directory**: every regular, non-hidden file is a setting (aliases first, else the
//!   file name with `__` as the separator); the content loses one trailing newline. Kubernetes
//!   Secret volumes (symlinks, `..data`) work.
//!
//! Every value arrives as a string and is converted to the field's type (numbers, booleans).
//! Errors name the setting and where its value came from; values from the secrets directory are
//! never shown.

mod error;
#[cfg(test)]
mod fixtures;
mod layered;
mod layout;
pub mod seed_file;

pub use error::ConfigError;
pub use layered::Layered;
pub use layout::{Alias, Layout, Load, SeedValues};

/// The process environment as UTF-8 pairs (variables that are not UTF-8 are skipped).
pub fn process_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

/// Owned variables from string pairs, for [`Layered::env_vars`] and the services'
/// `Settings::load_with_env` (in tests and launchers).
pub fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

/// Checks a `log_level` setting (the seed's 0–6 or an `EnvFilter` directive); the error names
/// `log_level`.
pub fn check_log_level(level: &str) -> Result<(), ConfigError> {
    crate::telemetry::level_directive(level)
        .map(|_| ())
        .map_err(|error| ConfigError::invalid("log_level", error.to_string()))
}
