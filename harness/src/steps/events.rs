//! events steps: a stream of its own per scenario on the suite's Redis (or on a Redis of its own
//! for faults), the event-producer and event-consumers started by the scenario, the stream and
//! the processed record read straight from Redis, and the faults of the robustness features
//! (Redis stopped, paused, restarted; the producer restarted; consumer processes SIGKILLed)
//! with the exactly-once accounting they end with.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use cucumber::{given, then, when};
use events::{
    consumer::record::{dead_letter_key, processed_key, read_processed, seen_key},
    notification::{CREATE_FIELD, CREATE_VALUE, DEFAULT_STREAM, EVENT_FIELD},
};
use harness::{
    backing::redis::{Redis, RedisOptions},
    fault,
    launch::{
        process::{ChildService, ProcessSpec},
        RunningService,
    },
};
use redis::{
    aio::MultiplexedConnection,
    streams::{StreamId, StreamInfoGroupsReply, StreamInfoStreamReply, StreamRangeReply},
    AsyncCommands as _,
};
use serde_json::Value;

use super::{
    http::{json_body_of_size, send},
    world::MockVideoWorld,
};

/// The seed's consumer group name (a deployed pipeline names its own).
const GROUP: &str = "demo_consumer_group";
/// Longest a functional check waits for the consumers to catch up.
const SETTLE_LIMIT: Duration = Duration::from_secs(30);
/// Longest the robustness features wait for every accepted event to be processed.
const DRAIN_LIMIT: Duration = Duration::from_secs(90);
/// Longest the producer may take to report ready again after a fault was undone.
const RECOVERY_LIMIT: Duration = Duration::from_secs(60);
/// Most SIGKILLs one scenario sends to a consumer.
const MAX_KILLS: u32 = 10;

/// The events state of one scenario.
#[derive(Default)]
pub struct EventsState {
    /// The Redis the scenario uses: the suite's shared one, or one of its own.
    redis: Option<Arc<Redis>>,
    /// True when `redis` is the scenario's own (removed in teardown, free to break).
    own_redis: bool,
    /// The scenario's stream key (under a unique prefix).
    stream: String,
    /// XADD MAXLEN the producer was started with (0 = none).
    max_len: u64,
    /// The producer's request body limit, as configured.
    body_limit: usize,
    producer: Option<RunningService>,
    /// In-process consumers by consumer name.
    consumers: BTreeMap<String, RunningService>,
    /// Consumer processes by consumer name.
    processes: BTreeMap<String, ChildService>,
    /// Descriptions the producer answered 200 for (every description is unique).
    accepted: BTreeSet<String>,
    /// How many posts were answered with something else, or not at all.
    refused: u64,
    /// Id of the last entry a step added to the stream directly.
    added_entry: Option<String>,
    /// SIGKILLs sent to consumers.
    kills: u32,
    /// Simulator runs so far (each describes its events with a prefix of its own).
    flows: u32,
    /// A pipeline deployed elsewhere (the cluster features) that the scenario only posts to and
    /// observes: nothing of it is started, broken or deleted by these steps.
    deployed: Option<DeployedPipeline>,
    /// Prepended to every description the scenario posts, so that on a shared stream its own
    /// events are told apart from everybody else's (empty on a stream of the scenario's own).
    label: String,
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
    fn redis(&self) -> &Redis {
        self.redis
            .as_deref()
            .expect("no Redis in this scenario: add the Background step")
    }

    fn url(&self) -> String {
        match &self.deployed {
            Some(deployed) => deployed.redis_url.clone(),
            None => self.redis().url().to_owned(),
        }
    }

    /// The consumer group whose processing the steps check.
    fn group(&self) -> &str {
        self.deployed
            .as_ref()
            .map_or(GROUP, |deployed| deployed.group.as_str())
    }

    /// `description` as the scenario posts it: behind its label.
    fn labelled(&self, description: &str) -> String {
        format!("{}{description}", self.label)
    }

