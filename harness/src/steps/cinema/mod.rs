//! Cinema steps: the movies, showtimes, bookings and users services on a database of the
//! scenario's own (on the suite's shared MongoDB, or on a server of the scenario's own when it
//! restarts MongoDB), the `{"data": ...}` envelope, ids remembered from one answer and used in
//! the next request's path or body, and recovery after the database restarts.
//!
//! A remembered id is written `{name}` in a path or body: `"/movies/{zootopia}"`.
//!
//! Auth: "… with auth on" starts the services with a random JWT secret of the scenario's own;
//! "I use a valid token" (and the expired, foreign, `alg: none` and no-token variants) sets the
//! `Authorization` header that the "… to the {word} service at …" request steps send.
//!
//! The users service is always started last and pointed at the scenario's movies, showtimes and
//! bookings services, so its suggestions go through all four ([`suggestions`] has their steps).

pub mod suggestions;

use std::{
    collections::HashMap,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use cinema::Service;
use cucumber::{gherkin::Step, given, then, when};
use harness::backing::mongo::Mongo;
use secrecy::SecretString;
use serde_json::{json, Value};

use super::{
    http::{pointer, send},
    world::MockVideoWorld,
};

/// How long a service may take to become ready (MongoDB pinged, indexes created).
const READY_WITHIN: Duration = Duration::from_secs(30);

/// The cinema part of a scenario.
#[derive(Debug, Default)]
pub struct CinemaState {
    /// Base URL of each started service, by name (`movies`, …).
    pub services: HashMap<String, String>,
    /// The scenario's database.
    pub database: Option<String>,
    /// A MongoDB server of the scenario's own (restart scenarios), stopped in teardown.
    pub own_mongo: Option<Mongo>,
    /// Ids remembered from answers, by name.
    pub ids: HashMap<String, String>,
    /// Whole `data` documents remembered from answers, by name.
    pub documents: HashMap<String, Value>,
    /// The scenario's JWT secret, when its services were started with auth on.
    pub secret: Option<SecretString>,
    /// The bearer token the cinema request steps send (`Authorization: Bearer …`), if any.
    pub token: Option<String>,
    /// Stand-ins for a service (a listener that never answers), by name; aborted in teardown.
    pub stand_ins: HashMap<String, tokio::task::JoinHandle<()>>,
    /// The users service's `suggestions.timeout`, once it runs.
    pub suggestions_timeout: Option<Duration>,
    /// How long the last "… to the {word} service at …" request took to answer.
    pub last_request_took: Option<Duration>,
}

impl CinemaState {
    /// Drops the scenario's database (the services must be stopped already) and stops a server
    /// of the scenario's own.
    pub async fn teardown(&mut self) {
        for (_, stand_in) in self.stand_ins.drain() {
            stand_in.abort();
        }
        let database = self.database.take();
        if let Some(mongo) = self.own_mongo.take() {
            if let Err(error) = mongo.stop().await {
                eprintln!("[harness] stopping the scenario's MongoDB failed: {error:#}");
            }
        } else if let Some(database) = database {
            match harness::suite::mongo().await {
                Ok(mongo) => {
                    if let Err(error) = mongo.drop_database(&database).await {
                        eprintln!("[harness] dropping database {database} failed: {error:#}");
                    }
                }
                Err(error) => eprintln!("[harness] no MongoDB to drop {database}: {error:#}"),
            }
        }
    }
}

fn service_named(name: &str) -> Service {
    Service::ALL
        .into_iter()
        .find(|service| service.name() == name)
        .unwrap_or_else(|| panic!("no cinema service {name:?}: movies, showtimes, bookings, users"))
}

/// Where the scenario's services store their documents: a server and a database of its own
/// name.
async fn provision(
    world: &mut MockVideoWorld,
    own_server: bool,
    seed: bool,
) -> anyhow::Result<String> {
    let (url, database) = if own_server {
        let mongo = Mongo::start().await?;
        let named = (mongo.url().to_owned(), mongo.unique_database("cinema"));
        world.cinema.own_mongo = Some(mongo);
        named
    } else {
        let mongo = harness::suite::mongo().await?;
        (mongo.url().to_owned(), mongo.unique_database("cinema"))
    };
    world.cinema.database = Some(database.clone());
    if seed {
        harness::launch::cinema::load_seed(&url, &database).await?;
    }
    Ok(url)
}

/// Starts `names` on the scenario's database, waits until each is ready; the last one becomes
/// the target of the generic HTTP steps.
async fn start_services(
    world: &mut MockVideoWorld,
    names: &[&str],
    own_server: bool,
    seed: bool,
) -> anyhow::Result<()> {
    start_services_with(world, names, own_server, seed, false).await
}

/// [`start_services`], with the scenario's JWT secret configured when `auth` (auth on).
async fn start_services_with(
    world: &mut MockVideoWorld,
    names: &[&str],
    own_server: bool,
    seed: bool,
    auth: bool,
) -> anyhow::Result<()> {
    let url = provision(world, own_server, seed).await?;
    let database = world.cinema.database.clone().unwrap_or_default();
    let secret = auth.then(|| scenario_secret(world));
    for name in names {
        let mut settings = harness::launch::cinema::settings_for(&url, &database);
        settings.auth.jwt_secret = secret.clone();
        if *name == "users" {
            let others = &world.cinema.services;
            harness::launch::cinema::point_users_at(&mut settings, |other| {
                others.get(other.name()).cloned()
            });
            world.cinema.suggestions_timeout = Some(settings.suggestions.timeout);
        }
        let service = harness::launch::cinema::start_with(service_named(name), settings).await?;
        let base = service.base_url();
        world.services.push(service);
        wait_ready(world, &base).await?;
        world
            .cinema
            .services
            .insert((*name).to_owned(), base.clone());
        world.base_url = Some(base);
    }
    Ok(())
}

/// Polls `GET /healthy` until it answers 200, for at most [`READY_WITHIN`].
async fn wait_ready(world: &MockVideoWorld, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        let answer = world
            .http
            .get(format!("{base}/healthy"))
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        let status = answer.as_ref().map(|answer| answer.status().as_u16()).ok();
        if status == Some(200) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            anyhow::bail!(
                "{base} not ready within {READY_WITHIN:?}: last /healthy answer {status:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[given(expr = "the {word} service on a fresh database")]
async fn one_service(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    start_services(world, &[name.as_str()], false, false).await
}

#[given(expr = "the {word} service on a fresh database with the seed data")]
async fn one_service_seeded(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    start_services(world, &[name.as_str()], false, true).await
}

#[given("the four cinema services on a fresh database")]
async fn four_services(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    start_services(
        world,
        &["movies", "showtimes", "bookings", "users"],
        false,
        false,
    )
    .await
}

#[given("the four cinema services on a fresh database with the seed data")]
async fn four_services_seeded(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    start_services(
        world,
        &["movies", "showtimes", "bookings", "users"],
        false,
        true,
    )
    .await
}

#[given(expr = "the {word} service on a fresh database with auth on")]
async fn one_service_auth(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    start_services_with(world, &[name.as_str()], false, false, true).await
}

#[given("the four cinema services on a fresh database with auth on")]
async fn four_services_auth(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    start_services_with(
        world,
        &["movies", "showtimes", "bookings", "users"],
        false,
        false,
        true,
    )
    .await
}

#[given(expr = "the {word} service on a MongoDB server of its own with the seed data")]
async fn one_service_own_server(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    start_services(world, &[name.as_str()], true, true).await
}

/// Replaces every `{name}` of a remembered id in `text`.
fn substitute(world: &MockVideoWorld, text: &str) -> String {
    let mut text = text.to_owned();
    for (name, id) in &world.cinema.ids {
        text = text.replace(&format!("{{{name}}}"), id);
    }
    assert!(
        !text.contains('{'),
        "an unknown remembered id in {text:?}; remembered: {:?}",
        world.cinema.ids
    );
    text
}

/// Makes `name` the target of the HTTP steps.
fn use_service(world: &mut MockVideoWorld, name: &str) {
    let base = world
        .cinema
        .services
        .get(name)
        .unwrap_or_else(|| panic!("the {name} service was not started in this scenario"))
        .clone();
    world.base_url = Some(base);
}

#[when(expr = "I send a {word} request to the {word} service at {string}")]
async fn send_to(world: &mut MockVideoWorld, method: String, name: String, path: String) {
    use_service(world, &name);
    let path = substitute(world, &path);
    let header = authorization(world);
    let started = Instant::now();
    send(world, &method, &path, header.as_deref(), None).await;
    world.cinema.last_request_took = Some(started.elapsed());
}

#[when(expr = "I send a {word} request to the {word} service at {string} with body:")]
async fn send_to_with_body(
    world: &mut MockVideoWorld,
    step: &Step,
    method: String,
    name: String,
    path: String,
) {
    use_service(world, &name);
    let path = substitute(world, &path);
    let mut body = step
        .docstring
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_owned();
    for (id_name, id) in &world.cinema.ids {
        body = body.replace(&format!("{{{id_name}}}"), id);
    }
    let header = authorization(world);
    send(
        world,
        &method,
        &path,
        header.as_deref(),
        Some(body.into_bytes()),
    )
    .await;
}

/// The `Authorization` header the cinema request steps send, written `Name: value`.
fn authorization(world: &MockVideoWorld) -> Option<String> {
    world
        .cinema
        .token
        .as_ref()
        .map(|token| format!("Authorization: Bearer {token}"))
}

/// A fresh random secret of 64 hex digits (HS256 wants at least 32 bytes).
fn random_secret() -> SecretString {
    SecretString::from(format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    ))
}

/// The scenario's JWT secret, made on first use.
fn scenario_secret(world: &mut MockVideoWorld) -> SecretString {
    world
        .cinema
        .secret
        .get_or_insert_with(random_secret)
        .clone()
}

fn configured_secret(world: &MockVideoWorld) -> SecretString {
    world
        .cinema
        .secret
        .clone()
        .expect("the scenario's services were not started with auth on")
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Unpadded base64url (RFC 4648 §5), as JWT segments are written.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let digits = chunk.len() + 1;
        for i in 0..digits {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

#[given("I use a valid token")]
#[when("I use a valid token")]
fn use_valid_token(world: &mut MockVideoWorld) {
    let secret = configured_secret(world);
    world.cinema.token = Some(cinema::auth::issue(
        &secret,
        "gherkin",
        Duration::from_secs(600),
    ));
}

#[given("I use an expired token")]
#[when("I use an expired token")]
fn use_expired_token(world: &mut MockVideoWorld) {
    let secret = configured_secret(world);
    // Well beyond the default 30 s leeway.
    let now = now_secs();
    let claims = cinema::auth::Claims {
        sub: "gherkin".to_owned(),
        exp: now.saturating_sub(3600),
        iat: Some(now.saturating_sub(7200)),
    };
    world.cinema.token = Some(cinema::auth::issue_claims(&secret, &claims));
}

#[given("I use a token signed with another secret")]
#[when("I use a token signed with another secret")]
fn use_foreign_token(world: &mut MockVideoWorld) {
    let _ = configured_secret(world);
    world.cinema.token = Some(cinema::auth::issue(
        &random_secret(),
        "gherkin",
        Duration::from_secs(600),
    ));
}

#[given("I use an unsigned token with alg none")]
#[when("I use an unsigned token with alg none")]
fn use_alg_none_token(world: &mut MockVideoWorld) {
    let header = json!({"alg": "none", "typ": "JWT"}).to_string();
    let claims = json!({"sub": "gherkin", "exp": now_secs() + 600, "iat": now_secs()}).to_string();
    world.cinema.token = Some(format!(
        "{}.{}.",
        base64url(header.as_bytes()),
        base64url(claims.as_bytes())
    ));
}

#[given("I use no token")]
#[when("I use no token")]
fn use_no_token(world: &mut MockVideoWorld) {
    world.cinema.token = None;
}

fn data(world: &MockVideoWorld) -> Value {
    let json = world.last().json().expect("a JSON body");
    pointer(&json, "/data").clone()
}

fn data_list(world: &MockVideoWorld) -> Vec<Value> {
    let data = data(world);
    data.as_array()
        .unwrap_or_else(|| panic!("data is not a list: {data}"))
        .clone()
}

#[when(expr = "I remember the response's id as {string}")]
#[then(expr = "I remember the response's id as {string}")]
fn remember_id(world: &mut MockVideoWorld, name: String) {
    let document = data(world);
    let id = document["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no string data.id in {document}"))
        .to_owned();
    world.cinema.ids.insert(name.clone(), id);
    world.cinema.documents.insert(name, document);
}

#[then(expr = "the response is the data envelope with a list of {int}")]
fn list_of(world: &mut MockVideoWorld, count: usize) {
    assert_json_content_type(world);
    let list = data_list(world);
    assert_eq!(list.len(), count, "data: {list:?}");
}

#[then("the response is the data envelope with null")]
fn data_null(world: &mut MockVideoWorld) {
    assert_json_content_type(world);
    assert_eq!(world.last().text(), r#"{"data":null}"#);
}

fn assert_json_content_type(world: &MockVideoWorld) {
    super::http::assert_json_content_type(world.last());
}

/// The document remembered as `name`, or a step failure saying nothing was.
fn remembered_document(world: &MockVideoWorld, name: &str) -> serde_json::Value {
    world
        .cinema
        .documents
        .get(name)
        .unwrap_or_else(|| panic!("nothing remembered as {name:?}"))
        .clone()
}

#[then("the response data has a new ObjectId")]
fn has_object_id(world: &mut MockVideoWorld) {
    assert_json_content_type(world);
    let document = data(world);
    let id = document["id"].as_str().unwrap_or_default();
    assert!(
        id.len() == 24
            && id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "data.id is not a 24-digit lower-case hex ObjectId: {document}"
    );
}

#[then("the response data has a recent createdon")]
fn has_recent_createdon(world: &mut MockVideoWorld) {
    let document = data(world);
    let text = document["createdon"]
        .as_str()
        .unwrap_or_else(|| panic!("no string data.createdon in {document}"));
    // RFC 3339: `YYYY-MM-DDTHH:MM:SS…`; "recent" means this year or the next (clock skew).
    let bytes = text.as_bytes();
    assert!(
        text.len() >= 20 && bytes[4] == b'-' && bytes[10] == b'T' && bytes[13] == b':',
        "createdon is not RFC 3339: {text:?}"
    );
    let year: i64 = text[..4].parse().expect("a numeric year");
    assert!(year > 2016, "createdon {text:?} is not recent");
}

#[then(expr = "the response data is the remembered {string}")]
fn data_is_remembered(world: &mut MockVideoWorld, name: String) {
    let expected = remembered_document(world, &name);
    assert_eq!(data(world), expected);
}

fn remembered_id(world: &MockVideoWorld, name: &str) -> String {
    world
        .cinema
        .ids
        .get(name)
        .unwrap_or_else(|| panic!("no id remembered as {name:?}"))
        .clone()
}

#[then(expr = "the response data list contains the remembered {string}")]
fn list_contains(world: &mut MockVideoWorld, name: String) {
    let expected = remembered_document(world, &name);
    let list = data_list(world);
    assert!(list.contains(&expected), "{expected} not in {list:?}");
}

#[then(expr = "the response data list does not contain the remembered {string}")]
fn list_lacks(world: &mut MockVideoWorld, name: String) {
    let id = remembered_id(world, &name);
    let data = data(world);
    let ids: Vec<&str> = data
        .as_array()
        .map(|list| list.iter().filter_map(|item| item["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(!ids.contains(&id.as_str()), "{id} still in {data}");
}

#[then(expr = "the response data {string} values are {string}")]
fn list_values(world: &mut MockVideoWorld, field: String, expected: String) {
    let (actual, expected) = field_values(world, &field, &expected);
    assert_eq!(actual, expected, "{field} values");
}

/// For documents stored at once (the seed data is upserted concurrently), whose natural order
/// is not defined.
#[then(expr = "the response data {string} values are, in any order, {string}")]
fn list_values_any_order(world: &mut MockVideoWorld, field: String, expected: String) {
    let (mut actual, mut expected) = field_values(world, &field, &expected);
    actual.sort();
    expected.sort();
    assert_eq!(actual, expected, "{field} values");
}

/// The `field` of each listed document as text, and the comma-separated `expected` values.
fn field_values(world: &MockVideoWorld, field: &str, expected: &str) -> (Vec<String>, Vec<String>) {
    let actual: Vec<String> = data_list(world)
        .iter()
        .map(|item| match &item[field] {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
        .collect();
    let expected: Vec<String> = expected
        .split(',')
        .map(|value| value.trim().to_owned())
        .collect();
    (actual, expected)
}

#[then(expr = "the response data {string} is the remembered {string}")]
fn field_is_remembered(world: &mut MockVideoWorld, field: String, name: String) {
    let id = remembered_id(world, &name);
    let document = data(world);
    assert_eq!(document[field.as_str()], id.as_str(), "in {document}");
}

#[then(expr = "the response data {string} lists the ids {string}")]
fn field_lists_remembered(world: &mut MockVideoWorld, field: String, names: String) {
    let expected: Vec<Value> = names
        .split(',')
        .map(|name| {
            // A name remembered in this scenario, else an id written out (a seeded one).
            let name = name.trim();
            let id = world
                .cinema
                .ids
                .get(name)
                .cloned()
                .unwrap_or_else(|| name.to_owned());
            Value::String(id)
        })
        .collect();
    let document = data(world);
    assert_eq!(
        document[field.as_str()],
        Value::Array(expected),
        "in {document}"
    );
}

#[when("MongoDB is restarted")]
async fn mongo_restarted(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    world
        .cinema
        .own_mongo
        .as_ref()
        .expect("restart scenarios start a MongoDB server of their own")
        .restart()
        .await
}

#[then("the service is ready again")]
async fn ready_again(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let base = world.base_url().to_owned();
    wait_ready(world, &base).await
}

/// The container of the scenario's own MongoDB server.
fn own_container(world: &MockVideoWorld) -> String {
    world
        .cinema
        .own_mongo
        .as_ref()
        .expect("outage scenarios start a MongoDB server of their own")
        .server()
        .container_id()
        .expect("the scenario's MongoDB runs in a container")
        .to_owned()
}

#[when("MongoDB is stopped")]
async fn mongo_stopped(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    harness::fault::container::stop(&own_container(world)).await
}

#[when("MongoDB is started again")]
async fn mongo_started(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    harness::fault::container::start(&own_container(world)).await?;
    if let Some(mongo) = world.cinema.own_mongo.as_ref() {
        mongo.wait_until_ready().await?;
    }
    Ok(())
}

#[then("the service is not ready")]
async fn not_ready(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let base = world.base_url().to_owned();
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        let status = world
            .http
            .get(format!("{base}/healthy"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map(|answer| answer.status().as_u16())
            .ok();
        if status.is_some_and(|status| status != 200) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            anyhow::bail!("{base}/healthy still answers {status:?} after {READY_WITHIN:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
