//! How a store-fault cell talks to each service: its cheapest read ([`probe`]), a write
//! ([`write`]) and the check that a write made during a reset is stored whole or not at all
//! ([`stored_copies`]), every failure named by its class (`503`, `UNAVAILABLE`, `timeout`,
//! `reset`, …).

use std::time::{Duration, Instant};

use activity::proto::{activity_events_client::ActivityEventsClient, Deployment, EventRequest};
use futures::StreamExt as _;
use harness::matrix::Service;
use serde_json::Value;

use super::{CONSUMERS, DEPLOYMENT, HANG, SUGGESTIONS_PATH};
use crate::steps::world::MockVideoWorld;

/// One answer of a cell's request.
#[derive(Debug, Clone)]
pub(super) struct Answer {
    /// `None`: success; else the error's class (`503`, `UNAVAILABLE`, `timeout`, `reset`, …).
    pub(super) error: Option<String>,
    /// An HTTP answer carried `Retry-After`.
    pub(super) retry_after: bool,
    /// An HTTP error answer was the JSON error shape (`{"error":{"code":..}}`).
    pub(super) json_error: bool,
    /// From sending to the end of the answer.
    pub(super) took: Duration,
    /// The body or the gRPC message, for failure messages.
    pub(super) detail: String,
}

impl Answer {
    pub(super) fn ok(&self) -> bool {
        self.error.is_none()
    }

    pub(super) fn class(&self) -> &str {
        self.error.as_deref().unwrap_or("ok")
    }
}

/// The class of a transport error.
pub(super) fn transport_class(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "refused"
    } else {
        "reset"
    }
}

/// `DeadlineExceeded` → `DEADLINE_EXCEEDED`.
pub(super) fn grpc_class(code: tonic::Code) -> String {
    let mut class = String::new();
    for (index, letter) in format!("{code:?}").chars().enumerate() {
        if letter.is_ascii_uppercase() && index > 0 {
            class.push('_');
        }
        class.push(letter.to_ascii_uppercase());
    }
    class
}

/// Sends one HTTP request, bounded by [`HANG`].
pub(super) async fn http_call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Answer {
    let started = Instant::now();
    let mut request = http.request(method, url).timeout(HANG);
    if let Some(body) = body {
        request = request.header("Idempotency-Key", uuid_like()).json(&body);
    }
    let outcome = async {
        let response = request.send().await?;
        let status = response.status();
        let retry_after = response.headers().contains_key("retry-after");
        let text = response.text().await?;
        Ok::<_, reqwest::Error>((status, retry_after, text))
    }
    .await;
    let took = started.elapsed();
    match outcome {
        Ok((status, retry_after, text)) => {
            let json_error = serde_json::from_str::<Value>(&text)
                .ok()
                .is_some_and(|json| json.pointer("/error/code").is_some());
            Answer {
                error: (!status.is_success()).then(|| status.as_u16().to_string()),
                retry_after,
                json_error,
                took,
                detail: text.chars().take(300).collect(),
            }
        }
        Err(error) => Answer {
            error: Some(transport_class(&error).to_owned()),
            retry_after: false,
            json_error: false,
            took,
            detail: error.to_string(),
        },
    }
}

/// A key unique enough for one scenario's writes.
pub(super) fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("matrix-{nanos:x}")
}

/// A gRPC client of the scenario's activity-server.
pub(super) async fn activity_client(
    world: &MockVideoWorld,
) -> Result<ActivityEventsClient<tonic::transport::Channel>, String> {
    let url = world
        .activity
        .grpc_url
        .clone()
        .ok_or_else(|| "activity-server is not running".to_owned())?;
    let endpoint =
        tonic::transport::Channel::from_shared(url).map_err(|error| error.to_string())?;
    endpoint
        .connect()
        .await
        .map(ActivityEventsClient::new)
        .map_err(|error| error.to_string())
}

/// `ListEvents` of `deployment`, read to its end, bounded by [`HANG`].
pub(super) async fn list_events(
    world: &MockVideoWorld,
    deployment: i32,
) -> (Result<Vec<EventRequest>, String>, Duration) {
    let started = Instant::now();
    let call = async {
        let mut client = activity_client(world).await?;
        let mut stream = client
            .list_events(Deployment { id: deployment })
            .await
            .map_err(|status| grpc_class(status.code()))?
            .into_inner();
        let mut events = Vec::new();
        while let Some(item) = stream.next().await {
            events.push(item.map_err(|status| grpc_class(status.code()))?);
        }
        Ok(events)
    };
    let outcome = match tokio::time::timeout(HANG, call).await {
        Ok(outcome) => outcome,
        Err(_) => Err("timeout".to_owned()),
    };
    (outcome, started.elapsed())
}

