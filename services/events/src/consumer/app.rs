//! [`App`]: a bound event-consumer (admin listener: `/metrics`, `/livez`, `/readyz`, ready while
//! connected to Redis with the group in place), and [`main_from_env`], the whole binary.
//!
//! Shutdown: readiness turns false, the worker finishes the batch in hand and stops reading,
//! then the admin listener stops.

use std::{future::Future, net::SocketAddr};

use anyhow::Context as _;
use clap::Parser as _;
use platform::{config::Load as _, health::Readiness, serve::AdminServer};
use tokio::net::TcpListener;

use super::{cli::Cli, metrics, worker::Worker, Settings};

/// A bound, not yet running event-consumer.
pub struct App {
    worker: Worker,
    readiness: Readiness,
    admin_listener: TcpListener,
    admin_addr: SocketAddr,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("admin_addr", &self.admin_addr)
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Validates the settings and binds `admin_port` (on `MOCKVIDEO_BIND_ADDRESS`, default
    /// 0.0.0.0); does not need Redis yet.
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        settings.validate().context("invalid settings")?;
        platform::serve::prepare(&settings.log_level);
        metrics::register();
        let worker = Worker::new(&settings).context("invalid Redis settings")?;
        let readiness = Readiness::new();
        let connected = worker.connected_flag();
        crate::redis_link::add_readiness_check(&readiness, move || {
            connected.load(std::sync::atomic::Ordering::SeqCst)
        });
        // Bounded well within the readiness check's own timeout.
        let ping_timeout = platform::health::CHECK_TIMEOUT / 2;
        let ping = crate::redis_link::Link::new(
            &settings.redis,
            ping_timeout,
            ping_timeout,
            settings.retry_period,
        )
        .context("invalid Redis settings")?;
        crate::redis_link::add_ping_check(&readiness, ping);
        let (admin_listener, admin_addr) =
            platform::serve::bind(settings.admin_port, "admin").await?;
        Ok(App {
            worker,
            readiness,
            admin_listener,
            admin_addr,
        })
    }

    /// The bound admin address (`<bind address>:<admin_port>`).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The readiness flag.
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    /// Consumes until `shutdown` resolves, then stops cleanly (see the module docs).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let App {
            worker,
            readiness,
            admin_listener,
            admin_addr,
        } = self;
        let admin = AdminServer::spawn(admin_listener, readiness.clone());
        tracing::info!(%admin_addr, "event-consumer admin listener ready");
        let drain_readiness = readiness.clone();
        let (_stop_handle, stop) = crate::stop::Stop::from_future(async move {
            shutdown.await;
            drain_readiness.start_draining();
            tracing::info!("shutdown requested: finishing the batch in hand");
        });
        worker.run(stop).await;
        readiness.start_draining();
        admin.stop().await
    }
}

/// The `event-consumer` binary: telemetry → command line → settings → app → consume until
/// SIGTERM or Ctrl-C, then exit 0.
pub async fn main_from_env() -> anyhow::Result<()> {
    platform::telemetry::init("event-consumer");
    let cli = Cli::parse();
    let settings = Settings::load(cli.config_file().as_deref(), cli.secrets_dir().as_deref())?;
    App::build(settings)
        .await?
        .run_until_stopped(platform::shutdown::shutdown_signal())
        .await
}
