//! The fault matrix's part of the world: the service under test of a cell as a process of its
//! own ([`MatrixProcess`], started by "Given <service> runs as a process of its own" in
//! `steps/matrix/process.rs`), and how to send it one representative READ and WRITE request
//! and read a write back, with failures named by their error class ("429", "503", "reset",
//! "timeout", "refused", "UNAVAILABLE", …) so that they can be load operations of
//! [`harness::load`] directly.
//!
//! The representative requests, per service:
//!
//! | service | read | write (unique per `n`) | read back |
//! |---|---|---|---|
//! | accountd | `GET /users/1` (seed user) | `POST /users` (a new user) | `GET` its `Location` |
//! | activity-server | gRPC `ListEvents` of the cell's deployment | gRPC `CreateEvent` id `n` | `ListEvents` holds id `n` |
//! | movies | `GET /movies/<El padrino>` (seed movie) | `POST /movies` | `GET /movies/<data.id>` |
//! | suggestions | `GET /users/<Manuel>/suggestions` (seed user) | none (read-only) | |
//! | event-producer | `GET /readyz` | `POST /event` (a unique description) | `XRANGE` of its stream holds it |
//! | event-consumer | `GET /readyz` of the consumer | `POST /event` to the producer | the processed record (events ledger steps) |

use std::time::{Duration, Instant};

use activity::proto::{activity_events_client::ActivityEventsClient, Deployment, EventRequest};
use harness::{launch::process::ChildService, matrix::Service};
use redis::AsyncCommands as _;
use serde_json::{json, Value};
use tonic::transport::Channel;

/// Longest one representative request may take before it counts as a `timeout`.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The matrix part of a scenario.
#[derive(Debug, Default)]
pub struct MatrixState {
    /// The service under test as a child process, stopped in teardown.
    pub process: Option<MatrixProcess>,
    /// What the last signal step saw, for its `Then` step.
    pub signals: SignalOutcome,
}

/// One request of the load: when it was sent, whether it was a write, and how it ended
/// (`Ok(Some(key))` an acknowledged write, `Ok(None)` a successful read, `Err(class)`).
#[derive(Debug, Clone)]
pub struct Sent {
    /// When it was sent.
    pub at: Instant,
    /// True for a write.
    pub write: bool,
    /// How it ended.
    pub outcome: Result<Option<String>, String>,
}

/// What a signal step leaves for its `Then` step.
#[derive(Debug, Default)]
pub struct SignalOutcome {
    /// Every request of the load.
    pub sent: Vec<Sent>,
    /// When the signal was sent.
    pub signalled_at: Option<Instant>,
    /// First `/readyz` answer other than 200 after SIGTERM: when, what, and whether the process
    /// was alive then.
    pub unready: Option<(Instant, String, bool)>,
    /// When the process exited after SIGTERM, and how.
    pub exited: Option<(Instant, std::process::ExitStatus)>,
    /// The drain deadline it was held to.
    pub drain_deadline: Duration,
    /// The read's answer before the kill and after the restart (suggestions).
    pub before_after: Option<(Vec<u8>, Vec<u8>)>,
}

impl MatrixState {
    /// Stops the child process, keeping its log when the scenario `failed`.
    pub async fn teardown(&mut self, failed: bool) {
        if let Some(process) = self.process.take() {
            let name = process.child.name().to_owned();
            if let Err(error) = process.child.stop(failed).await {
                eprintln!("[harness] {name} stopped with an error: {error:#}");
            }
        }
    }
}

