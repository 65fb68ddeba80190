//! [`App`]: one built, bound cinema service; [`router`]: its whole HTTP surface.
//!
//! Building never needs MongoDB: the driver connects (and reconnects after a restart) in the
//! background, `/healthy` and `/readyz` answer 503 until it answers a ping and the indexes
//! exist, and requests meanwhile get 503 within the server-selection timeout.
//!
//! Every write route takes an `Idempotency-Key` ([`platform::idempotency::idempotent`] over the
//! service's [`MongoIdempotencyStore`]), and every write waits for write concern
//! `{w: "majority", j: true}` within `mongo.write_concern_timeout` ([`crate::repo::write_concern`],
//! [`crate::settings::MongoSettings::wtimeout`]).

use std::{
    future::Future,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use anyhow::Context as _;
use axum::{extract::Request, http::Uri, Router};
use mongodb::{
    bson::doc,
    options::{ClientOptions, DatabaseOptions, IndexOptions},
    Client, Database, IndexModel,
};
use platform::{
    auth::{self, Audience, Guard, Verifier},
    health::Readiness,
    http::{with_middleware, ApiError, Limits},
    idempotency::{idempotent, Idempotency, MemoryStore, Policy},
    openapi::{Routes, DOCUMENT_PATH},
    serve::{serve, ServeOptions},
};
use secrecy::ExposeSecret as _;
use tokio::net::TcpListener;
use tower::Layer as _;

use crate::{
    bookings::{self, Booking},
    crud::Collection,
    movies::{self, Movie},
    repo::{write_concern, InMemoryRepo, MongoIdempotencyStore, MongoRepo, Repo},
    settings::{MongoSettings, SuggestionSettings},
    showtimes::{self, Showtime},
    users::{self, suggestions::upstream::Upstream, User},
    Service, Settings,
};

/// The four collections (each service uses its own).
#[derive(Clone)]
pub struct Repos {
    /// `movies`.
    pub movies: Arc<dyn Repo<Movie>>,
    /// `showtimes`.
    pub showtimes: Arc<dyn Repo<Showtime>>,
    /// `bookings`.
    pub bookings: Arc<dyn Repo<Booking>>,
    /// `users`.
    pub users: Arc<dyn Repo<User>>,
    /// The writes' `Idempotency-Key`s and their answers, and how long they are kept.
    pub idempotency: Idempotency,
}

/// The most `Idempotency-Key`s the in-memory stores of router tests keep.
pub const IN_MEMORY_KEYS: usize = 10_000;

impl Repos {
    /// The collections of `database`, each call of which may take `timeout`, and the keys in
    /// `keys`, kept under `policy`.
    pub fn mongo(
        database: &Database,
        timeout: Duration,
        keys: Arc<MongoIdempotencyStore>,
        policy: Policy,
    ) -> Self {
        Self {
            movies: Arc::new(MongoRepo::<Movie>::new(database, timeout)),
            showtimes: Arc::new(MongoRepo::<Showtime>::new(database, timeout)),
            bookings: Arc::new(MongoRepo::<Booking>::new(database, timeout)),
            users: Arc::new(MongoRepo::<User>::new(database, timeout)),
            idempotency: Idempotency::new(keys, policy),
        }
    }

    /// Empty in-memory collections and keys (router unit tests).
    pub fn in_memory() -> Self {
        Self {
            movies: Arc::new(InMemoryRepo::<Movie>::new()),
            showtimes: Arc::new(InMemoryRepo::<Showtime>::new()),
            bookings: Arc::new(InMemoryRepo::<Booking>::new()),
            users: Arc::new(InMemoryRepo::<User>::new()),
            idempotency: in_memory_keys(),
        }
    }
}

/// Keys in memory under the default policy (router unit tests).
pub fn in_memory_keys() -> Idempotency {
    Idempotency::new(
        Arc::new(MemoryStore::new(IN_MEMORY_KEYS)),
        Policy::default(),
    )
}

/// The indexes each service creates at start-up: `(collection, field)`.
pub fn indexes(service: Service) -> &'static [(&'static str, &'static str)] {
    match service {
        Service::Movies => &[("movies", "title")],
        Service::Showtimes => &[("showtimes", "date")],
        Service::Bookings => &[("bookings", "userid"), ("bookings", "showtimeid")],
        Service::Users => &[("users", "lastname")],
    }
}

