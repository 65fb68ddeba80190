//! Serving a router with bounded connections and a graceful, bounded drain.
//!
//! Connections are served by the accept loop in `serve/connection.rs` (hyper-util, HTTP/1 and
//! HTTP/2 on one port): header-read and idle timeouts, a connection cap and HTTP/2 stream
//! limits, as [`ServeOptions::connections`] ([`Connections`]) sets them.
//!
//! When the shutdown future resolves: readiness turns false first (so `/readyz` answers 503);
//! for [`ServeOptions::unready_delay`] (the lame-duck period, [`SHUTDOWN_DELAY_ENV`]) the
//! service goes on accepting and answering, so that load balancers see it unready and stop
//! sending before the listener closes; then the listener stops accepting, in-flight requests
//! finish (kept-alive connections close after their current response), and after
//! [`ServeOptions::drain_deadline`] whatever is still running is dropped.
//!
//! Also what every service does around that: [`prepare`] (log level and metrics recorder),
//! [`bind`] (a port on all interfaces, or on the address [`BIND_ADDRESS_ENV`] names) and
//! [`AdminServer`] (`/metrics`, `/livez`, `/readyz` on a port of their own, for services whose
//! main port is not HTTP).

mod connection;

use std::{
    future::Future,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use anyhow::Context as _;
use axum::{routing::get, Router};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use self::connection::Acceptor;
pub use self::connection::{Connections, MAX_CONNECTIONS_LIMIT};
use crate::health::Readiness;

/// How [`serve`] treats connections and shuts down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// Longest time in-flight requests get after shutdown starts. Default 10 s (the seed's).
    pub drain_deadline: Duration,
    /// Timeouts and caps per connection and per server (a service's `connections` setting).
    pub connections: Connections,
    /// How long the service goes on serving, unready, after shutdown starts and before the
    /// listener closes; `None` (the default): from [`SHUTDOWN_DELAY_ENV`], no delay when unset.
    pub unready_delay: Option<Duration>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            drain_deadline: Duration::from_secs(10),
            connections: Connections::default(),
            unready_delay: None,
        }
    }
}

/// How long an [`AdminServer`] drains its own requests once stopped.
pub const ADMIN_DRAIN: Duration = Duration::from_secs(2);

/// Start-up common to every service: applies the `log_level` setting (keeping the current
/// level, with a warning, when it is unusable) and installs the Prometheus recorder. The
/// service registers its own metrics after this.
pub fn prepare(log_level: &str) {
    if let Err(error) = crate::telemetry::set_default_level(log_level) {
        tracing::warn!(%error, "keeping the current log level");
    }
    crate::metrics::install();
}

/// The variable naming the address every service listens on, default `0.0.0.0`. `127.0.0.1`
/// keeps a pod on the node's network (the chart's `global.bindAddress`, set by the `local`
/// values) off the machine's other interfaces.
pub const BIND_ADDRESS_ENV: &str = "MOCKVIDEO_BIND_ADDRESS";

