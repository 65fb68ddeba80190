//! The events state of one scenario: the Redis it uses (the suite's, or one of its own to break),
//! its stream, the producer and consumers it started (with the Redis bounds it asked for), what
//! it posted, the follower of a processed list that is trimmed under it, and its teardown.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use events::consumer::record::{
    dead_letter_key, decode_processed, processed_count_key, processed_key, seen_key,
    ProcessedRecord,
};
use harness::{
    backing::redis::Redis,
    launch::{process::ChildService, RunningService},
};
use redis::{aio::MultiplexedConnection, AsyncCommands as _};
use tokio::{sync::Mutex, task::JoinHandle};

/// The seed's consumer group name (a deployed pipeline names its own).
pub(crate) const GROUP: &str = "demo_consumer_group";

/// The Redis bounds the scenario's consumers are started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConsumerBounds {
    /// `seen_window`.
    pub(crate) seen_window: Duration,
    /// `processed_max_len`: large by default, so the steps that read the whole list see every
    /// record of a scenario.
    pub(crate) processed_max_len: u64,
    /// `trim_interval`; `None`: the stream is not trimmed (steps read entries back from it).
    pub(crate) trim_interval: Option<Duration>,
}

impl Default for ConsumerBounds {
    fn default() -> Self {
        Self {
            seen_window: Duration::from_secs(300),
            processed_max_len: 1_000_000,
            trim_interval: None,
        }
    }
}

impl ConsumerBounds {
    /// Applies these bounds to consumer settings.
    pub(crate) fn apply(&self, settings: &mut events::consumer::Settings) {
        settings.seen_window = self.seen_window;
        settings.processed_max_len = self.processed_max_len;
        settings.trim_stream = self.trim_interval.is_some();
        if let Some(interval) = self.trim_interval {
            settings.trim_interval = interval;
        }
    }
}

/// The events state of one scenario.
#[derive(Default)]
pub struct EventsState {
    /// The Redis the scenario uses: the suite's shared one, or one of its own.
    pub(crate) redis: Option<Arc<Redis>>,
    /// True when `redis` is the scenario's own (removed in teardown, free to break).
    pub(crate) own_redis: bool,
    /// The scenario's stream key (under a unique prefix).
    pub(crate) stream: String,
    /// XADD MAXLEN the producer was started with (0 = none).
    pub(crate) max_len: u64,
    /// The producer's request body limit, as configured.
    pub(crate) body_limit: usize,
    pub(crate) producer: Option<RunningService>,
    /// In-process consumers by consumer name.
    pub(crate) consumers: BTreeMap<String, RunningService>,
    /// Consumer processes by consumer name.
    pub(crate) processes: BTreeMap<String, ChildService>,
    /// Descriptions the producer answered 200 for (every description is unique).
    pub(crate) accepted: BTreeSet<String>,
    /// How many posts were answered with something else, or not at all.
    pub(crate) refused: u64,
    /// The flows' refusals by status (`0`: no answer at all).
    pub(crate) refusals: BTreeMap<u16, u64>,
    /// Id of the last entry a step added to the stream directly.
    pub(crate) added_entry: Option<String>,
    /// SIGKILLs sent to consumers.
    pub(crate) kills: u32,
    /// Simulator runs so far (each describes its events with a prefix of its own).
    pub(crate) flows: u32,
    /// A pipeline deployed elsewhere (the cluster features) that the scenario only posts to and
    /// observes: nothing of it is started, broken or deleted by these steps.
    pub(crate) deployed: Option<DeployedPipeline>,
    /// Prepended to every description the scenario posts, so that on a shared stream its own
    /// events are told apart from everybody else's (empty on a stream of the scenario's own).
    pub(crate) label: String,
    /// The Redis bounds of the consumers the scenario starts.
    pub(crate) bounds: ConsumerBounds,
    /// Consumer groups other than [`GROUP`] the scenario used (their keys go in teardown).
    pub(crate) other_groups: BTreeSet<String>,
    /// Follows the processed list of [`GROUP`] while the consumers trim it.
    pub(crate) follower: Option<Follower>,
}

/// A deployed event pipeline: where its Redis answers and which consumer group processes the
/// stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedPipeline {
    /// `redis://HOST:PORT` of its Redis.
    pub redis_url: String,
    /// Its stream key.
    pub stream: String,
    /// Its consumer group.
    pub group: String,
}

