//! The deployed system as the scenario's services: the suite's connection to the cluster, the
//! scenario's run label, and the deployed workloads' URLs registered where the HTTP, cinema,
//! activity and events steps look for their services.

use std::time::Duration;

use anyhow::Context as _;
use cucumber::given;
use harness::cluster::Cluster;
use k8s_openapi::api::core::v1::Secret;
use tokio::sync::OnceCell;

use crate::steps::{
    events,
    world::{events::DeployedPipeline, MockVideoWorld},
};

/// The ConfigMap that configures the deployed event-consumer.
const CONSUMER_SETTINGS: &str = "event-consumer-settings";
const STREAM_KEY: &str = "EVENT_CONSUMER__REDIS__STREAM";
const GROUP_KEY: &str = "EVENT_CONSUMER__GROUP";
/// The Secret of the deployed event-consumer; its file `redis-password` is Redis's password.
const CONSUMER_SECRET: &str = "event-consumer-secrets";
const REDIS_PASSWORD_FILE: &str = "redis-password";
/// Longest a Background waits for a deployed workload to be Ready.
const READY_LIMIT: Duration = Duration::from_secs(60);

/// The suite's connection, made on first use (a failure is remembered and repeated).
pub(super) async fn cluster() -> anyhow::Result<Cluster> {
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
        .readiness()
        .with_limit(READY_LIMIT)
        .now(name)
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
    let redis = match redis_password(&cluster).await? {
        // The chart only accepts passwords of URL-safe characters (templates/backing.yaml).
        Some(password) => redis.replacen("http://", &format!("redis://:{password}@"), 1),
        None => redis.replacen("http://", "redis://", 1),
    };
    let pipeline = DeployedPipeline {
        redis_url: redis,
        stream: setting(STREAM_KEY)?,
        group: setting(GROUP_KEY)?,
    };
    use_service(world, "event-consumer").await?;
    let producer = use_service(world, "event-producer").await?;
    events::use_deployed(world, pipeline, producer, format!("{run}-"));
    Ok(())
}

/// The Redis password the deployed event-consumer uses (the file `redis-password` of its
/// Secret), or none when the Secret or the file is missing or empty (a Redis without one).
async fn redis_password(cluster: &Cluster) -> anyhow::Result<Option<String>> {
    let secret = tokio::time::timeout(
        Duration::from_secs(10),
        cluster.api::<Secret>().get_opt(CONSUMER_SECRET),
    )
    .await
    .with_context(|| format!("reading Secret {CONSUMER_SECRET}: no answer within 10 s"))?
    .with_context(|| format!("reading Secret {CONSUMER_SECRET}"))?;
    Ok(secret
        .and_then(|secret| secret.data)
        .and_then(|data| data.get(REDIS_PASSWORD_FILE).cloned())
        .map(|bytes| String::from_utf8_lossy(&bytes.0).trim().to_owned())
        .filter(|password| !password.is_empty()))
}
