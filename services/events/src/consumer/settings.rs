//! event-consumer's settings, loaded in layers through [`Load`] (see [`platform::config`]): defaults → config
//! file → the seed's variables → `EVENT_CONSUMER__…` environment → secrets directory.
//!
//! | setting | environment | seed variable | default |
//! |---|---|---|---|
//! | `redis.url` | `EVENT_CONSUMER__REDIS__URL` | `REDIS_URL` | none |
//! | `redis.host` / `redis.port` | `EVENT_CONSUMER__REDIS__HOST` / `…__PORT` | `REDIS_HOST` / `REDIS_PORT` | `127.0.0.1` / 6379 |
//! | `redis.password` | `EVENT_CONSUMER__REDIS__PASSWORD`, secret file `redis-password` | `REDIS_PASSWORD` | none |
//! | `redis.stream` | `EVENT_CONSUMER__REDIS__STREAM` | `REDIS_STREAM` | `NotificationStream` |
//! | `group` | `EVENT_CONSUMER__GROUP` | `REDIS_CONSUMER_GROUP` | `demo_consumer_group` |
//! | `consumer` | `EVENT_CONSUMER__CONSUMER` | `REDIS_CONSUMER` | `consumer-<hostname or pid>` |
//! | `admin_port` | `EVENT_CONSUMER__ADMIN_PORT` | | 9092 |
//! | `batch_size` | `EVENT_CONSUMER__BATCH_SIZE` | | 100 |
//! | `block` | `EVENT_CONSUMER__BLOCK` | `REDIS_READ_TIMEOUT` (s) | 1 s |
//! | `claim_min_idle` | `EVENT_CONSUMER__CLAIM_MIN_IDLE` | | 30 s |
//! | `claim_interval` | `EVENT_CONSUMER__CLAIM_INTERVAL` | | 5 s |
//! | `max_deliveries` | `EVENT_CONSUMER__MAX_DELIVERIES` | | 3 |
//! | `dead_letter_stream` | `EVENT_CONSUMER__DEAD_LETTER_STREAM` | | `<stream>:dead` |
//! | `retry_period` | `EVENT_CONSUMER__RETRY_PERIOD` | `REDIS_RETRY_PERIOD` (s) | 1 s |
//! | `seen_window` | `EVENT_CONSUMER__SEEN_WINDOW` | | 5 min |
//! | `processed_record` | `EVENT_CONSUMER__PROCESSED_RECORD` | | `true` |
//! | `processed_max_len` | `EVENT_CONSUMER__PROCESSED_MAX_LEN` | | 10000 |
//! | `trim_stream` | `EVENT_CONSUMER__TRIM_STREAM` | | `true` |
//! | `trim_interval` | `EVENT_CONSUMER__TRIM_INTERVAL` | | 10 s |
//! | `log_level` | `EVENT_CONSUMER__LOG_LEVEL` | `LOG_LEVEL` | `info` |
//!
//! ## What Redis holds, and its bounds
//!
//! - **The de-duplication record** (`<stream>:<group>:seen-window`, a sorted set of NM ids
//!   scored by the Redis server's clock when applied) keeps the ids applied in the last
//!   `seen_window`; older ones are removed by every batch, and the whole key expires after
//!   `seen_window` without a batch. Its size is at most the events of one window.
//!
//!   *Sizing.* An entry applied by one consumer can reach a second one in two ways. (1) The
//!   claim race: consumer A holds a batch it read while consumer B claims the same entries,
//!   which `XAUTOCLAIM` does no earlier than `claim_min_idle` after A's read; the batch script
//!   checks that every entry is still pending before applying it, which catches this race
//!   however long A stalls. (2) The same Notification Message in a second entry (a replay, a
//!   re-post of the same JSON): caught while its id is in the window. The window is also the
//!   second line of defence for (1), so it must outlast `claim_min_idle` plus the longest a
//!   batch can be in hand (one command's response timeout: `block` + 5 s):
//!   [`min_seen_window`]; a shorter one is refused at start-up, naming both settings. The
//!   default, 5 min, is ten times the default `claim_min_idle` (30 s): a consumer stalled for
//!   minutes is still caught. Measured (`features/robustness/events/redis_growth.feature`):
//!   about 120 bytes per id in Redis, so 1,000 events/s for 5 min hold 300,000 ids, about
//!   35 MiB; the seed's rate (a few events a second) holds a few hundred KiB.
//! - **The processed record** (`<stream>:<group>:processed`, a list) keeps the last
//!   `processed_max_len` records (`LTRIM` in the same script), or none when `processed_record`
//!   is false; `<stream>:<group>:processed-count` counts every record ever appended, so a reader
//!   can tell how many it missed. A record is about 95 bytes plus its description (10,000
//!   records of short descriptions: about 950 KiB), so the description size cap bounds it too.
//! - **The stream** is trimmed every `trim_interval` (when `trim_stream`) below what every
//!   consumer group is done with (see [`super::trim`]): an entry that any group has not read,
//!   or read and not acknowledged, is never trimmed.

