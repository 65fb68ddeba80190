//! event-producer's command line: `event-producer [--config-file PATH] [--secrets-dir PATH]`.
//! Everything else is a setting (see [`super::settings`]).

use std::path::PathBuf;

use clap::Parser;

/// The config file read when it exists and no flag names another.
pub const DEFAULT_CONFIG_FILE: &str = "/opt/mockvideo/event-producer/config/config";
/// The secrets directory read when it exists and no flag names another.
pub const DEFAULT_SECRETS_DIR: &str = "/opt/mockvideo/event-producer/secrets";

/// Accepts events over HTTP (POST /event) and appends them to a Redis stream.
#[derive(Debug, Parser)]
#[command(
    name = "event-producer",
    version,
    after_help = "\
Settings come from, in order: defaults, the config file (key=value lines: port, redisHost, \
redisPort, redisStream, maxLen, logLevel, or dotted names such as limits.body_limit_bytes), the \
original's variables (REST_SERVER_PORT, REDIS_URL, REDIS_HOST, REDIS_PORT, REDIS_PASSWORD, \
REDIS_STREAM, REDIS_STREAM_MAX_LEN, REDIS_WRITE_TIMEOUT, LOG_LEVEL), EVENT_PRODUCER__* variables \
(EVENT_PRODUCER__PORT, EVENT_PRODUCER__REDIS__HOST, EVENT_PRODUCER__WRITE_TIMEOUT, ...), and the \
file redis-password in the secrets directory.

POST /event {\"description\":\"...\"} answers 200 once the event is in the stream (field \
EventStream), 503 with Retry-After while Redis is unreachable. /metrics, /livez and /readyz \
are on the same port (default 8080). SIGTERM drains in-flight requests, then exits.

Example:
  REDIS_URL=redis://127.0.0.1:6379 REST_SERVER_PORT=8080 event-producer
  curl -X POST -d '{\"description\":\"hello world\"}' http://127.0.0.1:8080/event"
)]
pub struct Cli {
    /// Config file of key=value lines [default: /opt/mockvideo/event-producer/config/config, if it exists]
    #[arg(long, value_name = "PATH", env = "EVENT_PRODUCER_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,

    /// Directory holding the secret file redis-password [default: /opt/mockvideo/event-producer/secrets, if it exists]
    #[arg(long, value_name = "PATH", env = "EVENT_PRODUCER_SECRETS_DIR")]
    pub secrets_dir: Option<PathBuf>,
}

impl Cli {
    /// The config file to read: the flag's, else the default when it exists.
    pub fn config_file(&self) -> Option<PathBuf> {
        platform::cli::flag_or_existing(self.config_file.clone(), DEFAULT_CONFIG_FILE)
    }

    /// The secrets directory to read: the flag's, else the default when it exists.
    pub fn secrets_dir(&self) -> Option<PathBuf> {
        platform::cli::flag_or_existing(self.secrets_dir.clone(), DEFAULT_SECRETS_DIR)
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn help_names_the_seed_variables() {
        Cli::command().debug_assert();
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("REDIS_STREAM_MAX_LEN"), "{help}");
        assert!(help.contains("Example:"), "{help}");
    }
}
