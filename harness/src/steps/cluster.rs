//! Cluster steps: the system deployed by `cargo xtask deploy --env local`, reached on the host
//! at the loopback ports its pod templates name ([`harness::cluster`]). They point the other
//! capabilities' state at the deployed services, so the HTTP, cinema, activity and events steps
//! run unchanged against the pods, and they inject the chaos faults (pods deleted, containers
//! killed, a Deployment scaled to 0 and back) and record how long each workload took to be
//! Ready again.
//!
//! Everything a scenario creates carries its run label (`{run}` in paths and bodies, a
//! description prefix for events), so scenarios never collide with each other, with earlier
//! runs or with the simulator pod's events.

use std::{collections::HashMap, time::Duration};

use ::activity::proto::Deployment;
use anyhow::Context as _;
use cucumber::{given, then, when};
use futures::{StreamExt as _, TryStreamExt as _};
use harness::cluster::{chaos::Fault, ChaosDriver, Cluster, Recovery};
use tokio::sync::OnceCell;

use super::{
    activity as activity_steps,
    events::{self, DeployedPipeline},
    http::pointer,
    world::MockVideoWorld,
};

/// The ConfigMap that configures the deployed event-consumer.
const CONSUMER_SETTINGS: &str = "event-consumer-settings";
const STREAM_KEY: &str = "EVENT_CONSUMER__REDIS__STREAM";
const GROUP_KEY: &str = "EVENT_CONSUMER__GROUP";
/// Longest a Background waits for a deployed workload to be Ready.
const READY_LIMIT: Duration = Duration::from_secs(60);
/// Events per second the chaos flows post at: steady, so the fault lands mid-flow.
const CHAOS_RATE: f64 = 200.0;

/// The cluster part of a scenario.
#[derive(Debug, Default)]
pub struct ClusterState {
    /// This scenario's label: `cluster-` and 10 random hex digits.
    run: String,
    /// Recovery times measured by the scenario's faults, in order.
    recoveries: Vec<Recovery>,
    /// Id and deployment of the activity event the scenario created.
    activity_event: Option<(i32, i32)>,
    /// Ids of the accountd users the scenario created.
    accountd_users: Vec<String>,
}

/// The cinema services whose collection is named like them (`/movies/{id}`, …).
const CINEMA: [&str; 4] = ["movies", "showtimes", "bookings", "users"];

impl ClusterState {
    /// Deletes what a cluster scenario created and may not have deleted itself (it failed
    /// half-way): the accountd users, and every remembered ObjectId from each cinema
    /// collection (ids are unique, so the wrong collection answers 404). Bounded per request;
    /// failures are printed, not raised.
    pub async fn teardown(
        &mut self,
        http: &reqwest::Client,
        services: &HashMap<String, String>,
        ids: &HashMap<String, String>,
    ) {
        if self.run.is_empty() {
            return;
        }
        let mut urls: Vec<String> = Vec::new();
        if let Some(accountd) = services.get("accountd") {
            urls.extend(
                self.accountd_users
                    .drain(..)
                    .map(|id| format!("{accountd}/users/{id}")),
            );
        }
        let object_ids = ids.values().filter(|id| is_object_id(id));
        for id in object_ids {
            for name in CINEMA {
                if let Some(base) = services.get(name) {
                    urls.push(format!("{base}/{name}/{id}"));
                }
            }
        }
        for url in urls {
            let answer = http
                .delete(&url)
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            match answer.map(|answer| answer.status().as_u16()) {
                Ok(200 | 204 | 404) => {}
                Ok(status) => eprintln!("[harness] cleanup DELETE {url}: {status}"),
                Err(error) => eprintln!("[harness] cleanup DELETE {url}: {error}"),
            }
        }
    }
}

/// 24 hex digits: a MongoDB ObjectId as the cinema services write it.
fn is_object_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The suite's connection, made on first use (a failure is remembered and repeated).
async fn cluster() -> anyhow::Result<Cluster> {
    static CLUSTER: OnceCell<Result<Cluster, String>> = OnceCell::const_new();
    CLUSTER
        .get_or_init(|| async {
            Cluster::connect()
                .await
                .map_err(|error| format!("{error:#}"))
        })
        .await
        .clone()
        .map_err(anyhow::Error::msg)
}

