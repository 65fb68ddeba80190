//! The components of `cargo xtask up`: MySQL, then accountd, then the activity server (the event
//! pipeline follows, in [`super::events`], then the cinema services, in [`super::cinema`]).

use std::path::Path;

use anyhow::Result;

use super::endpoints::Endpoint;
use super::process::Service;
use super::{BoxFuture, Component, Stack};
use crate::child::{pid_and_log, Child};
use crate::cmd::Cmd;
use crate::paths;
use crate::runner::Runner;
use crate::service;
use crate::stores::Database;

/// Prefix of accountd's database (also the one `MYSQL_URL` points at).
pub const ACCOUNTD_DATABASE: &str = "mockvideo";

/// Prefix of the activity server's database.
pub const ACTIVITY_DATABASE: &str = "activity";

/// MySQL with one fresh database per prefix; publishes `MYSQL_URL` (the first database).
pub struct MySqlComponent {
    prefixes: Vec<&'static str>,
    database: Option<Database>,
}

impl MySqlComponent {
    /// MySQL creating a database for each of `prefixes`, the first one published as `MYSQL_URL`.
    pub fn new(prefixes: &[&'static str]) -> Self {
        Self {
            prefixes: prefixes.to_vec(),
            database: None,
        }
    }
}

impl Component for MySqlComponent {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn start<'a>(
        &'a mut self,
        stack: &'a mut Stack,
        _runner: &'a dyn Runner,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let Some((first, others)) = self.prefixes.split_first() else {
                return Ok(());
            };
            let database = self.database.insert(Database::start(first).await?);
            stack
                .endpoints
                .push(Endpoint::new("MYSQL_URL", database.parts.url()));
            stack
                .databases
                .push((first.to_string(), database.parts.clone()));
            for prefix in others {
                let parts = database.create_database(prefix).await?;
                stack.databases.push((prefix.to_string(), parts));
            }
            let names: Vec<&str> = stack
                .databases
                .iter()
                .map(|(_, parts)| parts.name.as_str())
                .collect();
            stack.notes.push(format!(
                "MySQL ({}): database{} {} on {}:{}",
                database.provider(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", "),
                database.parts.host,
                database.parts.port
            ));
            Ok(())
        })
    }

    fn stop<'a>(&'a mut self, _runner: &'a dyn Runner) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move {
            match self.database.take() {
                Some(database) => database.stop().await.map(Some),
                None => Ok(None),
            }
        })
    }
}

/// `cargo build -p accountd -p activity -p events -p cinema -p platform`: every binary `up`
/// runs (accountd, activity-server, activity-client, event-producer, event-consumer,
/// event-simulator, movies, showtimes, bookings, users, mockvideo-token) in one debug build.
pub fn build_cmd() -> Cmd {
    Cmd::cargo([
        "build", "-p", "accountd", "-p", "activity", "-p", "events", "-p", "cinema", "-p",
        "platform",
    ])
    .dir(paths::repo_root())
}

/// The accountd service (debug build) on 5000 or a free port, with the test users loaded and
/// auth on (the secrets directory of [`super::auth`]); publishes `ACCOUNTD_URL`.
pub struct Accountd {
    preferred_port: Option<u16>,
}

impl Accountd {
    /// accountd, on `preferred_port` if it is free.
    pub fn new(preferred_port: Option<u16>) -> Self {
        Self { preferred_port }
    }
}

/// Example requests printed once accountd is up (`$ACCOUNTD_TOKEN` comes from `endpoints.env`):
/// every route but health, metrics and the OpenAPI document needs it.
pub fn examples(url: &str) -> Vec<String> {
    let auth = "-H \"Authorization: Bearer $ACCOUNTD_TOKEN\"";
    vec![
        format!("  curl -s {auth} {url}/users/1"),
        format!("  curl -si {url}/users   # 401: no token"),
        format!("  curl -s {auth} {url}/users"),
        format!(
            "  curl -si -X POST {auth} {url}/users -d '{{\"accountid\":1,\"name\":\"Brian Wilson\",\
             \"email\":\"goodvibrations@gmail.com\",\"role\":1,\"password\":\"helpmerhonda\"}}'"
        ),
        format!("  curl -s {url}/accountdhealth"),
        format!("  curl -s {url}/metrics | grep http_requests_total"),
    ]
}

