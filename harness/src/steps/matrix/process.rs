//! Every matrix service as a child process of its own: "Given accountd runs as a process of its
//! own" (likewise `activity-server`, `movies`, `suggestions`, `event-producer`,
//! `event-consumer`). The step provisions the service's store, spawns its binary with
//! [`ChildService`], waits for `/readyz` and leaves a
//! [`MatrixProcess`](super::super::world::matrix::MatrixProcess) in `world.matrix.process`: the
//! child (to SIGTERM, SIGKILL and restart), its URLs, its chart's memory limit and the
//! representative READ and WRITE requests of the signal and overload cells.
//!
//! | key | store | child process | in-process companions |
//! |---|---|---|---|
//! | accountd | fresh MySQL database, the seed's test data | `harness-accountd` | |
//! | activity-server | fresh MySQL database, migrations | `harness-activity-server` | |
//! | movies | fresh MongoDB database, the seed data | `harness-movies` | |
//! | suggestions | fresh seeded MongoDB database | `harness-users` | movies, showtimes, bookings |
//! | event-producer | a unique stream on the suite's Redis | `harness-event-producer` | |
//! | event-consumer | a unique stream (its own group keys) | `harness-event-consumer` | the producer |
//!
//! After "Given <service> reaches <store> through a fault proxy" the child reaches its store
//! through that link ([`NetworkState::route`](super::super::world::network::NetworkState::route),
//! as the in-process launches do); suggestions' links to its upstreams likewise. Store timeouts
//! are the in-process launches' short ones (MongoDB 1 s selection and connect, 3 s per call;
//! Redis writes 1 s); accountd's request timeout is the scenario's ("accountd's requests time
//! out after N ms") when given; the lame-duck period after SIGTERM is [`SHUTDOWN_DELAY`];
//! everything else the defaults.

use std::{path::PathBuf, time::Duration};

use anyhow::Context as _;
use cucumber::given;
use harness::{
    backing::port::free_port,
    launch::process::{ChildService, ProcessSpec},
    matrix::Service,
};
use tonic::transport::Channel;

use crate::steps::{
    events::start as events_start,
    world::{matrix::MatrixProcess, MockVideoWorld},
};

/// The lame-duck period every child runs with (`MOCKVIDEO_SHUTDOWN_DELAY`): after SIGTERM it
/// goes on serving with `/readyz` answering 503 this long before its listener closes, as a
/// deployment sets it to the time its load balancers take to drop an unready endpoint.
pub const SHUTDOWN_DELAY: Duration = Duration::from_secs(1);

/// How long a child may take to connect, migrate and answer `/readyz`.
pub const READY_LIMIT: Duration = Duration::from_secs(60);

#[given(
    regex = r"^(accountd|activity-server|movies|suggestions|event-producer|event-consumer) runs as a process of its own$"
)]
async fn runs_as_a_process(world: &mut MockVideoWorld, key: String) -> anyhow::Result<()> {
    let service =
        Service::from_key(&key).ok_or_else(|| anyhow::anyhow!("no matrix service {key:?}"))?;
    start(world, service).await
}