impl fmt::Debug for EventsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventsState")
            .field("redis", &self.redis)
            .field("own_redis", &self.own_redis)
            .field("stream", &self.stream)
            .field("producer", &self.producer)
            .field("consumers", &self.consumers.keys().collect::<Vec<_>>())
            .field("processes", &self.processes.keys().collect::<Vec<_>>())
            .field("accepted", &self.accepted.len())
            .field("refused", &self.refused)
            .field("kills", &self.kills)
            .finish_non_exhaustive()
    }
}

impl EventsState {
    /// The scenario's Redis (a step failure when there is none).
    pub(crate) fn redis(&self) -> &Redis {
        self.redis
            .as_deref()
            .expect("no Redis in this scenario: add the Background step")
    }

    /// The URL of the Redis the steps read: the deployed pipeline's, else the scenario's.
    pub(crate) fn url(&self) -> String {
        match &self.deployed {
            Some(deployed) => deployed.redis_url.clone(),
            None => self.redis().url().to_owned(),
        }
    }

    /// The consumer group whose processing the steps check.
    pub(crate) fn group(&self) -> &str {
        self.deployed
            .as_ref()
            .map_or(GROUP, |deployed| deployed.group.as_str())
    }

    /// `description` as the scenario posts it: behind its label.
    pub(crate) fn labelled(&self, description: &str) -> String {
        format!("{}{description}", self.label)
    }

    /// A connection to the scenario's Redis (a step failure when there is none).
    pub(crate) async fn conn(&self) -> MultiplexedConnection {
        connect(&self.url())
            .await
            .unwrap_or_else(|error| panic!("{error:#}"))
    }

    /// Stops the producer, consumers and processes, then removes the scenario's keys (shared
    /// Redis) or its Redis (its own). Every stop is bounded: a fault may have left Redis paused.
    pub async fn teardown(&mut self, failed: bool) {
        const LIMIT: Duration = Duration::from_secs(20);
        // The follower reads Redis every 50 ms: stop it before Redis goes.
        self.follower = None;
        let mut services: Vec<RunningService> = self.producer.take().into_iter().collect();
        services.extend(std::mem::take(&mut self.consumers).into_values());
        for service in services {
            let name = service.name();
            match tokio::time::timeout(LIMIT, service.stop()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => eprintln!("[harness] {name} stopped with an error: {error:#}"),
                Err(_) => eprintln!("[harness] {name} did not stop within {LIMIT:?}"),
            }
        }
        for (name, process) in std::mem::take(&mut self.processes) {
            if let Err(error) = process.stop(failed).await {
                eprintln!("[harness] stopping {name} failed: {error:#}");
            }
        }
        // A deployed pipeline's stream and records are not the scenario's to delete.
        if self.deployed.take().is_some() {
            return;
        }
        let Some(redis) = self.redis.take() else {
            return;
        };
        if self.own_redis {
            if let Ok(redis) = Arc::try_unwrap(redis) {
                if let Err(error) = redis.stop().await {
                    eprintln!("[harness] removing the scenario's Redis failed: {error:#}");
                }
            }
            return;
        }
        let mut keys = vec![self.stream.clone(), dead_letter_key(&self.stream)];
        for group in std::iter::once(GROUP.to_owned()).chain(std::mem::take(&mut self.other_groups))
        {
            keys.push(processed_key(&self.stream, &group));
            keys.push(processed_count_key(&self.stream, &group));
            keys.push(seen_key(&self.stream, &group));
        }
        let cleanup = async {
            let mut conn = connect(redis.url()).await?;
            conn.del::<_, ()>(&keys).await?;
            anyhow::Ok(())
        };
        match tokio::time::timeout(LIMIT, cleanup).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("[harness] deleting {keys:?} failed: {error:#}"),
            Err(_) => eprintln!("[harness] deleting {keys:?} timed out"),
        }
    }
}

/// The largest sizes a [`Follower`] saw, and the oldest id of the seen window at the time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Peaks {
    /// `XLEN` of the stream.
    pub(crate) stream: u64,
    /// `ZCARD` of the seen window.
    pub(crate) seen: u64,
    /// `LLEN` of the processed list.
    pub(crate) processed: u64,
    /// Age (ms, server clock) of the oldest id in the seen window.
    pub(crate) seen_age_ms: u64,
    /// Samples taken.
    pub(crate) samples: u64,
}

/// What a [`Follower`] has read so far.
#[derive(Debug, Default)]
struct FollowerState {
    /// Records appended so far, as the count key says.
    position: u64,
    records: Vec<ProcessedRecord>,
    /// Records the trimming took before the follower read them.
    missed: u64,
    peaks: Peaks,
}

