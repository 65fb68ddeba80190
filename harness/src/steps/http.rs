//! Black-box HTTP steps shared by every HTTP service: send requests, check status, headers and
//! bodies (exact, JSON pointer, the shared JSON error shape) and how long the answer took.

use cucumber::{gherkin::Step, then, when};
use serde_json::Value;

use harness::fault::{
    network::{self, Link},
    proxy::Proxies,
    Fault, Target as _,
};

use super::world::{Exchange, MockVideoWorld};

/// Sends `method path` to the scenario's service with optional `Name: value` header and body;
/// the answer becomes the last exchange.
pub async fn send(
    world: &mut MockVideoWorld,
    method: &str,
    path: &str,
    header: Option<&str>,
    body: Option<Vec<u8>>,
) {
    let url = format!("{}{}", world.base_url(), path);
    let answer = request(&world.http, method, &url, header, body).await;
    world.last = Some(answer);
}

/// Sends `method url` with optional `Name: value` header and JSON body and reads the whole
/// answer; a transport error is a step failure.
pub async fn request(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    header: Option<&str>,
    body: Option<Vec<u8>>,
) -> Exchange {
    let started = std::time::Instant::now();
    let response = build(http, method, url, header, body)
        .send()
        .await
        .unwrap_or_else(|error| panic!("{url}: {error}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .expect("reading the response body")
        .to_vec();
    Exchange {
        status,
        headers,
        body,
        took: started.elapsed(),
    }
}

/// `method url` with optional headers (`Name: value`, several separated by `; `) and JSON body,
/// ready to send.
fn build(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    header: Option<&str>,
    body: Option<Vec<u8>>,
) -> reqwest::RequestBuilder {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a valid HTTP method");
    let mut request = http.request(method, url);
    for header in header.into_iter().flat_map(|headers| headers.split("; ")) {
        let (name, value) = header
            .split_once(':')
            .expect("a header written as 'Name: value'");
        request = request.header(name.trim(), value.trim());
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    request
}

fn docstring(step: &Step) -> Vec<u8> {
    step.docstring
        .as_deref()
        .map(|text| text.trim().as_bytes().to_vec())
        .unwrap_or_default()
}

/// Reads a JSON pointer, failing with the whole document when it is absent.
pub fn pointer<'a>(json: &'a Value, path: &str) -> &'a Value {
    json.pointer(path)
        .unwrap_or_else(|| panic!("no {path} in {json}"))
}

#[when(expr = "I send a {word} request to {string}")]
async fn send_plain(world: &mut MockVideoWorld, method: String, path: String) {
    send(world, &method, &path, None, None).await;
}

#[when(expr = "I send a {word} request to {string} with header {string}")]
async fn send_with_header(
    world: &mut MockVideoWorld,
    method: String,
    path: String,
    header: String,
) {
    send(world, &method, &path, Some(&header), None).await;
}

#[when(expr = "I send a {word} request to {string} with body:")]
async fn send_with_body(world: &mut MockVideoWorld, step: &Step, method: String, path: String) {
    send(world, &method, &path, None, Some(docstring(step))).await;
}

#[when(expr = "I send a {word} request to {string} with header {string} and body:")]
async fn send_with_header_and_body(
    world: &mut MockVideoWorld,
    step: &Step,
    method: String,
    path: String,
    header: String,
) {
    send(world, &method, &path, Some(&header), Some(docstring(step))).await;
}

/// Sends the request through a link of its own that loses the answer ([`Fault::LoseAnswers`]):
/// the service executes it, the client sees its connection closed before any answer. The step
/// fails if an answer got through.
#[when(
    expr = "I send a {word} request to {string} with header {string} and body, and its answer is lost:"
)]
async fn send_and_lose_the_answer(
    world: &mut MockVideoWorld,
    step: &Step,
    method: String,
    path: String,
    header: String,
) -> anyhow::Result<()> {
    let base = world.base_url().to_owned();
    let proxies = Proxies::new();
    let mut link = Link::open(
        &proxies,
        "the client",
        "the service",
        &network::upstream_of(&base)?,
    )
    .await?;
    link.inject(Fault::LoseAnswers).await?;
    let url = format!("{}{path}", network::through(&base, link.listen())?);
    let request = build(
        &world.http,
        &method,
        &url,
        Some(&header),
        Some(docstring(step)),
    );
    let outcome = match request.send().await {
        Ok(response) => response.bytes().await.map(|_| ()),
        Err(error) => Err(error),
    };
    link.close().await?;
    anyhow::ensure!(
        outcome.is_err(),
        "{method} {path}: an answer got through a link that loses them"
    );
    Ok(())
}

#[when(expr = "I send a {word} request to {string} with a JSON body of {int} bytes")]
async fn send_sized_body(world: &mut MockVideoWorld, method: String, path: String, size: usize) {
    // A syntactically valid JSON object: the limit must trip on size alone.
    let body = json_body_of_size("name", size);
    send(world, &method, &path, None, Some(body)).await;
}

