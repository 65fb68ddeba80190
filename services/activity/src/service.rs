//! The `activityevents.ActivityEvents` gRPC service over an [`EventRepo`].
//!
//! - `CreateEvent` validates ([`NewEvent::parse`]), sets `receive` to now, stores, and answers
//!   `execution_time = (receive - send) / 1e6` ms. The idempotency key is
//!   `(deployment_id, id)`; a repeated key is judged by [`replay`]: the same message is the same
//!   event whatever its `timestamp.send` (a client re-run, a retry) and answers success with the
//!   *stored* event's execution time (so it gets the first answer again) and stores nothing; a
//!   different message is `ALREADY_EXISTS`.
//! - `ListEvents` streams from the store page by page ([`PAGE_SIZE`] rows, keyset on the
//!   insertion sequence) through a bounded channel ([`STREAM_BUFFER`]): a slow client slows the
//!   reader, memory stays bounded, and no pooled connection is held between pages. The stream
//!   covers the events stored when the call started. If the server's drain deadline passes
//!   mid-stream it ends with `UNAVAILABLE` (never a silent, truncated `OK`).
//! - `ListEvents` is bounded: at most `max_list_streams` are read from the store at once (more
//!   get `RESOURCE_EXHAUSTED` at once), and a client that takes no event for
//!   `stream_send_timeout` has its stream ended with `DEADLINE_EXCEEDED` (the reader stops and
//!   frees its slot; what was buffered is still delivered before the status if it reads again).

use std::{
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use futures::Stream;
use tokio::sync::{mpsc, watch, Semaphore};
use tonic::{Request, Response, Status};

use platform::health::Readiness;

use crate::{
    domain::{replay, DeploymentFilter, NewEvent, Replay},
    error::DomainError,
    metrics,
    proto::{activity_events_server::ActivityEvents, Deployment, EventRequest, EventResponse},
    repo::{EventRepo, Inserted},
    settings::GrpcLimits,
};

/// Rows read from the store per page of a `ListEvents` stream.
pub const PAGE_SIZE: u32 = 500;

/// Events buffered between the store reader and the client of one stream.
pub const STREAM_BUFFER: usize = 64;

/// The gRPC service. Cheap to clone; clones share the store and the abort switch.
#[derive(Clone)]
pub struct ActivityService {
    repo: Arc<dyn EventRepo>,
    max_message_chars: usize,
    abort: Arc<watch::Sender<bool>>,
    /// One permit per `ListEvents` stream being read from the store.
    streams: Arc<Semaphore>,
    max_list_streams: usize,
    stream_send_timeout: Duration,
    /// The longest one store call of a `ListEvents` stream may take (its unary calls are
    /// bounded by the server's request timeout; a stream's reads run after its answer began).
    store_timeout: Duration,
    /// While its background checks find the store unreachable, calls are refused at once.
    gate: Option<Readiness>,
}

impl std::fmt::Debug for ActivityService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityService")
            .field("max_message_chars", &self.max_message_chars)
            .field("max_list_streams", &self.max_list_streams)
            .field("stream_send_timeout", &self.stream_send_timeout)
            .finish_non_exhaustive()
    }
}

/// The current time in Unix nanoseconds (0 before 1970, saturated after 2262).
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
        })
}

impl ActivityService {
    /// A service over `repo` accepting messages of up to `max_message_chars` characters, with
    /// the default `ListEvents` bounds ([`GrpcLimits`]).
    pub fn new(repo: Arc<dyn EventRepo>, max_message_chars: usize) -> Self {
        let defaults = GrpcLimits::default();
        let (abort, _) = watch::channel(false);
        Self {
            repo,
            max_message_chars,
            abort: Arc::new(abort),
            streams: Arc::new(Semaphore::new(defaults.max_list_streams)),
            max_list_streams: defaults.max_list_streams,
            stream_send_timeout: defaults.stream_send_timeout,
            store_timeout: defaults.request_timeout,
            gate: None,
        }
    }

