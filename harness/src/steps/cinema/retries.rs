//! Retried cinema writes: MongoDB's answers to a service lost on the wire, an insert that
//! MongoDB stored but whose answer came after the service had given up (503), the answer a
//! service kept for an `Idempotency-Key` lost (as when it died between storing the document and
//! keeping the answer), and what a collection of the scenario's database holds (the ledger: how
//! many documents a retried write left). Requests with an `Idempotency-Key`, and a request whose
//! own answer is lost, are the shared HTTP steps ([`crate::steps::http`]).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use cucumber::{gherkin::Step, then, when};
use harness::fault::{Fault, Target as _};
use mongodb::bson::{doc, Document};

use crate::steps::world::MockVideoWorld;

/// Longest one look into the scenario's database may take.
const LOOK_WITHIN: Duration = Duration::from_secs(10);

/// The collection the cinema services keep their `Idempotency-Key`s in.
const KEYS: &str = cinema::repo::idempotency::COLLECTION;

/// Runs `look` on the scenario's database (on the scenario's own server, else the suite's),
/// within [`LOOK_WITHIN`].
async fn in_database<T>(
    world: &MockVideoWorld,
    look: impl AsyncFnOnce(mongodb::Database) -> mongodb::error::Result<T>,
) -> anyhow::Result<T> {
    let database = world
        .cinema
        .database
        .clone()
        .context("no cinema service was started on a database of the scenario's own")?;
    let url = match &world.cinema.own_mongo {
        Some(mongo) => mongo.url().to_owned(),
        None => harness::suite::mongo().await?.url().to_owned(),
    };
    let attempt = async {
        let client = mongodb::Client::with_uri_str(&url).await?;
        let looked = look(client.database(&database)).await;
        client.shutdown().await;
        looked
    };
    tokio::time::timeout(LOOK_WITHIN, attempt)
        .await
        .with_context(|| format!("looking into database {database} took over {LOOK_WITHIN:?}"))?
        .with_context(|| format!("looking into database {database}"))
}

/// Injects `fault` into the links from `service` to MongoDB.
async fn inject_towards_mongo(
    world: &mut MockVideoWorld,
    service: &str,
    fault: Fault,
) -> anyhow::Result<()> {
    let chosen = world.network.select(Some(&[service]), Some("MongoDB"))?;
    world.network.faulted_at = Some(Instant::now());
    world.network.healed_at = None;
    world.network.fault = Some(format!("{fault} on {service} → MongoDB"));
    for index in chosen {
        let applied = world.network.links[index].inject(fault).await?;
        println!(
            "[cinema] {} (in {:.0} ms)",
            applied.what,
            applied.took.as_secs_f64() * 1e3
        );
    }
    Ok(())
}

/// Heals the links from `service` to MongoDB.
async fn heal_towards_mongo(world: &mut MockVideoWorld, service: &str) -> anyhow::Result<()> {
    for index in world.network.select(Some(&[service]), Some("MongoDB"))? {
        let applied = world.network.links[index].heal().await?;
        println!(
            "[cinema] {} (in {:.0} ms)",
            applied.what,
            applied.took.as_secs_f64() * 1e3
        );
    }
    world.network.healed_at = Some(Instant::now());
    Ok(())
}

/// How many documents `collection` of the scenario's database holds.
async fn count_of(world: &MockVideoWorld, collection: &str) -> anyhow::Result<u64> {
    in_database(world, async |database| {
        database
            .collection::<Document>(collection)
            .count_documents(doc! {})
            .await
    })
    .await
}

/// How long MongoDB's answers are held back while an insert is caught in flight.
const HELD_BACK: Fault = Fault::Latency { millis: 2000 };

/// Longest the insert may take to land in MongoDB.
const LANDS_WITHIN: Duration = Duration::from_secs(10);

/// Longest the whole caught request may take.
const ANSWERED_WITHIN: Duration = Duration::from_secs(30);

/// The body of a step's docstring, trimmed.
fn docstring(step: &Step) -> Vec<u8> {
    step.docstring
        .as_deref()
        .unwrap_or_default()
        .trim()
        .as_bytes()
        .to_vec()
}

/// The base URL of the scenario's `service`, made the target of the generic HTTP steps.
fn target(world: &mut MockVideoWorld, service: &str) -> anyhow::Result<String> {
    let base = world
        .cinema
        .services
        .get(service)
        .with_context(|| format!("the {service} service was not started in this scenario"))?
        .clone();
    world.base_url = Some(base.clone());
    Ok(base)
}

