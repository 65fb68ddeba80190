//! [`StreamWriter`]: appends Notification Messages to the stream over one shared connection,
//! kept alive by a supervisor task ([`StreamWriter::spawn_supervisor`]):
//!
//! - it connects (retrying every `reconnect_interval`) and writes the `CreateStream` marker,
//!   at start-up and after every reconnect; only then is the writer connected (ready);
//! - every `reconnect_interval` it checks the link (`EXISTS <stream>`) and writes the marker
//!   again when the stream is gone;
//! - a write that finds Redis unreachable (I/O error, timeout, `LOADING`…) drops the connection
//!   at once, so later requests fail fast with 503 until the supervisor has reconnected.
//!
//! An event is accepted only when `XADD` returned an entry id.
//!
//! An event posted with an `Idempotency-Key` is appended by one script ([`APPEND_ONCE`]) that
//! looks the key up, and only when it is new appends the entry and records the key (with the
//! request's fingerprint, for `idempotency_ttl`) in the same atomic step: a retry after a lost
//! answer finds the key and is told the event was accepted, and no state exists in which the
//! entry is stored but the key is not.

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use redis::{aio::MultiplexedConnection, Script};
use tokio::{sync::Notify, task::JoinHandle};

use super::{metrics, Settings};
use crate::{
    notification::{NotificationMessage, CREATE_FIELD, CREATE_VALUE, EVENT_FIELD},
    redis_link::{is_unavailable, Link, LinkError},
    stop::Stop,
};

/// Looks an `Idempotency-Key` up and, only when it is new, appends the entry and records the key.
/// `KEYS[1]` the stream, `KEYS[2]` the key's record; `ARGV` the request's fingerprint, the
/// record's lifetime in ms, `MAXLEN` (0: none), the entry's field and value. Returns the new
/// entry's id, `replayed` (the key, for the same request) or `reused` (for another one).
pub const APPEND_ONCE: &str = r"
local seen = redis.call('GET', KEYS[2])
if seen then
  if seen == ARGV[1] then return 'replayed' end
  return 'reused'
end
local id
if tonumber(ARGV[3]) > 0 then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '*', ARGV[4], ARGV[5])
else
  id = redis.call('XADD', KEYS[1], '*', ARGV[4], ARGV[5])
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return id
";

/// What an append with an `Idempotency-Key` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// Appended now, as this entry id.
    New(String),
    /// The same request was accepted before (nothing appended now).
    Replayed,
    /// The key was first used for a different request (nothing appended).
    KeyReused,
}

/// The record of an `Idempotency-Key` on `stream`: `<stream>:idempotency:<key>`.
pub fn key_record(stream: &str, key: &str) -> String {
    format!("{stream}:idempotency:{key}")
}

/// Why an event was not appended.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Redis is unreachable, slow or not accepting writes right now: retry later (503).
    #[error("Redis unavailable: {0}")]
    Unavailable(String),
    /// Redis refused the command (e.g. the key holds another type): 500.
    #[error("Redis refused the write: {0}")]
    Refused(#[source] redis::RedisError),
}

/// The current connection and its generation (bumped on every reconnect).
#[derive(Default)]
struct State {
    generation: u64,
    connection: Option<MultiplexedConnection>,
}

struct Inner {
    link: Link,
    stream: String,
    max_len: u64,
    write_timeout: Duration,
    check_interval: Duration,
    max_description_bytes: usize,
    state: RwLock<State>,
    lost: Notify,
    idempotency_ttl: Duration,
    append_once: Script,
}

/// Appends events to the stream; cheap to clone.
#[derive(Clone)]
pub struct StreamWriter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamWriter")
            .field("link", &self.inner.link)
            .field("stream", &self.inner.stream)
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// `XADD <stream> [MAXLEN <n>] * <field> <value>`.
pub fn xadd_command(stream: &str, max_len: u64, field: &str, value: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(stream);
    if max_len > 0 {
        cmd.arg("MAXLEN").arg(max_len);
    }
    cmd.arg("*").arg(field).arg(value);
    cmd
}

