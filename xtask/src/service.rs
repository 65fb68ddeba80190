//! The command lines of our service binaries as `up` and `bench` run them: each one's
//! configuration in its environment (secrets hidden in the echo). [`crate::child`] starts them.

use std::path::Path;

use backing::mysql::DbParts;

use crate::cmd::Cmd;

/// The command starting the accountd binary on `port` against `db`, loading the test users.
pub fn accountd_cmd(binary: &Path, port: u16, db: &DbParts) -> Cmd {
    let cmd = Cmd::new(binary.display().to_string())
        .arg("--load-test-data")
        .env("ACCOUNTD__PORT", port.to_string());
    db_env(cmd, "ACCOUNTD", db)
}

/// The command starting the activity server with gRPC on `grpc_port` and its admin HTTP listener
/// (`/readyz`, `/metrics`) on `admin_port`, storing events in `db`.
pub fn activity_cmd(binary: &Path, grpc_port: u16, admin_port: u16, db: &DbParts) -> Cmd {
    let cmd = Cmd::new(binary.display().to_string())
        .env("ACTIVITY__PORT", grpc_port.to_string())
        .env("ACTIVITY__ADMIN_PORT", admin_port.to_string());
    db_env(cmd, "ACTIVITY", db)
}

/// The variables pointing a service with the environment prefix `prefix` at the database `db`:
/// `<PREFIX>__DB__HOST`, `__PORT`, `__NAME`, `__USER`, then `__PASSWORD`.
pub fn db_vars(prefix: &str, db: &DbParts) -> [(String, String); 5] {
    [
        ("HOST", db.host.clone()),
        ("PORT", db.port.to_string()),
        ("NAME", db.name.clone()),
        ("USER", db.user.clone()),
        ("PASSWORD", db.password.clone()),
    ]
    .map(|(key, value)| (format!("{prefix}__DB__{key}"), value))
}

/// Sets [`db_vars`] on `cmd`, the password hidden in the echo.
fn db_env(cmd: Cmd, prefix: &str, db: &DbParts) -> Cmd {
    db_vars(prefix, db)
        .into_iter()
        .fold(cmd, |cmd, (key, value)| {
            if key.ends_with("__PASSWORD") {
                cmd.env_secret(key, value)
            } else {
                cmd.env(key, value)
            }
        })
}

/// Sets `key` to a Redis or MongoDB URL, hidden in the echo when it carries credentials.
fn env_url(cmd: Cmd, key: &str, url: &str) -> Cmd {
    if url.contains('@') {
        cmd.env_secret(key, url)
    } else {
        cmd.env(key, url)
    }
}

/// The command starting the event producer with `POST /event` (and `/readyz`, `/metrics`) on
/// `port`, appending to `stream` on the Redis at `redis_url`.
pub fn event_producer_cmd(binary: &Path, port: u16, redis_url: &str, stream: &str) -> Cmd {
    let cmd = Cmd::new(binary.display().to_string()).env("EVENT_PRODUCER__PORT", port.to_string());
    env_url(cmd, "EVENT_PRODUCER__REDIS__URL", redis_url)
        .env("EVENT_PRODUCER__REDIS__STREAM", stream)
}

/// The command starting one event consumer named `consumer` in `group`, reading `stream` on the
/// Redis at `redis_url`, with its admin HTTP listener (`/readyz`, `/metrics`) on `admin_port`.
pub fn event_consumer_cmd(
    binary: &Path,
    admin_port: u16,
    redis_url: &str,
    stream: &str,
    group: &str,
    consumer: &str,
) -> Cmd {
    let cmd = Cmd::new(binary.display().to_string())
        .env("EVENT_CONSUMER__ADMIN_PORT", admin_port.to_string());
    env_url(cmd, "EVENT_CONSUMER__REDIS__URL", redis_url)
        .env("EVENT_CONSUMER__REDIS__STREAM", stream)
        .env("EVENT_CONSUMER__GROUP", group)
        .env("EVENT_CONSUMER__CONSUMER", consumer)
}

/// The command starting the event simulator: `events_per_second` `POST /event` to `producer_url`
/// until stopped, with the bearer `token` (hidden in the echo) when the producer needs one.
pub fn event_simulator_cmd(
    binary: &Path,
    producer_url: &str,
    events_per_second: f64,
    token: Option<&str>,
) -> Cmd {
    let cmd = Cmd::new(binary.display().to_string())
        .env("EVENT_SIMULATOR__PRODUCER_URL", producer_url)
        .env(
            "EVENT_SIMULATOR__EVENTS_PER_SECOND",
            events_per_second.to_string(),
        );
    match token {
        Some(token) => cmd.env_secret("EVENT_SIMULATOR__TOKEN", token),
        None => cmd,
    }
}

/// `cmd` reading its secrets (the file `jwt-secret`: JWT auth on) from `dir`:
/// `--secrets-dir DIR`.
pub fn with_secrets_dir(cmd: Cmd, dir: &Path) -> Cmd {
    cmd.arg("--secrets-dir").arg(dir.display().to_string())
}

