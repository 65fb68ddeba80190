//! The link to Redis shared by producer and consumer: [`RedisSettings`] (where), [`Link`] (how:
//! connect with timeouts, and the one reconnect helper, [`Link::connect_until`], both services
//! use after start-up and after every lost connection).

use std::{fmt, future::Future, time::Duration};

use redis::{aio::MultiplexedConnection, AsyncConnectionConfig, Client, ConnectionInfo};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{notification::DEFAULT_STREAM, stop::Stop};

/// The secret files holding the Redis password (the seed's Kubernetes secret key first), for
/// the settings of every service that talks to Redis.
pub(crate) const REDIS_SECRET_FILES: &[(&str, &str)] = &[
    ("redis-password", "redis.password"),
    ("password", "redis.password"),
];

/// Where Redis is and which stream to use.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://[:password@]host:port[/db]`; wins over `host`/`port` when set.
    pub url: Option<String>,
    /// Host name or address. Default `127.0.0.1`.
    pub host: String,
    /// TCP port. Default 6379.
    pub port: u16,
    /// Password (`AUTH`), if the server wants one; an empty one counts as none. Used with `url`
    /// too when the URL has none.
    pub password: Option<SecretString>,
    /// The stream key. Default [`DEFAULT_STREAM`].
    pub stream: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: None,
            host: "127.0.0.1".to_owned(),
            port: 6379,
            password: None,
            stream: DEFAULT_STREAM.to_owned(),
        }
    }
}

impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSettings")
            .field("address", &self.display_addr())
            .field("password", &self.password.as_ref().map(|_| "[REDACTED]"))
            .field("stream", &self.stream)
            .finish()
    }
}

/// Why a [`Link`] cannot be made from the settings.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The URL does not parse.
    #[error("invalid Redis URL {url}: {reason}")]
    InvalidUrl {
        /// The URL without its password.
        url: String,
        /// Why.
        reason: String,
    },
}

impl RedisSettings {
    /// Settings for the server at `url` and the stream `stream`.
    pub fn for_url(url: &str, stream: &str) -> Self {
        Self {
            url: Some(url.to_owned()),
            stream: stream.to_owned(),
            ..Self::default()
        }
    }

    /// The address for logs: `host:port` or the URL without its password.
    pub fn display_addr(&self) -> String {
        match &self.url {
            Some(url) => redact_url(url),
            None => format!("{}:{}", self.host, self.port),
        }
    }

    /// How to connect: the URL (plus `password` when the URL has none), else host and port.
    pub fn connection_info(&self) -> Result<ConnectionInfo, LinkError> {
        let password = self
            .password
            .as_ref()
            .map(|password| password.expose_secret().to_owned())
            .filter(|password| !password.is_empty());
        let mut info = match &self.url {
            Some(url) => url
                .parse::<ConnectionInfo>()
                .map_err(|error| LinkError::InvalidUrl {
                    url: redact_url(url),
                    reason: error.to_string(),
                })?,
            None => ConnectionInfo {
                addr: redis::ConnectionAddr::Tcp(self.host.clone(), self.port),
                redis: redis::RedisConnectionInfo::default(),
            },
        };
        if info.redis.password.is_none() {
            info.redis.password = password;
        }
        Ok(info)
    }

    /// Checks what types cannot (a parsable URL, a stream name).
    pub fn validate(&self) -> Result<(), platform::config::ConfigError> {
        if self.stream.is_empty() {
            return Err(platform::config::ConfigError::invalid(
                "redis.stream",
                "must not be empty",
            ));
        }
        if self.url.is_none() && self.host.trim().is_empty() {
            return Err(platform::config::ConfigError::invalid(
                "redis.host",
                "must not be empty",
            ));
        }
        self.connection_info()
            .map(|_| ())
            .map_err(|error| platform::config::ConfigError::invalid("redis.url", error.to_string()))
    }
}

/// `redis://:secret@host` → `redis://:***@host`.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

/// How a service talks to Redis: a client plus timeouts and a retry interval.
#[derive(Clone)]
pub struct Link {
    client: Client,
    config: AsyncConnectionConfig,
    retry: Duration,
    addr: String,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("addr", &self.addr)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// A link to the server of `settings`; connecting takes at most `connect_timeout`, every
    /// command at most `response_timeout`; [`Link::connect_until`] retries every `retry`.
    pub fn new(
        settings: &RedisSettings,
        connect_timeout: Duration,
        response_timeout: Duration,
        retry: Duration,
    ) -> Result<Self, LinkError> {
        let info = settings.connection_info()?;
        let client = Client::open(info).map_err(|error| LinkError::InvalidUrl {
            url: settings.display_addr(),
            reason: error.to_string(),
        })?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(connect_timeout)
            .set_response_timeout(response_timeout);
        Ok(Self {
            client,
            config,
            retry,
            addr: settings.display_addr(),
        })
    }

    /// The server address for logs (no password).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// One connection attempt, bounded by the connect timeout.
    pub async fn connect(&self) -> redis::RedisResult<MultiplexedConnection> {
        self.client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await
    }