/// Starts `service` as a child process (see the module docs) into `world.matrix.process`, and
/// points the generic HTTP steps (`world.base_url`) at it (activity-server: its admin listener).
pub async fn start(world: &mut MockVideoWorld, service: Service) -> anyhow::Result<()> {
    anyhow::ensure!(
        world.matrix.process.is_none(),
        "this scenario runs a matrix process already"
    );
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let ChartLimits {
        chart,
        memory_kib: memory_limit_kib,
        cpu_millis: cpu_limit_millis,
        settings,
    } = chart_limits(service)?;
    let port = free_port()?;
    let base_url = format!("http://127.0.0.1:{port}");
    // Where requests go, where /readyz is, and the service-specific parts.
    let mut target = base_url.clone();
    let mut admin_url = base_url.clone();
    let mut redis = None;
    let mut grpc = None;
    let spec = match service {
        Service::Accountd => accountd_spec(world, port).await?,
        Service::ActivityServer => {
            let admin = free_port()?;
            admin_url = format!("http://127.0.0.1:{admin}");
            let channel = Channel::from_shared(base_url.clone())
                .context("the gRPC URL")?
                .connect_timeout(Duration::from_secs(1))
                .timeout(crate::steps::world::matrix::CALL_TIMEOUT)
                .connect_lazy();
            grpc = Some(channel);
            activity_spec(world, port, admin).await?
        }
        Service::Movies => movies_spec(world, port).await?,
        Service::Suggestions => users_spec(world, port).await?,
        Service::EventProducer => {
            events_start::use_shared_redis(world).await?;
            redis = Some((world.events.url(), world.events.stream.clone()));
            producer_spec(world, port).await?
        }
        Service::EventConsumer => {
            events_start::use_shared_redis(world).await?;
            redis = Some((world.events.url(), world.events.stream.clone()));
            // The producer in-process; the events go there, the consumer is the child.
            events_start::start_producer(world).await?;
            target = world.base_url().to_owned();
            let redis_url = world
                .network
                .route_url("event-consumer", "Redis", &world.events.url())
                .await?;
            events_start::consumer_process_spec(
                &redis_url,
                &world.events.stream,
                "matrix",
                &world.events.bounds,
            )
            .env("EVENT_CONSUMER__ADMIN_PORT", port.to_string())
            .env("RUST_LOG", "warn")
        }
    };
    let mut spec = spec.env("MOCKVIDEO_BIND_ADDRESS", "127.0.0.1").env(
        platform::serve::SHUTDOWN_DELAY_ENV,
        format!("{}ms", SHUTDOWN_DELAY.as_millis()),
    );
    // As deployed: the bounds its chart tunes (accountd's hashing threads, sized to its CPU
    // limit; the users service's concurrency floor). Addresses, ports, log levels and what a
    // scenario set stay the harness's own.
    for (key, value) in settings {
        let set = spec.env.iter().any(|(name, _)| *name == key);
        if !set && TUNED_SETTINGS.iter().any(|part| key.contains(part)) {
            spec = spec.env(key, value);
        }
    }
    let child = ChildService::spawn(spec)?;
    let mut process = MatrixProcess {
        service,
        child,
        base_url: target,
        ready_url: format!("{admin_url}/readyz"),
        admin_url,
        memory_limit_kib,
        cpu_limit_millis,
        cpu_limit: None,
        chart,
        redis,
        deployment: 1,
        grpc,
        run,
    };
    process.wait_ready(&world.http, READY_LIMIT).await?;
    if service == Service::Accountd {
        load_accountd_test_data(world).await?;
    }
    match service {
        Service::ActivityServer => {
            world.activity.grpc_url = Some(process.base_url.clone());
            world.base_url = Some(process.admin_url.clone());
        }
        Service::EventConsumer => {}
        _ => world.base_url = Some(process.base_url.clone()),
    }
    println!(
        "[matrix] {service} runs as pid {:?} at {} (ready at {}; chart {} limit {})",
        process.child.pid(),
        process.base_url,
        process.ready_url,
        process.chart,
        harness::memory::mib(process.memory_limit_kib)
    );
    world.matrix.process = Some(process);
    Ok(())
}

async fn accountd_spec(world: &mut MockVideoWorld, port: u16) -> anyhow::Result<ProcessSpec> {
    let mysql = harness::suite::mysql().await?;
    let db = mysql.create_database("matrix_accountd").await?;
    world.databases.push(db.clone());
    let (host, db_port) = world
        .network
        .route_host_port("accountd", "MySQL", &db.host, db.port)
        .await?;
    let mut spec = ProcessSpec::new("accountd", env!("CARGO_BIN_EXE_harness-accountd"))
        .env("ACCOUNTD__PORT", port.to_string())
        .env("ACCOUNTD__DB__HOST", host)
        .env("ACCOUNTD__DB__PORT", db_port.to_string())
        .env("ACCOUNTD__DB__NAME", &db.name)
        .env("ACCOUNTD__DB__USER", &db.user)
        .env("ACCOUNTD__DB__PASSWORD", &db.password)
        .env("RUST_LOG", "warn");
    if let Some(timeout) = world.accountd.request_timeout {
        spec = spec.env(
            "ACCOUNTD__LIMITS__REQUEST_TIMEOUT",
            format!("{}ms", timeout.as_millis()),
        );
    }
    Ok(spec)
}