/// How `up` configures one cinema service (movies, showtimes, bookings, users).
#[derive(Clone, Debug)]
pub struct CinemaConfig<'a> {
    /// The service's environment prefix: `MOVIES`, `SHOWTIMES`, `BOOKINGS`, `USERS`.
    pub env_prefix: &'a str,
    /// Its HTTP port.
    pub port: u16,
    /// The MongoDB URL (shared `MONGODB_URL`).
    pub mongo_url: &'a str,
    /// The database every cinema service uses.
    pub database: &'a str,
    /// The directory holding the file `jwt-secret` (turns JWT auth on for writes).
    pub secrets_dir: &'a Path,
    /// Upsert the seed data before serving (idempotent).
    pub load_seed_data: bool,
    /// The other services' URLs as `(MOVIES_URL, url)` pairs: what the users service calls for
    /// its suggestions (empty for the others).
    pub others: &'a [(String, String)],
}

/// The command starting one cinema service binary: `--secrets-dir DIR` (JWT auth on), maybe
/// `--load-seed-data`, the rest through the environment.
pub fn cinema_cmd(binary: &Path, config: &CinemaConfig<'_>) -> Cmd {
    let mut cmd = Cmd::new(binary.display().to_string())
        .arg("--secrets-dir")
        .arg(config.secrets_dir.display().to_string());
    if config.load_seed_data {
        cmd = cmd.arg("--load-seed-data");
    }
    let prefix = config.env_prefix;
    let mut cmd = env_url(cmd, "MONGODB_URL", config.mongo_url)
        .env(format!("{prefix}__PORT"), config.port.to_string())
        .env(format!("{prefix}__MONGO__DATABASE"), config.database);
    for (key, url) in config.others {
        cmd = cmd.env(key.as_str(), url.as_str());
    }
    cmd
}