impl Service for Accountd {
    fn name(&self) -> &'static str {
        "accountd"
    }

    async fn start(&self, stack: &mut Stack, runner: &dyn Runner, child: &mut Child) -> Result<()> {
        let db = stack.database(ACCOUNTD_DATABASE)?.clone();
        let secrets_dir = stack.secrets_dir()?.to_path_buf();
        let binary = stack.debug_binary(runner, "accountd")?;
        let (process, url) = child
            .launch_on_port(runner, self.preferred_port, |port| {
                service::with_secrets_dir(service::accountd_cmd(&binary, port, &db), &secrets_dir)
            })
            .await?;
        stack.publish(
            [Endpoint::new("ACCOUNTD_URL", &url)],
            format!("accountd: {url}  {}", pid_and_log(process)),
            examples(&url),
        );
        Ok(())
    }
}

/// The activity server (debug build): gRPC and its admin HTTP listener on 50051 and 9091 when
/// free, else free ports, with its own database; publishes `ACTIVITY_ADDR`, `ACTIVITY_ADMIN_URL`
/// and `ACTIVITY_CLIENT_BIN`.
pub struct Activity {
    preferred_grpc_port: Option<u16>,
    preferred_admin_port: Option<u16>,
}

impl Activity {
    /// The activity server, on the preferred ports if they are free.
    pub fn new(preferred_grpc_port: Option<u16>, preferred_admin_port: Option<u16>) -> Self {
        Self {
            preferred_grpc_port,
            preferred_admin_port,
        }
    }
}

/// The endpoints the activity server publishes: its gRPC address, its admin URL and the client
/// binary to talk to it.
pub fn activity_endpoints(grpc_port: u16, admin_port: u16, client_bin: &Path) -> Vec<Endpoint> {
    vec![
        Endpoint::new("ACTIVITY_ADDR", format!("127.0.0.1:{grpc_port}")),
        Endpoint::new(
            "ACTIVITY_ADMIN_URL",
            format!("http://127.0.0.1:{admin_port}"),
        ),
        Endpoint::new("ACTIVITY_CLIENT_BIN", client_bin.display().to_string()),
    ]
}

/// Example client commands printed once the activity server is up (`$ACTIVITY_CLIENT_BIN` comes
/// from `endpoints.env`).
pub fn activity_examples(grpc_port: u16, admin_url: &str) -> Vec<String> {
    let client = format!("  $ACTIVITY_CLIENT_BIN -address 127.0.0.1 -port {grpc_port}");
    vec![
        format!("{client} -add '{{\"id\":1,\"message\":\"hello\",\"deployment_id\":1}}'"),
        format!("{client} -deployment 1"),
        format!("  curl -s {admin_url}/metrics | grep grpc"),
    ]
}

