//! accountd under a flood of password hashes: accountd runs as a process of its own (so its
//! peak memory is the kernel's `VmHWM` of that process, not an estimate), bulk requests of new
//! users arrive at once, and afterwards every user answered 2xx must be stored and every other
//! one must not be.

use std::{collections::BTreeMap, time::Duration};

use cucumber::{given, then, when};
use harness::{
    backing::port::free_port,
    launch::process::{ChildService, ProcessSpec},
    memory,
};
use serde_json::{json, Value};

use super::super::world::MockVideoWorld;

/// How long accountd may take to connect, migrate and answer `/readyz`.
const READY_LIMIT: Duration = Duration::from_secs(60);

#[given(
    expr = "accountd runs as a process of its own on a fresh database with at most {int} password hashes at once and {int} waiting"
)]
async fn accountd_process(
    world: &mut MockVideoWorld,
    concurrent: usize,
    queue: usize,
) -> anyhow::Result<()> {
    let settings = [
        ("ACCOUNTD__HASHING__CONCURRENT", concurrent.to_string()),
        ("ACCOUNTD__HASHING__QUEUE", queue.to_string()),
    ];
    start_process(world, "accountd_flood", &settings).await
}

/// Starts accountd as a process of its own on a fresh database named after `label`, with
/// `settings` (environment variables) on top of the database's, and waits until it is ready.
pub(super) async fn start_process(
    world: &mut MockVideoWorld,
    label: &str,
    settings: &[(&str, String)],
) -> anyhow::Result<()> {
    let mysql = harness::suite::mysql().await?;
    let db = mysql.create_database(label).await?;
    world.databases.push(db.clone());
    let port = free_port()?;
    let mut spec = ProcessSpec::new("accountd", env!("CARGO_BIN_EXE_harness-accountd"))
        .env("MOCKVIDEO_BIND_ADDRESS", "127.0.0.1")
        .env("ACCOUNTD__PORT", port.to_string())
        .env("ACCOUNTD__DB__HOST", &db.host)
        .env("ACCOUNTD__DB__PORT", db.port.to_string())
        .env("ACCOUNTD__DB__NAME", &db.name)
        .env("ACCOUNTD__DB__USER", &db.user)
        .env("ACCOUNTD__DB__PASSWORD", &db.password)
        .env("RUST_LOG", "warn");
    for (key, value) in settings {
        spec = spec.env(*key, value.clone());
    }
    let mut process = ChildService::spawn(spec)?;
    let base_url = format!("http://127.0.0.1:{port}");
    let readyz = format!("{base_url}/readyz");
    process
        .wait_http_ready(&world.http, &readyz, READY_LIMIT)
        .await?;
    world.base_url = Some(base_url);
    world.accountd.process = Some(process);
    Ok(())
}

/// One bulk request creating `users` new users named after `run` and `request`.
fn bulk_body(run: &str, request: usize, users: usize) -> Value {
    let users: Vec<Value> = (0..users)
        .map(|index| {
            json!({
                "accountid": 1,
                "name": format!("Flood {request}-{index}"),
                "email": format!("flood-{run}-{request}-{index}@example.com"),
                "role": 1,
                "password": format!("pw-{run}-{request}-{index}"),
            })
        })
        .collect();
    json!({ "users": users })
}

#[when(expr = "{int} bulk requests of {int} new users each are sent at once")]
async fn bulk_flood(world: &mut MockVideoWorld, requests: usize, users: usize) {
    let url = format!("{}/users", world.base_url());
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let sends = (0..requests).map(|request| {
        let body = bulk_body(&run, request, users);
        let (http, url) = (world.http.clone(), url.clone());
        async move {
            let answer = http
                .post(&url)
                .header("Bulk-Request", "true")
                .json(&body)
                .send()
                .await
                .expect("a bulk request answered");
            let status = answer.status();
            let json: Value = answer.json().await.expect("a JSON bulk response");
            let results = json["results"]
                .as_array()
                .unwrap_or_else(|| panic!("HTTP {status}: no bulk results in {json}"))
                .clone();
            assert_eq!(results.len(), users, "one result per user: {json}");
            let emails = body["users"]
                .as_array()
                .expect("users")
                .iter()
                .map(|user| user["email"].as_str().expect("email").to_owned());
            emails
                .zip(results.iter().map(|result| {
                    let status = result["httpstatus"].as_u64().expect("httpstatus");
                    u16::try_from(status).expect("an HTTP status")
                }))
                .collect::<Vec<_>>()
        }
    });
    world.accountd.answers = futures::future::join_all(sends)
        .await
        .into_iter()
        .flatten()
        .collect();
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for (_, status) in &world.accountd.answers {
        *by_status.entry(*status).or_default() += 1;
    }
    println!("[accountd] bulk results by httpstatus: {by_status:?}");
}

#[then(expr = "accountd's peak memory stayed under {int} MiB")]
fn peak_memory_under(world: &mut MockVideoWorld, limit_mib: u64) {
    let pid = world
        .accountd
        .process
        .as_ref()
        .and_then(ChildService::pid)
        .expect("accountd runs as a process of this scenario");
    let read = memory::read(pid).expect("accountd's memory");
    println!(
        "[accountd] peak RSS (VmHWM) {}, now {}",
        memory::mib(read.hwm_kib),
        memory::mib(read.rss_kib)
    );
    assert!(
        read.hwm_kib < limit_mib * 1024,
        "accountd peaked at {} (limit {limit_mib} MiB)",
        memory::mib(read.hwm_kib)
    );
}

#[then(expr = "some users were answered {int} and some {int}")]
fn both_answers(world: &mut MockVideoWorld, first: u16, second: u16) {
    for wanted in [first, second] {
        assert!(
            world
                .accountd
                .answers
                .iter()
                .any(|(_, status)| *status == wanted),
            "no user was answered {wanted}"
        );
    }
}

#[then("every user answered 2xx is stored and every other one is not")]
async fn stored_exactly_the_accepted(world: &mut MockVideoWorld) {
    let url = format!("{}/users", world.base_url());
    let json: Value = world
        .http
        .get(&url)
        .send()
        .await
        .expect("GET /users answered")
        .json()
        .await
        .expect("a JSON users list");
    let stored: std::collections::HashSet<&str> = json["users"]
        .as_array()
        .expect("a users list")
        .iter()
        .filter_map(|user| user["email"].as_str())
        .collect();
    let mut accepted = 0;
    for (email, status) in &world.accountd.answers {
        let ok = (200..300).contains(status);
        accepted += usize::from(ok);
        assert_eq!(
            stored.contains(email.as_str()),
            ok,
            "{email} was answered {status} but is {}stored",
            if ok { "not " } else { "" }
        );
    }
    println!(
        "[accountd] {accepted} users stored, {} refused and not stored",
        world.accountd.answers.len() - accepted
    );
}
