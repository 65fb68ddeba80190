//! Big bodies: a service (event-producer or movies) runs as a process of its own, so its peak
//! memory is the kernel's `VmHWM` of that process, not an estimate; a number of requests with
//! 1 MiB bodies (the default body limit) arrive at once; every one must get a 4xx JSON error,
//! the peak must stay within a stated bound over the idle size, and the service must keep
//! answering.
//!
//! Bodies are named by shape: `zeros` is `[0,0,…,0]` (the untyped tree it used to become cost
//! about 32 bytes per element), `description` is `{"description":"xxx…"}` and `title` is
//! `{"data":{"title":"xxx…","rating":0}}` (a huge string, then a wrong type).

use std::time::Duration;

use cucumber::{given, then, when};
use harness::{
    backing::port::free_port,
    launch::process::{ChildService, ProcessSpec},
    memory,
};
use serde_json::Value;

use super::world::MockVideoWorld;

/// How long the service may take to answer `/readyz`.
const READY_LIMIT: Duration = Duration::from_secs(60);
/// The size of every big body: exactly the default body limit, so it is read and decoded.
const BODY_BYTES: usize = 1024 * 1024;

/// A body of exactly [`BODY_BYTES`] of the named shape.
fn body(shape: &str) -> Vec<u8> {
    let (head, fill, tail): (&str, &str, &str) = match shape {
        "zeros" => ("[", "0,", "0]"),
        "description" => (r#"{"description":""#, "x", r#""}"#),
        "title" => (r#"{"data":{"title":""#, "x", r#"","rating":0}}"#),
        other => panic!("no body shape {other:?} (zeros, description, title)"),
    };
    let room = BODY_BYTES - head.len() - tail.len();
    let mut body = Vec::with_capacity(BODY_BYTES);
    body.extend_from_slice(head.as_bytes());
    body.extend(fill.as_bytes().iter().cycle().take(room));
    // `[0,0,…,0,` + `0]` stays an array of zeros whatever the parity of `room`.
    if shape == "zeros" && room % 2 == 1 {
        body.pop();
        body.push(b' ');
    }
    body.extend_from_slice(tail.as_bytes());
    assert_eq!(body.len(), BODY_BYTES);
    body
}

/// Starts `spec` (listening on `port`), waits for `/readyz`, warms it up with `warm_up` and
/// records its idle size.
async fn start(
    world: &mut MockVideoWorld,
    spec: ProcessSpec,
    port: u16,
    warm_up: (&str, &str),
) -> anyhow::Result<()> {
    let mut process = ChildService::spawn(spec.env("MOCKVIDEO_BIND_ADDRESS", "127.0.0.1"))?;
    let base_url = format!("http://127.0.0.1:{port}");
    let readyz = format!("{base_url}/readyz");
    process
        .wait_http_ready(&world.http, &readyz, READY_LIMIT)
        .await?;
    let (path, warm_body) = warm_up;
    let answer = world
        .http
        .post(format!("{base_url}{path}"))
        .body(warm_body.to_owned())
        .send()
        .await?;
    anyhow::ensure!(
        answer.status().is_success(),
        "warming up: HTTP {}",
        answer.status()
    );
    let pid = process.pid().ok_or_else(|| anyhow::anyhow!("no pid"))?;
    // From here on `VmHWM` is the peak of the flood (where the kernel lets us reset it).
    memory::reset_peak(pid);
    world.big_body.idle_rss_kib = memory::read(pid)?.rss_kib;
    println!(
        "[{}] idle RSS {}",
        process.name(),
        memory::mib(world.big_body.idle_rss_kib)
    );
    world.big_body.base_url = base_url;
    world.big_body.process = Some(process);
    Ok(())
}

#[given("the event-producer runs as a process of its own")]
async fn producer_process(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let redis = harness::suite::redis().await?;
    let stream = redis.unique_prefix("big-body");
    let port = free_port()?;
    let spec = ProcessSpec::new(
        "event-producer",
        env!("CARGO_BIN_EXE_harness-event-producer"),
    )
    .env("EVENT_PRODUCER__PORT", port.to_string())
    .env("EVENT_PRODUCER__REDIS__URL", redis.url())
    .env("EVENT_PRODUCER__REDIS__STREAM", &stream)
    .env("RUST_LOG", "warn");
    start(world, spec, port, ("/event", r#"{"description":"warm"}"#)).await
}

#[given("the movies service runs as a process of its own on a fresh database")]
async fn movies_process(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let mongo = harness::suite::mongo().await?;
    let database = mongo.unique_database("big_body");
    // Dropped by the cinema teardown.
    world.cinema.database = Some(database.clone());
    let port = free_port()?;
    let spec = ProcessSpec::new("movies", env!("CARGO_BIN_EXE_harness-movies"))
        .env("MOVIES__PORT", port.to_string())
        .env("MOVIES__MONGO__URL", mongo.url())
        .env("MOVIES__MONGO__DATABASE", &database)
        .env("RUST_LOG", "warn");
    start(
        world,
        spec,
        port,
        ("/movies", r#"{"data":{"title":"warm","rating":"1"}}"#),
    )
    .await
}

#[when(expr = "{int} bodies of 1 MiB shaped {string} are posted to {string} at once")]
async fn flood(world: &mut MockVideoWorld, count: usize, shape: String, path: String) {
    let url = format!("{}{path}", world.big_body.base_url);
    let payload = bytes::Bytes::from(body(&shape));
    let sends = (0..count).map(|_| {
        let (http, url, payload) = (world.http.clone(), url.clone(), payload.clone());
        async move {
            let answer = http
                .post(&url)
                .header("content-type", "application/json")
                .body(payload)
                .send()
                .await
                .expect("a big body answered");
            let status = answer.status().as_u16();
            let json: Option<Value> = answer.json().await.ok();
            let code = json
                .as_ref()
                .and_then(|json| json["error"]["code"].as_str())
                .map(str::to_owned);
            (status, code)
        }
    });
    world.big_body.answers = futures::future::join_all(sends).await;
    println!(
        "[big body] {count} × {shape} to {path}: {:?}",
        world.big_body.answers
    );
}

#[then(expr = "every one was answered {int} with the JSON error {string}")]
fn every_answer(world: &mut MockVideoWorld, status: u16, code: String) {
    assert!(!world.big_body.answers.is_empty(), "nothing was sent");
    for answer in &world.big_body.answers {
        assert_eq!(
            answer,
            &(status, Some(code.clone())),
            "every big body must get {status} {code}"
        );
    }
}

#[then(expr = "its peak memory grew by less than {int} MiB and stayed under {int} MiB")]
fn peak_memory(world: &mut MockVideoWorld, growth_mib: u64, limit_mib: u64) {
    let process = world
        .big_body
        .process
        .as_ref()
        .expect("the service runs as a process of this scenario");
    let pid = process.pid().expect("a running process");
    let read = memory::read(pid).expect("its memory");
    let idle = world.big_body.idle_rss_kib;
    let growth = read.hwm_kib.saturating_sub(idle);
    println!(
        "[{}] peak RSS (VmHWM) {} = idle {} + {}; now {}",
        process.name(),
        memory::mib(read.hwm_kib),
        memory::mib(idle),
        memory::mib(growth),
        memory::mib(read.rss_kib)
    );
    assert!(
        growth < growth_mib * 1024,
        "{} grew by {} (bound {growth_mib} MiB)",
        process.name(),
        memory::mib(growth)
    );
    assert!(
        read.hwm_kib < limit_mib * 1024,
        "{} peaked at {} (bound {limit_mib} MiB)",
        process.name(),
        memory::mib(read.hwm_kib)
    );
}

#[then(expr = "it still answers {int} to a POST of {string} to {string}")]
async fn still_answers(world: &mut MockVideoWorld, status: u16, body: String, path: String) {
    let url = format!("{}{path}", world.big_body.base_url);
    let answer = world
        .http
        .post(&url)
        .body(body)
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status().as_u16(), status);
}
