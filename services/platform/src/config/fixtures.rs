//! The settings type the loaders' unit tests load: a port, a log level, a flag, a database
//! with a secret password and the HTTP limits, with the seed's file keys and secret files.

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct Settings {
    pub(super) port: u16,
    pub(super) log_level: String,
    pub(super) verbose: bool,
    pub(super) db: Db,
    pub(super) limits: crate::http::Limits,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            port: 5000,
            log_level: "info".to_owned(),
            verbose: false,
            db: Db::default(),
            limits: crate::http::Limits::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct Db {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) user: String,
    pub(super) password: SecretString,
}

impl Default for Db {
    fn default() -> Self {
        Self {
            host: "localhost".to_owned(),
            port: 3306,
            user: "admin".to_owned(),
            password: SecretString::from("admin"),
        }
    }
}

pub(super) const FILE_KEYS: &[(&str, &str)] = &[
    ("port", "port"),
    ("logLevel", "log_level"),
    ("dbHost", "db.host"),
    ("dbPort", "db.port"),
];
pub(super) const SECRET_KEYS: &[(&str, &str)] =
    &[("dbuser", "db.user"), ("dbpassword", "db.password")];
