//! The events state of one scenario: the Redis it uses (the suite's, or one of its own to break),
//! its stream, the producer and consumers it started, what it posted, and its teardown.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    sync::Arc,
    time::Duration,
};

use anyhow::Context as _;
use events::consumer::record::{dead_letter_key, processed_key, seen_key};
use harness::{
    backing::redis::Redis,
    launch::{process::ChildService, RunningService},
};
use redis::{aio::MultiplexedConnection, AsyncCommands as _};

/// The seed's consumer group name (a deployed pipeline names its own).
pub(crate) const GROUP: &str = "demo_consumer_group";

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