use std::time::Duration;

use platform::config::{ConfigError, Layout, Load, SeedValues};
use serde::Deserialize;

use super::record::dead_letter_key;

/// Added to `block` for the response timeout of every consumer command: the longest a batch
/// can be in hand between its read and its script.
pub const RESPONSE_MARGIN: Duration = Duration::from_secs(5);

/// The shortest de-duplication window that still catches an entry claimed by another consumer
/// while the first one holds it: `claim_min_idle` (the earliest a claim can happen) plus the
/// longest a batch can be in hand (`block` + [`RESPONSE_MARGIN`]).
pub fn min_seen_window(claim_min_idle: Duration, block: Duration) -> Duration {
    claim_min_idle + block + RESPONSE_MARGIN
}
use crate::redis_link::{RedisSettings, REDIS_SECRET_FILES};

/// Environment variable prefix: `EVENT_CONSUMER__REDIS__HOST` sets `redis.host`.
pub const ENV_PREFIX: &str = "EVENT_CONSUMER";

/// The seed's group name.
pub const DEFAULT_GROUP: &str = "demo_consumer_group";

/// Everything event-consumer needs to start.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Redis and the stream.
    pub redis: RedisSettings,
    /// Consumer group. Default `demo_consumer_group`.
    pub group: String,
    /// This consumer's name in the group; keep it stable across restarts so the pending
    /// entries of a killed process are read first by its successor.
    pub consumer: String,
    /// Admin HTTP port (`/metrics`, `/livez`, `/readyz`); 0 picks a free one. Default 9092.
    pub admin_port: u16,
    /// Entries per read and per claim. Default 100.
    pub batch_size: usize,
    /// `XREADGROUP … BLOCK`: how long one read waits for new entries. Default 1 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub block: Duration,
    /// `XAUTOCLAIM` min idle time: entries pending that long elsewhere are taken. Default 30 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub claim_min_idle: Duration,
    /// How often to run `XAUTOCLAIM`. Default 5 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub claim_interval: Duration,
    /// Deliveries after which an entry that cannot be processed goes to the dead-letter
    /// stream. Default 3.
    pub max_deliveries: u64,
    /// Dead-letter stream; default `<stream>:dead`.
    pub dead_letter_stream: Option<String>,
    /// Pause after a Redis error before reconnecting. Default 1 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub retry_period: Duration,
    /// Log level when `RUST_LOG` is unset. Default `info`.
    pub log_level: String,
    /// How long an applied NM id stays in the de-duplication record; at least
    /// [`min_seen_window`]. Default 5 min (see the module docs).
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub seen_window: Duration,
    /// Whether to keep the processed record (the list of applied events). Default `true`.
    pub processed_record: bool,
    /// Most records the processed list keeps (the newest). Default 10,000.
    pub processed_max_len: u64,
    /// Whether to trim the stream below what every consumer group is done with. Default `true`.
    pub trim_stream: bool,
    /// How often to trim the stream. Default 10 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub trim_interval: Duration,
}

