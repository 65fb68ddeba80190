//! Serving a router with a graceful, bounded drain.
//!
//! When the shutdown future resolves: readiness turns false first (so `/readyz` answers 503),
//! the listener stops accepting, in-flight requests finish, and after
//! [`ServeOptions::drain_deadline`] whatever is still running is dropped.
//!
//! Also what every service does around that: [`prepare`] (log level and metrics recorder),
//! [`bind`] (a port on all interfaces, or on the address [`BIND_ADDRESS_ENV`] names) and
//! [`AdminServer`] (`/metrics`, `/livez`, `/readyz` on a port of their own, for services whose
//! main port is not HTTP).

use std::{
    future::{Future, IntoFuture},
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use anyhow::Context as _;
use axum::{routing::get, Router};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::health::Readiness;

/// How [`serve`] shuts down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// Longest time in-flight requests get after shutdown starts. Default 10 s (the seed's).
    pub drain_deadline: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            drain_deadline: Duration::from_secs(10),
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
/// Handlers can read the peer address with `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    readiness: Readiness,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> std::io::Result<()> {
    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
    let drain_readiness = readiness.clone();
    let signal = async move {
        shutdown.await;
        drain_readiness.start_draining();
        tracing::info!("shutdown requested: not ready any more, draining in-flight requests");
        let _ = draining_tx.send(());
    };
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .into_future();
    tokio::pin!(server);

    tokio::select! {
        result = &mut server => result,
        Ok(()) = draining_rx => {
            match tokio::time::timeout(options.drain_deadline, &mut server).await {
                Ok(result) => {
                    tracing::info!("drained; server stopped");
                    result
                }
                Err(_) => {
                    tracing::warn!(
                        deadline = ?options.drain_deadline,
                        "drain deadline passed; dropping the remaining connections"
                    );
                    Ok(())
                }
            }
        }
    }
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
            },
        ));
        let _hanging = tokio::spawn(get_text(addr, "/hang"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        stop_tx.send(()).unwrap();
        server.await.unwrap().unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