    /// Stops the producer, consumers and processes, then removes the scenario's keys (shared
    /// Redis) or its Redis (its own). Every stop is bounded: a fault may have left Redis paused.
    pub async fn teardown(&mut self, failed: bool) {
        const LIMIT: Duration = Duration::from_secs(20);
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
        let keys = [
            self.stream.clone(),
            processed_key(&self.stream, GROUP),
            seen_key(&self.stream, GROUP),
            dead_letter_key(&self.stream),
        ];
        let cleanup = async {
            let mut conn = connect(redis.url()).await?;
            conn.del::<_, ()>(&keys[..]).await?;
            anyhow::Ok(())
        };
        match tokio::time::timeout(LIMIT, cleanup).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("[harness] deleting {keys:?} failed: {error:#}"),
            Err(_) => eprintln!("[harness] deleting {keys:?} timed out"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Redis reads

/// A connection to `url`, bounded to 5 s.
async fn connect(url: &str) -> anyhow::Result<MultiplexedConnection> {
    let client = redis::Client::open(url).with_context(|| format!("Redis URL {url}"))?;
    tokio::time::timeout(
        Duration::from_secs(5),
        client.get_multiplexed_async_connection(),
    )
    .await
    .with_context(|| format!("connecting to {url} timed out"))?
    .with_context(|| format!("connecting to {url}"))
}

async fn conn(world: &MockVideoWorld) -> MultiplexedConnection {
    connect(&world.events.url())
        .await
        .unwrap_or_else(|error| panic!("{error:#}"))
}

/// Every entry of `key`, oldest first.
async fn entries(world: &MockVideoWorld, key: &str) -> Vec<StreamId> {
    let mut conn = conn(world).await;
    let reply: StreamRangeReply = conn
        .xrange_all(key)
        .await
        .unwrap_or_else(|error| panic!("XRANGE {key}: {error}"));
    reply.ids
}

/// A field of a stream entry as text.
fn field(entry: &StreamId, name: &str) -> Option<String> {
    entry.get::<String>(name)
}

/// The Notification Messages in the scenario's stream, oldest first, with their entry ids.
async fn notifications(world: &MockVideoWorld) -> Vec<(String, Value)> {
    entries(world, &world.events.stream)
        .await
        .iter()
        .filter_map(|entry| {
            let text = field(entry, EVENT_FIELD)?;
            let nm = serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("entry {} holds {text:?}: {error}", entry.id));
            Some((entry.id.clone(), nm))
        })
        .collect()
}

/// The consumer group's state: pending entries and whether it has read up to the stream's end.
async fn group_state(
    conn: &mut MultiplexedConnection,
    stream: &str,
    group_name: &str,
) -> Option<(usize, bool)> {
    let stream_info: StreamInfoStreamReply = conn.xinfo_stream(stream).await.ok()?;
    let groups: StreamInfoGroupsReply = conn.xinfo_groups(stream).await.ok()?;
    let group = groups
        .groups
        .into_iter()
        .find(|group| group.name == group_name)?;
    Some((
        group.pending,
        group.last_delivered_id == stream_info.last_generated_id,
    ))
}

/// Waits (bounded) until the group has read every entry and acknowledged it (processed, seen
/// as a duplicate, or dead-lettered).
async fn wait_until_settled(world: &MockVideoWorld) {
    let mut conn = conn(world).await;
    let deadline = Instant::now() + SETTLE_LIMIT;
    let mut last = None;
    while Instant::now() < deadline {
        last = group_state(&mut conn, &world.events.stream, world.events.group()).await;
        if last == Some((0, true)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the consumers did not settle within {SETTLE_LIMIT:?}: (pending, read to the end) = {last:?}"
    );
}

/// The processed record of the scenario's stream.
async fn processed(world: &MockVideoWorld) -> Vec<events::consumer::record::ProcessedRecord> {
    let mut conn = conn(world).await;
    read_processed(&mut conn, &world.events.stream, world.events.group())
        .await
        .unwrap_or_else(|error| panic!("reading the processed record: {error}"))
}

/// Sums the samples of a Prometheus metric (all label sets) in an exposition text.
fn metric_total(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let value = if rest.starts_with('{') {
                rest.rsplit_once('}')?.1
            } else if rest.starts_with(' ') {
                rest
            } else {
                return None;
            };
            value.split_whitespace().next()?.parse::<f64>().ok()
        })
        .sum()
}

/// True for `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with 1 to 9 fraction digits and no trailing zero
/// (Go's RFC3339Nano in UTC).
fn is_rfc3339_nano_utc(text: &str) -> bool {
    let bytes = text.as_bytes();
    let shape = "dddd-dd-ddTdd:dd:dd".as_bytes();
    if bytes.len() < shape.len() + 1 || !text.ends_with('Z') {
        return false;
    }
    let head_ok = shape.iter().zip(bytes).all(|(want, got)| match want {
        b'd' => got.is_ascii_digit(),
        other => other == got,
    });
    let tail = &text[shape.len()..text.len() - 1];
    let fraction_ok = match tail.strip_prefix('.') {
        None => tail.is_empty(),
        Some(digits) => {
            (1..=9).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.ends_with('0')
        }
    };
    head_ok && fraction_ok
}

// ---------------------------------------------------------------------------------------------
// Starting things

/// Takes the suite's Redis and a fresh stream name under a unique prefix.
async fn use_shared_redis(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let redis = harness::suite::redis().await?;
    world.events.stream = format!("{}{DEFAULT_STREAM}", redis.unique_prefix("events"));
    world.events.redis = Some(redis);
    world.events.own_redis = false;
    Ok(())
}

/// Starts a Redis of the scenario's own, with append-only persistence, and a stream name.
async fn use_own_redis(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let redis = Redis::start_with(RedisOptions { append_only: true }).await?;
    anyhow::ensure!(
        redis.server().container_id().is_some(),
        "the fault scenarios need a Redis container they can stop, pause and restart; got {} \
         (run `cargo xtask bootstrap` for Docker)",
        redis.server().provider()
    );
    world.events.stream = format!("{}{DEFAULT_STREAM}", redis.unique_prefix("events"));
    world.events.redis = Some(Arc::new(redis));
    world.events.own_redis = true;
    Ok(())
}

/// Starts (or restarts) the scenario's producer, points the HTTP steps at it and waits until it
/// reports ready (it connects to Redis in the background and refuses events until then).
async fn start_producer(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let mut settings =
        harness::launch::events::producer_settings(&world.events.url(), &world.events.stream);
    settings.max_len = world.events.max_len;
    world.events.body_limit = settings.limits.body_limit_bytes;
    let service = harness::launch::events::start_producer(settings).await?;
    world.base_url = Some(service.base_url());
    world.events.producer = Some(service);
    wait_for_readiness(world, 200).await;
    Ok(())
}

/// Starts an in-process consumer named `name`; `max_deliveries` overrides the default.
async fn start_consumer(
    world: &mut MockVideoWorld,
    name: &str,
    max_deliveries: Option<u64>,
) -> anyhow::Result<()> {
    let mut settings = harness::launch::events::consumer_settings(
        &world.events.url(),
        &world.events.stream,
        GROUP,
        name,
    );
    if let Some(max) = max_deliveries {
        settings.max_deliveries = max;
    }
    let service = harness::launch::events::start_consumer(settings).await?;
    world.events.consumers.insert(name.to_owned(), service);
    Ok(())
}

/// The `harness-event-consumer` binary configured like the in-process consumers.
fn consumer_process_spec(redis_url: &str, stream: &str, name: &str) -> ProcessSpec {
    ProcessSpec::new(
        format!("event-consumer-{name}"),
        env!("CARGO_BIN_EXE_harness-event-consumer"),
    )
    .env("REDIS_URL", redis_url)
    .env("REDIS_STREAM", stream)
    .env("REDIS_CONSUMER_GROUP", GROUP)
    .env("REDIS_CONSUMER", name)
    .env("EVENT_CONSUMER__ADMIN_PORT", "0")
    .env("EVENT_CONSUMER__BLOCK", "200ms")
    .env("EVENT_CONSUMER__CLAIM_MIN_IDLE", "1s")
    .env("EVENT_CONSUMER__CLAIM_INTERVAL", "250ms")
    .env("EVENT_CONSUMER__RETRY_PERIOD", "200ms")
    .env("RUST_LOG", "info")
}

/// Points the events steps at a deployed pipeline: its stream and group on its Redis, the
/// producer at `producer_url` (the HTTP steps' target). Every description the scenario posts
/// starts with `label`, and only those are counted.
pub fn use_deployed(
    world: &mut MockVideoWorld,
    pipeline: DeployedPipeline,
    producer_url: String,
    label: String,
) {
    world.events.stream = pipeline.stream.clone();
    world.events.deployed = Some(pipeline);
    world.events.label = label;
    world.base_url = Some(producer_url);
}

#[given("a fresh stream on the suite's Redis")]
async fn fresh_stream(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    use_shared_redis(world).await
}

#[given("an event producer on a fresh stream")]
async fn producer_on_fresh_stream(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    use_shared_redis(world).await?;
    start_producer(world).await
}

#[given(expr = "an event producer on a fresh stream trimmed to {int} entries")]
async fn producer_trimmed(world: &mut MockVideoWorld, max_len: u64) -> anyhow::Result<()> {
    use_shared_redis(world).await?;
    world.events.max_len = max_len;
    start_producer(world).await
}

#[given("an event producer on a Redis of its own with persistence")]
async fn producer_own_redis(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    use_own_redis(world).await?;
    start_producer(world).await
}

#[given(
    expr = "an event producer and a consumer {string} on a Redis of their own with persistence"
)]
async fn producer_and_consumer_own_redis(
    world: &mut MockVideoWorld,
    name: String,
) -> anyhow::Result<()> {
    use_own_redis(world).await?;
    start_producer(world).await?;
    start_consumer(world, &name, None).await
}