/// A gRPC answer as an [`Answer`].
pub(super) fn grpc_answer<T>(outcome: Result<T, String>, took: Duration) -> Answer {
    Answer {
        error: outcome.err(),
        retry_after: false,
        json_error: false,
        took,
        detail: String::new(),
    }
}

/// One request of the cell: the service's cheapest read (see the module docs).
pub(super) async fn probe(world: &mut MockVideoWorld, service: Service) -> anyhow::Result<Answer> {
    let http = world.http.clone();
    Ok(match service {
        Service::Accountd => {
            let url = format!("{}/users", world.base_url());
            http_call(&http, reqwest::Method::GET, &url, None).await
        }
        Service::Movies => {
            let url = format!("{}/movies", world.base_url());
            http_call(&http, reqwest::Method::GET, &url, None).await
        }
        Service::Suggestions => {
            let url = format!("{}{SUGGESTIONS_PATH}", world.base_url());
            http_call(&http, reqwest::Method::GET, &url, None).await
        }
        Service::ActivityServer => {
            let (outcome, took) = list_events(world, DEPLOYMENT).await;
            grpc_answer(outcome, took)
        }
        Service::EventProducer => {
            world.events.flows += 1;
            let description = world
                .events
                .labelled(&format!("matrix-probe-{}", world.events.flows));
            let answer = post_event(world, &description).await;
            if answer.ok() {
                world.events.accepted.insert(description);
            } else {
                world.events.refused += 1;
            }
            answer
        }
        Service::EventConsumer => {
            let url = readyz_url(world, service)?;
            http_call(&http, reqwest::Method::GET, &url, None).await
        }
    })
}

/// Posts one event to the producer.
pub(super) async fn post_event(world: &MockVideoWorld, description: &str) -> Answer {
    let url = format!("{}/event", world.base_url());
    let body = serde_json::json!({ "description": description });
    http_call(&world.http, reqwest::Method::POST, &url, Some(body)).await
}

/// The write of a reset cell, and how to recognise it in the store.
pub(super) fn write_of(
    world: &MockVideoWorld,
    service: Service,
) -> anyhow::Result<(String, Value)> {
    let marker = world.events.labelled("matrix-reset-write");
    Ok(match service {
        Service::Accountd => (
            "/users".to_owned(),
            serde_json::json!({
                "accountid": 1, "name": "Matrix Reset", "email": "matrix-reset@example.com",
                "role": 1, "password": "pw"
            }),
        ),
        Service::Movies => (
            "/movies".to_owned(),
            serde_json::json!({"data": {"title": "Matrix Reset", "director": "R. Set", "rating": "7.7"}}),
        ),
        Service::EventProducer => (
            "/event".to_owned(),
            serde_json::json!({ "description": marker }),
        ),
        Service::ActivityServer => (String::new(), Value::Null),
        other => anyhow::bail!("{other} takes no write in its cells"),
    })
}

/// Sends the cell's write (see [`write_of`]).
pub(super) async fn write(world: &mut MockVideoWorld, service: Service) -> anyhow::Result<Answer> {
    if service == Service::ActivityServer {
        let started = Instant::now();
        let request = reset_event();
        let call = async {
            let mut client = activity_client(world).await?;
            client
                .create_event(request)
                .await
                .map(drop)
                .map_err(|status| grpc_class(status.code()))
        };
        let outcome = match tokio::time::timeout(HANG, call).await {
            Ok(outcome) => outcome,
            Err(_) => Err("timeout".to_owned()),
        };
        return Ok(grpc_answer(outcome, started.elapsed()));
    }
    let (path, body) = write_of(world, service)?;
    let url = format!("{}{path}", world.base_url());
    let answer = http_call(&world.http, reqwest::Method::POST, &url, Some(body.clone())).await;
    if service == Service::EventProducer {
        let description = body["description"].as_str().unwrap_or_default().to_owned();
        if answer.ok() {
            world.events.accepted.insert(description);
        } else {
            world.events.refused += 1;
        }
    }
    Ok(answer)
}