/// `consumer-<hostname>`, else `consumer-<pid>`.
pub fn default_consumer_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty());
    match host {
        Some(host) => format!("consumer-{host}"),
        None => format!("consumer-{}", std::process::id()),
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            redis: RedisSettings::default(),
            group: DEFAULT_GROUP.to_owned(),
            consumer: default_consumer_name(),
            admin_port: 9092,
            batch_size: 100,
            block: Duration::from_secs(1),
            claim_min_idle: Duration::from_secs(30),
            claim_interval: Duration::from_secs(5),
            max_deliveries: 3,
            dead_letter_stream: None,
            retry_period: Duration::from_secs(1),
            log_level: "info".to_owned(),
            seen_window: Duration::from_secs(300),
            processed_record: true,
            processed_max_len: 10_000,
            trim_stream: true,
            trim_interval: Duration::from_secs(10),
        }
    }
}

impl Settings {
    /// The dead-letter stream: the setting, else `<stream>:dead`.
    pub fn dead_letter_stream(&self) -> String {
        self.dead_letter_stream
            .clone()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| dead_letter_key(&self.redis.stream))
    }
}

impl Load for Settings {
    const LAYOUT: Layout = Layout {
        prefix: ENV_PREFIX,
        seed_vars: &[
            ("REDIS_URL", "redis.url"),
            ("REDIS_HOST", "redis.host"),
            ("REDIS_PORT", "redis.port"),
            ("REDIS_PASSWORD", "redis.password"),
            ("REDIS_STREAM", "redis.stream"),
            ("REDIS_CONSUMER_GROUP", "group"),
            ("REDIS_CONSUMER", "consumer"),
            ("REDIS_READ_TIMEOUT", "block"),
            ("REDIS_RETRY_PERIOD", "retry_period"),
            ("LOG_LEVEL", "log_level"),
        ],
        seed_values: SeedValues::Trimmed,
        file_keys: &[
            ("redisHost", "redis.host"),
            ("redisPort", "redis.port"),
            ("redisStream", "redis.stream"),
            ("consumerGroup", "group"),
            ("consumer", "consumer"),
            ("logLevel", "log_level"),
        ],
        secret_files: REDIS_SECRET_FILES,
    };

    /// Checks what types cannot.
    fn validate(&self) -> Result<(), ConfigError> {
        platform::config::check_log_level(&self.log_level)?;
        for (key, value) in [("group", &self.group), ("consumer", &self.consumer)] {
            if value.trim().is_empty() {
                return Err(ConfigError::invalid(key, "must not be empty"));
            }
        }
        if self.batch_size == 0 {
            return Err(ConfigError::invalid(
                "batch_size",
                "must be greater than zero",
            ));
        }
        if self.max_deliveries == 0 {
            return Err(ConfigError::invalid(
                "max_deliveries",
                "must be greater than zero",
            ));
        }
        if self.processed_max_len == 0 {
            return Err(ConfigError::invalid(
                "processed_max_len",
                "must be greater than zero (set processed_record = false to keep no record)",
            ));
        }
        let min_window = min_seen_window(self.claim_min_idle, self.block);
        if self.seen_window < min_window {
            return Err(ConfigError::invalid(
                "seen_window",
                format!(
                    "{:?} is shorter than claim_min_idle ({:?}) + block ({:?}) + {:?} = {:?}: \
                     an entry claimed from a consumer still holding it would not be recognised \
                     as a duplicate",
                    self.seen_window, self.claim_min_idle, self.block, RESPONSE_MARGIN, min_window
                ),
            ));
        }
        for (key, value) in [
            ("claim_interval", self.claim_interval),
            ("retry_period", self.retry_period),
            ("trim_interval", self.trim_interval),
        ] {
            if value.is_zero() {
                return Err(ConfigError::invalid(key, "must be greater than zero"));
            }
        }
        self.redis.validate()
    }
}

#[cfg(test)]
mod tests {
    use platform::config::vars as env;

    use super::*;

