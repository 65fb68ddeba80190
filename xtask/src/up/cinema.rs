//! The cinema services of `cargo xtask up`: MongoDB, then `movies`, `showtimes`, `bookings` and
//! `users` (debug builds of the `cinema` crate), all on the database [`CINEMA_DATABASE`], with
//! JWT auth on for every write: they read the secret of [`super::auth`] from `--secrets-dir`,
//! and `CINEMA_TOKEN` opens all four.

use std::path::Path;

use anyhow::Result;

use super::endpoints::Endpoint;
use super::process::Service;
use super::server::ServerComponent;
use super::Stack;
use crate::child::{pid_and_log, Child};
use crate::cmd::Cmd;
use crate::runner::Runner;
use crate::service::{self, CinemaConfig};
use crate::stores::MongoServer;
use backing::mongo::Mongo;

/// A seeded user with suggestions (Cristina Cruz).
pub const SEED_USER_CRISTINA: &str = crate::deployables::CINEMA_SEED_USER;

/// The database all four services share.
pub const CINEMA_DATABASE: &str = "cinema";

/// MongoDB from the harness's provisioning (MONGODB_URL, a container, or a local mongod or
/// SecantusDB); publishes `MONGODB_URL`.
pub fn mongo_component() -> ServerComponent<Mongo> {
    ServerComponent::new("mongo", publish_mongo)
}

fn publish_mongo(server: &MongoServer, stack: &mut Stack) {
    stack.mongo_url = Some(server.url().to_string());
    stack.publish(
        [Endpoint::new("MONGODB_URL", server.url())],
        format!(
            "MongoDB ({}): database {CINEMA_DATABASE}",
            server.provider()
        ),
        [],
    );
}

/// Which cinema service (name, environment prefix, all four in start order: movies first, it
/// loads the seed data), named apart from the [`super::process::Service`] trait.
pub use crate::deployables::CinemaService as CinemaKind;

/// What `up` adds to a cinema service: where it listens and what it publishes.
pub trait UpCinema {
    /// The port it prefers: 8081 … 8084.
    fn preferred_port(self) -> u16;
    /// The endpoint it publishes: `MOVIES_URL`, …
    fn url_key(self) -> String;
}

impl UpCinema for CinemaKind {
    fn preferred_port(self) -> u16 {
        match self {
            Self::Movies => 8081,
            Self::Showtimes => 8082,
            Self::Bookings => 8083,
            Self::Users => 8084,
        }
    }

    fn url_key(self) -> String {
        format!("{}_URL", self.env_prefix())
    }
}

/// One cinema service (debug build) on its preferred port or a free one, against
/// [`CINEMA_DATABASE`] with JWT auth on; publishes `<SERVICE>_URL`.
pub struct Cinema {
    kind: CinemaKind,
    preferred_port: Option<u16>,
    load_seed_data: bool,
}

impl Cinema {
    /// `kind` on `preferred_port` if it is free, loading the seed data if asked.
    pub fn new(kind: CinemaKind, preferred_port: Option<u16>, load_seed_data: bool) -> Self {
        Self {
            kind,
            preferred_port,
            load_seed_data,
        }
    }

    /// The command starting it from `binary` on `port`; `others` are the URLs of the services
    /// already up (the users service calls them).
    pub fn cmd(
        &self,
        binary: &Path,
        port: u16,
        mongo_url: &str,
        secrets_dir: &Path,
        others: &[(String, String)],
    ) -> Cmd {
        service::cinema_cmd(
            binary,
            &CinemaConfig {
                env_prefix: self.kind.env_prefix(),
                port,
                mongo_url,
                database: CINEMA_DATABASE,
                secrets_dir,
                load_seed_data: self.load_seed_data,
                others,
            },
        )
    }

