//! The accept loop under [`serve`](super::serve): HTTP/1 and HTTP/2 on one port through
//! hyper-util's `auto` builder, every connection bounded in time and every server bounded in
//! connections, as [`Connections`] configures.
//!
//! - **Header-read timeout**: a request's header must arrive within
//!   [`Connections::header_read_timeout`] (HTTP/1, hyper's timer), and a new connection must
//!   deliver its first request within the same time (any protocol: a socket that sends nothing,
//!   or a partial HTTP/2 preface, is closed as well).
//! - **Idle timeout**: a connection with no request in flight for
//!   [`Connections::idle_timeout`] after its last response is closed (HTTP/2 with a `GOAWAY`).
//!   hyper also applies the header-read timeout to the wait for the next request on a kept-alive
//!   HTTP/1 connection, so an idle HTTP/1 connection lasts at most the shorter of the two.
//! - **Connection cap**: at most [`Connections::max_connections`] connections at once per
//!   server. Beyond it a new connection is accepted and closed at once (the client sees a
//!   reset or an empty reply and can retry elsewhere) rather than left waiting in the kernel's
//!   backlog, where it would hang without an answer. Counted in
//!   `http_connections_refused_total`.
//! - **HTTP/2**: at most [`Connections::http2_max_concurrent_streams`] streams per connection,
//!   keep-alive pings that close a connection whose peer stops answering, and a bounded header
//!   list.
//!
//! Connections closed by a timer are counted in `http_connections_reaped_total{reason}`.

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{body::Body, extract::ConnectInfo, Router};
use http_body_util::BodyExt as _;
use hyper::{body::Incoming, Request};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use serde::Deserialize;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{watch, OwnedSemaphorePermit, Semaphore},
    time::Instant,
};
use tower::ServiceExt as _;

use crate::{config::ConfigError, http::deserialize_duration};

/// The most connections [`Connections::max_connections`] may allow.
pub const MAX_CONNECTIONS_LIMIT: usize = 1_000_000;

/// How long a connection closed by a timer gets to finish closing (an HTTP/2 `GOAWAY`) before
/// it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// How long the accept loop pauses after an error that is not one connection's (e.g. out of
/// file descriptors), so it does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Connection limits of one HTTP server (see the module docs). In settings they are the
/// `connections.*` keys (`ACCOUNTD__CONNECTIONS__HEADER_READ_TIMEOUT=2s`); durations are a
/// number of seconds (`10`, `0.5`) or a string with a unit (`"500ms"`, `"10s"`, `"2m"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Connections {
    /// Longest time a request header (and a new connection's first request) may take to
    /// arrive; slower connections are closed. Default 10 s.
    #[serde(deserialize_with = "deserialize_duration")]
    pub header_read_timeout: Duration,
    /// Longest time a connection may stay open with no request in flight after its last
    /// response. Default 60 s (HTTP/1: at most `header_read_timeout` too, see the module docs).
    #[serde(deserialize_with = "deserialize_duration")]
    pub idle_timeout: Duration,
    /// Connections open at once; beyond it new ones are closed at once. Default 1024.
    pub max_connections: usize,
    /// HTTP/2 streams (requests) open at once on one connection. Default 100.
    pub http2_max_concurrent_streams: u32,
    /// How often an HTTP/2 connection is pinged. Default 20 s.
    #[serde(deserialize_with = "deserialize_duration")]
    pub http2_keepalive_interval: Duration,
    /// How long an HTTP/2 ping may go unanswered before the connection is closed. Default 20 s.
    #[serde(deserialize_with = "deserialize_duration")]
    pub http2_keepalive_timeout: Duration,
    /// Largest HTTP/2 header list (decoded), in bytes. Default 64 KiB.
    pub http2_max_header_list_size: u32,
}

impl Default for Connections {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            http2_max_concurrent_streams: 100,
            http2_keepalive_interval: Duration::from_secs(20),
            http2_keepalive_timeout: Duration::from_secs(20),
            http2_max_header_list_size: 64 * 1024,
        }
    }
}

