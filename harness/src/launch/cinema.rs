//! Starts the cinema services (movies, showtimes, bookings, users) in-process on a free port
//! against a MongoDB-wire server the harness provisioned, with short store timeouts so that a
//! database outage shows quickly, and loads the §3 seed data into a database. The users service
//! is pointed at the other three ([`point_users_at`]) so its suggestions work.

use std::time::Duration;

use anyhow::Context as _;
use cinema::{App, Service, Settings};
use secrecy::SecretString;

use super::RunningService;

/// Settings for `service` on `database` of the server at `mongo_url`: free port, 1 s server
/// selection and connect timeouts, 3 s per store call; everything else (limits, no auth secret)
/// the defaults.
pub fn settings_for(mongo_url: &str, database: &str) -> Settings {
    let mut settings = Settings {
        port: 0,
        ..Settings::default()
    };
    settings.mongo.url = SecretString::from(mongo_url.to_owned());
    settings.mongo.database = database.to_owned();
    settings.mongo.server_selection_timeout = Duration::from_secs(1);
    settings.mongo.connect_timeout = Duration::from_secs(1);
    settings.mongo.operation_timeout = Duration::from_secs(3);
    settings
}

/// Starts `service` with [`settings_for`]. Does not wait for MongoDB: poll `/healthy`.
pub async fn start(
    service: Service,
    mongo_url: &str,
    database: &str,
) -> anyhow::Result<RunningService> {
    start_with(service, settings_for(mongo_url, database)).await
}

/// Starts `service` with the given settings (set `port` to 0 for a free port).
pub async fn start_with(service: Service, settings: Settings) -> anyhow::Result<RunningService> {
    let app = App::build(service, settings)
        .await
        .with_context(|| format!("starting the {service} service in-process"))?;
    let addr = app.local_addr();
    Ok(RunningService::spawn(
        service.name(),
        addr,
        move |shutdown| app.run_until_stopped(shutdown),
    ))
}

/// Points `settings` (the users service's) at the other services: `base_url_of(service)` is
/// the base URL of each of movies, showtimes and bookings, when it runs.
pub fn point_users_at(settings: &mut Settings, base_url_of: impl Fn(Service) -> Option<String>) {
    let suggestions = &mut settings.suggestions;
    for (service, url) in [
        (Service::Movies, &mut suggestions.movies_url),
        (Service::Showtimes, &mut suggestions.showtimes_url),
        (Service::Bookings, &mut suggestions.bookings_url),
    ] {
        if let Some(base) = base_url_of(service) {
            *url = base;
        }
    }
}

/// Starts the four services with `settings_of(service)` each, in [`Service::ALL`] order, the
/// users service last and pointed at the other three. Does not wait for MongoDB.
pub async fn start_all(
    mut settings_of: impl FnMut(Service) -> Settings,
) -> anyhow::Result<Vec<RunningService>> {
    let mut running: Vec<RunningService> = Vec::with_capacity(Service::ALL.len());
    for service in Service::ALL {
        let mut settings = settings_of(service);
        if service == Service::Users {
            point_users_at(&mut settings, |other| {
                running
                    .iter()
                    .find(|started| started.name() == other.name())
                    .map(RunningService::base_url)
            });
        }
        running.push(start_with(service, settings).await?);
    }
    Ok(running)
}

/// Loads the seed data of contract §3.3 ([`cinema::seed::load`]) into `database` (idempotent),
/// waiting at most 30 s.
pub async fn load_seed(mongo_url: &str, database: &str) -> anyhow::Result<()> {
    let attempt = async {
        let client = mongodb::Client::with_uri_str(mongo_url)
            .await
            .context("connecting to MongoDB")?;
        let loaded = cinema::seed::load(&client.database(database))
            .await
            .context("loading the cinema seed data");
        client.shutdown().await;
        loaded
    };
    tokio::time::timeout(Duration::from_secs(30), attempt)
        .await
        .with_context(|| format!("loading the seed data into {database} timed out"))?
}