/// The command minting a development token for `audiences` (service names: `accountd`,
/// `event-producer`, `movies`, …) with the built `mockvideo-token`, signed with the secret in
/// `secret_file`; its standard output is the token.
pub fn mockvideo_token_cmd(
    binary: &Path,
    secret_file: &Path,
    subject: &str,
    audiences: &[&str],
    ttl: &str,
) -> Cmd {
    let cmd = Cmd::new(binary.display().to_string())
        .arg("--secret-file")
        .arg(secret_file.display().to_string())
        .args(["--subject", subject]);
    audiences
        .iter()
        .fold(cmd, |cmd, audience| cmd.args(["--audience", audience]))
        .args(["--ttl", ttl])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> DbParts {
        DbParts {
            host: "127.0.0.1".into(),
            port: 13306,
            name: "mockvideo_1a2b".into(),
            user: "test".into(),
            password: "s3cret".into(),
        }
    }

    #[test]
    fn accountd_is_configured_through_the_environment() {
        let cmd = accountd_cmd(Path::new("/t/debug/accountd"), 5000, &db());
        assert_eq!(cmd.line(), "/t/debug/accountd --load-test-data");
        assert_eq!(
            cmd.to_string(),
            "ACCOUNTD__PORT=5000 ACCOUNTD__DB__HOST=127.0.0.1 ACCOUNTD__DB__PORT=13306 \
             ACCOUNTD__DB__NAME=mockvideo_1a2b ACCOUNTD__DB__USER=test \
             ACCOUNTD__DB__PASSWORD=*** /t/debug/accountd --load-test-data"
        );
        let password = cmd.env.iter().find(|v| v.key == "ACCOUNTD__DB__PASSWORD");
        assert_eq!(password.map(|v| v.value.as_str()), Some("s3cret"));
    }

    #[test]
    fn activity_is_configured_through_the_environment() {
        let cmd = activity_cmd(Path::new("/t/debug/activity-server"), 50051, 9091, &db());
        assert_eq!(cmd.line(), "/t/debug/activity-server");
        assert_eq!(
            cmd.to_string(),
            "ACTIVITY__PORT=50051 ACTIVITY__ADMIN_PORT=9091 ACTIVITY__DB__HOST=127.0.0.1 \
             ACTIVITY__DB__PORT=13306 ACTIVITY__DB__NAME=mockvideo_1a2b ACTIVITY__DB__USER=test \
             ACTIVITY__DB__PASSWORD=*** /t/debug/activity-server"
        );
        let password = cmd.env.iter().find(|v| v.key == "ACTIVITY__DB__PASSWORD");
        assert_eq!(password.map(|v| v.value.as_str()), Some("s3cret"));
    }

    #[test]
    fn event_services_are_configured_through_the_environment() {
        let url = "redis://127.0.0.1:6390";
        let producer = event_producer_cmd(
            Path::new("/t/debug/event-producer"),
            8080,
            url,
            "NotificationStream",
        );
        assert_eq!(producer.line(), "/t/debug/event-producer");
        assert_eq!(
            producer.to_string(),
            "EVENT_PRODUCER__PORT=8080 EVENT_PRODUCER__REDIS__URL=redis://127.0.0.1:6390 \
             EVENT_PRODUCER__REDIS__STREAM=NotificationStream /t/debug/event-producer"
        );
        let consumer = event_consumer_cmd(
            Path::new("/t/debug/event-consumer"),
            9092,
            url,
            "NotificationStream",
            "demo_consumer_group",
            "consumer-1",
        );
        assert_eq!(
            consumer.to_string(),
            "EVENT_CONSUMER__ADMIN_PORT=9092 EVENT_CONSUMER__REDIS__URL=redis://127.0.0.1:6390 \
             EVENT_CONSUMER__REDIS__STREAM=NotificationStream \
             EVENT_CONSUMER__GROUP=demo_consumer_group EVENT_CONSUMER__CONSUMER=consumer-1 \
             /t/debug/event-consumer"
        );
        let simulator = event_simulator_cmd(
            Path::new("/t/debug/event-simulator"),
            "http://127.0.0.1:8080",
            2.0,
            Some("eyJ.token.sig"),
        );
        assert_eq!(
            simulator.to_string(),
            "EVENT_SIMULATOR__PRODUCER_URL=http://127.0.0.1:8080 \
             EVENT_SIMULATOR__EVENTS_PER_SECOND=2 EVENT_SIMULATOR__TOKEN=*** \
             /t/debug/event-simulator"
        );
    }

    #[test]
    fn cinema_services_are_configured_through_the_environment_with_auth_on() {
        let config = CinemaConfig {
            env_prefix: "MOVIES",
            port: 8081,
            mongo_url: "mongodb://127.0.0.1:27017/?directConnection=true",
            database: "cinema",
            secrets_dir: Path::new("/r/target/up/secrets"),
            load_seed_data: true,
            others: &[],
        };
        let movies = cinema_cmd(Path::new("/t/debug/movies"), &config);
        assert_eq!(
            movies.line(),
            "/t/debug/movies --secrets-dir /r/target/up/secrets --load-seed-data"
        );
        assert_eq!(
            movies.to_string(),
            "MONGODB_URL='mongodb://127.0.0.1:27017/?directConnection=true' MOVIES__PORT=8081 \
             MOVIES__MONGO__DATABASE=cinema \
             /t/debug/movies --secrets-dir /r/target/up/secrets --load-seed-data"
        );
        let others = [
            (
                "MOVIES_URL".to_string(),
                "http://127.0.0.1:8081".to_string(),
            ),
            (
                "BOOKINGS_URL".to_string(),
                "http://127.0.0.1:8083".to_string(),
            ),
        ];
        let users = cinema_cmd(
            Path::new("/t/debug/users"),
            &CinemaConfig {
                env_prefix: "USERS",
                port: 8084,
                load_seed_data: false,
                others: &others,
                ..config
            },
        );
        assert_eq!(
            users.line(),
            "/t/debug/users --secrets-dir /r/target/up/secrets"
        );
        assert!(users.to_string().contains(
            "USERS__PORT=8084 USERS__MONGO__DATABASE=cinema \
             MOVIES_URL=http://127.0.0.1:8081 BOOKINGS_URL=http://127.0.0.1:8083"
        ));
    }

    #[test]
    fn mongodb_urls_with_credentials_are_not_echoed() {
        let config = CinemaConfig {
            env_prefix: "SHOWTIMES",
            port: 8082,
            mongo_url: "mongodb://app:hunter2@db:27017",
            database: "cinema",
            secrets_dir: Path::new("/s"),
            load_seed_data: false,
            others: &[],
        };
        let cmd = cinema_cmd(Path::new("/t/debug/showtimes"), &config);
        assert!(!cmd.to_string().contains("hunter2"));
        assert!(cmd
            .to_string()
            .starts_with("MONGODB_URL=*** SHOWTIMES__PORT=8082"));
    }

    #[test]
    fn tokens_are_minted_by_the_built_mockvideo_token() {
        let cmd = mockvideo_token_cmd(
            Path::new("/t/debug/mockvideo-token"),
            Path::new("/r/target/up/secrets/jwt-secret"),
            "up-dev",
            &["movies", "users"],
            "12h",
        );
        assert_eq!(
            cmd.to_string(),
            "/t/debug/mockvideo-token --secret-file /r/target/up/secrets/jwt-secret \
             --subject up-dev --audience movies --audience users --ttl 12h"
        );
    }

    #[test]
    fn accountd_and_the_producer_read_the_secrets_directory() {
        let cmd = with_secrets_dir(
            accountd_cmd(Path::new("/t/debug/accountd"), 5000, &db()),
            Path::new("/r/target/up/secrets"),
        );
        assert_eq!(
            cmd.line(),
            "/t/debug/accountd --load-test-data --secrets-dir /r/target/up/secrets"
        );
    }

    #[test]
    fn redis_urls_with_credentials_are_not_echoed() {
        let cmd = event_producer_cmd(Path::new("/p"), 1, "redis://:hunter2@127.0.0.1:6379", "s");
        assert!(!cmd.to_string().contains("hunter2"));
        assert!(cmd.to_string().contains("EVENT_PRODUCER__REDIS__URL=***"));
        let consumer = event_consumer_cmd(
            Path::new("/c"),
            1,
            "redis://:hunter2@127.0.0.1:6379",
            "s",
            "g",
            "c",
        );
        assert!(!consumer.to_string().contains("hunter2"));
    }
}
