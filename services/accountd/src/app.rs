//! [`App`]: a built, bound accountd ready to serve; [`AppState`]: what the handlers share.

use std::{future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context as _;
use axum::extract::FromRef;
use platform::{
    auth::{Audience, Verifier},
    config::Load as _,
    health::Readiness,
    http::Limits,
    idempotency::{Idempotency, MemoryStore, MySqlStore, Policy},
    serve::{serve, ServeOptions},
};
use sqlx::MySqlPool;
use tokio::net::TcpListener;

use crate::{
    db,
    domain::password::Hasher,
    repo::{InMemoryUserRepo, Metered, MySqlUserRepo, UserRepo},
    routes::router,
    settings::Settings,
};

/// The most users one bulk request may carry. Hashing each password costs about 30 ms of CPU
/// (more on a busy machine) and the whole request must finish within the request timeout
/// (10 s by default), so the cap is kept well below what two cores hash in that time.
pub const MAX_BULK_USERS: usize = 100;

/// The most `Idempotency-Key`s the in-memory state of the router tests keeps.
const IN_MEMORY_KEYS: usize = 10_000;

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The user store (already wrapped in [`Metered`]).
    pub repo: Arc<dyn UserRepo>,
    /// Whether to take traffic.
    pub readiness: Readiness,
    /// HTTP limits.
    pub limits: Limits,
    /// Users of one bulk request processed at the same time.
    pub max_concurrent_bulk_operations: usize,
    /// The most users one bulk request may carry.
    pub max_bulk_users: usize,
    /// Password hashing, bounded per process.
    pub hasher: Hasher,
    /// Checks bearer tokens on every route but health, metrics and the OpenAPI document; `None`
    /// (no JWT secret configured): everything is open.
    pub verifier: Option<Verifier>,
    /// Where the writes' `Idempotency-Key`s and answers are kept (MySQL; in memory for tests).
    pub idempotency: Idempotency,
}

impl AppState {
    /// State over `repo` with default limits and bulk settings. The repo is wrapped so that
    /// its calls are timed.
    pub fn new(repo: Arc<dyn UserRepo>) -> Self {
        Self {
            repo: Arc::new(Metered::new(repo)),
            readiness: Readiness::new(),
            limits: Limits::default(),
            max_concurrent_bulk_operations: Settings::default().max_concurrent_bulk_operations,
            max_bulk_users: MAX_BULK_USERS,
            hasher: Hasher::default(),
            verifier: None,
            idempotency: Idempotency::new(
                Arc::new(MemoryStore::new(IN_MEMORY_KEYS)),
                Policy::default(),
            ),
        }
    }

    /// State over an empty in-memory store (router unit tests).
    pub fn in_memory() -> Self {
        Self::new(Arc::new(InMemoryUserRepo::new()))
    }
}

impl FromRef<AppState> for Readiness {
    fn from_ref(state: &AppState) -> Readiness {
        state.readiness.clone()
    }
}

/// A running-to-be accountd: connected, migrated, bound.
pub struct App {
    listener: TcpListener,
    local_addr: SocketAddr,
    pool: MySqlPool,
    state: AppState,
    connections: platform::serve::Connections,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Connects to MySQL, applies the migrations (when `db.migrate`), binds `port` (on
    /// `MOCKVIDEO_BIND_ADDRESS`, default 0.0.0.0).
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        settings.validate().context("invalid settings")?;
        platform::serve::prepare(&settings.log_level);
        crate::metrics::register();

        let pool = db::connect(&settings.db).await?;
        if settings.db.migrate {
            db::migrate(&pool).await?;
        }
        let repo = Arc::new(MySqlUserRepo::new(pool.clone()));
        let mut state = AppState::new(repo);
        state.limits = settings.limits.clone();
        state.max_concurrent_bulk_operations = settings.max_concurrent_bulk_operations;
        state.hasher = Hasher::new(&settings.hashing);
        state.verifier = settings.auth.verifier(Audience::Accountd);
        state.idempotency = Idempotency::new(
            Arc::new(MySqlStore::new(pool.clone())),
            settings.idempotency,
        );
        let ping_repo = state.repo.clone();
        state.readiness.add_check("mysql", move || {
            let repo = ping_repo.clone();
            async move { repo.ping().await.map_err(|error| error.to_string()) }
        });
        // Requests are refused at once while MySQL is unreachable, not each after its timeout.
        state.readiness.watch(platform::health::WATCH_INTERVAL);

        let (listener, local_addr) = platform::serve::bind(settings.port, "HTTP").await?;
        let auth = if state.verifier.is_some() {
            "every route but health, metrics and /openapi.json needs a bearer token"
        } else {
            "off"
        };
        tracing::info!(%local_addr, db.host = %settings.db.host, db.name = %settings.db.name, auth, "accountd ready");
        Ok(App {
            listener,
            local_addr,
            pool,
            state,
            connections: settings.connections.clone(),
        })
    }

    /// The bound address (`<bind address>:<port>`).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The database pool (e.g. to load test data before serving).
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// The readiness flag (false once shutdown starts).
    pub fn readiness(&self) -> Readiness {
        self.state.readiness.clone()
    }

    /// Serves until `shutdown` resolves, drains in-flight requests (10 s at most), closes the
    /// pool.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let readiness = self.state.readiness.clone();
        let app = router(self.state);
        serve(
            self.listener,
            app,
            readiness,
            shutdown,
            ServeOptions {
                connections: self.connections,
                ..ServeOptions::default()
            },
        )
        .await
        .context("serving HTTP")?;
        self.pool.close().await;
        tracing::info!("accountd stopped");
        Ok(())
    }
}

/// The `accountd` binary: telemetry → command line → settings → app (with the seed's users when
/// `--load-test-data`) → serve until SIGTERM or Ctrl-C.
pub async fn main_from_env() -> anyhow::Result<()> {
    use platform::config::Load as _;

    platform::telemetry::init("accountd");
    let cli = crate::cli::Cli::parse_args();
    let settings = Settings::load(cli.config_file().as_deref(), cli.secrets_dir().as_deref())?;
    let app = App::build(settings).await?;
    if cli.load_test_data {
        db::load_test_data(app.pool()).await?;
    }
    app.run_until_stopped(platform::shutdown::shutdown_signal())
        .await
}