/// The event activity-server's reset cell writes.
pub(super) fn reset_event() -> EventRequest {
    let send = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    EventRequest {
        id: 4242,
        message: "matrix reset write, whole".to_owned(),
        timestamp: Some(activity::proto::Timestamp {
            send: i64::try_from(send).unwrap_or(i64::MAX),
            receive: 0,
        }),
        deployment_id: DEPLOYMENT,
    }
}

/// The copies of `written` among the listed `items` (those with its `key`), each checked whole:
/// its `fields` read back as written; an error names the half-written `what`.
fn whole_copies(
    items: &Value,
    written: &Value,
    key: &str,
    fields: &[&str],
    what: &str,
) -> anyhow::Result<usize> {
    let items = items.as_array().map(Vec::as_slice).unwrap_or_default();
    let copies: Vec<&Value> = items
        .iter()
        .filter(|item| item[key] == written[key])
        .collect();
    for copy in &copies {
        anyhow::ensure!(
            fields.iter().all(|field| copy[field] == written[field]),
            "a half-written {what}: {copy}"
        );
    }
    Ok(copies.len())
}

/// How many copies of the cell's write the store holds, each checked whole; an error when one
/// is not.
pub(super) async fn stored_copies(
    world: &MockVideoWorld,
    service: Service,
) -> anyhow::Result<usize> {
    let http = &world.http;
    let get = |path: &str| {
        let url = format!("{}{path}", world.base_url());
        async move {
            let answer = http.get(&url).timeout(HANG).send().await?;
            anyhow::ensure!(
                answer.status().is_success(),
                "GET {url}: {}",
                answer.status()
            );
            Ok::<Value, anyhow::Error>(answer.json().await?)
        }
    };
    match service {
        Service::Accountd => {
            let (_, user) = write_of(world, service)?;
            let listed = get("/users").await?;
            whole_copies(&listed["users"], &user, "email", &["name", "role"], "user")
        }
        Service::Movies => {
            let (_, body) = write_of(world, service)?;
            let listed = get("/movies").await?;
            let movie = &body["data"];
            whole_copies(
                &listed["data"],
                movie,
                "title",
                &["director", "rating"],
                "movie",
            )
        }
        Service::ActivityServer => {
            let (listed, _) = list_events(world, DEPLOYMENT).await;
            let listed = listed.map_err(|class| anyhow::anyhow!("ListEvents failed: {class}"))?;
            let copies: Vec<&EventRequest> =
                listed.iter().filter(|event| event.id == 4242).collect();
            for copy in &copies {
                anyhow::ensure!(
                    copy.message == "matrix reset write, whole",
                    "a half-written event: {copy:?}"
                );
            }
            Ok(copies.len())
        }
        Service::EventProducer => {
            let marker = world.events.labelled("matrix-reset-write");
            let mut conn = world.events.conn().await;
            let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
                .arg(&world.events.stream)
                .arg("-")
                .arg("+")
                .query_async(&mut conn)
                .await?;
            let mut copies = 0;
            for entry in entries.ids {
                let Some(redis::Value::BulkString(bytes)) = entry.map.get("EventStream") else {
                    continue;
                };
                let text = String::from_utf8_lossy(bytes);
                if !text.contains(&marker) {
                    continue;
                }
                let json: Value = serde_json::from_str(&text)
                    .map_err(|error| anyhow::anyhow!("a half-written entry {text:?}: {error}"))?;
                anyhow::ensure!(
                    json["description"] == marker.as_str() && json.get("id").is_some(),
                    "a half-written entry: {json}"
                );
                copies += 1;
            }
            Ok(copies)
        }
        other => anyhow::bail!("{other} takes no write in its cells"),
    }
}

/// Where the service says whether it is ready.
pub(super) fn readyz_url(world: &MockVideoWorld, service: Service) -> anyhow::Result<String> {
    let base = match service {
        Service::Suggestions => world
            .cinema
            .services
            .get("users")
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the users service is not running"))?,
        Service::EventConsumer => consumer_admin(world)?,
        _ => world
            .base_url
            .clone()
            .ok_or_else(|| anyhow::anyhow!("{} is not running in this scenario", service))?,
    };
    Ok(format!("{base}/readyz"))
}

/// The admin listener of the first consumer.
pub(super) fn consumer_admin(world: &MockVideoWorld) -> anyhow::Result<String> {
    world
        .events
        .consumers
        .get(CONSUMERS[0])
        .and_then(harness::launch::RunningService::admin_url)
        .ok_or_else(|| anyhow::anyhow!("no consumer {:?} in this scenario", CONSUMERS[0]))
}
