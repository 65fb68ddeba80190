//! [`App`]: a bound event-consumer (admin listener: `/metrics`, `/livez`, `/readyz`, ready while
//! connected to Redis with the group in place), and [`main_from_env`], the whole binary.
//!
//! Shutdown: readiness turns false, the worker finishes the batch in hand and stops reading,
//! then the admin listener stops.

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context as _;
use axum::{routing::get, Router};
use clap::Parser as _;
use platform::{
    health::Readiness,
    serve::{serve, ServeOptions},
};
use tokio::{net::TcpListener, sync::oneshot};

use super::{cli::Cli, metrics, worker::Worker, Settings};

/// How long the admin listener drains its own requests at the very end.
const ADMIN_DRAIN: Duration = Duration::from_secs(2);

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
    /// Validates the settings and binds `0.0.0.0:admin_port`; does not need Redis yet.
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        settings.validate().context("invalid settings")?;
        if let Err(error) = platform::telemetry::set_default_level(&settings.log_level) {
            tracing::warn!(%error, "keeping the current log level");
        }
        platform::metrics::install();
        metrics::register();
        let worker = Worker::new(&settings).context("invalid Redis settings")?;
        let readiness = Readiness::new();
        let connected = worker.connected_flag();
        readiness.add_check("redis", move || {
            let connected = connected.load(std::sync::atomic::Ordering::SeqCst);
            async move {
                if connected {
                    Ok(())
                } else {
                    Err("not connected to Redis".to_owned())
                }
            }
        });
        let admin_listener = TcpListener::bind(("0.0.0.0", settings.admin_port))
            .await
            .with_context(|| format!("binding the admin port 0.0.0.0:{}", settings.admin_port))?;
        let admin_addr = admin_listener
            .local_addr()
            .context("reading the admin address")?;
        Ok(App {
            worker,
            readiness,
            admin_listener,
            admin_addr,
        })
    }

    /// The bound admin address (`0.0.0.0:<admin_port>`).
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
        let admin_router = Router::new()
            .route("/metrics", get(platform::metrics::handler))
            .merge(platform::health::routes(readiness.clone()));
        let (admin_stop, admin_stopped) = oneshot::channel::<()>();
        let admin = tokio::spawn(serve(
            admin_listener,
            admin_router,
            readiness.clone(),
            async {
                let _ = admin_stopped.await;
            },
            ServeOptions {
                drain_deadline: ADMIN_DRAIN,
            },
        ));
        tracing::info!(%admin_addr, "event-consumer admin listener ready");
        let drain_readiness = readiness.clone();
        let (_stop_handle, stop) = crate::stop::Stop::from_future(async move {
            shutdown.await;
            drain_readiness.start_draining();
            tracing::info!("shutdown requested: finishing the batch in hand");
        });
        worker.run(stop).await;
        readiness.start_draining();
        let _ = admin_stop.send(());
        match admin.await {
            Ok(result) => result.context("serving the admin HTTP port")?,
            Err(join) => anyhow::bail!("the admin HTTP task failed: {join}"),
        }
        Ok(())
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
