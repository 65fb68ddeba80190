//! The consumer loop. Delivery is at least once, the effect exactly once:
//!
//! 1. connect (retrying every `retry_period`) and `XGROUP CREATE <stream> <group> 0 MKSTREAM`
//!    (`BUSYGROUP` is fine), at start-up and after every reconnect;
//! 2. read this consumer's own pending entries first (`XREADGROUP … STREAMS <stream> 0`,
//!    paging by id), then new ones (`>`, `COUNT batch_size BLOCK block`);
//! 3. every `claim_interval`, `XAUTOCLAIM <stream> <group> <me> <claim_min_idle> 0-0 COUNT
//!    batch_size` over the whole cursor: entries of dead consumers are processed here; ids the
//!    server reports deleted are acknowledged;
//! 4. a batch is processed by one Lua script ([`super::scripts::PROCESS_BATCH`]): per entry,
//!    when it is still pending and its NM id is not in the seen window, `ZADD seen <now> <NM
//!    id>` and `RPUSH processed <record>`; then `XACK`. A killed consumer leaves either all of
//!    it or nothing; a redelivered event is acknowledged as a duplicate. The seen window and the
//!    processed list are trimmed to their bounds in the same script (see [`super::settings`]);
//! 5. `CreateStream` markers and deleted entries are only acknowledged; an entry without a
//!    decodable `EventStream` stays pending and is retried (after the next read of new
//!    entries); once delivered `max_deliveries` times it moves to the dead-letter stream
//!    ([`super::scripts::DEAD_LETTER`]);
//! 6. every `trim_interval` (when `trim_stream`), the stream is trimmed below what every group
//!    is done with ([`super::trim`]);
//! 7. a Redis error: log, not ready, wait `retry_period`, reconnect. Stop: finish the batch in
//!    hand (and the read in flight, whose entries Redis may already count as delivered: it
//!    answers within the BLOCK time), stop reading, return.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use redis::{aio::MultiplexedConnection, RedisResult, Value};
use time::OffsetDateTime;

use super::{
    metrics,
    record::{processed_count_key, processed_key, seen_key, ProcessedRecord},
    reply::{parse_autoclaim_reply, parse_delivery_count, parse_read_reply, Entry},
    scripts::Scripts,
    settings::RESPONSE_MARGIN,
    trim, Settings,
};
use crate::{
    notification::{NotificationMessage, CREATE_FIELD, EVENT_FIELD},
    redis_link::{Link, LinkError},
    stop::Stop,
};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// At most this many `XAUTOCLAIM` pages per claim round.
const MAX_CLAIM_PAGES: usize = 1000;

/// What to do with an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// An event to apply.
    Event(NotificationMessage),
    /// Acknowledge only (a `CreateStream` marker or a deleted entry).
    AckOnly,
    /// Cannot be processed; stays pending (the reason is logged and dead-lettered).
    Poison(String),
}

/// Classifies an entry.
pub fn classify(entry: &Entry) -> Work {
    if entry.fields.is_none() {
        return Work::AckOnly;
    }
    if let Some(json) = entry.field(EVENT_FIELD) {
        return match serde_json::from_slice::<NotificationMessage>(json) {
            Ok(nm) => Work::Event(nm),
            Err(error) => Work::Poison(format!("undecodable {EVENT_FIELD}: {error}")),
        };
    }
    if entry.field(CREATE_FIELD).is_some() {
        return Work::AckOnly;
    }
    Work::Poison(format!("no {EVENT_FIELD} field"))
}

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Events applied.
    pub processed: u64,
    /// Duplicates acknowledged.
    pub duplicates: u64,
    /// Entries only acknowledged.
    pub acked_only: u64,
    /// Entries left pending.
    pub failed: u64,
    /// Entries dead-lettered.
    pub dead_lettered: u64,
}