    /// Connects and runs `setup` on the new connection (e.g. write a marker, create a group),
    /// retrying every `retry` until both succeed; `None` once `stop` is requested. Failures
    /// are logged (the first as a warning, repeats at debug level).
    pub async fn connect_until<T, F, Fut>(
        &self,
        stop: &mut Stop,
        what: &str,
        mut setup: F,
    ) -> Option<(MultiplexedConnection, T)>
    where
        F: FnMut(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let mut attempt: u64 = 0;
        loop {
            if stop.is_stopped() {
                return None;
            }
            attempt += 1;
            let result = tokio::select! {
                () = stop.stopped() => return None,
                result = self.try_once(&mut setup) => result,
            };
            match result {
                Ok(done) => {
                    if attempt > 1 {
                        tracing::info!(addr = %self.addr, attempt, "{what}: connected to Redis again");
                    } else {
                        tracing::info!(addr = %self.addr, "{what}: connected to Redis");
                    }
                    return Some(done);
                }
                Err(error) if attempt == 1 => {
                    tracing::warn!(addr = %self.addr, %error, retry = ?self.retry, "{what}: Redis unreachable; retrying");
                }
                Err(error) => {
                    tracing::debug!(addr = %self.addr, %error, attempt, "{what}: Redis still unreachable");
                }
            }
            if stop.sleep(self.retry).await {
                return None;
            }
        }
    }

    async fn try_once<T, F, Fut>(
        &self,
        setup: &mut F,
    ) -> redis::RedisResult<(MultiplexedConnection, T)>
    where
        F: FnMut(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let connection = self.connect().await?;
        let value = setup(connection.clone()).await?;
        Ok((connection, value))
    }
}

/// Registers the readiness check `redis`: ready while `connected()` says the service's link
/// is up.
pub fn add_readiness_check(
    readiness: &platform::health::Readiness,
    connected: impl Fn() -> bool + Send + Sync + 'static,
) {
    readiness.add_check("redis", move || {
        let connected = connected();
        async move {
            if connected {
                Ok(())
            } else {
                Err("not connected to Redis".to_owned())
            }
        }
    });
}

/// Registers the readiness check `redis ping`: a `PING` on a connection of its own, within
/// `link`'s timeouts. A flag set by the service's own loop notices a link that stops passing
/// data only when its current command times out (for a blocking read, seconds later); this
/// notices it within those timeouts, and a refused connection at once.
pub fn add_ping_check(readiness: &platform::health::Readiness, link: Link) {
    let link = std::sync::Arc::new(link);
    readiness.add_check("redis ping", move || {
        let link = link.clone();
        async move {
            let mut connection = link.connect().await.map_err(|error| error.to_string())?;
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
                .map(drop)
                .map_err(|error| error.to_string())
        }
    });
}

/// Whether `error` means "Redis is not there right now" (retry later) rather than "Redis
/// refused this command".
pub fn is_unavailable(error: &redis::RedisError) -> bool {
    use redis::ErrorKind;
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || matches!(
            error.kind(),
            ErrorKind::BusyLoadingError
                | ErrorKind::TryAgain
                | ErrorKind::MasterDown
                | ErrorKind::ReadOnly
                | ErrorKind::ClusterDown
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_wins_and_password_fills_in() {
        let mut settings = RedisSettings::for_url("redis://10.1.2.3:6380/2", "s");
        settings.password = Some(SecretString::from("pw"));
        let info = settings.connection_info().unwrap();
        assert_eq!(
            info.addr,
            redis::ConnectionAddr::Tcp("10.1.2.3".to_owned(), 6380)
        );
        assert_eq!(info.redis.db, 2);
        assert_eq!(info.redis.password.as_deref(), Some("pw"));

        let settings = RedisSettings {
            host: "redis-master".to_owned(),
            password: Some(SecretString::from("")),
            ..RedisSettings::default()
        };
        let info = settings.connection_info().unwrap();
        assert_eq!(
            info.addr,
            redis::ConnectionAddr::Tcp("redis-master".to_owned(), 6379)
        );
        assert_eq!(info.redis.password, None);
    }

    #[test]
    fn debug_and_display_hide_passwords() {
        let mut settings = RedisSettings::for_url("redis://:hunter2@127.0.0.1:6379", "s");
        settings.password = Some(SecretString::from("hunter3"));
        let text = format!("{settings:?} {}", settings.display_addr());
        assert!(
            !text.contains("hunter2") && !text.contains("hunter3"),
            "{text}"
        );
    }

    #[test]
    fn bad_urls_and_empty_streams_are_named() {
        let error = RedisSettings::for_url("http://x", "s")
            .validate()
            .unwrap_err();
        assert_eq!(error.key(), Some("redis.url"));
        let error = RedisSettings::for_url("redis://x", "")
            .validate()
            .unwrap_err();
        assert_eq!(error.key(), Some("redis.stream"));
    }
}