    /// Bounds each store call of a `ListEvents` stream by `store_timeout`, and refuses calls at
    /// once (`UNAVAILABLE`) while `readiness`' background checks find the store unreachable
    /// ([`Readiness::watch`]).
    #[must_use]
    pub fn with_store_guard(mut self, readiness: Readiness, store_timeout: Duration) -> Self {
        self.gate = Some(readiness);
        self.store_timeout = store_timeout;
        self
    }

    /// `UNAVAILABLE` while the store is known unreachable.
    fn refuse_while_unreachable(&self) -> Result<(), DomainError> {
        match self.gate.as_ref().and_then(Readiness::unreachable) {
            None => Ok(()),
            Some(failed) => Err(DomainError::Unavailable(failed.to_string().into())),
        }
    }

    /// The same service with at most `max_list_streams` `ListEvents` streams at once, each
    /// ended when its client takes no event for `stream_send_timeout`.
    #[must_use]
    pub fn with_stream_limits(
        mut self,
        max_list_streams: usize,
        stream_send_timeout: Duration,
    ) -> Self {
        self.streams = Arc::new(Semaphore::new(max_list_streams));
        self.max_list_streams = max_list_streams;
        self.stream_send_timeout = stream_send_timeout;
        self
    }

    /// Ends every open and future `ListEvents` stream with `UNAVAILABLE` (the drain deadline
    /// passed).
    pub fn abort_streams(&self) {
        self.abort.send_replace(true);
    }

    /// `CreateEvent` for an event received at `receive_ns`.
    pub async fn create(
        &self,
        request: EventRequest,
        receive_ns: i64,
    ) -> Result<EventResponse, DomainError> {
        let event = NewEvent::parse(request, self.max_message_chars)?;
        self.refuse_while_unreachable()?;
        match self.repo.insert(&event, receive_ns).await? {
            Inserted::New(stored) => {
                metrics::event_created();
                let response = stored.response();
                tracing::info!(
                    "Created event [{}] for deployment [{}] in {} ms",
                    stored.id,
                    stored.deployment_id,
                    response.execution_time
                );
                Ok(response)
            }
            Inserted::Existing(stored) => match replay(&stored, &event) {
                Replay::Same => {
                    metrics::event_duplicate();
                    tracing::info!(
                        id = stored.id,
                        deployment = stored.deployment_id,
                        "event already stored: answered again, not stored twice"
                    );
                    Ok(stored.response())
                }
                Replay::Conflict => {
                    metrics::event_conflict();
                    Err(DomainError::Conflict { key: event.key() })
                }
            },
        }
    }

    /// `ListEvents`: validates the deployment, takes a stream slot, then streams its events (see
    /// the module docs).
    pub fn list(&self, deployment: &Deployment) -> Result<EventStream, DomainError> {
        let filter = DeploymentFilter::parse(deployment)?;
        self.refuse_while_unreachable()?;
        let slot = self.streams.clone().try_acquire_owned().map_err(|_| {
            metrics::list_stream_refused();
            DomainError::TooManyStreams {
                limit: self.max_list_streams,
            }
        })?;
        let send_timeout = self.stream_send_timeout;
        let store_timeout = self.store_timeout;
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        let outcome = Arc::new(Mutex::new(None));
        let stream = EventStream {
            events: receiver,
            outcome: outcome.clone(),
        };
        let repo = self.repo.clone();
        let mut abort = self.abort.subscribe();
        tokio::spawn(async move {
            let failure = tokio::select! {
                // The abort is checked first, so a stream opened after it sends nothing.
                biased;
                _ = abort.wait_for(|aborted| *aborted) => Some(Status::from(DomainError::ShuttingDown)),
                result = produce(repo.as_ref(), filter, &sender, send_timeout, store_timeout) => result.err(),
            };
            // The store is not read for this stream any more: its slot is free.
            drop(slot);
            // The outcome is in place before the sender is dropped, so the client sees it
            // after the buffered events.
            if let Some(status) = failure {
                set_outcome(&outcome, status);
            }
            drop(sender);
        });
        Ok(stream)
    }
}

