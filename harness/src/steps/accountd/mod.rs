//! accountd steps: a fresh database per scenario with the seed's users (and a request timeout
//! of the scenario's), listing users and reading bulk results; [`flood`]: accountd as a process
//! under a flood of password hashes; [`slowloris`]: accountd as a process against connections
//! that never finish a request.

pub mod flood;
pub mod slowloris;

use cucumber::{given, then, when};
use serde_json::Value;

use super::{
    http::{pointer, send},
    world::MockVideoWorld,
};

#[given(expr = "accountd's requests time out after {int} ms")]
fn accountd_request_timeout(world: &mut MockVideoWorld, millis: u64) {
    world.accountd.request_timeout = Some(std::time::Duration::from_millis(millis));
}

#[given("accountd is running on a fresh database with the seed's test data")]
pub(crate) async fn accountd_with_test_data(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let mysql = harness::suite::mysql().await?;
    let db = mysql.create_database("accountd").await?;
    world.databases.push(db.clone());
    // Auth on when the scenario has a JWT secret ("the services this scenario starts have …").
    let mut settings = harness::launch::accountd::settings_for(&db);
    settings.auth.jwt_secret = world.auth.secret.clone();
    if let Some(timeout) = world.accountd.request_timeout {
        settings.limits.request_timeout = timeout;
    }
    // Through a fault proxy when the scenario asked for one (the test data is loaded directly).
    (settings.db.host, settings.db.port) = world
        .network
        .route_host_port("accountd", "MySQL", &settings.db.host, settings.db.port)
        .await?;
    let service = harness::launch::accountd::start_with(settings, &db, true).await?;
    world.base_url = Some(service.base_url());
    world.services.push(service);
    Ok(())
}

#[when("I list the users")]
async fn list_users(world: &mut MockVideoWorld) {
    send(world, "GET", "/users", None, None).await;
    assert_eq!(
        world.last().status,
        200,
        "GET /users: {}",
        world.last().text()
    );
}

fn listed_users(world: &MockVideoWorld) -> Vec<Value> {
    let json = world.last().json().expect("a JSON users list");
    pointer(&json, "/users")
        .as_array()
        .expect("users is an array")
        .clone()
}

#[then(expr = "the list has {int} users")]
fn list_has_count(world: &mut MockVideoWorld, count: usize) {
    let users = listed_users(world);
    assert_eq!(users.len(), count, "users: {users:?}");
}

#[then(expr = "the list has a user with id {int} named {string}")]
fn list_has_user(world: &mut MockVideoWorld, id: i64, name: String) {
    let users = listed_users(world);
    assert!(
        users
            .iter()
            .any(|user| user["id"] == id && user["name"] == name.as_str()),
        "no user {id} named {name:?} in {users:?}"
    );
}

#[when(regex = r"^I create a user whose (name|email) is (\d+) characters long$")]
async fn create_long_field(world: &mut MockVideoWorld, field: String, length: usize) {
    let mut user = serde_json::json!({
        "accountid": 1, "name": "Long", "email": "long@example.com", "role": 1, "password": "pw"
    });
    let long = if field == "email" {
        format!("{}@example.com", "x".repeat(length.saturating_sub(12)))
    } else {
        "x".repeat(length)
    };
    user[field.as_str()] = Value::String(long);
    let body = serde_json::to_vec(&user).expect("serialising a user");
    send(world, "POST", "/users", None, Some(body)).await;
}

/// The 1-based `index`th entry of a bulk response's results.
fn bulk_result(world: &MockVideoWorld, index: usize) -> Value {
    let json = world.last().json().expect("a JSON bulk response");
    let results = pointer(&json, "/results")
        .as_array()
        .expect("results is an array")
        .clone();
    results
        .get(index - 1)
        .cloned()
        .unwrap_or_else(|| panic!("no result {index} in {json}"))
}

#[then(expr = "the bulk results have statuses {string}")]
fn bulk_statuses(world: &mut MockVideoWorld, statuses: String) {
    let json = world.last().json().expect("a JSON bulk response");
    let actual: Vec<i64> = pointer(&json, "/results")
        .as_array()
        .expect("results is an array")
        .iter()
        .map(|result| result["httpstatus"].as_i64().expect("a numeric httpstatus"))
        .collect();
    let expected: Vec<i64> = statuses
        .split(',')
        .map(|status| status.trim().parse().expect("a status"))
        .collect();
    assert_eq!(actual, expected, "in {json}");
}

#[then(expr = "bulk result {int} has errmsg {string}")]
fn bulk_errmsg(world: &mut MockVideoWorld, index: usize, errmsg: String) {
    let result = bulk_result(world, index);
    assert_eq!(
        result["errmsg"],
        errmsg.as_str(),
        "result {index}: {result}"
    );
}

#[then(expr = "bulk result {int} has an errmsg containing {string}")]
fn bulk_errmsg_contains(world: &mut MockVideoWorld, index: usize, needle: String) {
    let result = bulk_result(world, index);
    let errmsg = result["errmsg"].as_str().unwrap_or_default();
    assert!(errmsg.contains(&needle), "result {index}: {result}");
}

#[then(expr = "bulk result {int} is the user with id {int} named {string}")]
fn bulk_user_with_id(world: &mut MockVideoWorld, index: usize, id: i64, name: String) {
    let result = bulk_result(world, index);
    assert_eq!(result["user"]["id"], id, "result {index}: {result}");
    assert_eq!(
        result["user"]["name"],
        name.as_str(),
        "result {index}: {result}"
    );
    assert_eq!(
        result["user"]["href"],
        format!("/users/{id}").as_str(),
        "result {index}: {result}"
    );
}

#[then(expr = "bulk result {int} is the user named {string}")]
fn bulk_user_named(world: &mut MockVideoWorld, index: usize, name: String) {
    let result = bulk_result(world, index);
    assert_eq!(
        result["user"]["name"],
        name.as_str(),
        "result {index}: {result}"
    );
}