/// One matrix service as a child process, ready once the step returns.
#[derive(Debug)]
pub struct MatrixProcess {
    /// Which service of the matrix it is.
    pub service: Service,
    /// The child process (SIGTERM, SIGKILL, restart with [`ChildService::start`]).
    pub child: ChildService,
    /// Where its requests go: `http://127.0.0.1:PORT`; for activity-server its gRPC endpoint;
    /// for event-consumer the (in-process) producer the events are posted to.
    pub base_url: String,
    /// Its HTTP listener for `/readyz` and `/metrics`: `base_url`, or activity-server's and
    /// event-consumer's admin listener.
    pub admin_url: String,
    /// `{admin_url}/readyz`.
    pub ready_url: String,
    /// `resources.limits.memory` of its Helm chart, in KiB.
    pub memory_limit_kib: u64,
    /// `resources.limits.cpu` of its Helm chart, in millicores.
    pub cpu_limit_millis: u32,
    /// The cgroup holding it to `cpu_limit_millis`, once "it is held to its chart's CPU limit".
    pub cpu_limit: Option<harness::launch::cpu_limit::CpuLimit>,
    /// The Helm chart it was read from (`helm/<chart>/values.yaml`).
    pub chart: &'static str,
    /// For event-producer and event-consumer: the Redis URL (direct, not through a fault proxy)
    /// and stream key the events go to.
    pub redis: Option<(String, String)>,
    /// For activity-server: the deployment every representative event belongs to.
    pub deployment: i32,
    /// For activity-server: a lazily connected channel to `base_url`.
    pub grpc: Option<Channel>,
    /// Unique per process start of the step, part of every written name.
    pub run: String,
}

impl MatrixProcess {
    /// Waits, at most `limit`, until `/readyz` answers 2xx (after a restart).
    pub async fn wait_ready(
        &mut self,
        http: &reqwest::Client,
        limit: Duration,
    ) -> anyhow::Result<()> {
        let url = self.ready_url.clone();
        self.child.wait_http_ready(http, &url, limit).await
    }

    /// The representative requests, as a cheap clone that load operations can own.
    pub fn requests(&self) -> Requests {
        Requests {
            service: self.service,
            base_url: self.base_url.clone(),
            ready_url: self.ready_url.clone(),
            redis: self.redis.clone(),
            deployment: self.deployment,
            grpc: self.grpc.clone(),
            run: self.run.clone(),
        }
    }
}

/// The representative READ and WRITE requests of a [`MatrixProcess`] (see the module docs),
/// independent of the child process so that load operations can own a clone.
#[derive(Debug, Clone)]
pub struct Requests {
    /// Which service of the matrix it is.
    pub service: Service,
    /// [`MatrixProcess::base_url`].
    pub base_url: String,
    /// [`MatrixProcess::ready_url`].
    pub ready_url: String,
    /// [`MatrixProcess::redis`].
    pub redis: Option<(String, String)>,
    /// [`MatrixProcess::deployment`].
    pub deployment: i32,
    /// [`MatrixProcess::grpc`].
    pub grpc: Option<Channel>,
    /// [`MatrixProcess::run`].
    pub run: String,
}

impl Requests {
    /// Sends the representative READ; its body (for HTTP) on 2xx, else the error class.
    pub async fn read(&self, http: &reqwest::Client) -> Result<Vec<u8>, String> {
        match self.service {
            Service::ActivityServer => {
                let events = self.list_events().await?;
                Ok(format!("{events:?}").into_bytes())
            }
            Service::Accountd => self.get(http, "/users/1").await,
            Service::Movies => {
                let path = format!("/movies/{}", cinema::seed::MOVIE_PADRINO);
                self.get(http, &path).await
            }
            Service::Suggestions => {
                let path = format!("/users/{}/suggestions", cinema::seed::USER_MANUEL);
                self.get(http, &path).await
            }
            Service::EventProducer | Service::EventConsumer => {
                answer(http.get(&self.ready_url).timeout(CALL_TIMEOUT).send().await).await
            }
        }
    }

    /// True when the service has a representative WRITE (all but suggestions).
    pub fn writes(&self) -> bool {
        self.service != Service::Suggestions
    }