/// `call` bounded by `limit`: a store that does not answer in time is `UNAVAILABLE`.
async fn bounded<T>(
    limit: Duration,
    call: impl std::future::Future<Output = Result<T, crate::repo::RepoError>>,
) -> Result<T, Status> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result.map_err(|error| Status::from(DomainError::from(error))),
        Err(_) => Err(Status::from(DomainError::Unavailable(
            format!("no answer from the event store within {limit:?}").into(),
        ))),
    }
}

/// Reads pages and sends their events until the snapshot's end, until the client leaves, or
/// until it takes no event for `send_timeout`; each store call is bounded by `store_timeout`.
async fn produce(
    repo: &dyn EventRepo,
    filter: DeploymentFilter,
    sender: &mpsc::Sender<Result<EventRequest, Status>>,
    send_timeout: Duration,
    store_timeout: Duration,
) -> Result<(), Status> {
    let end = bounded(store_timeout, repo.last_seq()).await?;
    let mut after = 0;
    loop {
        let page = bounded(store_timeout, repo.page(filter, after, end, PAGE_SIZE)).await?;
        let full = page.len() == usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
        for (seq, event) in page {
            after = seq;
            match tokio::time::timeout(send_timeout, sender.send(Ok(event.to_proto()))).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => {
                    tracing::debug!("ListEvents client went away");
                    return Ok(());
                }
                Err(_) => {
                    metrics::list_stream_timed_out();
                    tracing::info!(
                        ?send_timeout,
                        "ListEvents client read nothing: ending its stream"
                    );
                    return Err(Status::from(DomainError::SlowReader {
                        waited: send_timeout,
                    }));
                }
            }
            metrics::event_streamed();
        }
        if !full {
            return Ok(());
        }
    }
}

fn set_outcome(outcome: &Mutex<Option<Status>>, status: Status) {
    let mut slot = outcome
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *slot = Some(status);
}

/// The `ListEvents` response stream: buffered events, then the final error, if any.
#[derive(Debug)]
pub struct EventStream {
    events: mpsc::Receiver<Result<EventRequest, Status>>,
    outcome: Arc<Mutex<Option<Status>>>,
}

impl Stream for EventStream {
    type Item = Result<EventRequest, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.events.poll_recv(cx) {
            Poll::Ready(None) => {
                let outcome = self
                    .outcome
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                Poll::Ready(outcome.map(Err))
            }
            other => other,
        }
    }
}

#[tonic::async_trait]
impl ActivityEvents for ActivityService {
    async fn create_event(
        &self,
        request: Request<EventRequest>,
    ) -> Result<Response<EventResponse>, Status> {
        let receive_ns = now_ns();
        let response = self.create(request.into_inner(), receive_ns).await?;
        Ok(Response::new(response))
    }

    type ListEventsStream = EventStream;

    async fn list_events(
        &self,
        request: Request<Deployment>,
    ) -> Result<Response<Self::ListEventsStream>, Status> {
        Ok(Response::new(self.list(request.get_ref())?))
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt as _;
    use tonic::Code;

    use super::*;
    use crate::{proto::Timestamp, repo::InMemoryEventRepo};

    fn service() -> (ActivityService, Arc<InMemoryEventRepo>) {
        let repo = Arc::new(InMemoryEventRepo::new());
        (ActivityService::new(repo.clone(), 20), repo)
    }

    fn event(id: i32, deployment_id: i32, message: &str, send: i64) -> EventRequest {
        EventRequest {
            id,
            message: message.to_owned(),
            timestamp: Some(Timestamp { send, receive: 0 }),
            deployment_id,
        }
    }

    async fn collect(stream: EventStream) -> (Vec<EventRequest>, Option<Status>) {
        let mut events = Vec::new();
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            match item {
                Ok(event) => events.push(event),
                Err(status) => return (events, Some(status)),
            }
        }
        (events, None)
    }

