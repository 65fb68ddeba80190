//! The event pipeline of `cargo xtask up`: Redis, the event producer, two event consumers in one
//! group and the event simulator sending a little traffic, so the stack shows events flowing.
//!
//! Each service is a debug binary of the `events` crate, configured through its environment
//! (`EVENT_PRODUCER__*`, `EVENT_CONSUMER__*`, `EVENT_SIMULATOR__*`), logging to
//! `target/up/<name>.log`.

use std::time::Duration;

use anyhow::Result;

use super::endpoints::Endpoint;
use super::process::Service;
use super::server::ServerComponent;
use super::Stack;
use crate::child::{self, pid_and_log, Child};
use crate::runner::Runner;
use crate::service;
use crate::stores::RedisServer;
use backing::redis::Redis;

/// The stream the producer appends to and the consumers read (the seed's documented name).
pub const STREAM: &str = crate::deployables::EVENT_STREAM;

/// The consumer group both consumers join (the seed's name).
pub const CONSUMER_GROUP: &str = "demo_consumer_group";

/// The simulator's rate: enough to see events flow, little enough to read the logs.
pub const SIMULATOR_EVENTS_PER_SECOND: f64 = 2.0;

/// How long the simulator may take before the producer has accepted its first event.
const FIRST_EVENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Redis, from the harness's provisioning (REDIS_URL, a container or a local redis-server);
/// publishes `REDIS_URL` and `REDIS_STREAM`.
pub fn redis_component() -> ServerComponent<Redis> {
    ServerComponent::new("redis", publish_redis)
}

fn publish_redis(server: &RedisServer, stack: &mut Stack) {
    stack.redis_url = Some(server.url().to_string());
    stack.publish(
        redis_endpoints(server.url()),
        format!("Redis ({}): stream {STREAM}", server.provider()),
        redis_examples(server.container_id()),
    );
}

/// The endpoints Redis publishes.
pub fn redis_endpoints(url: &str) -> Vec<Endpoint> {
    vec![
        Endpoint::new("REDIS_URL", url),
        Endpoint::new("REDIS_STREAM", STREAM),
    ]
}

/// A way to look into the stream without a local redis-cli: the one inside the container.
pub fn redis_examples(container_id: Option<&str>) -> Vec<String> {
    match container_id {
        Some(id) => {
            let short = &id[..id.len().min(12)];
            vec![
                format!("  docker exec {short} redis-cli XLEN {STREAM}"),
                format!("  docker exec {short} redis-cli XREVRANGE {STREAM} + - COUNT 3"),
                format!("  docker exec {short} redis-cli XINFO GROUPS {STREAM}"),
            ]
        }
        None => Vec::new(),
    }
}

/// The event producer (debug build) on 8080 or a free port; publishes `EVENT_PRODUCER_URL`.
pub struct EventProducer {
    preferred_port: Option<u16>,
}

impl EventProducer {
    /// The producer, on `preferred_port` if it is free.
    pub fn new(preferred_port: Option<u16>) -> Self {
        Self { preferred_port }
    }
}

/// Example requests printed once the producer is up (`$EVENT_PRODUCER_TOKEN` comes from
/// `endpoints.env`: `POST /event` needs it).
pub fn producer_examples(url: &str) -> Vec<String> {
    vec![
        format!(
            "  curl -si -X POST {url}/event -H \"Authorization: Bearer $EVENT_PRODUCER_TOKEN\" \
             -H 'Content-Type: application/json' -d '{{\"description\":\"hello world\"}}'"
        ),
        format!("  curl -si -X PUT {url}/event"),
        format!("  curl -s {url}/metrics | grep ^events_"),
    ]
}

impl Service for EventProducer {
    fn name(&self) -> &'static str {
        "event-producer"
    }

    async fn start(&self, stack: &mut Stack, runner: &dyn Runner, child: &mut Child) -> Result<()> {
        let redis_url = stack.redis_url()?.to_string();
        let secrets_dir = stack.secrets_dir()?.to_path_buf();
        let binary = stack.debug_binary(runner, "event-producer")?;
        let (process, url) = child
            .launch_on_port(runner, self.preferred_port, |port| {
                service::with_secrets_dir(
                    service::event_producer_cmd(&binary, port, &redis_url, STREAM),
                    &secrets_dir,
                )
            })
            .await?;
        stack.event_producer_url = Some(url.clone());
        stack.publish(
            [Endpoint::new("EVENT_PRODUCER_URL", &url)],
            format!("event-producer: {url}  {}", pid_and_log(process)),
            producer_examples(&url),
        );
        Ok(())
    }
}