    /// Sends the `n`th representative WRITE (unique per `n` within this process's run); on
    /// success, the key [`read_back`](Self::read_back) takes; else the error class.
    pub async fn write(&self, http: &reqwest::Client, n: u64) -> Result<String, String> {
        let run = &self.run;
        match self.service {
            Service::Accountd => {
                let user = json!({
                    "accountid": 1,
                    "name": format!("Matrix {n}"),
                    "email": format!("matrix-{run}-{n}@example.com"),
                    "role": 1,
                    "password": format!("pw-{run}-{n}"),
                });
                let sent = http
                    .post(format!("{}/users", self.base_url))
                    .json(&user)
                    .timeout(CALL_TIMEOUT)
                    .send()
                    .await;
                let response = sent.map_err(|error| class_of(&error))?;
                let status = response.status();
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned);
                // The body is read to the end: a reset there is a failure of this write.
                response.bytes().await.map_err(|error| class_of(&error))?;
                if !status.is_success() {
                    return Err(status.as_u16().to_string());
                }
                let location = location.ok_or_else(|| "no-location".to_owned())?;
                Ok(location
                    .rsplit_once("/users/")
                    .map_or(location.clone(), |(_, id)| format!("/users/{id}")))
            }
            Service::Movies => {
                let movie = json!({"data": {"title": format!("Matrix {run} {n}"), "rating": "3"}});
                let body = post_json(http, &format!("{}/movies", self.base_url), &movie).await?;
                let json: Value = serde_json::from_slice(&body).map_err(|_| "not-json")?;
                let id = json["data"]["id"].as_str().ok_or("no-id")?;
                Ok(format!("/movies/{id}"))
            }
            Service::EventProducer | Service::EventConsumer => {
                let description = self.description(n);
                let event = json!({ "description": description });
                post_json(http, &format!("{}/event", self.base_url), &event).await?;
                Ok(description)
            }
            Service::ActivityServer => {
                let id = i32::try_from(n % i32::MAX as u64).unwrap_or(0) + 1;
                let mut client = ActivityEventsClient::new(self.channel()?);
                let request = EventRequest {
                    id,
                    message: format!("matrix {run} {n}"),
                    timestamp: Some(activity::proto::Timestamp {
                        send: now_ns(),
                        receive: 0,
                    }),
                    deployment_id: self.deployment,
                };
                client
                    .create_event(request)
                    .await
                    .map_err(|status| grpc_class(&status))?;
                Ok(id.to_string())
            }
            Service::Suggestions => Err("read-only".to_owned()),
        }
    }

    /// The description of the `n`th event this process's run posts.
    pub fn description(&self, n: u64) -> String {
        format!("matrix-{}-{n}", self.run)
    }

    /// True when the write acknowledged with `key` can be read back (accountd, movies: `GET`
    /// answers 200; activity-server: `ListEvents` holds the id; event-producer: the stream holds
    /// the description). event-consumer's writes are checked by the events ledger steps.
    pub async fn read_back(&self, http: &reqwest::Client, key: &str) -> anyhow::Result<bool> {
        match self.service {
            Service::Accountd | Service::Movies => {
                let url = format!("{}{key}", self.base_url);
                let status = http.get(&url).timeout(CALL_TIMEOUT).send().await?.status();
                anyhow::ensure!(
                    status.as_u16() == 200 || status.as_u16() == 404,
                    "GET {key}: HTTP {status}"
                );
                Ok(status.is_success())
            }
            Service::ActivityServer => {
                let events = self.list_events().await.map_err(anyhow::Error::msg)?;
                Ok(events.iter().any(|event| event.id.to_string() == key))
            }
            Service::EventProducer => {
                let descriptions = self.stream_descriptions().await?;
                Ok(descriptions.iter().any(|description| description == key))
            }
            Service::EventConsumer | Service::Suggestions => {
                anyhow::bail!("{} has no read back of its own", self.service)
            }
        }
    }

    /// Every description on the producer's stream (event-producer, event-consumer).
    pub async fn stream_descriptions(&self) -> anyhow::Result<Vec<String>> {
        let (url, stream) = self
            .redis
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("{} has no stream", self.service))?;
        let mut conn = redis::Client::open(url.as_str())?
            .get_multiplexed_async_connection()
            .await?;
        let entries: redis::streams::StreamRangeReply = conn.xrange_all(stream).await?;
        Ok(entries
            .ids
            .iter()
            .filter_map(|entry| {
                let raw: String = entry.get(events::notification::EVENT_FIELD)?;
                let message: events::notification::NotificationMessage =
                    serde_json::from_str(&raw).ok()?;
                Some(message.description)
            })
            .collect())
    }

    /// The events of the cell's deployment (activity-server).
    async fn list_events(&self) -> Result<Vec<EventRequest>, String> {
        use futures::StreamExt as _;
        let mut client = ActivityEventsClient::new(self.channel()?);
        let deployment = Deployment {
            id: self.deployment,
        };
        let mut stream = client
            .list_events(deployment)
            .await
            .map_err(|status| grpc_class(&status))?
            .into_inner();
        let mut events = Vec::new();
        while let Some(event) = stream.next().await {
            events.push(event.map_err(|status| grpc_class(&status))?);
        }
        Ok(events)
    }

    fn channel(&self) -> Result<Channel, String> {
        self.grpc.clone().ok_or_else(|| "no-channel".to_owned())
    }

    async fn get(&self, http: &reqwest::Client, path: &str) -> Result<Vec<u8>, String> {
        let url = format!("{}{path}", self.base_url);
        answer(http.get(&url).timeout(CALL_TIMEOUT).send().await).await
    }
}