    /// The other services' published URLs the users service needs (`MOVIES_URL`, …); none for
    /// the others.
    fn others(&self, stack: &Stack) -> Vec<(String, String)> {
        if self.kind != CinemaKind::Users {
            return Vec::new();
        }
        let wanted: Vec<String> = [
            CinemaKind::Movies,
            CinemaKind::Showtimes,
            CinemaKind::Bookings,
        ]
        .iter()
        .map(|kind| kind.url_key())
        .collect();
        stack
            .endpoints
            .iter()
            .filter(|endpoint| wanted.contains(&endpoint.key))
            .map(|endpoint| (endpoint.key.clone(), endpoint.value.clone()))
            .collect()
    }
}

/// The four services as `up` starts them, each on its preferred port if free; the first loads
/// the seed data (an idempotent upsert, so a rerun against the same server is harmless).
pub fn services() -> Vec<Cinema> {
    CinemaKind::ALL
        .iter()
        .enumerate()
        .map(|(index, &kind)| Cinema::new(kind, Some(kind.preferred_port()), index == 0))
        .collect()
}

/// Example requests printed once a cinema service is up (the variables come from
/// `endpoints.env`); the movies service shows auth: a POST without a token, then with one.
pub fn cinema_examples(kind: CinemaKind) -> Vec<String> {
    let url = format!("${}", kind.url_key());
    let name = kind.name();
    let mut lines = vec![format!("  curl -s {url}/{name}")];
    if kind == CinemaKind::Movies {
        let post = format!(
            "  curl -si -X POST {url}/movies -H 'Content-Type: application/json' \
             -d '{{\"data\":{{\"title\":\"Lucia\",\"director\":\"Humberto Solas\",\
             \"rating\":\"7.5\"}}}}'"
        );
        lines.splice(
            0..0,
            [
                "  (load target/up/endpoints.env first: set -a; . target/up/endpoints.env; set +a)"
                    .to_string(),
            ],
        );
        lines.push(format!("{post}   # 401: no token"));
        lines.push(format!(
            "{post} -H \"Authorization: Bearer $CINEMA_TOKEN\"   # 200"
        ));
    }
    if kind == CinemaKind::Users {
        lines.push(format!(
            "  curl -s {url}/users/{SEED_USER_CRISTINA}/suggestions   # Cristina's"
        ));
    }
    lines
}