impl Connections {
    /// Checks the values that would make a server unusable; the error names the bad key
    /// (`connections.…`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let durations = [
            ("connections.header_read_timeout", self.header_read_timeout),
            ("connections.idle_timeout", self.idle_timeout),
            (
                "connections.http2_keepalive_interval",
                self.http2_keepalive_interval,
            ),
            (
                "connections.http2_keepalive_timeout",
                self.http2_keepalive_timeout,
            ),
        ];
        for (key, value) in durations {
            if value.is_zero() {
                return Err(ConfigError::invalid(key, "must be greater than zero"));
            }
        }
        if !(1..=MAX_CONNECTIONS_LIMIT).contains(&self.max_connections) {
            return Err(ConfigError::invalid(
                "connections.max_connections",
                format!("must be between 1 and {MAX_CONNECTIONS_LIMIT}"),
            ));
        }
        if self.http2_max_concurrent_streams == 0 {
            return Err(ConfigError::invalid(
                "connections.http2_max_concurrent_streams",
                "must be greater than zero",
            ));
        }
        if self.http2_max_header_list_size == 0 {
            return Err(ConfigError::invalid(
                "connections.http2_max_header_list_size",
                "must be greater than zero",
            ));
        }
        Ok(())
    }
}

/// Where the server is in its life; every connection task watches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Serving,
    /// Shutdown started: finish what is in flight, then close.
    Draining,
    /// The drain deadline passed: drop the connection now.
    Dropping,
}

/// Accepts connections, serves each on a task of its own and drains them.
pub(super) struct Acceptor {
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: Connections,
    permits: Arc<Semaphore>,
    phase: watch::Sender<Phase>,
    /// Whether the cap's warning was logged since the last connection admitted (one warning
    /// per burst, not one per refused connection).
    warned_full: AtomicBool,
}

impl Acceptor {
    /// An acceptor with `limits` (already validated).
    pub(super) fn new(limits: &Connections) -> Self {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(limits.http2_max_concurrent_streams)
            .keep_alive_interval(limits.http2_keepalive_interval)
            .keep_alive_timeout(limits.http2_keepalive_timeout)
            .max_header_list_size(limits.http2_max_header_list_size);
        let (phase, _) = watch::channel(Phase::Serving);
        Self {
            builder: Arc::new(builder),
            limits: limits.clone(),
            permits: Arc::new(Semaphore::new(limits.max_connections)),
            phase,
            warned_full: AtomicBool::new(false),
        }
    }

    /// Accepts on `listener` until `stop` resolves, then closes the listener.
    pub(super) async fn accept_until(
        &self,
        listener: TcpListener,
        router: Router,
        stop: impl Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        loop {
            let accepted = tokio::select! {
                biased;
                () = &mut stop => return,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => self.admit(stream, peer, &router),
                // The peer gave up before it was accepted: nothing to do.
                Err(error) if is_connection_error(&error) => {}
                Err(error) => {
                    tracing::error!(%error, "accepting a connection failed; pausing");
                    tokio::select! {
                        biased;
                        () = &mut stop => return,
                        () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => {}
                    }
                }
            }
        }
    }

    /// Serves `stream` on a task of its own, or closes it at once when the cap is reached.
    fn admit(&self, stream: TcpStream, peer: SocketAddr, router: &Router) {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            metrics::counter!("http_connections_refused_total").increment(1);
            if !self.warned_full.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    max_connections = self.limits.max_connections,
                    %peer,
                    "connection cap reached: closing new connections at once"
                );
            }
            return;
        };
        self.warned_full.store(false, Ordering::Relaxed);
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, %peer, "cannot set TCP_NODELAY");
        }
        let connection = Connection {
            builder: self.builder.clone(),
            limits: self.limits.clone(),
            phase: self.phase.subscribe(),
            peer,
            _permit: permit,
        };
        tokio::spawn(connection.serve(stream, router.clone()));
    }

    /// Tells every connection to finish what is in flight and close, and waits for them for
    /// `deadline` at most; then the rest are dropped. True when all closed in time.
    pub(super) async fn drain(&self, deadline: Duration) -> bool {
        self.phase.send_replace(Phase::Draining);
        // Every connection holds one permit: all of them back means all closed.
        let all = u32::try_from(self.limits.max_connections).unwrap_or(u32::MAX);
        let drained = tokio::time::timeout(deadline, self.permits.acquire_many(all)).await;
        if drained.is_err() {
            self.phase.send_replace(Phase::Dropping);
        }
        drained.is_ok()
    }
}