/// `POST url` with `body`; the answer's body on 2xx, else the error class.
async fn post_json(http: &reqwest::Client, url: &str, body: &Value) -> Result<Vec<u8>, String> {
    answer(http.post(url).json(body).timeout(CALL_TIMEOUT).send().await).await
}

/// The body of a 2xx answer, read to the end; else the status or the error class.
async fn answer(sent: Result<reqwest::Response, reqwest::Error>) -> Result<Vec<u8>, String> {
    let response = sent.map_err(|error| class_of(&error))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|error| class_of(&error))?;
    if status.is_success() {
        Ok(body.to_vec())
    } else {
        Err(status.as_u16().to_string())
    }
}

/// The class of a failed HTTP exchange: `timeout`, `refused` (no listener), `reset` (the
/// connection closed or reset before the whole answer), else `other`.
pub fn class_of(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timeout".to_owned();
    }
    let chain = {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(inner) = source {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            source = inner.source();
        }
        text.to_lowercase()
    };
    if chain.contains("refused") {
        "refused".to_owned()
    } else if chain.contains("reset")
        || chain.contains("closed")
        || chain.contains("broken pipe")
        || chain.contains("incomplete")
        || chain.contains("eof")
    {
        "reset".to_owned()
    } else if chain.contains("timed out") {
        "timeout".to_owned()
    } else {
        "other".to_owned()
    }
}

/// The class of a failed exchange of [`harness::wire`], with the names of [`class_of`].
pub fn io_class(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::ConnectionRefused => "refused",
        ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe
        | ErrorKind::UnexpectedEof => "reset",
        ErrorKind::TimedOut => "timeout",
        _ => "other",
    }
    .to_owned()
}

/// The class of a failed gRPC call: its code in upper snake case (`UNAVAILABLE`, …).
pub fn grpc_class(status: &tonic::Status) -> String {
    use tonic::Code;
    match status.code() {
        Code::Unavailable => "UNAVAILABLE",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::Cancelled => "CANCELLED",
        Code::Internal => "INTERNAL",
        Code::Unknown => "UNKNOWN",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::NotFound => "NOT_FOUND",
        Code::Aborted => "ABORTED",
        _ => "OTHER",
    }
    .to_owned()
}

fn now_ns() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX)
}