/// The audience `service`'s tokens must name (its `aud`): the service's name.
pub fn audience(service: Service) -> Audience {
    match service {
        Service::Movies => Audience::Movies,
        Service::Showtimes => Audience::Showtimes,
        Service::Bookings => Audience::Bookings,
        Service::Users => Audience::Users,
    }
}

/// `service`'s router over `repos` with auth off: see [`router_with_auth`].
pub fn router(service: Service, repos: &Repos, readiness: Readiness, limits: &Limits) -> Router {
    router_with_auth(service, repos, readiness, limits, None)
}

/// [`build_router`] with the default suggestion settings (the Kubernetes service names).
pub fn router_with_auth(
    service: Service,
    repos: &Repos,
    readiness: Readiness,
    limits: &Limits,
    verifier: Option<Verifier>,
) -> Router {
    let upstream = Arc::new(Upstream::new(SuggestionSettings::default()));
    build_router(service, repos, readiness, limits, verifier, upstream)
}

/// `service`'s router over `repos`: its routes (their writes once per `Idempotency-Key`, kept
/// in `repos.idempotency`), health and metrics, its OpenAPI document at `/openapi.json`
/// ([`crate::openapi`]), a 404 JSON fallback, the platform middleware, and the original's
/// URL-format handling (a `.json`-style suffix on the last path segment is ignored for routing,
/// as chi's `URLFormat` did). With a `verifier`, every write needs a valid bearer token for the
/// service's [`audience`] ([`auth::require_token`] with [`Guard::Writes`]); reads stay open.
/// The users service reaches the other three through `upstream` for its suggestions.
pub fn build_router(
    service: Service,
    repos: &Repos,
    readiness: Readiness,
    limits: &Limits,
    verifier: Option<Verifier>,
    upstream: Arc<Upstream>,
) -> Router {
    build_routes(service, repos, readiness, limits, verifier, upstream)
        .into_parts()
        .0
}

