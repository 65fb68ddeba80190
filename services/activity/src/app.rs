//! [`App`]: a built, bound activity-server: gRPC (events, health, and reflection unless
//! `grpc.reflection` is off) on one port, admin HTTP (`/metrics`, `/livez`, `/readyz`) on
//! another.
//!
//! Shutdown, once the future given to [`App::run_until_stopped`] resolves:
//! 1. readiness turns false and gRPC health turns `NOT_SERVING` (the pinger is stopped first so
//!    it cannot flip it back); calls are still served for the lame-duck period
//!    (`MOCKVIDEO_SHUTDOWN_DELAY`, none by default, see [`platform::serve::SHUTDOWN_DELAY_ENV`]);
//! 2. the gRPC listener closes and in-flight calls and streams drain, for at most
//!    `limits.drain_deadline`; streams still open then end with `UNAVAILABLE`, and whatever
//!    remains after a short grace is dropped;
//! 3. the admin listener stops, the pool closes.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context as _;
use platform::{
    config::Load as _,
    health::Readiness,
    serve::{bind, AdminServer},
};
use tokio::{net::TcpListener, sync::oneshot};
use tonic::transport::{server::TcpIncoming, Server};
use tonic_health::ServingStatus;

use crate::{
    health,
    middleware::GrpcLayer,
    proto::{activity_events_server::ActivityEventsServer, FILE_DESCRIPTOR_SET},
    repo::{EventRepo, MySqlEventRepo, MIGRATIONS_DIR, MIGRATOR},
    service::ActivityService,
    settings::Settings,
};

/// How long streams get to end after they were told to (drain deadline passed) before the
/// server stops waiting for their connections.
const ABORT_GRACE: Duration = Duration::from_secs(2);

/// A running-to-be activity-server: store ready, both listeners bound.
pub struct App {
    settings: Settings,
    repo: Arc<dyn EventRepo>,
    service: ActivityService,
    readiness: Readiness,
    grpc_listener: TcpListener,
    grpc_addr: SocketAddr,
    admin_listener: TcpListener,
    admin_addr: SocketAddr,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("grpc_addr", &self.grpc_addr)
            .field("admin_addr", &self.admin_addr)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Connects to MySQL, applies the migrations (when `db.migrate`), binds `port` (on
    /// `MOCKVIDEO_BIND_ADDRESS`, default 0.0.0.0) and `admin_port`.
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        settings.validate().context("invalid settings")?;
        let pool = platform::mysql::connect(&settings.db).await?;
        if settings.db.migrate {
            platform::mysql::migrate(&pool, &MIGRATOR, MIGRATIONS_DIR).await?;
        }
        Self::with_repo(settings, Arc::new(MySqlEventRepo::new(pool))).await
    }

    /// Like [`App::build`] over any store (`settings.db` is not used), e.g. an in-memory one.
    pub async fn with_repo(settings: Settings, repo: Arc<dyn EventRepo>) -> anyhow::Result<App> {
        settings.validate().context("invalid settings")?;
        platform::serve::prepare(&settings.log_level);
        crate::metrics::register();

        let readiness = Readiness::new();
        let ping_repo = repo.clone();
        readiness.add_check("event store", move || {
            let repo = ping_repo.clone();
            async move { repo.ping().await.map_err(|error| error.to_string()) }
        });
        let service = ActivityService::new(repo.clone(), settings.limits.max_message_chars)
            .with_stream_limits(
                settings.limits.max_list_streams,
                settings.limits.stream_send_timeout,
            )
            .with_store_guard(readiness.clone(), settings.limits.request_timeout);
        // Calls are refused at once while the store is unreachable, not each after its timeout.
        readiness.watch(platform::health::WATCH_INTERVAL);

        let (grpc_listener, grpc_addr) = bind(settings.port, "gRPC").await?;
        let (admin_listener, admin_addr) = bind(settings.admin_port, "admin").await?;
        Ok(App {
            settings,
            repo,
            service,
            readiness,
            grpc_listener,
            grpc_addr,
            admin_listener,
            admin_addr,
        })
    }