/// Gives the scenario its run label once, also as the remembered id `run`.
fn ensure_run(world: &mut MockVideoWorld) -> String {
    if world.cluster.run.is_empty() {
        let random = uuid::Uuid::new_v4().simple().to_string();
        world.cluster.run = format!("cluster-{}", &random[..10]);
        world
            .cinema
            .ids
            .insert("run".to_owned(), world.cluster.run.clone());
    }
    world.cluster.run.clone()
}

/// Registers the deployed workload `name`'s HTTP URL (its `http` port, else `admin`) under its name for
/// the "… to the {name} service at …" steps, its `admin` port as `{name}-admin` when it has both,
/// and its `grpc` port as the activity steps' server; the HTTP steps then talk to it.
/// First waits (at most [`READY_LIMIT`]) until it is Ready, so that an undeployed or broken
/// workload fails the Background with what it waited for instead of a connection error.
async fn use_service(world: &mut MockVideoWorld, name: &str) -> anyhow::Result<String> {
    ensure_run(world);
    let cluster = cluster().await?;
    cluster
        .chaos()
        .with_limit(READY_LIMIT)
        .wait_ready_now(name)
        .await?;
    let workload = cluster.workload(name).await?;
    let http = workload.url("http").ok();
    let admin = workload.url("admin").ok();
    if let Ok(grpc) = workload.url("grpc") {
        world.activity.grpc_url = Some(grpc);
    }
    if let (Some(_), Some(admin)) = (&http, &admin) {
        world
            .cinema
            .services
            .insert(format!("{name}-admin"), admin.clone());
    }
    let main = http.or(admin).with_context(|| {
        format!(
            "{} {name} has neither an http nor an admin port",
            workload.kind
        )
    })?;
    world.cinema.services.insert(name.to_owned(), main.clone());
    world.base_url = Some(main.clone());
    Ok(main)
}

#[given(expr = "the {word} service on the cluster")]
async fn service_on_cluster(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    use_service(world, &name).await.map(drop)
}

#[given("the event pipeline on the cluster")]
async fn pipeline_on_cluster(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let run = ensure_run(world);
    let cluster = cluster().await?;
    let redis = cluster.url("redis", "redis").await?;
    let settings = cluster.config_map(CONSUMER_SETTINGS).await?;
    let setting = |key: &str| {
        settings
            .get(key)
            .cloned()
            .with_context(|| format!("ConfigMap {CONSUMER_SETTINGS} has no {key}"))
    };
    let pipeline = DeployedPipeline {
        redis_url: redis.replacen("http://", "redis://", 1),
        stream: setting(STREAM_KEY)?,
        group: setting(GROUP_KEY)?,
    };
    use_service(world, "event-consumer").await?;
    let producer = use_service(world, "event-producer").await?;
    events::use_deployed(world, pipeline, producer, format!("{run}-"));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Data the scenario creates

#[when(expr = "I remember the id in the Location header as {string}")]
#[then(expr = "I remember the id in the Location header as {string}")]
fn remember_location(world: &mut MockVideoWorld, name: String) {
    let last = world.last();
    let location = last
        .headers
        .get("location")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_else(|| panic!("no Location header in {:?}", last.headers));
    let id = id_from_location(location)
        .unwrap_or_else(|| panic!("no id at the end of Location {location:?}"))
        .to_owned();
    world.cluster.accountd_users.push(id.clone());
    world.cinema.ids.insert(name, id);
}

/// The last path segment of a `Location` such as `/users/42`.
fn id_from_location(location: &str) -> Option<&str> {
    location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|id| !id.is_empty())
}

/// `text` with every remembered `{name}` replaced by its id.
fn fill_in(world: &MockVideoWorld, text: &str) -> String {
    world
        .cinema
        .ids
        .iter()
        .fold(text.to_owned(), |text, (name, id)| {
            text.replace(&format!("{{{name}}}"), id)
        })
}