#[given(expr = "a consumer {string} on that stream")]
#[when(expr = "a consumer {string} starts on that stream")]
async fn consumer_on_stream(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    start_consumer(world, &name, None).await
}

#[given(expr = "a consumer {string} on that stream that dead-letters after {int} deliveries")]
async fn consumer_with_max_deliveries(
    world: &mut MockVideoWorld,
    name: String,
    max: u64,
) -> anyhow::Result<()> {
    start_consumer(world, &name, Some(max)).await
}

#[given(expr = "consumer processes {string} and {string} on that stream")]
async fn consumer_processes(
    world: &mut MockVideoWorld,
    first: String,
    second: String,
) -> anyhow::Result<()> {
    for name in [first, second] {
        let spec = consumer_process_spec(&world.events.url(), &world.events.stream, &name);
        let process = ChildService::spawn(spec)?;
        world.events.processes.insert(name, process);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Posting events and adding entries

/// POSTs `{"description": description}` and records whether it was accepted.
async fn post_event(world: &mut MockVideoWorld, description: &str) {
    let description = world.events.labelled(description);
    let description = description.as_str();
    let body = serde_json::to_vec(&serde_json::json!({ "description": description }))
        .expect("serialising an event message");
    send(world, "POST", "/event", None, Some(body)).await;
    if world.last().status == 200 {
        world.events.accepted.insert(description.to_owned());
    } else {
        world.events.refused += 1;
    }
}

#[when(expr = "I post the event {string}")]
async fn post_the_event(world: &mut MockVideoWorld, description: String) {
    post_event(world, &description).await;
}

#[when(expr = "I post {int} events described {string} followed by their number")]
async fn post_numbered(world: &mut MockVideoWorld, count: usize, prefix: String) {
    for n in 1..=count {
        post_event(world, &format!("{prefix}{n}")).await;
        assert_eq!(
            world.last().status,
            200,
            "event {n}: {}",
            world.last().text()
        );
    }
}

#[when(expr = "I post the raw body {string}")]
async fn post_raw(world: &mut MockVideoWorld, body: String) {
    send(world, "POST", "/event", None, Some(body.into_bytes())).await;
}

#[when("I post an event one byte larger than the producer's body limit")]
async fn post_oversized(world: &mut MockVideoWorld) {
    let body = json_body_of_size("description", world.events.body_limit + 1);
    send(world, "POST", "/event", None, Some(body)).await;
}

/// XADDs `fields` to the scenario's stream and remembers the entry id.
async fn add_entry(world: &mut MockVideoWorld, fields: &[(&str, &str)]) -> String {
    let mut conn = conn(world).await;
    let id: String = conn
        .xadd(&world.events.stream, "*", fields)
        .await
        .unwrap_or_else(|error| panic!("XADD: {error}"));
    world.events.added_entry = Some(id.clone());
    id
}

#[when(expr = "a notification with id {int} and description {string} is added to the stream twice")]
async fn add_duplicate(world: &mut MockVideoWorld, id: u64, description: String) {
    let nm = serde_json::json!({
        "id": id, "description": description, "timestamp": "2025-02-25T22:23:03.181361595Z"
    })
    .to_string();
    for _ in 0..2 {
        add_entry(world, &[(EVENT_FIELD, &nm)]).await;
    }
}

#[when("an entry without an EventStream field is added to the stream")]
async fn add_without_field(world: &mut MockVideoWorld) {
    add_entry(world, &[("SomethingElse", "not a notification")]).await;
}

#[when("an entry whose EventStream is not a notification is added to the stream")]
async fn add_undecodable(world: &mut MockVideoWorld) {
    add_entry(world, &[(EVENT_FIELD, "{\"id\": \"not a number\"")]).await;
}

#[when(expr = "a consumer {string} of the group reads every entry and dies without acknowledging")]
async fn ghost_reads(world: &mut MockVideoWorld, ghost: String) {
    let mut conn = conn(world).await;
    let stream = world.events.stream.clone();
    let created: redis::RedisResult<()> = conn.xgroup_create_mkstream(&stream, GROUP, "0").await;
    if let Err(error) = created {
        assert!(
            error.to_string().contains("BUSYGROUP"),
            "XGROUP CREATE: {error}"
        );
    }
    let options = redis::streams::StreamReadOptions::default()
        .group(GROUP, &ghost)
        .count(1000);
    let reply: redis::streams::StreamReadReply = conn
        .xread_options(&[&stream], &[">"], &options)
        .await
        .unwrap_or_else(|error| panic!("XREADGROUP as {ghost}: {error}"));
    let read: usize = reply.keys.iter().map(|key| key.ids.len()).sum();
    assert!(read > 0, "{ghost} read nothing from {stream}");
}

// ---------------------------------------------------------------------------------------------
// The stream

#[then(expr = "the latest notification in the stream has description {string}")]
async fn latest_has_description(world: &mut MockVideoWorld, description: String) {
    let all = notifications(world).await;
    let (entry_id, nm) = all.last().expect("no notification in the stream");
    assert!(
        nm["id"].is_u64(),
        "id of {entry_id} is not an integer: {nm}"
    );
    assert!(nm.get("timestamp").is_some(), "no timestamp in {nm}");
    assert_eq!(
        nm["description"],
        description.as_str(),
        "latest notification {nm}"
    );
}

#[then("every notification in the stream is one EventStream field holding an integer id, the description and an RFC 3339 nanosecond UTC timestamp")]
async fn notifications_well_formed(world: &mut MockVideoWorld) {
    let stream = world.events.stream.clone();
    let all = entries(world, &stream).await;
    let mut seen = 0;
    for entry in all.iter().filter(|e| e.map.contains_key(EVENT_FIELD)) {
        seen += 1;
        assert_eq!(
            entry.map.len(),
            1,
            "entry {} has other fields: {:?}",
            entry.id,
            entry.map
        );
        let text = field(entry, EVENT_FIELD).expect("EventStream is text");
        let nm: serde_json::Map<String, Value> = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{text:?} is not a JSON object: {error}"));
        let keys: BTreeSet<&str> = nm.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["id", "description", "timestamp"]),
            "{text}"
        );
        assert!(
            nm["id"].is_u64(),
            "id is not a non-negative integer: {text}"
        );
        assert!(nm["description"].is_string(), "description: {text}");
        let timestamp = nm["timestamp"].as_str().unwrap_or_default();
        assert!(
            is_rfc3339_nano_utc(timestamp),
            "timestamp {timestamp:?} in {text}"
        );
    }
    assert!(seen > 0, "no notification in {stream}");
}