    /// The bound gRPC address (`<bind address>:<port>`).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The bound admin HTTP address (`<bind address>:<admin_port>`).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The readiness flag (false once shutdown starts).
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    /// Serves until `shutdown` resolves, then drains (see the module docs) and closes the
    /// store.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let App {
            settings,
            repo,
            service,
            readiness,
            grpc_listener,
            grpc_addr,
            admin_listener,
            admin_addr,
        } = self;
        let limits = settings.limits.clone();
        // The lame-duck period: calls are still served, NOT_SERVING, before the listener closes.
        let delay = platform::serve::shutdown_delay(
            std::env::var(platform::serve::SHUTDOWN_DELAY_ENV)
                .ok()
                .as_deref(),
        )?;

        let (reporter, health_service) = tonic_health::server::health_reporter();
        health::set_status(&reporter, ServingStatus::Serving).await;
        let pinger = health::spawn_pinger(
            reporter.clone(),
            repo.clone(),
            readiness.clone(),
            health::PING_INTERVAL,
        );
        let reflection = if settings.grpc.reflection {
            let reflection = tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .build_v1()
                .context("building the reflection service")?;
            Some(reflection)
        } else {
            None
        };
        let events = ActivityEventsServer::new(service.clone())
            .max_decoding_message_size(limits.max_message_bytes)
            // Answers are never refused for size: events stored under an older, larger limit
            // must still list (4 MiB is gRPC's usual default).
            .max_encoding_message_size(limits.max_message_bytes.max(4 * 1024 * 1024));

        // The admin listener runs until the gRPC side has drained.
        let admin = AdminServer::spawn(admin_listener, readiness.clone());

        let (draining_tx, draining_rx) = oneshot::channel::<()>();
        let drain_readiness = readiness.clone();
        let drain_reporter = reporter.clone();
        let deadline = limits.drain_deadline;
        let signal = async move {
            shutdown.await;
            drain_readiness.start_draining();
            pinger.abort();
            let _ = pinger.await;
            health::set_status(&drain_reporter, ServingStatus::NotServing).await;
            tracing::info!(
                ?delay,
                ?deadline,
                "shutdown requested: NOT_SERVING; serving on for the delay, then draining"
            );
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let _ = draining_tx.send(());
        };

        let incoming = TcpIncoming::from(grpc_listener).with_nodelay(Some(true));
        tracing::info!(%grpc_addr, %admin_addr, reflection = settings.grpc.reflection, db.host = %settings.db.host, db.name = %settings.db.name, "activity-server ready");
        tracing::info!("Server has been started on {}", grpc_addr.port());
        let grpc = &settings.grpc;
        let server = Server::builder()
            .timeout(limits.request_timeout)
            // Keep-alive pings find dead clients (and free their stream slots).
            .http2_keepalive_interval(Some(grpc.http2_keepalive_interval))
            .http2_keepalive_timeout(Some(grpc.http2_keepalive_timeout))
            .tcp_keepalive(Some(grpc.tcp_keepalive))
            .max_concurrent_streams(grpc.max_concurrent_streams)
            .concurrency_limit_per_connection(grpc.concurrency_limit_per_connection)
            .http2_max_header_list_size(grpc.http2_max_header_list_size)
            .layer(GrpcLayer::new(limits.concurrency_limit))
            .add_service(health_service)
            .add_optional_service(reflection)
            .add_service(events)
            .serve_with_incoming_shutdown(incoming, signal);
        tokio::pin!(server);

        let served = tokio::select! {
            result = &mut server => result,
            Ok(()) = draining_rx => {
                match tokio::time::timeout(deadline, &mut server).await {
                    Ok(result) => {
                        tracing::info!("drained");
                        result
                    }
                    Err(_) => {
                        tracing::warn!(?deadline, "drain deadline passed: ending the open streams with UNAVAILABLE");
                        service.abort_streams();
                        match tokio::time::timeout(ABORT_GRACE, &mut server).await {
                            Ok(result) => result,
                            Err(_) => {
                                tracing::warn!("connections still open after the grace: dropping them");
                                Ok(())
                            }
                        }
                    }
                }
            }
        };
        // Whatever ended the gRPC side, the admin side and the store go too.
        readiness.start_draining();
        let admin_result = admin.stop().await;
        repo.close().await;
        served.context("serving gRPC")?;
        admin_result?;
        tracing::info!("activity-server stopped");
        Ok(())
    }
}