#[then(expr = "the text at {string} in the response JSON reads {string}")]
fn json_text_reads(world: &mut MockVideoWorld, path: String, expected: String) {
    let expected = fill_in(world, &expected);
    let json = world.last().json().expect("a JSON body");
    assert_eq!(
        pointer(&json, &path),
        &expected.as_str(),
        "at {path} in {json}"
    );
}

// ---------------------------------------------------------------------------------------------
// activity-server over gRPC, with ids of the scenario's own (the database outlives scenarios)

/// A random positive `i32` well above the ids the functional features use.
fn fresh_id() -> i32 {
    let random = (uuid::Uuid::new_v4().as_u128() % 1_000_000_000) as i32;
    1_000_000 + random
}

#[when(expr = "I create a fresh event for a fresh deployment with message {string}")]
async fn create_fresh_event(world: &mut MockVideoWorld, message: String) {
    let (id, deployment_id) = (fresh_id(), fresh_id());
    world.cluster.activity_event = Some((id, deployment_id));
    let message = fill_in(world, &message);
    activity_steps::create(world, activity_steps::event(id, deployment_id, &message)).await;
}

fn fresh_event(world: &MockVideoWorld) -> (i32, i32) {
    world
        .cluster
        .activity_event
        .expect("no fresh event was created in this scenario")
}

#[then("the fresh event is accepted")]
fn fresh_event_accepted(world: &mut MockVideoWorld) {
    let (id, _) = fresh_event(world);
    let outcome = world
        .activity
        .last_call
        .as_ref()
        .expect("a CreateEvent call");
    let response = outcome.as_ref().expect("CreateEvent succeeded");
    assert_eq!(response.id, id, "{response:?}");
    assert!(response.success, "{response:?}");
}

#[when("I list the events of the fresh deployment")]
async fn list_fresh_deployment(world: &mut MockVideoWorld) {
    let (_, deployment) = fresh_event(world);
    let mut client = activity_steps::client(world).await;
    // Bounded: a deployment of the scenario's own holds one event.
    let outcome = match client.list_events(Deployment { id: deployment }).await {
        Ok(response) => response.into_inner().take(1000).try_collect().await,
        Err(status) => Err(status),
    };
    world.activity.listed = Some(outcome);
}

#[then(expr = "the fresh event is streamed back once with message {string}")]
fn fresh_event_listed(world: &mut MockVideoWorld, message: String) {
    let (id, deployment) = fresh_event(world);
    let message = fill_in(world, &message);
    let listed = world
        .activity
        .listed
        .as_ref()
        .expect("no ListEvents call")
        .as_ref()
        .expect("ListEvents succeeded");
    assert_eq!(listed.len(), 1, "{listed:?}");
    let event = &listed[0];
    assert_eq!(
        (event.id, event.deployment_id, event.message.as_str()),
        (id, deployment, message.as_str()),
        "{event:?}"
    );
    assert!(
        event.timestamp.as_ref().is_some_and(|t| t.receive > 0),
        "no receive time: {event:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Chaos

async fn driver() -> anyhow::Result<ChaosDriver> {
    Ok(cluster().await?.chaos())
}

/// Prints and records a recovery.
fn record(world: &mut MockVideoWorld, recovery: Recovery) {
    println!("[cluster] {recovery}");
    world.cluster.recoveries.push(recovery);
}

/// The kind of fault a flow step injects.
#[derive(Debug, Clone, Copy)]
enum FaultKind {
    DeletePods,
    KillContainers,
}

/// Posts `count` events at [`CHAOS_RATE`] through the deployed producer and injects `kind` into
/// `workload` a quarter of the way through; waits for the simulator and for the workload's
/// recovery together, then records both.
async fn flow_during_fault(
    world: &mut MockVideoWorld,
    count: u64,
    workload: &str,
    kind: FaultKind,
) -> anyhow::Result<()> {
    let producer = world
        .cinema
        .services
        .get("event-producer")
        .cloned()
        .context("no event pipeline: add \"Given the event pipeline on the cluster\"")?;
    world.base_url = Some(producer);
    let prefix = format!("{}-{workload}-{kind:?}", world.cluster.run).to_lowercase();
    let mut settings = events::simulator_settings(world, count, &prefix);
    settings.events_per_second = CHAOS_RATE;
    settings.concurrency = 8;
    let simulator =
        tokio::spawn(
            async move { ::events::simulator::run(&settings, std::future::pending()).await },
        );
    let quarter = Duration::from_secs_f64((count as f64 / CHAOS_RATE / 4.0).max(0.5));
    tokio::time::sleep(quarter).await;
    let mid_flow = !simulator.is_finished();
    let driver = driver().await?;
    let fault: Fault = match kind {
        FaultKind::DeletePods => driver.delete_pods(workload).await?,
        FaultKind::KillContainers => driver.kill_containers(workload).await?,
    };
    println!("[cluster] {} (mid-flow: {mid_flow})", fault.description());
    let (report, recovery) = tokio::join!(simulator, driver.wait_ready(&fault));
    let report = report.context("the simulator task")??;
    events::record_report(world, &prefix, &report);
    record(world, recovery?);
    anyhow::ensure!(
        mid_flow,
        "the flow ended before the fault: post more events"
    );
    Ok(())
}

#[when(
    regex = r"^(\d+) events flow through the producer while the (\S+) (pod is deleted|containers are killed)$"
)]
async fn flow_during(
    world: &mut MockVideoWorld,
    count: u64,
    workload: String,
    fault: String,
) -> anyhow::Result<()> {
    let kind = if fault.starts_with("pod") {
        FaultKind::DeletePods
    } else {
        FaultKind::KillContainers
    };
    flow_during_fault(world, count, &workload, kind).await
}