/// A syntactically valid JSON object of exactly `size` bytes: `{"<field>":"xxx…"}`.
pub fn json_body_of_size(field: &str, size: usize) -> Vec<u8> {
    let prefix = format!(r#"{{"{field}":""#);
    let suffix = br#""}"#;
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(prefix.as_bytes());
    body.resize(size - suffix.len(), b'x');
    body.extend_from_slice(suffix);
    body
}

#[then(expr = "the response status is {int}")]
fn status_is(world: &mut MockVideoWorld, expected: u16) {
    let last = world.last();
    assert_eq!(last.status, expected, "status; body was {:?}", last.text());
}

#[then(expr = "the response came within {int} ms")]
fn came_within(world: &mut MockVideoWorld, limit: u64) {
    let took = world.last().took;
    println!(
        "[http] the answer came in {:.0} ms",
        took.as_secs_f64() * 1e3
    );
    assert!(
        took <= std::time::Duration::from_millis(limit),
        "the answer took {took:?}, more than {limit} ms"
    );
}

#[then(expr = "the response took at least {int} ms")]
fn took_at_least(world: &mut MockVideoWorld, floor: u64) {
    let took = world.last().took;
    println!(
        "[http] the answer came in {:.0} ms",
        took.as_secs_f64() * 1e3
    );
    assert!(
        took >= std::time::Duration::from_millis(floor),
        "the answer took {took:?}, less than {floor} ms"
    );
}

#[then(expr = "the response header {string} is {string}")]
fn header_is(world: &mut MockVideoWorld, name: String, expected: String) {
    let last = world.last();
    let actual = last
        .headers
        .get(&name)
        .map(|value| value.to_str().unwrap_or("<not text>"));
    assert_eq!(
        actual,
        Some(expected.as_str()),
        "header {name}; headers were {:?}",
        last.headers
    );
}

#[then(expr = "the response has a header {string}")]
fn has_header(world: &mut MockVideoWorld, name: String) {
    let last = world.last();
    assert!(
        last.headers.contains_key(&name),
        "no header {name} in {:?}",
        last.headers
    );
}

#[then(expr = "the response has no header {string}")]
fn has_no_header(world: &mut MockVideoWorld, name: String) {
    let last = world.last();
    assert!(
        !last.headers.contains_key(&name),
        "unexpected header {name} in {:?}",
        last.headers
    );
}

#[then("the response body is empty")]
fn body_is_empty(world: &mut MockVideoWorld) {
    assert_eq!(world.last().text(), "", "body should be empty");
}

#[then("the response body is exactly:")]
fn body_is_exactly(world: &mut MockVideoWorld, step: &Step) {
    let expected = String::from_utf8(docstring(step)).expect("a UTF-8 docstring");
    assert_eq!(world.last().text(), expected);
}

#[then(expr = "the response body contains {string}")]
fn body_contains(world: &mut MockVideoWorld, needle: String) {
    let text = world.last().text();
    assert!(text.contains(&needle), "{needle:?} not in body {text:?}");
}

#[then(expr = "the response body does not contain {string}")]
fn body_does_not_contain(world: &mut MockVideoWorld, needle: String) {
    let text = world.last().text();
    assert!(!text.contains(&needle), "{needle:?} found in body {text:?}");
}

/// Asserts that `exchange` is `application/json`, showing the body when it is not.
pub fn assert_json_content_type(exchange: &Exchange) {
    let content_type = exchange.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type:?}, body {:?}",
        exchange.text()
    );
}

/// Checks the shared error shape `{"error":{"code":..,"message":..}}` and returns the message.
fn json_error_message(exchange: &Exchange) -> String {
    assert_json_content_type(exchange);
    let json = exchange.json().expect("a JSON error body");
    let code = pointer(&json, "/error/code");
    assert!(
        code.as_str().is_some_and(|code| !code.is_empty()),
        "error code in {json}"
    );
    pointer(&json, "/error/message")
        .as_str()
        .expect("a string error message")
        .to_owned()
}

#[then("the response is a JSON error")]
fn is_json_error(world: &mut MockVideoWorld) {
    json_error_message(world.last());
}

#[then(expr = "the response is a JSON error whose message contains {string}")]
fn json_error_contains(world: &mut MockVideoWorld, needle: String) {
    let message = json_error_message(world.last());
    assert!(
        message.contains(&needle),
        "{needle:?} not in error message {message:?}"
    );
}

#[then(expr = "the response JSON at {string} is {}")]
fn json_at_is(world: &mut MockVideoWorld, path: String, literal: String) {
    let expected: Value = serde_json::from_str(&literal).expect("the expected value is JSON");
    let json = world.last().json().expect("a JSON body");
    assert_eq!(pointer(&json, &path), &expected, "at {path} in {json}");
}

#[then(expr = "the response JSON at {string} starts with {string}")]
fn json_at_starts_with(world: &mut MockVideoWorld, path: String, prefix: String) {
    let json = world.last().json().expect("a JSON body");
    let text = pointer(&json, &path)
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string"));
    assert!(text.starts_with(&prefix), "{path} = {text:?}");
}

#[then(expr = "the response JSON has a key {string}")]
fn json_has_key(world: &mut MockVideoWorld, path: String) {
    let json = world.last().json().expect("a JSON body");
    pointer(&json, &path);
}

fn contains_key(json: &Value, key: &str) -> bool {
    match json {
        Value::Object(map) => map
            .iter()
            .any(|(name, value)| name == key || contains_key(value, key)),
        Value::Array(items) => items.iter().any(|item| contains_key(item, key)),
        _ => false,
    }
}

#[then(expr = "no {string} field appears in the response")]
fn no_field_anywhere(world: &mut MockVideoWorld, key: String) {
    let json = world.last().json().expect("a JSON body");
    assert!(!contains_key(&json, &key), "{key:?} found in {json}");
}