/// Reads the records appended since `ARGV[1]` (the count key says how many there are) and the
/// sizes of the stream, the seen window and the list, all at one instant. `KEYS`: processed
/// list, processed count, stream, seen window.
const FOLLOW: &str = r"
local total = tonumber(redis.call('GET', KEYS[2]) or '0')
local new = total - tonumber(ARGV[1])
local items = {}
if new > 0 then
  items = redis.call('LRANGE', KEYS[1], -new, -1)
end
local oldest = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
local age = 0
if #oldest > 0 then
  local time = redis.call('TIME')
  age = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) - tonumber(oldest[2])
end
return {total, items, redis.call('XLEN', KEYS[3]), redis.call('ZCARD', KEYS[4]),
  redis.call('LLEN', KEYS[1]), age}
";

/// How often a [`Follower`] reads.
const FOLLOW_EVERY: Duration = Duration::from_millis(50);
/// Longest a [`Follower`] runs, whatever happens.
const FOLLOW_LIMIT: Duration = Duration::from_secs(600);

/// Follows a processed list that the consumers trim: every 50 ms it reads what was appended
/// since its last read (from the count key), so it sees every record as long as it reads
/// faster than the list is trimmed (and says how many it missed otherwise); it also keeps the
/// peak sizes of the stream, the seen window and the list. Stops when dropped.
pub(crate) struct Follower {
    state: Arc<Mutex<FollowerState>>,
    conn: MultiplexedConnection,
    keys: [String; 4],
    task: JoinHandle<()>,
}

impl fmt::Debug for Follower {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Follower")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Follower {
    /// Starts following the processed list of `group` on `stream`.
    pub(crate) async fn start(url: &str, stream: &str, group: &str) -> anyhow::Result<Self> {
        let conn = connect(url).await?;
        let keys = [
            processed_key(stream, group),
            processed_count_key(stream, group),
            stream.to_owned(),
            seen_key(stream, group),
        ];
        let state = Arc::new(Mutex::new(FollowerState::default()));
        let task = tokio::spawn({
            let (state, conn, keys) = (state.clone(), conn.clone(), keys.clone());
            async move {
                let started = Instant::now();
                while started.elapsed() < FOLLOW_LIMIT {
                    let mut conn = conn.clone();
                    if let Err(error) = read_once(&mut conn, &keys, &state).await {
                        eprintln!("[events] following the processed list: {error:#}");
                    }
                    tokio::time::sleep(FOLLOW_EVERY).await;
                }
            }
        });
        Ok(Self {
            state,
            conn,
            keys,
            task,
        })
    }

    /// Reads once more, then returns every record seen, how many were missed and the peaks.
    pub(crate) async fn catch_up(&self) -> anyhow::Result<(Vec<ProcessedRecord>, u64, Peaks)> {
        let mut conn = self.conn.clone();
        read_once(&mut conn, &self.keys, &self.state).await?;
        let state = self.state.lock().await;
        Ok((state.records.clone(), state.missed, state.peaks))
    }
}

async fn read_once(
    conn: &mut MultiplexedConnection,
    keys: &[String; 4],
    state: &Mutex<FollowerState>,
) -> anyhow::Result<()> {
    let mut state = state.lock().await;
    let script = redis::Script::new(FOLLOW);
    let mut invocation = script.prepare_invoke();
    for key in keys {
        invocation.key(key);
    }
    invocation.arg(state.position);
    let (total, items, stream, seen, processed, age): (u64, Vec<String>, u64, u64, u64, i64) =
        invocation
            .invoke_async(conn)
            .await
            .context("reading the processed list")?;
    let new = total.saturating_sub(state.position);
    state.missed += new.saturating_sub(items.len() as u64);
    for item in &items {
        state.records.push(decode_processed(item)?);
    }
    state.position = total;
    let peaks = &mut state.peaks;
    peaks.stream = peaks.stream.max(stream);
    peaks.seen = peaks.seen.max(seen);
    peaks.processed = peaks.processed.max(processed);
    peaks.seen_age_ms = peaks.seen_age_ms.max(u64::try_from(age).unwrap_or(0));
    peaks.samples += 1;
    Ok(())
}

/// A connection to `url`, bounded to 5 s.
pub(crate) async fn connect(url: &str) -> anyhow::Result<MultiplexedConnection> {
    let client = redis::Client::open(url).with_context(|| format!("Redis URL {url}"))?;
    tokio::time::timeout(
        Duration::from_secs(5),
        client.get_multiplexed_async_connection(),
    )
    .await
    .with_context(|| format!("connecting to {url} timed out"))?
    .with_context(|| format!("connecting to {url}"))
}