/// The consumer worker.
#[derive(Clone)]
pub struct Worker {
    link: Link,
    stream: String,
    group: String,
    consumer: String,
    dead_letter: String,
    seen: String,
    processed: String,
    processed_count: String,
    seen_window: Duration,
    /// Records the processed list keeps; 0 when no list is kept.
    processed_keep: u64,
    /// How often to trim the stream; `None` when it is not trimmed.
    trim_interval: Option<Duration>,
    batch_size: usize,
    block: Duration,
    claim_min_idle: Duration,
    claim_interval: Duration,
    max_deliveries: u64,
    retry_period: Duration,
    scripts: Scripts,
    connected: Arc<AtomicBool>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("link", &self.link)
            .field("stream", &self.stream)
            .field("group", &self.group)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Worker {
    /// A worker for `settings`; nothing is connected yet.
    pub fn new(settings: &Settings) -> Result<Self, LinkError> {
        let link = Link::new(
            &settings.redis,
            CONNECT_TIMEOUT,
            settings.block + RESPONSE_MARGIN,
            settings.retry_period,
        )?;
        let stream = settings.redis.stream.clone();
        Ok(Self {
            link,
            seen: seen_key(&stream, &settings.group),
            processed: processed_key(&stream, &settings.group),
            processed_count: processed_count_key(&stream, &settings.group),
            seen_window: settings.seen_window,
            processed_keep: if settings.processed_record {
                settings.processed_max_len
            } else {
                0
            },
            trim_interval: settings.trim_stream.then_some(settings.trim_interval),
            dead_letter: settings.dead_letter_stream(),
            stream,
            group: settings.group.clone(),
            consumer: settings.consumer.clone(),
            batch_size: settings.batch_size,
            block: settings.block.max(Duration::from_millis(1)),
            claim_min_idle: settings.claim_min_idle,
            claim_interval: settings.claim_interval,
            max_deliveries: settings.max_deliveries,
            retry_period: settings.retry_period,
            scripts: Scripts::default(),
            connected: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Whether the worker is connected and its group exists (readiness).
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    /// The shared connected flag.
    pub fn connected_flag(&self) -> Arc<AtomicBool> {
        self.connected.clone()
    }

    /// Runs until `stop` is requested; never returns early on a Redis error.
    pub async fn run(self, mut stop: Stop) {
        tracing::info!(stream = %self.stream, group = %self.group, consumer = %self.consumer, redis = %self.link.addr(), "event-consumer starting");
        loop {
            let group_ready = self
                .link
                .connect_until(&mut stop, "event-consumer", |connection| {
                    let worker = self.clone();
                    async move { worker.create_group(connection).await }
                })
                .await;
            let Some((connection, ())) = group_ready else {
                break;
            };
            self.connected.store(true, Ordering::SeqCst);
            match self.consume(connection, &mut stop).await {
                Ok(()) => break,
                Err(error) => {
                    self.connected.store(false, Ordering::SeqCst);
                    metrics::count(metrics::REDIS_ERRORS, 1);
                    tracing::warn!(%error, retry = ?self.retry_period, "Redis error; reconnecting");
                    if stop.sleep(self.retry_period).await {
                        break;
                    }
                }
            }
        }
        self.connected.store(false, Ordering::SeqCst);
        tracing::info!(consumer = %self.consumer, "event-consumer stopped");
    }

    /// `XGROUP CREATE <stream> <group> 0 MKSTREAM`; an existing group is fine.
    pub async fn create_group(&self, mut connection: MultiplexedConnection) -> RedisResult<()> {
        let created: RedisResult<Value> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.stream)
            .arg(&self.group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut connection)
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some("BUSYGROUP") => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn consume(
        &self,
        mut connection: MultiplexedConnection,
        stop: &mut Stop,
    ) -> RedisResult<()> {
        let mut pending_cursor: Option<String> = Some("0".to_owned());
        let mut retry_pending = false;
        let mut next_claim = Instant::now();
        let mut next_trim = self.trim_interval.map(|interval| Instant::now() + interval);
        loop {
            if stop.is_stopped() {
                return Ok(());
            }
            if let (Some(at), Some(interval)) = (next_trim, self.trim_interval) {
                if Instant::now() >= at {
                    self.trim(&mut connection).await?;
                    next_trim = Some(Instant::now() + interval);
                    continue;
                }
            }
            if Instant::now() >= next_claim {
                if self.claim(&mut connection, stop).await?.failed > 0 {
                    retry_pending = true;
                }
                next_claim = Instant::now() + self.claim_interval;
                continue;
            }
            if let Some(cursor) = pending_cursor.take() {
                let entries = self.read(&mut connection, &cursor, None).await?;
                let full = entries.len() >= self.batch_size;
                let last = entries.last().map(|entry| entry.id.clone());
                if self.process(&mut connection, &entries).await?.failed > 0 {
                    retry_pending = true;
                }
                if full {
                    pending_cursor = last;
                }
                continue;
            }
            let (entries, stopping) = {
                let read = self.read(&mut connection, ">", Some(self.block));
                tokio::pin!(read);
                tokio::select! {
                    read = &mut read => (read?, false),
                    // The read may have been served already: Redis then counts its entries as
                    // delivered to us, so dropping it would leave them read and never
                    // acknowledged. Its answer comes within the BLOCK time; finish them.
                    () = stop.stopped() => (read.await?, true),
                }
            };
            let processed = self.process(&mut connection, &entries).await?;
            if stopping {
                return Ok(());
            }
            if processed.failed > 0 {
                retry_pending = true;
            }
            if retry_pending {
                retry_pending = false;
                pending_cursor = Some("0".to_owned());
            }
        }
    }

    /// `XREADGROUP GROUP <group> <me> COUNT <n> [BLOCK <ms>] STREAMS <stream> <id>`.
    async fn read(
        &self,
        connection: &mut MultiplexedConnection,
        id: &str,
        block: Option<Duration>,
    ) -> RedisResult<Vec<Entry>> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&self.group)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(self.batch_size);
        if let Some(block) = block {
            cmd.arg("BLOCK").arg(millis(block).max(1));
        }
        cmd.arg("STREAMS").arg(&self.stream).arg(id);
        let reply: Value = cmd.query_async(connection).await?;
        parse_read_reply(&reply)
    }

    /// One trim round ([`trim::trim`]).
    async fn trim(&self, connection: &mut MultiplexedConnection) -> RedisResult<()> {
        let outcome = trim::trim(connection, &self.stream).await?;
        metrics::count(metrics::STREAM_TRIMMED, outcome.removed);
        match outcome.point {
            Some(point) => {
                tracing::debug!(%point, removed = outcome.removed, groups = outcome.groups.len(), "stream trimmed")
            }
            None => tracing::debug!(stream = %self.stream, "no consumer group: stream not trimmed"),
        }
        Ok(())
    }

    /// One claim round over the whole `XAUTOCLAIM` cursor.
    async fn claim(
        &self,
        connection: &mut MultiplexedConnection,
        stop: &Stop,
    ) -> RedisResult<BatchOutcome> {
        let mut total = BatchOutcome::default();
        let mut cursor = "0-0".to_owned();
        for _ in 0..MAX_CLAIM_PAGES {
            let reply: Value = redis::cmd("XAUTOCLAIM")
                .arg(&self.stream)
                .arg(&self.group)
                .arg(&self.consumer)
                .arg(millis(self.claim_min_idle))
                .arg(&cursor)
                .arg("COUNT")
                .arg(self.batch_size)
                .query_async(connection)
                .await?;
            let (next, entries, deleted) = parse_autoclaim_reply(&reply)?;
            if !deleted.is_empty() {
                let _: Value = redis::cmd("XACK")
                    .arg(&self.stream)
                    .arg(&self.group)
                    .arg(&deleted)
                    .query_async(connection)
                    .await?;
                tracing::info!(
                    count = deleted.len(),
                    "acknowledged claimed entries that were deleted from the stream"
                );
            }
            if !entries.is_empty() {
                metrics::count(metrics::EVENTS_CLAIMED, entries.len() as u64);
                tracing::info!(count = entries.len(), "claimed idle pending entries");
                let outcome = self.process(connection, &entries).await?;
                total.processed += outcome.processed;
                total.duplicates += outcome.duplicates;
                total.acked_only += outcome.acked_only;
                total.failed += outcome.failed;
                total.dead_lettered += outcome.dead_lettered;
            }
            if next == "0-0" || stop.is_stopped() {
                break;
            }
            cursor = next;
        }
        Ok(total)
    }

    /// Processes `entries` (see the module docs).
    pub async fn process(
        &self,
        connection: &mut MultiplexedConnection,
        entries: &[Entry],
    ) -> RedisResult<BatchOutcome> {
        let mut outcome = BatchOutcome::default();
        if entries.is_empty() {
            return Ok(outcome);
        }
        let now = OffsetDateTime::now_utc();
        let mut invocation = self.scripts.process_batch.prepare_invoke();
        invocation
            .key(&self.stream)
            .key(&self.seen)
            .key(&self.processed)
            .key(&self.processed_count)
            .arg(&self.group)
            .arg(millis(self.seen_window))
            .arg(self.processed_keep);
        let mut lags = Vec::new();
        let mut poison = Vec::new();
        for entry in entries {
            match classify(entry) {
                Work::Event(nm) => {
                    let lag = nm
                        .time()
                        .map(|sent| now - sent)
                        .and_then(|lag| Duration::try_from(lag).ok())
                        .unwrap_or_default();
                    let record = ProcessedRecord {
                        id: nm.id,
                        description: nm.description,
                        entry_id: entry.id.clone(),
                        consumer: self.consumer.clone(),
                        lag_us: u64::try_from(lag.as_micros()).unwrap_or(u64::MAX),
                    };
                    let json = serde_json::to_string(&record).unwrap_or_default();
                    invocation.arg(&entry.id).arg(nm.id.to_string()).arg(json);
                    lags.push(Some(lag));
                }
                Work::AckOnly => {
                    invocation.arg(&entry.id).arg("").arg("");
                    lags.push(None);
                }
                Work::Poison(reason) => poison.push((entry, reason)),
            }
        }
        if !lags.is_empty() {
            let results: Vec<i64> = invocation.invoke_async(connection).await?;
            for (result, lag) in results.iter().zip(&lags) {
                match result {
                    1 => {
                        outcome.processed += 1;
                        if let Some(lag) = lag {
                            metrics::lag(*lag);
                        }
                    }
                    0 => outcome.duplicates += 1,
                    _ => outcome.acked_only += 1,
                }
            }
        }
        for (entry, reason) in poison {
            if self
                .dead_letter_if_exhausted(connection, entry, &reason)
                .await?
            {
                outcome.dead_lettered += 1;
            } else {
                outcome.failed += 1;
            }
        }
        metrics::count(metrics::EVENTS_CONSUMED, outcome.processed);
        metrics::count(metrics::EVENTS_DUPLICATES, outcome.duplicates);
        metrics::count(metrics::EVENTS_DEAD_LETTERED, outcome.dead_lettered);
        metrics::count(metrics::PROCESSING_FAILURES, outcome.failed);
        if outcome.duplicates > 0 {
            tracing::info!(
                duplicates = outcome.duplicates,
                "acknowledged redelivered events without applying them again"
            );
        }
        tracing::debug!(?outcome, "batch processed");
        Ok(outcome)
    }

    /// Moves `entry` to the dead-letter stream when it has been delivered `max_deliveries`
    /// times; returns whether it did.
    async fn dead_letter_if_exhausted(
        &self,
        connection: &mut MultiplexedConnection,
        entry: &Entry,
        reason: &str,
    ) -> RedisResult<bool> {
        let pending: Value = redis::cmd("XPENDING")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(&entry.id)
            .arg(&entry.id)
            .arg(1)
            .query_async(connection)
            .await?;
        let deliveries = parse_delivery_count(&pending);
        if deliveries < self.max_deliveries {
            tracing::warn!(entry_id = %entry.id, deliveries, max = self.max_deliveries, %reason, "cannot process entry; left pending for a retry");
            return Ok(false);
        }
        let mut invocation = self.scripts.dead_letter.prepare_invoke();
        invocation
            .key(&self.stream)
            .key(&self.dead_letter)
            .arg(&self.group)
            .arg(&entry.id)
            .arg(reason);
        for (field, value) in entry.fields.iter().flatten() {
            invocation.arg(field.as_slice()).arg(value.as_slice());
        }
        let moved: i64 = invocation.invoke_async(connection).await?;
        if moved == 1 {
            tracing::warn!(entry_id = %entry.id, deliveries, %reason, dead_letter = %self.dead_letter, "entry moved to the dead-letter stream");
        }
        Ok(moved == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::reply::entry;

    #[test]
    fn classification() {
        let nm = NotificationMessage::new("x".to_owned());
        assert_eq!(
            classify(&entry("1-0", &[("EventStream", &nm.to_json())])),
            Work::Event(nm)
        );
        assert_eq!(
            classify(&entry("1-1", &[("CreateStream", "stream created")])),
            Work::AckOnly
        );
        assert_eq!(
            classify(&Entry {
                id: "1-2".to_owned(),
                fields: None
            }),
            Work::AckOnly
        );
        assert!(matches!(
            classify(&entry("1-3", &[("EventStream", "{not json")])),
            Work::Poison(_)
        ));
        assert!(matches!(
            classify(&entry("1-4", &[("other", "x")])),
            Work::Poison(reason) if reason.contains("no EventStream")
        ));
    }
}