impl StreamWriter {
    /// A writer for the stream of `settings`; not connected until the supervisor runs.
    pub fn new(settings: &Settings) -> Result<Self, LinkError> {
        let link = Link::new(
            &settings.redis,
            settings.write_timeout,
            settings.write_timeout,
            settings.reconnect_interval,
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                link,
                stream: settings.redis.stream.clone(),
                max_len: settings.max_len,
                write_timeout: settings.write_timeout,
                check_interval: settings.reconnect_interval,
                max_description_bytes: settings.max_description_bytes,
                state: RwLock::new(State::default()),
                lost: Notify::new(),
                idempotency_ttl: settings.idempotency_ttl,
                append_once: Script::new(APPEND_ONCE),
            }),
        })
    }

    /// The longest description an event may carry, in bytes (`max_description_bytes`).
    pub fn max_description_bytes(&self) -> usize {
        self.inner.max_description_bytes
    }

    /// The stream written to.
    pub fn stream(&self) -> &str {
        &self.inner.stream
    }

    /// Whether the supervisor holds a working connection (readiness).
    pub fn is_connected(&self) -> bool {
        self.read_state().1.is_some()
    }

    fn read_state(&self) -> (u64, Option<MultiplexedConnection>) {
        let read = |state: &State| (state.generation, state.connection.clone());
        match self.inner.state.read() {
            Ok(state) => read(&state),
            Err(poisoned) => read(&poisoned.into_inner()),
        }
    }

    fn with_state<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        match self.inner.state.write() {
            Ok(mut state) => change(&mut state),
            Err(poisoned) => change(&mut poisoned.into_inner()),
        }
    }

    /// Drops connection `generation` (if still current) and wakes the supervisor.
    fn mark_lost(&self, generation: u64) {
        let dropped = self.with_state(|state| {
            if state.generation == generation && state.connection.is_some() {
                state.connection = None;
                true
            } else {
                false
            }
        });
        if dropped {
            metrics::set_connected(false);
            self.inner.lost.notify_one();
        }
    }

    /// Appends `nm` (`XADD … * EventStream <json>`) and returns the entry id; fails fast when
    /// not connected and within `write_timeout` otherwise.
    pub async fn append(&self, nm: &NotificationMessage) -> Result<String, WriteError> {
        let cmd = xadd_command(
            &self.inner.stream,
            self.inner.max_len,
            EVENT_FIELD,
            &nm.to_json(),
        );
        self.run("XADD", |mut connection| async move {
            cmd.query_async::<String>(&mut connection).await
        })
        .await
    }

    /// Appends `nm` once per `key` ([`APPEND_ONCE`]): `fingerprint` tells a retry of the same
    /// request from another request with the same key. Fails as [`StreamWriter::append`] does.
    pub async fn append_once(
        &self,
        nm: &NotificationMessage,
        key: &str,
        fingerprint: &str,
    ) -> Result<Appended, WriteError> {
        let ttl_ms = u64::try_from(self.inner.idempotency_ttl.as_millis()).unwrap_or(u64::MAX);
        let mut invocation = self.inner.append_once.prepare_invoke();
        invocation
            .key(&self.inner.stream)
            .key(key_record(&self.inner.stream, key))
            .arg(fingerprint)
            .arg(ttl_ms.max(1))
            .arg(self.inner.max_len)
            .arg(EVENT_FIELD)
            .arg(nm.to_json());
        let outcome = self
            .run("XADD (idempotent)", |mut connection| async move {
                invocation.invoke_async::<String>(&mut connection).await
            })
            .await?;
        Ok(match outcome.as_str() {
            "replayed" => Appended::Replayed,
            "reused" => Appended::KeyReused,
            _ => Appended::New(outcome),
        })
    }

    /// Runs one write on the current connection within `write_timeout`, timed; a failure that
    /// says Redis is unreachable drops the connection (see the module docs).
    async fn run<T, F, Fut>(&self, what: &str, call: F) -> Result<T, WriteError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let (generation, connection) = self.read_state();
        let Some(connection) = connection else {
            return Err(WriteError::Unavailable("not connected to Redis".to_owned()));
        };
        let started = std::time::Instant::now();
        let result = tokio::time::timeout(self.inner.write_timeout, call(connection)).await;
        metrics::xadd_duration(started.elapsed());
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) if is_unavailable(&error) => {
                self.mark_lost(generation);
                Err(WriteError::Unavailable(error.to_string()))
            }
            Ok(Err(error)) => Err(WriteError::Refused(error)),
            Err(_) => {
                self.mark_lost(generation);
                Err(WriteError::Unavailable(format!(
                    "{what} took longer than {:?}",
                    self.inner.write_timeout
                )))
            }
        }
    }

    /// Starts the supervisor (see the module docs); it ends when `stop` is requested.
    pub fn spawn_supervisor(&self, stop: Stop) -> JoinHandle<()> {
        let writer = self.clone();
        tokio::spawn(async move { writer.supervise(stop).await })
    }

    async fn write_marker(
        &self,
        mut connection: MultiplexedConnection,
    ) -> redis::RedisResult<String> {
        let cmd = xadd_command(
            &self.inner.stream,
            self.inner.max_len,
            CREATE_FIELD,
            CREATE_VALUE,
        );
        match tokio::time::timeout(self.inner.write_timeout, cmd.query_async(&mut connection)).await
        {
            Ok(result) => result,
            Err(_) => Err(timeout_error("XADD CreateStream")),
        }
    }

    async fn supervise(self, mut stop: Stop) {
        let link = self.inner.link.clone();
        loop {
            let connected = link
                .connect_until(&mut stop, "event-producer", |connection| {
                    let writer = self.clone();
                    async move { writer.write_marker(connection).await }
                })
                .await;
            let Some((connection, marker_id)) = connected else {
                break;
            };
            let generation = self.with_state(|state| {
                state.generation += 1;
                state.connection = Some(connection.clone());
                state.generation
            });
            metrics::set_connected(true);
            tracing::info!(stream = %self.inner.stream, %marker_id, "stream ready: CreateStream marker written");
            if !self.watch(connection, generation, &mut stop).await {
                break;
            }
            self.mark_lost(generation);
            tracing::warn!(stream = %self.inner.stream, "lost the Redis connection; reconnecting");
        }
        self.with_state(|state| state.connection = None);
        metrics::set_connected(false);
    }

    /// Checks the link until it fails (→ `true`, reconnect) or stop is requested (→ `false`).
    async fn watch(
        &self,
        mut connection: MultiplexedConnection,
        generation: u64,
        stop: &mut Stop,
    ) -> bool {
        loop {
            tokio::select! {
                () = stop.stopped() => return false,
                () = self.inner.lost.notified() => {
                    let (current, live) = self.read_state();
                    if current != generation || live.is_none() {
                        return true;
                    }
                }
                () = tokio::time::sleep(self.inner.check_interval) => {
                    match self.check(&mut connection).await {
                        Ok(()) => {}
                        Err(error) => {
                            tracing::warn!(%error, "Redis link check failed");
                            return true;
                        }
                    }
                }
            }
        }
    }

    /// `EXISTS <stream>`; writes the marker again when the stream is gone.
    async fn check(&self, connection: &mut MultiplexedConnection) -> redis::RedisResult<()> {
        let exists = tokio::time::timeout(
            self.inner.write_timeout,
            redis::cmd("EXISTS")
                .arg(&self.inner.stream)
                .query_async::<u64>(connection),
        )
        .await
        .map_err(|_| timeout_error("EXISTS"))??;
        if exists == 0 {
            let id = self.write_marker(connection.clone()).await?;
            tracing::info!(stream = %self.inner.stream, marker_id = %id, "stream was gone: CreateStream marker written again");
        }
        Ok(())
    }
}

fn timeout_error(what: &'static str) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("{what} timed out"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(cmd: &redis::Cmd) -> Vec<String> {
        cmd.args_iter()
            .map(|arg| match arg {
                redis::Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                redis::Arg::Cursor => "<cursor>".to_owned(),
            })
            .collect()
    }

    #[test]
    fn xadd_uses_exact_maxlen_only_when_set() {
        assert_eq!(
            args(&xadd_command("s", 100, "EventStream", "{}")),
            ["XADD", "s", "MAXLEN", "100", "*", "EventStream", "{}"]
        );
        assert_eq!(
            args(&xadd_command("s", 0, "CreateStream", "stream created")),
            ["XADD", "s", "*", "CreateStream", "stream created"]
        );
    }

    #[tokio::test]
    async fn unconnected_writer_fails_fast() {
        let writer = StreamWriter::new(&Settings::default()).unwrap_or_else(|_| unreachable!());
        assert!(!writer.is_connected());
        let error = writer
            .append(&NotificationMessage::new("x".to_owned()))
            .await
            .err();
        assert!(
            matches!(error, Some(WriteError::Unavailable(_))),
            "{error:?}"
        );
    }
}
