//! The components of `cargo xtask up`: MySQL, then accountd.

use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::endpoints::Endpoint;
use super::{BoxFuture, Component, Stack};
use crate::backing::Database;
use crate::cmd::Cmd;
use crate::paths;
use crate::runner::{Runner, Spawned};
use crate::service;

/// MySQL with a `mockvideo` database; publishes `MYSQL_URL`.
#[derive(Default)]
pub struct MySqlComponent {
    database: Option<Database>,
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
            let database = self.database.insert(Database::start("mockvideo").await?);
            stack
                .endpoints
                .push(Endpoint::new("MYSQL_URL", database.parts.url()));
            stack.notes.push(format!(
                "MySQL ({}): database {} on {}:{}",
                database.provider(),
                database.parts.name,
                database.parts.host,
                database.parts.port
            ));
            stack.database = Some(database.parts.clone());
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

/// The accountd service (debug build) on 5000 or a free port, with the test users loaded;
/// publishes `ACCOUNTD_URL`.
pub struct AccountdComponent {
    preferred_port: Option<u16>,
    process: Option<Spawned>,
}

impl AccountdComponent {
    /// accountd, on `preferred_port` if it is free.
    pub fn new(preferred_port: Option<u16>) -> Self {
        Self {
            preferred_port,
            process: None,
        }
    }
}

/// `cargo build -p accountd --bin accountd`.
pub fn build_cmd() -> Cmd {
    Cmd::cargo(["build", "-p", "accountd", "--bin", "accountd"]).dir(paths::repo_root())
}

/// Example requests printed once accountd is up.
pub fn examples(url: &str) -> Vec<String> {
    vec![
        format!("  curl -s {url}/users/1"),
        format!("  curl -s {url}/users"),
        format!(
            "  curl -si -X POST {url}/users -d '{{\"accountid\":1,\"name\":\"Brian Wilson\",\
             \"email\":\"goodvibrations@gmail.com\",\"role\":1,\"password\":\"helpmerhonda\"}}'"
        ),
        format!("  curl -s {url}/accountdhealth"),
        format!("  curl -s {url}/metrics | grep http_requests_total"),
    ]
}

impl Component for AccountdComponent {
    fn name(&self) -> &'static str {
        "accountd"
    }

    fn start<'a>(
        &'a mut self,
        stack: &'a mut Stack,
        runner: &'a dyn Runner,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let Some(db) = stack.database.clone() else {
                bail!("accountd needs the mysql component to start first");
            };
            runner.run(&build_cmd())?;
            let binary = paths::binary(&stack.target_dir, "debug", "accountd");
            let port = service::pick_port(self.preferred_port)?;
            let log = paths::up_dir().join("accountd.log");
            // A fresh log per run: truncate what an earlier run left.
            std::fs::create_dir_all(paths::up_dir()).context("creating target/up")?;
            std::fs::write(&log, "").with_context(|| format!("truncating {}", log.display()))?;
            let process = self.process.insert(runner.spawn(
                &service::accountd_cmd(&binary, port, &db).dir(paths::repo_root()),
                &log,
            )?);
            let url = format!("http://127.0.0.1:{port}");
            service::wait_ready(&format!("{url}/readyz"), process, Duration::from_secs(60)).await?;
            stack.endpoints.push(Endpoint::new("ACCOUNTD_URL", &url));
            stack.notes.push(format!(
                "accountd: {url}  (pid {}, log {})",
                process.pid(),
                log.display()
            ));
            stack.notes.extend(examples(&url));
            Ok(())
        })
    }

    fn check(&mut self) -> Result<()> {
        if let Some(process) = &mut self.process {
            if let Some(status) = process.try_wait()? {
                bail!(
                    "accountd exited ({status}); its log:\n{}",
                    service::tail(&process.log, 30)
                );
            }
        }
        Ok(())
    }

    fn stop<'a>(&'a mut self, runner: &'a dyn Runner) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move {
            match self.process.take() {
                Some(mut process) => process
                    .terminate(runner, Duration::from_secs(15))
                    .map(|how| Some(format!("accountd: {how}"))),
                None => Ok(None),
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accountd_is_built_in_debug_from_the_repo_root() {
        let cmd = build_cmd();
        assert_eq!(cmd.line(), "cargo build -p accountd --bin accountd");
        assert_eq!(cmd.dir, Some(paths::repo_root()));
    }

    #[test]
    fn examples_use_the_url() {
        let lines = examples("http://127.0.0.1:5000");
        assert_eq!(lines[0], "  curl -s http://127.0.0.1:5000/users/1");
        assert!(lines
            .iter()
            .all(|line| line.contains("http://127.0.0.1:5000/")));
    }

    #[test]
    fn up_starts_mysql_before_accountd() {
        let names: Vec<&str> = super::super::components(&super::super::Options::default())
            .iter()
            .map(|c| c.name())
            .collect();
        assert_eq!(names, ["mysql", "accountd"]);
    }
}