/// The listening address from the value of [`BIND_ADDRESS_ENV`] (unset or empty: `0.0.0.0`).
pub fn bind_address(value: Option<&str>) -> anyhow::Result<IpAddr> {
    match value.map(str::trim).filter(|value| !value.is_empty()) {
        None => Ok(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        Some(value) => value.parse().with_context(|| {
            format!("{BIND_ADDRESS_ENV}={value:?} is not an IP address (e.g. 127.0.0.1 or 0.0.0.0)")
        }),
    }
}

/// The variable naming the lame-duck period of every service: how long it goes on serving with
/// `/readyz` answering 503 after SIGTERM, before its listener closes and in-flight requests
/// drain (`5s`, `500ms`, `2`; unset or empty: none). A deployment sets it to about the time its
/// load balancers take to drop an unready endpoint, so that requests sent meanwhile are served
/// rather than refused.
pub const SHUTDOWN_DELAY_ENV: &str = "MOCKVIDEO_SHUTDOWN_DELAY";

/// The lame-duck period from the value of [`SHUTDOWN_DELAY_ENV`] (unset or empty: none).
pub fn shutdown_delay(value: Option<&str>) -> anyhow::Result<Duration> {
    match value.map(str::trim).filter(|value| !value.is_empty()) {
        None => Ok(Duration::ZERO),
        Some(value) => crate::http::parse_duration(value).map_err(|error| {
            anyhow::anyhow!("{SHUTDOWN_DELAY_ENV}={value:?} is not a duration: {error}")
        }),
    }
}

/// Binds `<address>:port`, the address from [`BIND_ADDRESS_ENV`] (default `0.0.0.0`; port 0
/// picks a free one); `what` names the port in errors ("HTTP", "admin", …). Returns the
/// listener and its address.
pub async fn bind(port: u16, what: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let ip = bind_address(std::env::var(BIND_ADDRESS_ENV).ok().as_deref())?;
    let listener = TcpListener::bind((ip, port))
        .await
        .with_context(|| format!("binding the {what} port {ip}:{port}"))?;
    let addr = listener
        .local_addr()
        .with_context(|| format!("reading the {what} address"))?;
    Ok((listener, addr))
}

/// The admin HTTP listener (`/metrics`, `/livez`, `/readyz`), served in the background until
/// [`AdminServer::stop`]; it drains for [`ADMIN_DRAIN`] at most.
#[derive(Debug)]
pub struct AdminServer {
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl AdminServer {
    /// Starts serving on `listener`; `/readyz` answers from `readiness`.
    pub fn spawn(listener: TcpListener, readiness: Readiness) -> Self {
        let router = Router::new()
            .route("/metrics", get(crate::metrics::handler))
            .merge(crate::health::routes(readiness.clone()));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            listener,
            router,
            readiness,
            async {
                let _ = stopped.await;
            },
            ServeOptions {
                drain_deadline: ADMIN_DRAIN,
                ..ServeOptions::default()
            },
        ));
        Self { stop, task }
    }

    /// Stops serving and waits until the listener has drained.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(result) => result.context("serving the admin HTTP port"),
            Err(join) => anyhow::bail!("the admin HTTP task failed: {join}"),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains (see the module docs).
///
/// Handlers can read the peer address with `ConnectInfo<SocketAddr>`. Fails at once, naming the
/// key, when `options.connections` is unusable.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    readiness: Readiness,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> std::io::Result<()> {
    options
        .connections
        .validate()
        .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidInput, error))?;
    let delay =
        match options.unready_delay {
            Some(delay) => delay,
            None => shutdown_delay(std::env::var(SHUTDOWN_DELAY_ENV).ok().as_deref()).map_err(
                |error| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{error:#}")),
            )?,
        };
    let acceptor = Acceptor::new(&options.connections);
    let stop = async move {
        shutdown.await;
        // Not ready first, so the load balancer stops sending before the listener closes.
        readiness.start_draining();
        tracing::info!(
            ?delay,
            "shutdown requested: not ready any more; serving on for the delay, then draining"
        );
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    };
    acceptor.accept_until(listener, router, stop).await;
    if acceptor.drain(options.drain_deadline).await {
        tracing::info!("drained; server stopped");
    } else {
        tracing::warn!(
            deadline = ?options.drain_deadline,
            "drain deadline passed; dropping the remaining connections"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get_text(addr: SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[test]
    fn the_bind_address_defaults_to_every_interface_and_refuses_garbage() {
        assert_eq!(bind_address(None).unwrap().to_string(), "0.0.0.0");
        assert_eq!(bind_address(Some(" ")).unwrap().to_string(), "0.0.0.0");
        assert_eq!(
            bind_address(Some("127.0.0.1")).unwrap().to_string(),
            "127.0.0.1"
        );
        assert_eq!(bind_address(Some("::1")).unwrap().to_string(), "::1");
        let error = bind_address(Some("localhost")).unwrap_err().to_string();
        assert!(error.contains("MOCKVIDEO_BIND_ADDRESS"), "{error}");
    }

    #[tokio::test]
    async fn drains_in_flight_requests_and_turns_unready_first() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let readiness = Readiness::new();
        let router = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "finished"
            }),
        );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            router,
            readiness.clone(),
            async {
                let _ = stop_rx.await;
            },
            ServeOptions::default(),
        ));
        let in_flight = tokio::spawn(get_text(addr, "/slow"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop_tx.send(()).unwrap();
        let response = in_flight.await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("finished"), "{response}");
        server.await.unwrap().unwrap();
        assert!(readiness.is_draining());
    }

    #[tokio::test]
    async fn drain_is_bounded_by_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new().route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "never"
            }),
        );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            router,
            Readiness::new(),
            async {
                let _ = stop_rx.await;
            },
            ServeOptions {
                drain_deadline: Duration::from_millis(200),
                ..ServeOptions::default()
            },
        ));
        let _hanging = tokio::spawn(get_text(addr, "/hang"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        stop_tx.send(()).unwrap();
        server.await.unwrap().unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn serves_unready_for_the_delay_before_the_listener_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let readiness = Readiness::new();
        let router = Router::new()
            .route("/ok", get(|| async { "ok" }))
            .merge(crate::health::routes(readiness.clone()));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            router,
            readiness.clone(),
            async {
                let _ = stop_rx.await;
            },
            ServeOptions {
                unready_delay: Some(Duration::from_millis(300)),
                ..ServeOptions::default()
            },
        ));
        stop_tx.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Unready, and still answering new connections.
        assert!(get_text(addr, "/readyz").await.starts_with("HTTP/1.1 503"));
        assert!(get_text(addr, "/ok").await.ends_with("ok"));
        server.await.unwrap().unwrap();
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    #[test]
    fn the_shutdown_delay_is_a_duration() {
        assert_eq!(shutdown_delay(None).unwrap(), Duration::ZERO);
        assert_eq!(shutdown_delay(Some(" ")).unwrap(), Duration::ZERO);
        assert_eq!(
            shutdown_delay(Some("500ms")).unwrap(),
            Duration::from_millis(500)
        );
        let error = shutdown_delay(Some("soon")).unwrap_err().to_string();
        assert!(error.contains(SHUTDOWN_DELAY_ENV), "{error}");
    }

    /// Serves `router` with `connections` until the returned sender is used.
    async fn start(router: Router, connections: Connections) -> (SocketAddr, oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        tokio::spawn(serve(
            listener,
            router,
            Readiness::new(),
            async {
                let _ = stop_rx.await;
            },
            ServeOptions {
                connections,
                ..ServeOptions::default()
            },
        ));
        (addr, stop_tx)
    }

    /// Reads until the server closes the connection; returns what was read and when.
    async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> (String, Duration) {
        let started = std::time::Instant::now();
        let mut buffer = Vec::new();
        // A reset counts as closed too.
        let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buffer))
            .await
            .expect("closed by the server within 10 s");
        (
            String::from_utf8_lossy(&buffer).into_owned(),
            started.elapsed(),
        )
    }

    fn hello() -> Router {
        Router::new().route("/", get(|| async { "hello" }))
    }

    #[test]
    fn connection_limits_have_documented_defaults_and_refuse_zero_by_name() {
        let defaults = Connections::default();
        assert_eq!(defaults.header_read_timeout, Duration::from_secs(10));
        assert_eq!(defaults.idle_timeout, Duration::from_secs(60));
        assert_eq!(defaults.max_connections, 1024);
        assert_eq!(defaults.http2_max_concurrent_streams, 100);
        assert!(defaults.validate().is_ok());
        let zero = Connections {
            max_connections: 0,
            ..Connections::default()
        };
        let error = zero.validate().unwrap_err();
        assert_eq!(error.key(), Some("connections.max_connections"));
        let parsed: Connections =
            serde_json::from_str(r#"{"header_read_timeout":"2s","idle_timeout":0.5}"#).unwrap();
        assert_eq!(parsed.header_read_timeout, Duration::from_secs(2));
        assert_eq!(parsed.idle_timeout, Duration::from_millis(500));
        assert_eq!(parsed.max_connections, 1024);
    }

    #[tokio::test]
    async fn a_partial_or_missing_header_is_closed_after_the_header_read_timeout() {
        let timeout = Duration::from_millis(400);
        let (addr, _stop) = start(
            hello(),
            Connections {
                header_read_timeout: timeout,
                ..Connections::default()
            },
        )
        .await;
        let mut partial = tokio::net::TcpStream::connect(addr).await.unwrap();
        partial
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
        for stream in [&mut partial, &mut silent] {
            let (_, after) = read_until_closed(stream).await;
            assert!(after < timeout + Duration::from_secs(2), "{after:?}");
        }
        // The server still answers.
        assert!(get_text(addr, "/").await.ends_with("hello"));
    }

    #[tokio::test]
    async fn a_kept_alive_connection_is_closed_after_the_idle_timeout() {
        let idle = Duration::from_millis(300);
        let (addr, _stop) = start(
            hello(),
            Connections {
                idle_timeout: idle,
                ..Connections::default()
            },
        )
        .await;
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let (response, after) = read_until_closed(&mut stream).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("hello"), "{response}");
        assert!(after >= idle, "closed after {after:?}");
        assert!(
            after < idle + Duration::from_secs(2),
            "closed after {after:?}"
        );
    }

    #[tokio::test]
    async fn connections_over_the_cap_are_closed_at_once() {
        let (addr, _stop) = start(
            hello(),
            Connections {
                max_connections: 2,
                ..Connections::default()
            },
        )
        .await;
        let _first = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _second = tokio::net::TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (response, after) = read_until_closed(&mut third).await;
        assert!(response.is_empty(), "{response}");
        assert!(after < Duration::from_secs(2), "{after:?}");
        drop((_first, _second));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(get_text(addr, "/").await.ends_with("hello"));
    }

    #[tokio::test]
    async fn handlers_see_the_peer_address() {
        let router = Router::new().route(
            "/peer",
            get(
                |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>| async move {
                    peer.ip().to_string()
                },
            ),
        );
        let (addr, _stop) = start(router, Connections::default()).await;
        assert!(get_text(addr, "/peer").await.ends_with("127.0.0.1"));
    }
}