impl Service for Activity {
    fn name(&self) -> &'static str {
        "activity"
    }

    fn process(&self) -> &'static str {
        "activity-server"
    }

    async fn start(&self, stack: &mut Stack, runner: &dyn Runner, child: &mut Child) -> Result<()> {
        let db = stack.database(ACTIVITY_DATABASE)?.clone();
        let binary = stack.debug_binary(runner, "activity-server")?;
        let client_bin = paths::absolute(&stack.debug_binary(runner, "activity-client")?);
        let ports =
            backing::port::pick_ports(&[self.preferred_grpc_port, self.preferred_admin_port])?;
        let (grpc_port, admin_port) = (ports[0], ports[1]);
        let admin_url = format!("http://127.0.0.1:{admin_port}");
        let cmd = service::activity_cmd(&binary, grpc_port, admin_port, &db);
        let process = child
            .launch(runner, cmd, &format!("{admin_url}/readyz"))
            .await?;
        let load_env = "  (load target/up/endpoints.env first for $ACTIVITY_CLIENT_BIN: \
                        set -a; . target/up/endpoints.env; set +a)"
            .to_string();
        stack.publish(
            activity_endpoints(grpc_port, admin_port, &client_bin),
            format!(
                "activity: gRPC 127.0.0.1:{grpc_port}, admin {admin_url}  {}",
                pid_and_log(process)
            ),
            std::iter::once(load_env).chain(activity_examples(grpc_port, &admin_url)),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::recording::{Kind, RecordingRunner};
    use std::path::PathBuf;

    #[test]
    fn services_are_built_in_debug_from_the_repo_root_in_one_command() {
        let cmd = build_cmd();
        assert_eq!(
            cmd.line(),
            "cargo build -p accountd -p activity -p events -p cinema -p platform"
        );
        assert_eq!(cmd.dir, Some(paths::repo_root()));
    }

    #[test]
    fn the_build_runs_once_for_all_binaries() {
        let runner = RecordingRunner::new();
        let mut stack = Stack::new(PathBuf::from("/t"));
        let accountd = stack.debug_binary(&runner, "accountd").unwrap();
        let server = stack.debug_binary(&runner, "activity-server").unwrap();
        assert_eq!(accountd, PathBuf::from("/t/debug/accountd"));
        assert_eq!(server, PathBuf::from("/t/debug/activity-server"));
        assert_eq!(
            runner.lines(Kind::Run),
            ["cargo build -p accountd -p activity -p events -p cinema -p platform"]
        );
    }

    #[test]
    fn services_find_their_own_database() {
        let mut stack = Stack::new(PathBuf::from("/t"));
        assert!(stack.database(ACTIVITY_DATABASE).is_err());
        for prefix in [ACCOUNTD_DATABASE, ACTIVITY_DATABASE] {
            stack.databases.push((
                prefix.to_string(),
                backing::mysql::DbParts {
                    host: "127.0.0.1".into(),
                    port: 3306,
                    name: format!("{prefix}_1"),
                    user: "test".into(),
                    password: "pw".into(),
                },
            ));
        }
        assert_eq!(
            stack.database(ACTIVITY_DATABASE).unwrap().name,
            "activity_1"
        );
        assert_eq!(
            stack.database(ACCOUNTD_DATABASE).unwrap().name,
            "mockvideo_1"
        );
    }

    #[test]
    fn examples_use_the_url() {
        let lines = examples("http://127.0.0.1:5000");
        assert_eq!(
            lines[0],
            "  curl -s -H \"Authorization: Bearer $ACCOUNTD_TOKEN\" http://127.0.0.1:5000/users/1"
        );
        assert!(lines[1].ends_with("# 401: no token"));
        assert!(lines
            .iter()
            .all(|line| line.contains("http://127.0.0.1:5000/")));
    }

    #[test]
    fn activity_publishes_its_address_admin_url_and_client() {
        let endpoints = activity_endpoints(
            50051,
            9091,
            Path::new("/work/main/target/debug/activity-client"),
        );
        assert_eq!(
            endpoints,
            [
                Endpoint::new("ACTIVITY_ADDR", "127.0.0.1:50051"),
                Endpoint::new("ACTIVITY_ADMIN_URL", "http://127.0.0.1:9091"),
                Endpoint::new(
                    "ACTIVITY_CLIENT_BIN",
                    "/work/main/target/debug/activity-client"
                ),
            ]
        );
    }

    #[test]
    fn activity_examples_add_then_list_on_the_port() {
        let lines = activity_examples(50052, "http://127.0.0.1:9092");
        assert_eq!(
            lines[0],
            "  $ACTIVITY_CLIENT_BIN -address 127.0.0.1 -port 50052 \
             -add '{\"id\":1,\"message\":\"hello\",\"deployment_id\":1}'"
        );
        assert_eq!(
            lines[1],
            "  $ACTIVITY_CLIENT_BIN -address 127.0.0.1 -port 50052 -deployment 1"
        );
    }

    #[test]
    fn up_starts_mysql_accountd_activity_the_event_pipeline_then_the_cinema_services() {
        let names: Vec<&str> = super::super::components(&super::super::Options::default())
            .iter()
            .map(|c| c.name())
            .collect();
        assert_eq!(
            names,
            [
                "mysql",
                "auth",
                "accountd",
                "activity",
                "redis",
                "event-producer",
                "event-consumer-1",
                "event-consumer-2",
                "event-simulator",
                "mongo",
                "movies",
                "showtimes",
                "bookings",
                "users"
            ]
        );
    }
}
