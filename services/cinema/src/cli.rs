//! The command line shared by the four binaries:
//! `<service> [--config-file PATH] [--secrets-dir PATH] [--load-seed-data]`.

use std::path::PathBuf;

use clap::{CommandFactory as _, FromArgMatches as _, Parser};

use crate::Service;

/// One of the cinema services (movies, showtimes, bookings, users) over MongoDB.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "\
Settings come from, in order: defaults, the config file (key=value lines with dotted names: \
port, mongo.database, mongo.operation_timeout, limits.body_limit_bytes, ...), MONGODB_URL, \
<SERVICE>__* variables (MOVIES__PORT, MOVIES__MONGO__URL, MOVIES__MONGO__DATABASE, ...; \
SHOWTIMES__, BOOKINGS__, USERS__ likewise), and the files mongodb-url and jwt-secret in the \
secrets directory.

Auth: with a JWT secret (file jwt-secret, MOVIES__AUTH__JWT_SECRET or the shared \
CINEMA_JWT_SECRET; at least 32 bytes) every POST and DELETE needs `Authorization: Bearer \
<token>`, an HS256 token for the service's audience (movies, showtimes, bookings or users) made \
by `mockvideo-token`; reads stay open. Without one, writes are open (and with MOCKVIDEO_ENV=prod \
the service refuses to start).

The service starts even while MongoDB is down: /healthy and /readyz answer 503 and requests \
503 until the database answers. /healthz, /livez and /metrics are on the same port (default \
8080). SIGTERM drains in-flight requests, then exits.

Example:
  MONGODB_URL=mongodb://127.0.0.1:27017 MOVIES__PORT=8081 movies --load-seed-data
  curl http://127.0.0.1:8081/movies"
)]
pub struct Cli {
    /// Config file of key=value lines
    #[arg(long, value_name = "PATH", env = "CINEMA_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,

    /// Directory holding the secret files mongodb-url and jwt-secret
    #[arg(long, value_name = "PATH", env = "CINEMA_SECRETS_DIR")]
    pub secrets_dir: Option<PathBuf>,

    /// Upsert the seed data (users, movies, showtimes, bookings) before serving
    #[arg(long, env = "CINEMA_LOAD_SEED_DATA")]
    pub load_seed_data: bool,
}

impl Cli {
    /// Parses the process arguments, naming the program after `service`.
    pub fn parse_for(service: Service) -> Self {
        let matches = Self::command().name(service.name()).get_matches();
        Self::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
    }
}

/// The whole of one service's binary: telemetry → command line → settings → app (with the seed
/// data when asked) → serve until SIGTERM. Each of the four binaries is this call.
pub async fn main_for(service: Service) -> anyhow::Result<()> {
    platform::telemetry::init(service.name());
    let cli = Cli::parse_for(service);
    let settings = crate::Settings::load(
        service,
        cli.config_file.as_deref(),
        cli.secrets_dir.as_deref(),
    )?;
    let app = crate::App::build(service, settings).await?;
    if cli.load_seed_data {
        crate::seed::load(app.database()).await?;
    }
    app.run_until_stopped(platform::shutdown::shutdown_signal())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_help_has_an_example() {
        let cli =
            Cli::try_parse_from(["movies", "--config-file", "c", "--load-seed-data"]).unwrap();
        assert_eq!(cli.config_file, Some(PathBuf::from("c")));
        assert!(cli.load_seed_data);
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Example:"), "{help}");
        Cli::command().debug_assert();
    }
}