/// The seed's five users, loaded directly (not through a fault proxy) once accountd migrated
/// the database; not by `--load-test-data`, which a restart would repeat.
async fn load_accountd_test_data(world: &MockVideoWorld) -> anyhow::Result<()> {
    let db = world
        .databases
        .last()
        .context("accountd's database")?
        .clone();
    let pool = sqlx::MySqlPool::connect(&db.url())
        .await
        .with_context(|| format!("connecting to database {} to load the test data", db.name))?;
    let loaded = accountd::db::load_test_data(&pool)
        .await
        .context("loading the seed's test data");
    pool.close().await;
    loaded
}

async fn activity_spec(
    world: &mut MockVideoWorld,
    port: u16,
    admin: u16,
) -> anyhow::Result<ProcessSpec> {
    let mysql = harness::suite::mysql().await?;
    let db = mysql.create_database("matrix_activity").await?;
    world.databases.push(db.clone());
    world.activity.db = Some(db.clone());
    let (host, db_port) = world
        .network
        .route_host_port("activity-server", "MySQL", &db.host, db.port)
        .await?;
    Ok(ProcessSpec::new(
        "activity-server",
        env!("CARGO_BIN_EXE_harness-activity-server"),
    )
    .env("ACTIVITY__PORT", port.to_string())
    .env("ACTIVITY__ADMIN_PORT", admin.to_string())
    .env("ACTIVITY__DB__HOST", host)
    .env("ACTIVITY__DB__PORT", db_port.to_string())
    .env("ACTIVITY__DB__NAME", &db.name)
    .env("ACTIVITY__DB__USER", &db.user)
    .env("ACTIVITY__DB__PASSWORD", &db.password)
    .env("RUST_LOG", "warn"))
}

/// A fresh seeded MongoDB database on the suite's server (dropped by the cinema teardown);
/// returns the server's URL and the database.
async fn seeded_mongo(world: &mut MockVideoWorld) -> anyhow::Result<(String, String)> {
    let mongo = harness::suite::mongo().await?;
    let database = mongo.unique_database("matrix");
    world.cinema.database = Some(database.clone());
    harness::launch::cinema::load_seed(mongo.url(), &database).await?;
    Ok((mongo.url().to_owned(), database))
}

/// The environment of a cinema service `prefix` (`MOVIES`, `USERS`) on `port`, `mongo_url`
/// and `database`, with the in-process launches' short store timeouts.
fn cinema_spec(
    name: &str,
    program: &str,
    prefix: &str,
    port: u16,
    mongo_url: &str,
    database: &str,
) -> ProcessSpec {
    ProcessSpec::new(name, program)
        .env(format!("{prefix}__PORT"), port.to_string())
        .env(format!("{prefix}__MONGO__URL"), mongo_url)
        .env(format!("{prefix}__MONGO__DATABASE"), database)
        .env(format!("{prefix}__MONGO__SERVER_SELECTION_TIMEOUT"), "1s")
        .env(format!("{prefix}__MONGO__CONNECT_TIMEOUT"), "1s")
        .env(format!("{prefix}__MONGO__OPERATION_TIMEOUT"), "3s")
        .env("RUST_LOG", "warn")
}

async fn movies_spec(world: &mut MockVideoWorld, port: u16) -> anyhow::Result<ProcessSpec> {
    let (url, database) = seeded_mongo(world).await?;
    let routed = world.network.route_url("movies", "MongoDB", &url).await?;
    Ok(cinema_spec(
        "movies",
        env!("CARGO_BIN_EXE_harness-movies"),
        "MOVIES",
        port,
        &routed,
        &database,
    ))
}