#[then(expr = "the stream starts with the {string} marker")]
async fn starts_with_marker(world: &mut MockVideoWorld, marker: String) {
    assert_eq!(marker, CREATE_FIELD, "the feature names the marker field");
    let stream = world.events.stream.clone();
    let all = entries(world, &stream).await;
    let first = all
        .first()
        .unwrap_or_else(|| panic!("{stream} is empty or missing"));
    assert_eq!(
        field(first, CREATE_FIELD).as_deref(),
        Some(CREATE_VALUE),
        "first entry {}: {:?}",
        first.id,
        first.map
    );
}

#[then(expr = "the stream holds {int} {string} markers")]
async fn holds_markers(world: &mut MockVideoWorld, count: usize, marker: String) {
    let stream = world.events.stream.clone();
    let found = entries(world, &stream)
        .await
        .iter()
        .filter(|entry| field(entry, &marker).as_deref() == Some(CREATE_VALUE))
        .count();
    assert_eq!(found, count, "{marker} markers in {stream}");
}

#[then(expr = "the stream holds {int} entries")]
async fn stream_length(world: &mut MockVideoWorld, count: usize) {
    let mut conn = conn(world).await;
    let len: usize = conn
        .xlen(&world.events.stream)
        .await
        .unwrap_or_else(|error| panic!("XLEN: {error}"));
    assert_eq!(len, count, "XLEN {}", world.events.stream);
}