    #[test]
    fn defaults() {
        let settings = Settings::load_with_env(None, None, env(&[])).unwrap();
        assert_eq!(settings.group, "demo_consumer_group");
        assert!(settings.consumer.starts_with("consumer-"));
        assert_eq!(settings.admin_port, 9092);
        assert_eq!(settings.batch_size, 100);
        assert_eq!(settings.block, Duration::from_secs(1));
        assert_eq!(settings.max_deliveries, 3);
        assert_eq!(settings.dead_letter_stream(), "NotificationStream:dead");
        assert_eq!(settings.seen_window, Duration::from_secs(300));
        assert!(settings.processed_record);
        assert_eq!(settings.processed_max_len, 10_000);
        assert!(settings.trim_stream);
        assert_eq!(settings.trim_interval, Duration::from_secs(10));
    }

    #[test]
    fn the_window_must_outlast_the_claim_idle_time() {
        assert_eq!(
            min_seen_window(Duration::from_secs(30), Duration::from_secs(1)),
            Duration::from_secs(36)
        );
        let error = Settings::load_with_env(
            None,
            None,
            env(&[
                ("EVENT_CONSUMER__CLAIM_MIN_IDLE", "2m"),
                ("EVENT_CONSUMER__SEEN_WINDOW", "1m"),
            ]),
        )
        .unwrap_err();
        assert_eq!(error.key(), Some("seen_window"));
        let text = error.to_string();
        assert!(
            text.contains("claim_min_idle") && text.contains("seen_window"),
            "{text}"
        );
        let settings = Settings::load_with_env(
            None,
            None,
            env(&[
                ("EVENT_CONSUMER__CLAIM_MIN_IDLE", "1s"),
                ("EVENT_CONSUMER__BLOCK", "200ms"),
                ("EVENT_CONSUMER__SEEN_WINDOW", "6200ms"),
                ("EVENT_CONSUMER__PROCESSED_RECORD", "false"),
                ("EVENT_CONSUMER__TRIM_INTERVAL", "1s"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.seen_window, Duration::from_millis(6200));
        assert!(!settings.processed_record);
        assert_eq!(settings.trim_interval, Duration::from_secs(1));
        let error = Settings::load_with_env(
            None,
            None,
            env(&[("EVENT_CONSUMER__PROCESSED_MAX_LEN", "0")]),
        )
        .unwrap_err();
        assert_eq!(error.key(), Some("processed_max_len"));
    }

    #[test]
    fn seed_variables_are_honoured() {
        let settings = Settings::load_with_env(
            None,
            None,
            env(&[
                ("REDIS_HOST", "redis-master"),
                ("REDIS_STREAM", "NotificationMessageStream"),
                ("REDIS_CONSUMER_GROUP", "g"),
                ("REDIS_CONSUMER", "consumer"),
                ("REDIS_READ_TIMEOUT", "10"),
                ("REDIS_RETRY_PERIOD", "2"),
                ("EVENT_CONSUMER__CLAIM_MIN_IDLE", "1500ms"),
                ("EVENT_CONSUMER__DEAD_LETTER_STREAM", "dlq"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.redis.host, "redis-master");
        assert_eq!(settings.redis.stream, "NotificationMessageStream");
        assert_eq!(settings.group, "g");
        assert_eq!(settings.consumer, "consumer");
        assert_eq!(settings.block, Duration::from_secs(10));
        assert_eq!(settings.retry_period, Duration::from_secs(2));
        assert_eq!(settings.claim_min_idle, Duration::from_millis(1500));
        assert_eq!(settings.dead_letter_stream(), "dlq");
    }

    #[test]
    fn bad_values_are_named() {
        let error = Settings::load_with_env(None, None, env(&[("REDIS_READ_TIMEOUT", "soon")]))
            .unwrap_err();
        assert_eq!(error.key(), Some("block"));
        assert!(error.to_string().contains("REDIS_READ_TIMEOUT"), "{error}");
        let error =
            Settings::load_with_env(None, None, env(&[("EVENT_CONSUMER__MAX_DELIVERIES", "0")]))
                .unwrap_err();
        assert_eq!(error.key(), Some("max_deliveries"));
    }
}