    #[tokio::test]
    async fn create_sets_receive_and_answers_the_execution_time() {
        let (service, repo) = service();
        let response = service
            .create(event(1, 1, "deployed", 1_000_000_000), 1_004_500_000)
            .await
            .unwrap();
        assert_eq!(
            response,
            EventResponse {
                id: 1,
                success: true,
                execution_time: 4
            }
        );
        let (events, failure) = collect(service.list(&Deployment { id: 1 }).unwrap()).await;
        assert!(failure.is_none());
        assert_eq!(
            events[0].timestamp,
            Some(Timestamp {
                send: 1_000_000_000,
                receive: 1_004_500_000
            })
        );
        assert_eq!(repo.len(), 1);
    }

    #[tokio::test]
    async fn a_repeated_event_answers_the_first_result_and_is_stored_once() {
        let (service, repo) = service();
        let first = service
            .create(event(7, 1, "m", 1), 3_000_001)
            .await
            .unwrap();
        let again = service
            .create(event(7, 1, "m", 1), 9_000_001)
            .await
            .unwrap();
        assert_eq!(first, again);
        assert_eq!(repo.len(), 1);
        let conflict = service
            .create(event(7, 1, "other", 1), 9)
            .await
            .unwrap_err();
        let status = Status::from(conflict);
        assert_eq!(status.code(), Code::AlreadyExists);
        assert!(status.message().contains("event 7"), "{status:?}");
        assert_eq!(repo.len(), 1);
    }

    #[tokio::test]
    async fn a_rerun_with_a_new_send_time_is_the_same_event_and_gets_the_first_answer() {
        let (service, repo) = service();
        let first = service
            .create(event(7, 1, "m", 1_000_000_000), 1_003_000_000)
            .await
            .unwrap();
        // The client ran again a minute later: a new send time, the same event.
        let rerun = service
            .create(event(7, 1, "m", 61_000_000_000), 61_009_000_000)
            .await
            .unwrap();
        assert_eq!(first.execution_time, 3);
        assert_eq!(rerun, first);
        assert_eq!(repo.len(), 1);
    }