/// One event consumer (debug build) in [`CONSUMER_GROUP`], named `consumer-<n>`, with its admin
/// HTTP listener on the preferred port or a free one. The first one publishes
/// `EVENT_CONSUMER_GROUP`; each publishes `EVENT_CONSUMER_<n>_ADMIN_URL`.
pub struct EventConsumer {
    index: u8,
    preferred_admin_port: Option<u16>,
}

impl EventConsumer {
    /// Consumer number `index` (1 or 2), its admin listener on `preferred_admin_port` if free.
    pub fn new(index: u8, preferred_admin_port: Option<u16>) -> Self {
        Self {
            index,
            preferred_admin_port,
        }
    }

    /// Its consumer name in the group.
    pub fn consumer(&self) -> String {
        format!("consumer-{}", self.index)
    }
}

/// The endpoints consumer `index` publishes.
pub fn consumer_endpoints(index: u8, admin_url: &str) -> Vec<Endpoint> {
    let mut endpoints = Vec::new();
    if index == 1 {
        endpoints.push(Endpoint::new("EVENT_CONSUMER_GROUP", CONSUMER_GROUP));
    }
    endpoints.push(Endpoint::new(
        format!("EVENT_CONSUMER_{index}_ADMIN_URL"),
        admin_url,
    ));
    endpoints
}

/// What to look at once a consumer is up: its counters and its log.
pub fn consumer_examples(admin_url: &str, log: &std::path::Path) -> Vec<String> {
    vec![
        format!(
            "  curl -s {admin_url}/metrics | grep -E '^events_(consumed|duplicates|claimed|dead_lettered)_total'"
        ),
        format!("  tail -f {}", log.display()),
    ]
}

impl Service for EventConsumer {
    fn name(&self) -> &'static str {
        match self.index {
            1 => "event-consumer-1",
            2 => "event-consumer-2",
            _ => "event-consumer",
        }
    }

    async fn start(&self, stack: &mut Stack, runner: &dyn Runner, child: &mut Child) -> Result<()> {
        let name = self.name();
        let consumer = self.consumer();
        let redis_url = stack.redis_url()?.to_string();
        let binary = stack.debug_binary(runner, "event-consumer")?;
        let (process, admin_url) = child
            .launch_on_port(runner, self.preferred_admin_port, |admin_port| {
                service::event_consumer_cmd(
                    &binary,
                    admin_port,
                    &redis_url,
                    STREAM,
                    CONSUMER_GROUP,
                    &consumer,
                )
            })
            .await?;
        let headline = format!(
            "{name}: {consumer} in group {CONSUMER_GROUP}, admin {admin_url}  {}",
            pid_and_log(process)
        );
        stack.publish(
            consumer_endpoints(self.index, &admin_url),
            headline,
            consumer_examples(&admin_url, child.log()),
        );
        Ok(())
    }
}

/// The event simulator (debug build) sending `events_per_second` events to the producer until
/// stopped; ready once the producer has accepted its first event. Publishes
/// `EVENT_SIMULATOR_ACTIVE=1`.
pub struct EventSimulator {
    events_per_second: f64,
}

impl EventSimulator {
    /// The simulator at `events_per_second`.
    pub fn new(events_per_second: f64) -> Self {
        Self { events_per_second }
    }
}