/// Accept errors that concern one connection only (axum's `serve` treats them the same way).
fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// What a connection is doing, for its timers.
#[derive(Debug, Clone, Copy)]
struct Activity {
    /// Requests whose response has not been fully sent (or dropped).
    in_flight: usize,
    /// Requests received so far.
    requests: u64,
    /// When `in_flight` last became 0 (the accept time before the first request).
    idle_since: Instant,
}

impl Activity {
    /// When the connection is to be closed if nothing changes, and why; `None` while a request
    /// is in flight.
    fn deadline(&self, accepted: Instant, limits: &Connections) -> Option<(Instant, &'static str)> {
        if self.in_flight > 0 {
            None
        } else if self.requests == 0 {
            Some((accepted + limits.header_read_timeout, "header_timeout"))
        } else {
            Some((self.idle_since + limits.idle_timeout, "idle_timeout"))
        }
    }
}

/// Marks one request in flight on its connection until dropped (with the response body).
struct Busy(Arc<watch::Sender<Activity>>);

impl Busy {
    fn start(activity: Arc<watch::Sender<Activity>>) -> Self {
        activity.send_modify(|activity| {
            activity.in_flight += 1;
            activity.requests += 1;
        });
        Self(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.send_modify(|activity| {
            activity.in_flight = activity.in_flight.saturating_sub(1);
            if activity.in_flight == 0 {
                activity.idle_since = Instant::now();
            }
        });
    }
}

/// One accepted connection and what it needs to serve itself.
struct Connection {
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: Connections,
    phase: watch::Receiver<Phase>,
    peer: SocketAddr,
    /// Returned to the cap when the connection ends.
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    /// Serves `router` on `stream` until the peer closes, a timer closes it, or the server
    /// drains.
    async fn serve(mut self, stream: TcpStream, router: Router) {
        let accepted = Instant::now();
        let peer = self.peer;
        let (activity, mut watched) = watch::channel(Activity {
            in_flight: 0,
            requests: 0,
            idle_since: accepted,
        });
        let activity = Arc::new(activity);
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let busy = Busy::start(activity.clone());
            let response = router.clone().oneshot(request);
            async move {
                let response = match response.await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                // The body carries the mark, so the request counts until it is fully sent.
                Ok::<_, Infallible>(response.map(move |body| {
                    Body::new(body.map_frame(move |frame| {
                        let _in_flight = &busy;
                        frame
                    }))
                }))
            }
        });
        let connection = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service);
        tokio::pin!(connection);

        let mut closing_since: Option<Instant> = None;
        let mut draining = false;
        loop {
            let activity = *watched.borrow_and_update();
            let wake = match closing_since {
                Some(since) => Some((since + CLOSE_GRACE, "close_grace")),
                None => activity.deadline(accepted, &self.limits),
            };
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                    return;
                }
                changed = watched.changed() => {
                    // The sender lives in the service, which lives as long as the connection.
                    if changed.is_err() {
                        return;
                    }
                }
                () = sleep_until(wake.map(|(at, _)| at)) => {
                    if closing_since.is_some() {
                        tracing::debug!(%peer, "connection not closed within its grace: dropped");
                        return;
                    }
                    let reason = wake.map_or("unknown", |(_, reason)| reason);
                    tracing::debug!(%peer, reason, "closing a connection");
                    metrics::counter!("http_connections_reaped_total", "reason" => reason)
                        .increment(1);
                    connection.as_mut().graceful_shutdown();
                    closing_since = Some(Instant::now());
                }
                changed = self.phase.changed() => {
                    let phase = match changed {
                        Ok(()) => *self.phase.borrow_and_update(),
                        Err(_) => Phase::Dropping,
                    };
                    match phase {
                        Phase::Serving => {}
                        Phase::Draining if !draining => {
                            draining = true;
                            connection.as_mut().graceful_shutdown();
                        }
                        Phase::Draining => {}
                        Phase::Dropping => return,
                    }
                }
            }
        }
    }
}

/// Sleeps until `at`, or forever when `None`.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