/// movies, showtimes and bookings in-process on the seeded database (in `world.services` and
/// `world.cinema.services`), and the users service's spec pointed at them.
async fn users_spec(world: &mut MockVideoWorld, port: u16) -> anyhow::Result<ProcessSpec> {
    let (url, database) = seeded_mongo(world).await?;
    let mut spec = {
        let routed = world.network.route_url("users", "MongoDB", &url).await?;
        cinema_spec(
            "users",
            env!("CARGO_BIN_EXE_harness-users"),
            "USERS",
            port,
            &routed,
            &database,
        )
    };
    for upstream in [
        cinema::Service::Movies,
        cinema::Service::Showtimes,
        cinema::Service::Bookings,
    ] {
        let name = upstream.name();
        let mongo_url = world.network.route_url(name, "MongoDB", &url).await?;
        let settings = harness::launch::cinema::settings_for(&mongo_url, &database);
        let running = harness::launch::cinema::start_with(upstream, settings).await?;
        let base = running.base_url();
        world.services.push(running);
        wait_ok(world, &format!("{base}/readyz")).await?;
        world.cinema.services.insert(name.to_owned(), base.clone());
        let routed = world.network.route_url("users", name, &base).await?;
        let key = format!("USERS__SUGGESTIONS__{}_URL", name.to_uppercase());
        spec = spec.env(key, routed);
    }
    world.cinema.suggestions_timeout = Some(cinema::Settings::default().suggestions.timeout);
    world
        .cinema
        .services
        .insert("users".to_owned(), format!("http://127.0.0.1:{port}"));
    Ok(spec)
}

async fn producer_spec(world: &mut MockVideoWorld, port: u16) -> anyhow::Result<ProcessSpec> {
    let redis_url = world
        .network
        .route_url("event-producer", "Redis", &world.events.url())
        .await?;
    Ok(ProcessSpec::new(
        "event-producer",
        env!("CARGO_BIN_EXE_harness-event-producer"),
    )
    .env("EVENT_PRODUCER__PORT", port.to_string())
    .env("EVENT_PRODUCER__REDIS__URL", redis_url)
    .env("EVENT_PRODUCER__REDIS__STREAM", &world.events.stream)
    .env("EVENT_PRODUCER__WRITE_TIMEOUT", "1s")
    .env("EVENT_PRODUCER__RECONNECT_INTERVAL", "200ms")
    .env("RUST_LOG", "warn"))
}

/// Polls `GET url` until 2xx, at most [`READY_LIMIT`].
async fn wait_ok(world: &MockVideoWorld, url: &str) -> anyhow::Result<()> {
    use harness::backing::wait::{wait_until, Attempt};
    let http = &world.http;
    wait_until(
        &format!("200 from {url}"),
        READY_LIMIT,
        Duration::from_millis(100),
        || async move {
            match http.get(url).timeout(Duration::from_secs(5)).send().await {
                Ok(answer) if answer.status().is_success() => Attempt::Ready(()),
                Ok(answer) => Attempt::Pending(format!("HTTP {}", answer.status())),
                Err(error) => Attempt::Pending(error.to_string()),
            }
        },
    )
    .await?;
    Ok(())
}

/// The `resources.limits` of a service's Helm chart, and the container environment it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartLimits {
    /// The chart (`helm/<chart>/values.yaml`).
    pub chart: &'static str,
    /// `resources.limits.memory`, in KiB.
    pub memory_kib: u64,
    /// `resources.limits.cpu`, in millicores.
    pub cpu_millis: u32,
    /// `settings`: the container's environment, in order.
    pub settings: Vec<(String, String)>,
}

/// The Helm chart of `service`: its `resources.limits` and `settings`.
pub fn chart_limits(service: Service) -> anyhow::Result<ChartLimits> {
    let chart = match service {
        Service::Suggestions => "users",
        other => other.key(),
    };
    let (path, text) = chart_values(chart)?;
    let limit = |key: &str| {
        limits_entry(&text, key)
            .with_context(|| format!("resources.limits.{key} in {}", path.display()))
    };
    Ok(ChartLimits {
        chart,
        memory_kib: quantity_kib(&limit("memory")?)?,
        cpu_millis: harness::launch::cpu_limit::millicores(&limit("cpu")?)?,
        settings: values_section(&text, &["settings"]),
    })
}