impl Service for EventSimulator {
    fn name(&self) -> &'static str {
        "event-simulator"
    }

    async fn start(&self, stack: &mut Stack, runner: &dyn Runner, child: &mut Child) -> Result<()> {
        let producer_url = stack.event_producer_url()?.to_string();
        let token = stack.endpoint("EVENT_PRODUCER_TOKEN")?.to_string();
        let binary = stack.debug_binary(runner, "event-simulator")?;
        let cmd = service::event_simulator_cmd(
            &binary,
            &producer_url,
            self.events_per_second,
            Some(&token),
        );
        let process = child.spawn(runner, cmd)?;
        // Ready when its traffic arrives: the producer has accepted at least one event.
        child::wait_for_metric(
            process,
            &format!("{producer_url}/metrics"),
            "events_produced_total",
            1.0,
            FIRST_EVENT_TIMEOUT,
        )
        .await?;
        let headline = format!(
            "event-simulator: {} events/s to {producer_url}/event  {}",
            self.events_per_second,
            pid_and_log(process)
        );
        stack.publish([Endpoint::new("EVENT_SIMULATOR_ACTIVE", "1")], headline, []);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::recording::{Kind, RecordingRunner};
    use crate::up::process::ProcessComponent;
    use crate::up::Component as _;
    use std::path::PathBuf;

    #[test]
    fn redis_publishes_its_url_and_the_stream() {
        assert_eq!(
            redis_endpoints("redis://127.0.0.1:32770"),
            [
                Endpoint::new("REDIS_URL", "redis://127.0.0.1:32770"),
                Endpoint::new("REDIS_STREAM", "NotificationStream"),
            ]
        );
    }

    #[test]
    fn the_stream_can_be_read_through_the_container() {
        let lines = redis_examples(Some("0123456789abcdef0123"));
        assert_eq!(
            lines[0],
            "  docker exec 0123456789ab redis-cli XLEN NotificationStream"
        );
        assert!(redis_examples(None).is_empty());
    }

    #[test]
    fn the_first_consumer_publishes_the_group_and_each_its_admin_url() {
        assert_eq!(
            consumer_endpoints(1, "http://127.0.0.1:9092"),
            [
                Endpoint::new("EVENT_CONSUMER_GROUP", "demo_consumer_group"),
                Endpoint::new("EVENT_CONSUMER_1_ADMIN_URL", "http://127.0.0.1:9092"),
            ]
        );
        assert_eq!(
            consumer_endpoints(2, "http://127.0.0.1:9093"),
            [Endpoint::new(
                "EVENT_CONSUMER_2_ADMIN_URL",
                "http://127.0.0.1:9093"
            )]
        );
    }

    #[test]
    fn two_consumers_have_distinct_names_in_one_group() {
        let first = EventConsumer::new(1, Some(9092));
        let second = EventConsumer::new(2, Some(9093));
        assert_eq!(
            (first.name(), second.name()),
            ("event-consumer-1", "event-consumer-2")
        );
        assert_eq!(
            (first.consumer(), second.consumer()),
            ("consumer-1".into(), "consumer-2".into())
        );
    }

    #[test]
    fn examples_post_an_event_and_show_the_counters() {
        let lines = producer_examples("http://127.0.0.1:8080");
        assert_eq!(
            lines[0],
            "  curl -si -X POST http://127.0.0.1:8080/event \
             -H \"Authorization: Bearer $EVENT_PRODUCER_TOKEN\" \
             -H 'Content-Type: application/json' -d '{\"description\":\"hello world\"}'"
        );
        let lines = consumer_examples(
            "http://127.0.0.1:9092",
            std::path::Path::new("target/up/event-consumer-1.log"),
        );
        assert!(lines[0].starts_with("  curl -s http://127.0.0.1:9092/metrics | grep"));
        assert_eq!(lines[1], "  tail -f target/up/event-consumer-1.log");
    }

    #[tokio::test]
    async fn event_services_need_redis_and_the_producer_first() {
        let runner = RecordingRunner::new();
        let mut stack = Stack::new(PathBuf::from("/t"));
        let mut producer = ProcessComponent::new(EventProducer::new(None));
        let error = producer.start(&mut stack, &runner).await.unwrap_err();
        assert!(error
            .to_string()
            .contains("redis component must start first"));
        let mut simulator = ProcessComponent::new(EventSimulator::new(2.0));
        let error = simulator.start(&mut stack, &runner).await.unwrap_err();
        assert!(error.to_string().contains("event-producer component"));
        // Nothing was built or spawned.
        assert!(runner.lines(Kind::Run).is_empty());
        assert!(runner.lines(Kind::Spawn).is_empty());
    }
}