#[then(expr = "the notifications in the stream are {string}")]
async fn notifications_are(world: &mut MockVideoWorld, list: String) {
    let expected: Vec<&str> = list.split(',').map(str::trim).collect();
    let all = notifications(world).await;
    let actual: Vec<&str> = all
        .iter()
        .map(|(_, nm)| nm["description"].as_str().unwrap_or("<not a string>"))
        .collect();
    assert_eq!(actual, expected);
}

#[then(expr = "the stream exists with the consumer group {string}")]
async fn stream_has_group(world: &mut MockVideoWorld, group: String) {
    let mut conn = conn(world).await;
    let stream = world.events.stream.clone();
    let deadline = Instant::now() + SETTLE_LIMIT;
    let mut last = String::new();
    while Instant::now() < deadline {
        match conn.xinfo_groups::<_, StreamInfoGroupsReply>(&stream).await {
            Ok(reply) if reply.groups.iter().any(|g| g.name == group) => return,
            Ok(reply) => {
                last = format!(
                    "groups {:?}",
                    reply.groups.iter().map(|g| &g.name).collect::<Vec<_>>()
                )
            }
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no group {group} on {stream} within {SETTLE_LIMIT:?}: {last}");
}

#[given("the stream does not exist")]
#[then("the stream does not exist")]
async fn stream_absent(world: &mut MockVideoWorld) {
    let mut conn = conn(world).await;
    let exists: bool = conn
        .exists(&world.events.stream)
        .await
        .unwrap_or_else(|error| panic!("EXISTS: {error}"));
    assert!(!exists, "{} exists", world.events.stream);
}

// ---------------------------------------------------------------------------------------------
// What the consumers did

#[then(expr = "the event {string} is processed exactly once")]
async fn processed_once(world: &mut MockVideoWorld, description: String) {
    let description = world.events.labelled(&description);
    wait_until_settled(world).await;
    let records = processed(world).await;
    let matching = records
        .iter()
        .filter(|r| r.description == description)
        .count();
    assert_eq!(matching, 1, "records of {description:?}: {records:?}");
}

#[then(expr = "the processed record holds {int} record(s)")]
async fn record_count(world: &mut MockVideoWorld, count: usize) {
    wait_until_settled(world).await;
    let records = processed(world).await;
    assert_eq!(records.len(), count, "{records:?}");
}

#[then(expr = "consumer {string} processed {string} from the stream entry holding it")]
async fn processed_by(world: &mut MockVideoWorld, consumer: String, description: String) {
    wait_until_settled(world).await;
    let records = processed(world).await;
    let record = records
        .iter()
        .find(|r| r.description == description)
        .unwrap_or_else(|| panic!("{description:?} not processed: {records:?}"));
    assert_eq!(record.consumer, consumer, "{record:?}");
    let all = notifications(world).await;
    let (entry_id, nm) = all
        .iter()
        .find(|(_, nm)| nm["description"] == description.as_str())
        .unwrap_or_else(|| panic!("{description:?} is not in the stream"));
    assert_eq!(&record.entry_id, entry_id, "{record:?}");
    assert_eq!(nm["id"].as_u64(), Some(record.id), "{record:?} vs {nm}");
}

#[then("the dead-letter stream holds that entry with its fields and a reason")]
async fn dead_lettered(world: &mut MockVideoWorld) {
    wait_until_settled(world).await;
    let source = world
        .events
        .added_entry
        .clone()
        .expect("an entry was added");
    let key = dead_letter_key(&world.events.stream);
    let all = entries(world, &key).await;
    let entry = all
        .iter()
        .find(|entry| field(entry, "source_id").as_deref() == Some(source.as_str()))
        .unwrap_or_else(|| panic!("no dead letter for {source} in {key}: {all:?}"));
    assert!(
        field(entry, "reason").is_some_and(|reason| !reason.is_empty()),
        "no reason in {:?}",
        entry.map
    );
    let original: BTreeSet<String> = entries(world, &world.events.stream.clone())
        .await
        .into_iter()
        .find(|e| e.id == source)
        .map(|e| e.map.into_keys().collect())
        .unwrap_or_default();
    for name in original {
        assert!(
            entry.map.contains_key(&name),
            "field {name} not kept: {:?}",
            entry.map
        );
    }
}

#[then("the dead-letter stream is empty")]
async fn no_dead_letters(world: &mut MockVideoWorld) {
    wait_until_settled(world).await;
    let key = dead_letter_key(&world.events.stream);
    let all = entries(world, &key).await;
    assert!(all.is_empty(), "dead letters: {all:?}");
}

// ---------------------------------------------------------------------------------------------
// HTTP details the generic steps do not cover: headers by substring, admin endpoints, metrics

#[then(expr = "the response header {string} contains {string}")]
fn header_contains(world: &mut MockVideoWorld, name: String, needle: String) {
    let last = world.last();
    let value = last
        .headers
        .get(&name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_else(|| panic!("no header {name} in {:?}", last.headers));
    assert!(value.contains(&needle), "{name}: {value:?}");
}

/// GETs `path` on a consumer's admin listener into the last exchange.
async fn get_admin(world: &mut MockVideoWorld, consumer: &str, path: &str) {
    let admin = world
        .events
        .consumers
        .get(consumer)
        .and_then(RunningService::admin_url)
        .unwrap_or_else(|| panic!("no in-process consumer {consumer} with an admin listener"));
    let producer = world.base_url.replace(admin);
    send(world, "GET", path, None, None).await;
    world.base_url = producer;
}

#[when(expr = "I ask consumer {string} for {string}")]
async fn ask_consumer(world: &mut MockVideoWorld, consumer: String, path: String) {
    get_admin(world, &consumer, &path).await;
}

#[then(expr = "the producer's metric {string} is at least {int}")]
async fn producer_metric(world: &mut MockVideoWorld, name: String, at_least: u64) {
    send(world, "GET", "/metrics", None, None).await;
    assert_metric_at_least(world, &name, at_least);
}

#[then(expr = "consumer {string}'s metric {string} is at least {int}")]
async fn consumer_metric(
    world: &mut MockVideoWorld,
    consumer: String,
    name: String,
    at_least: u64,
) {
    get_admin(world, &consumer, "/metrics").await;
    assert_metric_at_least(world, &name, at_least);
}

/// Asserts that the last response is a 200 `/metrics` exposition where `name` is at least
/// `at_least`.
fn assert_metric_at_least(world: &MockVideoWorld, name: &str, at_least: u64) {
    assert_eq!(
        world.last().status,
        200,
        "/metrics: {}",
        world.last().text()
    );
    let total = metric_total(&world.last().text(), name);
    assert!(total >= at_least as f64, "{name} = {total}");
}

// ---------------------------------------------------------------------------------------------
// Faults

fn redis_container(world: &MockVideoWorld) -> String {
    assert!(
        world.events.own_redis,
        "faults are only injected into a Redis of the scenario's own"
    );
    world
        .events
        .redis()
        .server()
        .container_id()
        .expect("the scenario's Redis is a container")
        .to_owned()
}

async fn redis_fault(world: &mut MockVideoWorld, action: &str) -> anyhow::Result<()> {
    let id = redis_container(world);
    let started = Instant::now();
    match action {
        "restarted" => fault::container::restart(&id).await?,
        "stopped" => fault::container::stop(&id).await?,
        "paused" => fault::container::pause(&id).await?,
        "started again" => fault::container::start(&id).await?,
        "unpaused" => fault::container::unpause(&id).await?,
        other => anyhow::bail!("unknown Redis fault {other:?}"),
    }
    if matches!(action, "restarted" | "started again" | "unpaused") {
        world.events.redis().wait_until_ready().await?;
    }
    println!(
        "[events] Redis {action} in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[when(regex = r"^Redis is (restarted|stopped|paused|started again|unpaused)$")]
async fn redis_is(world: &mut MockVideoWorld, action: String) -> anyhow::Result<()> {
    redis_fault(world, &action).await
}

#[when("the producer is restarted")]
async fn producer_restarted(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    if let Some(producer) = world.events.producer.take() {
        producer.stop().await.context("stopping the producer")?;
    }
    start_producer(world).await
}

/// Polls `/readyz` until it answers `want` (bounded); returns how long that took.
pub async fn wait_for_readiness(world: &mut MockVideoWorld, want: u16) -> Duration {
    let started = Instant::now();
    let mut last = 0;
    while started.elapsed() < RECOVERY_LIMIT {
        send(world, "GET", "/readyz", None, None).await;
        last = world.last().status;
        if last == want {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz still answered {last} (wanted {want}) after {RECOVERY_LIMIT:?}");
}

#[then("the producer reports ready")]
async fn producer_reports_ready(world: &mut MockVideoWorld) {
    wait_for_readiness(world, 200).await;
}

#[then(expr = "consumer {string} reports ready")]
async fn consumer_reports_ready(world: &mut MockVideoWorld, consumer: String) {
    let started = Instant::now();
    loop {
        get_admin(world, &consumer, "/readyz").await;
        let status = world.last().status;
        if status == 200 {
            return;
        }
        assert!(
            started.elapsed() < RECOVERY_LIMIT,
            "consumer {consumer} /readyz still answered {status} after {RECOVERY_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[when("the producer is ready again")]
async fn producer_ready_again(world: &mut MockVideoWorld) {
    let took = wait_for_readiness(world, 200).await;
    println!(
        "[events] producer ready again after {:.2} s",
        took.as_secs_f64()
    );
}

#[then("the producer reports not ready")]
async fn producer_not_ready(world: &mut MockVideoWorld) {
    let took = wait_for_readiness(world, 503).await;
    println!(
        "[events] producer reported not ready after {:.2} s",
        took.as_secs_f64()
    );
}

#[then(
    expr = "{int} events posted while Redis is down are each refused with 503, Retry-After and a JSON error"
)]
async fn refused_while_down(world: &mut MockVideoWorld, count: usize) {
    let mut latencies = Vec::with_capacity(count);
    for n in 1..=count {
        let started = Instant::now();
        // The client timeout (30 s) is far above the producer's write timeout: a hang fails
        // the step as a transport error, a slow answer is only printed.
        post_event(world, &format!("down-{n}")).await;
        latencies.push(started.elapsed());
        let last = world.last();
        assert_eq!(
            last.status,
            503,
            "post {n} while Redis is down: {}",
            last.text()
        );
        assert!(
            last.headers.contains_key("retry-after"),
            "no Retry-After: {:?}",
            last.headers
        );
        let json = last.json().expect("a JSON error body");
        assert!(json.pointer("/error/code").is_some(), "error shape: {json}");
    }
    latencies.sort();
    println!(
        "[events] {count} posts while Redis was down: all 503; latency min {:.0} ms, median {:.0} ms, max {:.0} ms",
        latencies[0].as_secs_f64() * 1e3,
        latencies[count / 2].as_secs_f64() * 1e3,
        latencies[count - 1].as_secs_f64() * 1e3
    );
}

// ---------------------------------------------------------------------------------------------
// Flows of many events, the killer, and the exactly-once accounting

/// Runs the simulator against the producer: `count` events described `<prefix>-<seq>` at
/// `concurrency` (as fast as it allows), recording the accepted descriptions.
pub fn simulator_settings(
    world: &MockVideoWorld,
    count: u64,
    prefix: &str,
) -> events::simulator::Settings {
    events::simulator::Settings {
        producer_url: world.base_url().to_owned(),
        events_per_second: 0.0,
        concurrency: 16,
        duration: None,
        max_events: Some(count),
        description: format!("{prefix}-{{seq}}"),
        request_timeout: Duration::from_secs(30),
    }
}

/// Records a simulator report's accepted descriptions and prints its summary.
pub fn record_report(world: &mut MockVideoWorld, prefix: &str, report: &events::simulator::Report) {
    println!("[events] simulator ({prefix}): {}", report.summary());
    world.events.refused += report.failed;
    world.events.accepted.extend(
        report
            .accepted_seqs
            .iter()
            .map(|seq| format!("{prefix}-{seq}")),
    );
}

#[when(expr = "{int} events flow through the producer")]
async fn events_flow(world: &mut MockVideoWorld, count: u64) -> anyhow::Result<()> {
    world.events.flows += 1;
    let prefix = world
        .events
        .labelled(&format!("flow{}", world.events.flows));
    let settings = simulator_settings(world, count, &prefix);
    let report = events::simulator::run(&settings, std::future::pending()).await?;
    record_report(world, &prefix, &report);
    Ok(())
}

/// A random whole number in `low..=high` (uuid v4 randomness; the harness has no RNG).
fn random_between(low: u64, high: u64) -> u64 {
    let random = uuid::Uuid::new_v4().as_u128() as u64;
    low + random % (high - low + 1)
}

#[when(
    expr = "{int} events flow through the producer while consumer {string} is SIGKILLed at random moments"
)]
async fn flow_with_kills(
    world: &mut MockVideoWorld,
    count: u64,
    victim: String,
) -> anyhow::Result<()> {
    let prefix = world.events.labelled("killed");
    let settings = simulator_settings(world, count, &prefix);
    let simulator =
        tokio::spawn(
            async move { events::simulator::run(&settings, std::future::pending()).await },
        );
    let mut conn = conn(world).await;
    let stream = world.events.stream.clone();
    let deadline = Instant::now() + DRAIN_LIMIT;
    let mut kills = 0;
    while kills < MAX_KILLS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(random_between(100, 800))).await;
        // Keep killing while events still arrive or wait to be processed.
        let backlog = !matches!(
            group_state(&mut conn, &stream, GROUP).await,
            Some((0, true))
        );
        if simulator.is_finished() && !backlog {
            break;
        }
        let process = world
            .events
            .processes
            .get_mut(&victim)
            .unwrap_or_else(|| panic!("no consumer process {victim}"));
        process.kill().await?;
        process.start()?;
        kills += 1;
    }
    world.events.kills += kills;
    println!("[events] consumer {victim} SIGKILLed and restarted {kills} times");
    let report = simulator.await.context("the simulator task")??;
    record_report(world, &prefix, &report);
    Ok(())
}

#[when(expr = "{int} events flow through the producer while Redis is restarted")]
async fn flow_with_redis_restart(world: &mut MockVideoWorld, count: u64) -> anyhow::Result<()> {
    let prefix = world.events.labelled("restart");
    let mut settings = simulator_settings(world, count, &prefix);
    // A steady rate, so that the restart lands in the middle of the flow.
    settings.events_per_second = 1000.0;
    settings.concurrency = 8;
    let simulator =
        tokio::spawn(
            async move { events::simulator::run(&settings, std::future::pending()).await },
        );
    // Restart once a quarter of the events is in the stream (bounded wait).
    let mut conn = conn(world).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && !simulator.is_finished() {
        let len: u64 = conn.xlen(&world.events.stream).await.unwrap_or(0);
        if len >= count / 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mid_stream = !simulator.is_finished();
    redis_fault(world, "restarted").await?;
    let report = simulator.await.context("the simulator task")??;
    assert!(
        mid_stream,
        "the simulator finished before Redis was restarted"
    );
    record_report(world, &prefix, &report);
    Ok(())
}

/// What the processed record says about the accepted events.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    accepted: usize,
    processed: usize,
    duplicates: usize,
    lost: usize,
    /// Processed although the producer did not answer 200 (stored, then timed out): allowed.
    unconfirmed: usize,
}

fn count(accepted: &BTreeSet<String>, descriptions: &[String]) -> Counts {
    let mut times: HashMap<&str, usize> = HashMap::new();
    for description in descriptions {
        *times.entry(description.as_str()).or_default() += 1;
    }
    let processed = accepted
        .iter()
        .filter(|d| times.contains_key(d.as_str()))
        .count();
    Counts {
        accepted: accepted.len(),
        processed,
        duplicates: times.values().map(|n| n - 1).sum(),
        lost: accepted.len() - processed,
        unconfirmed: times.keys().filter(|d| !accepted.contains(**d)).count(),
    }
}

#[then("every accepted event is processed exactly once")]
async fn exactly_once(world: &mut MockVideoWorld) {
    let key = processed_key(&world.events.stream, world.events.group());
    let mut conn = conn(world).await;
    let started = Instant::now();
    let accepted = world.events.accepted.clone();
    assert!(!accepted.is_empty(), "no event was accepted");
    let counts = loop {
        let len: usize = conn.llen(&key).await.unwrap_or(0);
        let timed_out = started.elapsed() >= DRAIN_LIMIT;
        if len >= accepted.len() || timed_out {
            // Only the scenario's own events: others may share the stream.
            let descriptions: Vec<String> = processed(world)
                .await
                .into_iter()
                .map(|record| record.description)
                .filter(|description| description.starts_with(&world.events.label))
                .collect();
            let counts = count(&accepted, &descriptions);
            if counts.lost == 0 || timed_out {
                break counts;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    println!(
        "[events] counts: accepted={} processed={} duplicates processed={} lost={} \
         (refused={}, stored though refused={}, consumer kills={}, drained in {:.1} s)",
        counts.accepted,
        counts.processed,
        counts.duplicates,
        counts.lost,
        world.events.refused,
        counts.unconfirmed,
        world.events.kills,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(counts.lost, 0, "accepted events never processed");
    assert_eq!(counts.duplicates, 0, "events processed more than once");
    // Applied is not enough: every entry must also be acknowledged (or dead-lettered).
    wait_until_settled(world).await;
    for (name, process) in world.events.processes.iter_mut() {
        assert!(
            process.is_running(),
            "consumer process {name} exited; log:\n{}",
            process.log_tail(30)
        );
    }
}