#[given("it is held to its chart's CPU limit")]
fn held_to_the_cpu_limit(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let process = world.matrix.process.as_mut().context(
        "no matrix process: start one with \"Given <service> runs as a process of its own\"",
    )?;
    let pid = process
        .child
        .pid()
        .context("the matrix process has no pid")?;
    let limit = harness::launch::cpu_limit::CpuLimit::apply(
        pid,
        process.cpu_limit_millis,
        process.service.key(),
    )?;
    println!(
        "[matrix] {} held to {}m of CPU (helm/{}/values.yaml resources.limits.cpu)",
        process.service, process.cpu_limit_millis, process.chart
    );
    process.cpu_limit = Some(limit);
    Ok(())
}

/// The path and text of `helm/<chart>/values.yaml`.
fn chart_values(chart: &str) -> anyhow::Result<(PathBuf, String)> {
    let path = repo_root().join("helm").join(chart).join("values.yaml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok((path, text))
}

/// The workspace root (the harness crate's parent).
fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map_or(manifest.clone(), PathBuf::from)
}

/// `resources.limits.<key>` of a chart's values (block-style YAML, as our charts write it): the
/// value under the top-level `resources:`, its `limits:`, its `<key>:`.
pub fn limits_entry(values: &str, wanted: &str) -> anyhow::Result<String> {
    values_entry(values, &["resources", "limits"], wanted)
        .with_context(|| format!("no resources.limits.{wanted}"))
}

/// The value of `<section...>.<wanted>` in a chart's values (block-style YAML, as our charts
/// write it), if it is there.
fn values_entry(values: &str, section: &[&str], wanted: &str) -> Option<String> {
    values_section(values, section)
        .into_iter()
        .find_map(|(key, value)| (key == wanted).then_some(value))
}

/// The entries right under `<section...>` in a chart's values (block-style YAML, as our charts
/// write it), in order.
fn values_section(values: &str, section: &[&str]) -> Vec<(String, String)> {
    let mut entries = Vec::new();
    let mut path: Vec<(usize, String)> = Vec::new();
    for line in values.lines() {
        let content = line.split(" #").next().unwrap_or_default();
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('-') {
            continue;
        }
        let indent = content.len() - trimmed.len();
        let Some((key, value)) = trimmed.split_once(':') else {
            continue;
        };
        while path.last().is_some_and(|(depth, _)| *depth >= indent) {
            path.pop();
        }
        let value = value.trim().trim_matches('"').trim_matches('\'');
        let keys: Vec<&str> = path.iter().map(|(_, key)| key.as_str()).collect();
        if keys == section {
            entries.push((key.trim().to_owned(), value.to_owned()));
        }
        path.push((indent, key.trim().to_owned()));
    }
    entries
}

/// The parts of a setting's name that make a matrix process take it from its chart: the bounds
/// a chart tunes to its resources.
const TUNED_SETTINGS: &[&str] = &["__HASHING__", "__LIMITS__"];

/// A Kubernetes memory quantity (`128Mi`, `1Gi`, `500M`, `134217728`) in KiB.
fn quantity_kib(quantity: &str) -> anyhow::Result<u64> {
    let digits = quantity
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(quantity.len());
    let (number, unit) = quantity.split_at(digits);
    let number: u64 = number
        .parse()
        .with_context(|| format!("{quantity:?} is not a memory quantity"))?;
    let bytes = match unit {
        "" => number,
        "Ki" => number << 10,
        "Mi" => number << 20,
        "Gi" => number << 30,
        "k" => number * 1000,
        "M" => number * 1_000_000,
        "G" => number * 1_000_000_000,
        other => anyhow::bail!("unknown memory unit {other:?} in {quantity:?}"),
    };
    Ok(bytes / 1024)
}