impl Service for Cinema {
    fn name(&self) -> &'static str {
        self.kind.name()
    }

    async fn start(&self, stack: &mut Stack, runner: &dyn Runner, child: &mut Child) -> Result<()> {
        let mongo_url = stack.mongo_url()?.to_string();
        let secrets_dir = stack.secrets_dir()?.to_path_buf();
        let binary = stack.debug_binary(runner, self.kind.name())?;
        let others = self.others(stack);
        let (process, url) = child
            .launch_on_port(runner, self.preferred_port, |port| {
                self.cmd(&binary, port, &mongo_url, &secrets_dir, &others)
            })
            .await?;
        let seeded = if self.load_seed_data {
            ", seed data loaded"
        } else {
            ""
        };
        stack.publish(
            [Endpoint::new(self.kind.url_key(), &url)],
            format!(
                "{}: {url}{seeded}  {}",
                self.kind.name(),
                pid_and_log(process)
            ),
            cinema_examples(self.kind),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::runner::recording::{Kind, RecordingRunner};
    use crate::up::process::ProcessComponent;
    use crate::up::Component as _;

    #[tokio::test]
    async fn a_cinema_service_needs_mongo_and_the_secrets_first() {
        let runner = RecordingRunner::new();
        let mut stack = Stack::new(PathBuf::from("/t"));
        let mut movies = ProcessComponent::new(Cinema::new(CinemaKind::Movies, None, true));
        let error = movies.start(&mut stack, &runner).await.unwrap_err();
        assert!(error
            .to_string()
            .contains("mongo component must start first"));
        stack.mongo_url = Some("mongodb://127.0.0.1:27017".into());
        let error = movies.start(&mut stack, &runner).await.unwrap_err();
        assert!(error
            .to_string()
            .contains("auth component must start first"));
        assert!(runner.lines(Kind::Run).is_empty());
        assert!(runner.lines(Kind::Spawn).is_empty());
    }

    #[test]
    fn four_services_on_one_database_and_only_the_first_loads_the_seed() {
        let secrets = Path::new("/r/target/up/secrets");
        let mut stack = Stack::new(PathBuf::from("/t"));
        let lines: Vec<String> = services()
            .iter()
            .map(|service| {
                let binary = PathBuf::from(format!("/t/debug/{}", service.kind.name()));
                let port = service.kind.preferred_port();
                let line = service
                    .cmd(
                        &binary,
                        port,
                        "mongodb://m:1",
                        secrets,
                        &service.others(&stack),
                    )
                    .to_string();
                let url = format!("http://127.0.0.1:{port}");
                stack.publish(
                    [Endpoint::new(service.kind.url_key(), url)],
                    String::new(),
                    [],
                );
                line
            })
            .collect();
        assert_eq!(
            lines,
            [
                "MONGODB_URL=mongodb://m:1 MOVIES__PORT=8081 MOVIES__MONGO__DATABASE=cinema \
                 /t/debug/movies --secrets-dir /r/target/up/secrets --load-seed-data",
                "MONGODB_URL=mongodb://m:1 SHOWTIMES__PORT=8082 SHOWTIMES__MONGO__DATABASE=cinema \
                 /t/debug/showtimes --secrets-dir /r/target/up/secrets",
                "MONGODB_URL=mongodb://m:1 BOOKINGS__PORT=8083 BOOKINGS__MONGO__DATABASE=cinema \
                 /t/debug/bookings --secrets-dir /r/target/up/secrets",
                "MONGODB_URL=mongodb://m:1 USERS__PORT=8084 USERS__MONGO__DATABASE=cinema \
                 MOVIES_URL=http://127.0.0.1:8081 SHOWTIMES_URL=http://127.0.0.1:8082 \
                 BOOKINGS_URL=http://127.0.0.1:8083 \
                 /t/debug/users --secrets-dir /r/target/up/secrets",
            ]
        );
    }

    #[test]
    fn each_service_has_its_prefix_port_and_url_key() {
        let table: Vec<(&str, &str, u16, String)> = CinemaKind::ALL
            .iter()
            .map(|k| (k.name(), k.env_prefix(), k.preferred_port(), k.url_key()))
            .collect();
        assert_eq!(
            table,
            [
                ("movies", "MOVIES", 8081, "MOVIES_URL".to_string()),
                ("showtimes", "SHOWTIMES", 8082, "SHOWTIMES_URL".to_string()),
                ("bookings", "BOOKINGS", 8083, "BOOKINGS_URL".to_string()),
                ("users", "USERS", 8084, "USERS_URL".to_string()),
            ]
        );
    }

    #[test]
    fn movies_examples_show_a_read_and_a_post_without_then_with_the_token() {
        let lines = cinema_examples(CinemaKind::Movies);
        assert!(lines[0].contains("set -a; . target/up/endpoints.env"));
        assert_eq!(lines[1], "  curl -s $MOVIES_URL/movies");
        assert!(lines[2].starts_with("  curl -si -X POST $MOVIES_URL/movies"));
        assert!(lines[2].ends_with("# 401: no token"));
        assert!(!lines[2].contains("Authorization"));
        assert!(lines[3].contains("-H \"Authorization: Bearer $CINEMA_TOKEN\""));
        assert!(lines[3].ends_with("# 200"));
        assert_eq!(
            cinema_examples(CinemaKind::Users),
            [
                "  curl -s $USERS_URL/users",
                "  curl -s $USERS_URL/users/57a98d98e4b00679b4a830b5/suggestions   # Cristina's",
            ]
        );
    }
}
