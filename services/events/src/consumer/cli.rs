//! event-consumer's command line: `event-consumer [--config-file PATH] [--secrets-dir PATH]`.
//! Everything else is a setting (see [`super::settings`]).

use std::path::PathBuf;

use clap::Parser;

/// The config file read when it exists and no flag names another.
pub const DEFAULT_CONFIG_FILE: &str = "/opt/mockvideo/event-consumer/config/config";
/// The secrets directory read when it exists and no flag names another.
pub const DEFAULT_SECRETS_DIR: &str = "/opt/mockvideo/event-consumer/secrets";

/// Consumes the notification stream in a Redis consumer group: every event processed exactly
/// once, poison entries moved to a dead-letter stream.
#[derive(Debug, Parser)]
#[command(
    name = "event-consumer",
    version,
    after_help = "\
Settings come from, in order: defaults, the config file (key=value lines: redisHost, redisPort, \
redisStream, consumerGroup, consumer, logLevel, or dotted names such as claim_min_idle), the \
original's variables (REDIS_URL, REDIS_HOST, REDIS_PORT, REDIS_PASSWORD, REDIS_STREAM, \
REDIS_CONSUMER_GROUP, REDIS_CONSUMER, REDIS_READ_TIMEOUT, REDIS_RETRY_PERIOD, LOG_LEVEL), \
EVENT_CONSUMER__* variables (EVENT_CONSUMER__GROUP, EVENT_CONSUMER__BATCH_SIZE, \
EVENT_CONSUMER__CLAIM_MIN_IDLE, EVENT_CONSUMER__MAX_DELIVERIES, \
EVENT_CONSUMER__DEAD_LETTER_STREAM, ...), and the file redis-password in the secrets directory.

Processed events are recorded in the list <stream>:<group>:processed (the newest \
EVENT_CONSUMER__PROCESSED_MAX_LEN, default 10000; their ids for EVENT_CONSUMER__SEEN_WINDOW, \
default 5 min, in the sorted set <stream>:<group>:seen-window). Every \
EVENT_CONSUMER__TRIM_INTERVAL (default 10 s) the stream is trimmed below what every consumer \
group has read and acknowledged. /metrics, /livez and /readyz are on the admin port (default 9092). \
SIGTERM finishes the batch in hand, then exits 0.

Example:
  REDIS_URL=redis://127.0.0.1:6379 REDIS_CONSUMER=consumer-1 event-consumer"
)]
pub struct Cli {
    /// Config file of key=value lines [default: /opt/mockvideo/event-consumer/config/config, if it exists]
    #[arg(long, value_name = "PATH", env = "EVENT_CONSUMER_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,

    /// Directory holding the secret file redis-password [default: /opt/mockvideo/event-consumer/secrets, if it exists]
    #[arg(long, value_name = "PATH", env = "EVENT_CONSUMER_SECRETS_DIR")]
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
        assert!(help.contains("REDIS_CONSUMER_GROUP"), "{help}");
        assert!(help.contains("Example:"), "{help}");
    }
}
