//! [`App`]: a bound event-producer. Building it never needs Redis: until the writer's
//! supervisor has connected (and whenever the link is lost) `/readyz` answers 503 and
//! `POST /event` answers 503 + `Retry-After` at once.
//!
//! Shutdown: readiness turns false, the listener stops accepting, in-flight requests drain
//! (bounded by `limits.request_timeout`), then the supervisor stops.

use std::{future::Future, net::SocketAddr};

use anyhow::Context as _;
use axum::Router;
use platform::{
    auth::{self, Audience, Guard},
    config::Load as _,
    health::Readiness,
    serve::{serve, ServeOptions},
};
use tokio::net::TcpListener;

use super::{
    metrics,
    routes::{self, AppState},
    writer::StreamWriter,
    Settings,
};

/// The service name in metrics and logs.
pub const SERVICE: &str = "event-producer";

/// Which requests need a bearer token when a JWT secret is configured: the writes
/// (`POST /event`).
pub const GUARD: Guard = Guard::Writes;

/// A bound, not yet serving event-producer.
pub struct App {
    settings: Settings,
    writer: StreamWriter,
    readiness: Readiness,
    listener: TcpListener,
    addr: SocketAddr,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("addr", &self.addr)
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Validates the settings and binds `port` (on `MOCKVIDEO_BIND_ADDRESS`, default 0.0.0.0); does
    /// not wait for Redis.
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        settings.validate().context("invalid settings")?;
        platform::serve::prepare(&settings.log_level);
        metrics::register();
        let writer = StreamWriter::new(&settings).context("invalid Redis settings")?;
        let readiness = Readiness::new();
        let check_writer = writer.clone();
        crate::redis_link::add_readiness_check(&readiness, move || check_writer.is_connected());
        let (listener, addr) = platform::serve::bind(settings.port, "HTTP").await?;
        Ok(App {
            settings,
            writer,
            readiness,
            listener,
            addr,
        })
    }

    /// The bound address (`<bind address>:<port>`).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The readiness flag (false while Redis is unreachable and once shutdown starts).
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    /// The full router with the platform middleware (for `oneshot` tests).
    pub fn router(&self) -> Router {
        router(&self.settings, self.writer.clone(), self.readiness.clone())
    }

    /// Connects to Redis in the background and serves until `shutdown` resolves, then
    /// drains (see the module docs).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = self.router();
        let App {
            settings,
            writer,
            readiness,
            listener,
            addr,
        } = self;
        let (stop_supervisor, stop) = crate::stop::channel();
        let supervisor = writer.spawn_supervisor(stop);
        tracing::info!(%addr, redis = %settings.redis.display_addr(), stream = %settings.redis.stream, max_len = settings.max_len, "event-producer listening");
        let served = serve(
            listener,
            router,
            readiness.clone(),
            shutdown,
            ServeOptions {
                drain_deadline: settings.limits.request_timeout,
                connections: settings.connections.clone(),
                ..ServeOptions::default()
            },
        )
        .await;
        readiness.start_draining();
        stop_supervisor.stop();
        let _ = supervisor.await;
        served.context("serving HTTP")?;
        tracing::info!("event-producer stopped");
        Ok(())
    }
}

/// The producer's router over `writer`, wrapped in the platform middleware. With a JWT secret,
/// `POST /event` (every write) needs a bearer token for the audience `event-producer`.
pub fn router(settings: &Settings, writer: StreamWriter, readiness: Readiness) -> Router {
    routes(settings, writer, readiness).0
}

/// [`router`] and every path it routes (for [`platform::openapi::check_routes`]).
pub fn routes(
    settings: &Settings,
    writer: StreamWriter,
    readiness: Readiness,
) -> (Router, Vec<&'static str>) {
    let document = super::openapi::document(writer.max_description_bytes());
    let state = AppState {
        writer,
        retry_after_secs: settings.limits.retry_after_secs,
    };
    let (router, paths) = routes::router(state, readiness, &document);
    let router = auth::protect(
        router,
        settings.auth.verifier(Audience::EventProducer),
        GUARD,
        &document,
    );
    (
        platform::http::with_middleware(router, SERVICE, &settings.limits),
        paths,
    )
}