/// Sends `POST path` (with `header` and the docstring as body) to `service`, which reaches
/// MongoDB through a fault proxy, and loses MongoDB's answer to its insert: the answers are held
/// back ([`HELD_BACK`]) until the document is in the collection (read directly), then the link
/// is cut ([`Fault::Cut`]: the connection carrying the answer closes) until the service has
/// answered, then it heals. The insert is stored, but the service never hears of it. The answer
/// becomes the last exchange.
#[when(
    expr = "I send a POST request to the {word} service at {string} with header {string} and body, and MongoDB's answer to the insert is lost:"
)]
async fn insert_answer_lost(
    world: &mut MockVideoWorld,
    step: &Step,
    service: String,
    path: String,
    header: String,
) -> anyhow::Result<()> {
    let base = target(world, &service)?;
    let before = count_of(world, &service).await?;
    inject_towards_mongo(world, &service, HELD_BACK).await?;
    let http = world.http.clone();
    let body = docstring(step);
    let url = format!("{base}{path}");
    let mut request = tokio::spawn(async move {
        crate::steps::http::request(&http, "POST", &url, Some(&header), Some(body)).await
    });
    let started = Instant::now();
    let landed = loop {
        match count_of(world, &service).await {
            Ok(count) if count > before => break Ok(()),
            Ok(_) if started.elapsed() < LANDS_WITHIN && !request.is_finished() => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(_) => {
                break Err(anyhow::anyhow!(
                "the insert did not land in {service} before the answer or within {LANDS_WITHIN:?}"
            ))
            }
            Err(error) => break Err(error),
        }
    };
    if landed.is_ok() {
        // Its answer is still held back: cut the connection that would carry it.
        inject_towards_mongo(world, &service, Fault::Cut).await?;
    }
    let answered = tokio::time::timeout(ANSWERED_WITHIN, &mut request).await;
    heal_towards_mongo(world, &service).await?;
    landed?;
    let exchange = answered
        .with_context(|| format!("POST {path} unanswered after {ANSWERED_WITHIN:?}"))?
        .context("the request task failed")?;
    world.last = Some(exchange);
    Ok(())
}

/// Sends `POST path` with `header` and the docstring as body to `service` again and again while
/// it answers "retry later": 409 (the key is held by a request whose lease runs) or 503 (the
/// store was unreachable at its last check), every 250 ms, for at most `seconds`; the last
/// answer becomes the last exchange.
#[when(
    expr = "I send a POST request to the {word} service at {string} with header {string} and body, again while it answers 409 or 503, for at most {int} s:"
)]
async fn post_while_in_use(
    world: &mut MockVideoWorld,
    step: &Step,
    service: String,
    path: String,
    header: String,
    seconds: u64,
) -> anyhow::Result<()> {
    let base = target(world, &service)?;
    let url = format!("{base}{path}");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut refused = 0;
    loop {
        let exchange = crate::steps::http::request(
            &world.http,
            "POST",
            &url,
            Some(&header),
            Some(docstring(step)),
        )
        .await;
        if !matches!(exchange.status, 409 | 503) || Instant::now() >= deadline {
            println!(
                "[cinema] POST {path}: {refused} answers 409 or 503 before {}",
                exchange.status
            );
            world.last = Some(exchange);
            return Ok(());
        }
        refused += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every answer MongoDB sends `service` from now on is lost on the wire ([`Fault::LoseAnswers`]
/// on the link of "Given SERVICE reaches MongoDB through a fault proxy"): what the service sends
/// is executed, the service hears nothing back. "the link heals" ends it.
#[when(regex = r"^MongoDB's answers to (movies|showtimes|bookings|users) are lost$")]
async fn mongo_answers_lost(world: &mut MockVideoWorld, service: String) -> anyhow::Result<()> {
    inject_towards_mongo(world, &service, Fault::LoseAnswers).await
}

/// Forgets the answer `service` kept for `key`, as if it had died after storing the document
/// and before keeping the answer: the next request with the key executes again.
#[when(expr = "the {word} service loses the answer it kept for the key {string}")]
async fn kept_answer_lost(
    world: &mut MockVideoWorld,
    service: String,
    key: String,
) -> anyhow::Result<()> {
    let id = format!("{service}/{key}");
    let deleted = in_database(world, async |database| {
        database
            .collection::<Document>(KEYS)
            .delete_one(doc! { "_id": &id })
            .await
    })
    .await?;
    anyhow::ensure!(
        deleted.deleted_count == 1,
        "{service} kept nothing for the key {key:?} (no {id:?} in {KEYS})"
    );
    Ok(())
}

#[then(expr = "the {word} collection holds {int} document(s)")]
async fn collection_holds(
    world: &mut MockVideoWorld,
    collection: String,
    expected: u64,
) -> anyhow::Result<()> {
    let count = count_of(world, &collection).await?;
    anyhow::ensure!(
        count == expected,
        "the {collection} collection holds {count} documents, not {expected}"
    );
    Ok(())
}

#[then(expr = "the {word} service kept an answer {int} for the key {string}")]
async fn answer_kept(
    world: &mut MockVideoWorld,
    service: String,
    status: i32,
    key: String,
) -> anyhow::Result<()> {
    let id = format!("{service}/{key}");
    let kept = in_database(world, async |database| {
        database
            .collection::<Document>(KEYS)
            .find_one(doc! { "_id": &id })
            .await
    })
    .await?
    .with_context(|| format!("{service} kept nothing for the key {key:?}"))?;
    anyhow::ensure!(
        kept.get_i32("status").ok() == Some(status),
        "{service} kept {kept} for the key {key:?}, not an answer {status}"
    );
    Ok(())
}
