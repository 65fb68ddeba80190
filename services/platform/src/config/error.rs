//! [`ConfigError`]: why settings could not be loaded, naming the file, line or setting at fault.

use std::path::PathBuf;

/// Why settings could not be loaded. Every variant names the file, line or setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The settings file exists but cannot be read.
    #[error("cannot read settings file {path}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line of the settings file is not `key=value`.
    #[error("{path}:{line}: expected `key=value`, got {text:?}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The offending line.
        text: String,
    },
    /// The secrets directory (or a file in it) cannot be read.
    #[error("cannot read secrets from {path}")]
    ReadSecrets {
        /// The directory or file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A setting has a bad value, is unknown, or is missing.
    #[error("invalid setting `{key}` (from {origin}): {reason}")]
    Invalid {
        /// The dotted setting name, e.g. `db.port`.
        key: String,
        /// Where the value came from, e.g. `environment variable ACCOUNTD__DB__PORT`.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl ConfigError {
    /// A semantic error found after loading (e.g. "must be greater than zero").
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            origin: "the loaded settings".to_owned(),
            reason: reason.into(),
        }
    }

    /// The setting at fault, when the error is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}