    #[tokio::test]
    async fn deployments_number_their_events_independently() {
        let (service, repo) = service();
        for deployment in [1, 2] {
            let response = service
                .create(event(1, deployment, &format!("d{deployment}"), 1), 2)
                .await
                .unwrap();
            assert_eq!(response.id, 1);
        }
        assert_eq!(repo.len(), 2);
        for deployment in [1, 2] {
            let (events, _) = collect(service.list(&Deployment { id: deployment }).unwrap()).await;
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].message, format!("d{deployment}"));
        }
        let status = Status::from(service.create(event(1, 2, "d1", 1), 3).await.unwrap_err());
        assert_eq!(status.code(), Code::AlreadyExists);
        assert!(
            status.message().contains("event 1 of deployment 2"),
            "{status:?}"
        );
    }

    #[tokio::test]
    async fn invalid_requests_are_invalid_argument_and_store_nothing() {
        let (service, repo) = service();
        let no_timestamp = EventRequest {
            timestamp: None,
            ..event(1, 1, "m", 1)
        };
        for (request, needle) in [
            (no_timestamp, "timestamp"),
            (event(0, 1, "m", 1), "idempotency key"),
            (event(1, -1, "m", 1), "deployment_id"),
            (event(1, 1, "", 1), "message"),
            (event(1, 1, &"x".repeat(21), 1), "at most 20"),
            (event(1, 1, "m", 0), "timestamp.send"),
        ] {
            let status = Status::from(service.create(request, 5).await.unwrap_err());
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
            assert!(status.message().contains(needle), "{needle}: {status:?}");
        }
        assert!(repo.is_empty());
        let status = Status::from(service.list(&Deployment { id: -1 }).unwrap_err());
        assert_eq!(status.code(), Code::InvalidArgument);
    }

    #[tokio::test]
    async fn listing_pages_through_the_store_in_insertion_order() {
        let (service, _repo) = service();
        let total = i32::try_from(PAGE_SIZE).unwrap() * 2 + 7;
        // Ids descending, so insertion order differs from id order.
        for id in (1..=total).rev() {
            service.create(event(id, id % 3, "m", 1), 2).await.unwrap();
        }
        let (all, failure) = collect(service.list(&Deployment { id: 0 }).unwrap()).await;
        assert!(failure.is_none());
        let ids: Vec<i32> = all.iter().map(|event| event.id).collect();
        assert_eq!(ids, (1..=total).rev().collect::<Vec<_>>());
        let (two, _) = collect(service.list(&Deployment { id: 2 }).unwrap()).await;
        assert!(two.iter().all(|event| event.deployment_id == 2));
        assert_eq!(
            two.len(),
            all.iter().filter(|e| e.deployment_id == 2).count()
        );
        let (none, failure) = collect(service.list(&Deployment { id: 77 }).unwrap()).await;
        assert!(none.is_empty() && failure.is_none());
    }

    #[tokio::test]
    async fn an_unavailable_store_is_unavailable_and_a_list_does_not_end_ok() {
        let (service, repo) = service();
        repo.set_unavailable(true);
        let status = Status::from(service.create(event(1, 1, "m", 1), 2).await.unwrap_err());
        assert_eq!(status.code(), Code::Unavailable);
        let (events, failure) = collect(service.list(&Deployment { id: 0 }).unwrap()).await;
        assert!(events.is_empty());
        assert_eq!(failure.map(|status| status.code()), Some(Code::Unavailable));
    }

    #[tokio::test]
    async fn aborted_streams_deliver_what_is_buffered_then_unavailable() {
        let (service, _repo) = service();
        for id in 1..=1000 {
            service.create(event(id, 1, "m", 1), 2).await.unwrap();
        }
        let stream = service.list(&Deployment { id: 1 }).unwrap();
        // The client reads nothing for a while: the producer fills the buffer and waits.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        service.abort_streams();
        let (events, failure) = collect(stream).await;
        assert!(events.len() < 1000, "{}", events.len());
        assert!(events.len() >= STREAM_BUFFER, "{}", events.len());
        let status = failure.unwrap();
        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.message().contains("incomplete"), "{status:?}");
        // Streams opened after the abort end at once, the same way.
        let (events, failure) = collect(service.list(&Deployment { id: 1 }).unwrap()).await;
        assert!(events.is_empty());
        assert_eq!(failure.map(|status| status.code()), Some(Code::Unavailable));
    }

    #[tokio::test]
    async fn a_client_that_leaves_stops_the_reader() {
        let (service, _repo) = service();
        for id in 1..=600 {
            service.create(event(id, 1, "m", 1), 2).await.unwrap();
        }
        let mut stream = service.list(&Deployment { id: 0 }).unwrap();
        assert!(stream.next().await.is_some());
        drop(stream);
        // Nothing to assert beyond "no hang, no panic": the producer's send fails and it ends.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    #[tokio::test]
    async fn streams_over_the_bound_are_resource_exhausted_until_one_ends() {
        let (service, _repo) = service();
        let service = service.with_stream_limits(1, Duration::from_millis(200));
        for id in 1..=500 {
            service.create(event(id, 1, "m", 1), 2).await.unwrap();
        }
        // Nobody reads the first stream: the buffer fills, its slot stays taken...
        let unread = service.list(&Deployment { id: 1 }).unwrap();
        let status = Status::from(service.list(&Deployment { id: 1 }).unwrap_err());
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert!(status.message().contains("at most 1"), "{status:?}");
        // ...until the send timeout ends it: then what was buffered, then DEADLINE_EXCEEDED.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let (all, failure) = collect(service.list(&Deployment { id: 1 }).unwrap()).await;
        assert!(failure.is_none());
        assert_eq!(all.len(), 500);
        let (events, failure) = collect(unread).await;
        assert!(events.len() < 500, "{}", events.len());
        let status = failure.expect("the unread stream ended with a status");
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    }
}