#[when(expr = "the {word} pod is deleted")]
async fn pod_deleted(world: &mut MockVideoWorld, workload: String) -> anyhow::Result<()> {
    let driver = driver().await?;
    let fault = driver.delete_pods(&workload).await?;
    println!("[cluster] {}", fault.description());
    let recovery = driver.wait_ready(&fault).await?;
    record(world, recovery);
    Ok(())
}

/// For a workload that was not faulted itself but depends on one that was: how long after the
/// step it answers ready again, recorded like a recovery.
#[then(expr = "the {word} service is Ready again within {int} seconds")]
async fn service_ready_within(
    world: &mut MockVideoWorld,
    name: String,
    bound: u64,
) -> anyhow::Result<()> {
    let recovery = driver()
        .await?
        .with_limit(Duration::from_secs(bound))
        .wait_ready_now(&name)
        .await?;
    record(world, recovery);
    Ok(())
}

#[when(expr = "the {word} deployment is scaled to 0 and back")]
async fn scaled_to_zero_and_back(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    let (gone, recovery) = driver().await?.scale_to_zero_and_back(&name).await?;
    println!(
        "[cluster] {name}: pods gone {:.2} s after scaling to 0",
        gone.as_secs_f64()
    );
    record(world, recovery);
    Ok(())
}

#[then(expr = "the {word} workload is Ready again within {int} seconds")]
fn ready_within(world: &mut MockVideoWorld, name: String, bound: u64) {
    let recovery = world
        .cluster
        .recoveries
        .iter()
        .rev()
        .find(|recovery| recovery.workload == name)
        .unwrap_or_else(|| panic!("no fault was injected into {name} in this scenario"));
    assert!(
        recovery.took <= Duration::from_secs(bound),
        "{recovery}, over the {bound} s bound"
    );
}

#[then("the event pipeline is Ready")]
async fn pipeline_ready(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let driver = driver().await?;
    for name in ["event-producer", "event-consumer"] {
        let waited = driver.wait_ready_now(name).await?.took;
        println!(
            "[cluster] {name} Ready (waited {:.2} s)",
            waited.as_secs_f64()
        );
    }
    // The HTTP steps talk to the producer again.
    events::wait_for_readiness(world, 200).await;
    Ok(())
}

#[then("the recovery times are printed")]
fn print_recoveries(world: &mut MockVideoWorld) {
    assert!(
        !world.cluster.recoveries.is_empty(),
        "no fault was injected in this scenario"
    );
    for recovery in &world.cluster.recoveries {
        println!(
            "[cluster] recovery: {} {:.2} s ({})",
            recovery.workload,
            recovery.took.as_secs_f64(),
            recovery.fault
        );
    }
}
