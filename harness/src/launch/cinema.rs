//! Starts the cinema services (movies, showtimes, bookings, users) in-process on a free port
//! against a MongoDB-wire server the harness provisioned, with short store timeouts so that a
//! database outage shows quickly, and loads the §3 seed data into a database.

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