/// [`build_router`], with the paths it routes (to hold them to the service's OpenAPI document,
/// [`crate::openapi::document`], served at `/openapi.json`).
pub fn build_routes(
    service: Service,
    repos: &Repos,
    readiness: Readiness,
    limits: &Limits,
    verifier: Option<Verifier>,
    upstream: Arc<Upstream>,
) -> Routes {
    let retry_after_secs = limits.retry_after_secs;
    let routes = match service {
        Service::Movies => movies::routes::router(Collection {
            repo: repos.movies.clone(),
            retry_after_secs,
        }),
        Service::Showtimes => showtimes::routes::router(Collection {
            repo: repos.showtimes.clone(),
            retry_after_secs,
        }),
        Service::Bookings => bookings::routes::router(Collection {
            repo: repos.bookings.clone(),
            retry_after_secs,
        }),
        Service::Users => users::routes::router(
            Collection {
                repo: repos.users.clone(),
                retry_after_secs,
            },
            upstream,
        ),
    };
    // Inside auth (a refused token never reaches the key store), outside the handlers.
    let routes = routes.map(|routes| {
        routes.route_layer(axum::middleware::from_fn_with_state(
            repos.idempotency.clone(),
            idempotent,
        ))
    });
    // Outside the idempotency layer (its key store is MongoDB too): while the background
    // checks find MongoDB unreachable, requests are refused at once, not after its timeouts.
    let routes = routes.map(|routes| {
        routes.route_layer(axum::middleware::from_fn_with_state(
            readiness.clone(),
            platform::health::refuse_while_unreachable,
        ))
    });
    // The document needs no store: served even while MongoDB is unreachable.
    let document = crate::openapi::document(service);
    routes
        .merge(crate::health::routes(readiness))
        .route(DOCUMENT_PATH, platform::openapi::route(&document))
        .map(|inner| {
            let inner = inner.fallback(not_found);
            let inner = auth::protect(inner, verifier, Guard::Writes, &document);
            let inner = with_middleware(inner, service.name(), limits);
            Router::new()
                .fallback_service(tower::util::MapRequestLayer::new(strip_format).layer(inner))
        })
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

/// Drops a format suffix from the last path segment (`/movies/<id>.json` → `/movies/<id>`),
/// from its first dot on, as chi's `URLFormat` middleware did; `/openapi.json` is kept as is.
pub fn strip_format_from_path(path: &str) -> Option<String> {
    if path == DOCUMENT_PATH {
        return None;
    }
    let last_slash = path.rfind('/')?;
    let dot = path[last_slash..].find('.')?;
    Some(path[..last_slash + dot].to_owned())
}

fn strip_format(mut request: Request) -> Request {
    if let Some(path) = strip_format_from_path(request.uri().path()) {
        let rebuilt = match request.uri().query() {
            Some(query) => format!("{path}?{query}"),
            None => path,
        };
        if let Ok(path_and_query) = rebuilt.parse() {
            let mut parts = request.uri().clone().into_parts();
            parts.path_and_query = Some(path_and_query);
            if let Ok(uri) = Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
    request
}

/// A bound, not yet serving cinema service.
pub struct App {
    service: Service,
    settings: Settings,
    database: Database,
    repos: Repos,
    keys: Arc<MongoIdempotencyStore>,
    upstream: Arc<Upstream>,
    readiness: Readiness,
    indexes_ready: Arc<AtomicBool>,
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("service", &self.service)
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Validates the settings, prepares the MongoDB client (without waiting for the server)
    /// and binds `port` (on `MOCKVIDEO_BIND_ADDRESS`, default 0.0.0.0).
    pub async fn build(service: Service, settings: Settings) -> anyhow::Result<App> {
        settings.validate().context("invalid settings")?;
        platform::serve::prepare(&settings.log_level);
        crate::metrics::register(service.name());

        let mut options = ClientOptions::parse(settings.mongo.url.expose_secret())
            .await
            .context("invalid setting mongo.url")?;
        options.app_name = Some(service.name().to_owned());
        options.server_selection_timeout = Some(settings.mongo.server_selection_timeout);
        options.connect_timeout = Some(settings.mongo.connect_timeout);
        let client = Client::with_options(options).context("creating the MongoDB client")?;
        let database = open_database(&client, &settings.mongo);
        let keys = Arc::new(MongoIdempotencyStore::new(
            &database,
            service.name(),
            settings.mongo.operation_timeout,
        ));
        let repos = Repos::mongo(
            &database,
            settings.mongo.operation_timeout,
            keys.clone(),
            settings.idempotency,
        );
        let upstream = Arc::new(Upstream::new(settings.suggestions.clone()));

        let readiness = Readiness::new();
        let ping_database = database.clone();
        readiness.add_check("mongo", move || {
            let database = ping_database.clone();
            async move {
                database
                    .run_command(doc! { "ping": 1 })
                    .await
                    .map(|_| ())
                    .map_err(|error| error.to_string())
            }
        });
        let indexes_ready = Arc::new(AtomicBool::new(false));
        let flag = indexes_ready.clone();
        // Not a store's reachability: reported by /readyz, never a reason to refuse requests.
        readiness.add_probe_check("indexes", move || {
            let ready = flag.load(Ordering::SeqCst);
            async move {
                if ready {
                    Ok(())
                } else {
                    Err("indexes not created yet".to_owned())
                }
            }
        });

        readiness.watch(platform::health::WATCH_INTERVAL);

        let (listener, local_addr) = platform::serve::bind(settings.port, "HTTP").await?;
        Ok(App {
            service,
            settings,
            database,
            repos,
            keys,
            upstream,
            readiness,
            indexes_ready,
            listener,
            local_addr,
        })
    }

    /// The bound address (`<bind address>:<port>`).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The database (e.g. to load the seed data before serving); its write concern is
    /// [`write_concern`].
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The readiness flag (false while MongoDB is unreachable and once shutdown starts).
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    /// The full router with the platform middleware (for `oneshot` tests).
    pub fn router(&self) -> Router {
        build_router(
            self.service,
            &self.repos,
            self.readiness.clone(),
            &self.settings.limits,
            self.settings.auth.verifier(audience(self.service)),
            self.upstream.clone(),
        )
    }

    /// Creates the indexes in the background (retrying until MongoDB answers) and serves until
    /// `shutdown` resolves, then drains.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = self.router();
        let indexer = tokio::spawn(ensure_indexes(
            self.service,
            self.database.clone(),
            self.keys.clone(),
            self.indexes_ready.clone(),
        ));
        tracing::info!(
            service = %self.service,
            local_addr = %self.local_addr,
            database = %self.settings.mongo.database,
            auth = if self.settings.auth.jwt_secret.is_some() { "writes need a bearer token" } else { "off" },
            "cinema service listening"
        );
        let served = serve(
            self.listener,
            router,
            self.readiness.clone(),
            shutdown,
            ServeOptions {
                drain_deadline: self.settings.limits.request_timeout,
                connections: self.settings.connections.clone(),
                ..ServeOptions::default()
            },
        )
        .await;
        indexer.abort();
        served.context("serving HTTP")?;
        tracing::info!(service = %self.service, "cinema service stopped");
        Ok(())
    }
}

/// The database `mongo` names, through `client`, with the write concern of every write
/// ([`write_concern`]: `w: majority, j: true`, `wtimeout` from [`MongoSettings::wtimeout`]).
pub fn open_database(client: &Client, mongo: &MongoSettings) -> Database {
    client.database_with_options(
        &mongo.database,
        DatabaseOptions::builder()
            .write_concern(write_concern(mongo.wtimeout()))
            .build(),
    )
}

/// Creates `service`'s indexes and the TTL index of its idempotency keys (where the server
/// refuses a TTL index, `keys` purges expired keys itself), retrying every second until it
/// works, then sets `ready`.
pub async fn ensure_indexes(
    service: Service,
    database: Database,
    keys: Arc<MongoIdempotencyStore>,
    ready: Arc<AtomicBool>,
) {
    loop {
        let created = match create_indexes(service, &database).await {
            Ok(()) => keys.create_ttl_index().await.map(|_| ()),
            Err(error) => Err(error),
        };
        match created {
            Ok(()) => {
                ready.store(true, Ordering::SeqCst);
                tracing::info!(%service, "indexes in place");
                return;
            }
            Err(error) => {
                tracing::warn!(%service, %error, "cannot create indexes yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Creates `service`'s indexes once (idempotent on the server).
pub async fn create_indexes(
    service: Service,
    database: &Database,
) -> Result<(), mongodb::error::Error> {
    for (collection, field) in indexes(service) {
        let name = format!("{field}_1");
        let model = IndexModel::builder()
            .keys(doc! { *field: 1 })
            .options(IndexOptions::builder().name(name).build())
            .build();
        database
            .collection::<mongodb::bson::Document>(collection)
            .create_index(model)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_suffixes_are_stripped_like_chi() {
        assert_eq!(
            strip_format_from_path("/movies/57b37b7c377dd100054f9f91.json").as_deref(),
            Some("/movies/57b37b7c377dd100054f9f91")
        );
        assert_eq!(
            strip_format_from_path("/movies.json").as_deref(),
            Some("/movies")
        );
        assert_eq!(
            strip_format_from_path("/movies/a.b.c").as_deref(),
            Some("/movies/a")
        );
        assert_eq!(strip_format_from_path("/v1.2/movies"), None);
        assert_eq!(strip_format_from_path("/movies"), None);
        assert_eq!(strip_format_from_path(DOCUMENT_PATH), None);
    }
}
