//! Provider (c): `mariadbd` (or Oracle `mysqld`) from this machine, initialised into a scratch
//! directory and started on a free 127.0.0.1 port with its socket in that directory. A `test` /
//! `test` user with every privilege is created by an init file. Killed (and the directory
//! deleted) on drop, at process exit, or by the next run's sweep.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::Context as _;

use super::{
    ready::{self, Liveness, NotReady},
    Login, Provisioned,
};
use crate::{
    cleanup::{Guard, Resource},
    launch::{find_program, tail},
    port::free_port,
    scratch,
};

const USER: &str = "test";
const PASSWORD: &str = "test";
/// Attempts with a fresh port when another process grabbed the one picked.
const PORT_ATTEMPTS: usize = 3;
const READY_LIMIT: Duration = Duration::from_secs(60);

const INIT_SQL: &str = "CREATE USER IF NOT EXISTS 'test'@'%' IDENTIFIED BY 'test';\n\
GRANT ALL ON *.* TO 'test'@'%' WITH GRANT OPTION;\n\
CREATE USER IF NOT EXISTS 'test'@'localhost' IDENTIFIED BY 'test';\n\
GRANT ALL ON *.* TO 'test'@'localhost' WITH GRANT OPTION;\n";

/// Which server family the binary belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    MariaDb,
    Oracle,
}

/// Initialises a data directory and starts the server.
pub(super) async fn start() -> anyhow::Result<Provisioned> {
    tokio::task::spawn_blocking(prepare)
        .await
        .context("preparing the local server failed")??
        .launch()
        .await
}

/// A data directory ready to start a server on.
struct Prepared {
    server: PathBuf,
    flavor: Flavor,
    dir: PathBuf,
}

/// Finds the binaries and initialises the data directory (blocking, ~2-5 s).
fn prepare() -> anyhow::Result<Prepared> {
    let server = find_program("mariadbd")
        .or_else(|| find_program("mysqld"))
        .context("neither mariadbd nor mysqld is installed (apt-get install -y mariadb-server)")?;
    let version = Command::new(&server)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", server.display()))?;
    let flavor = if String::from_utf8_lossy(&version.stdout).contains("MariaDB") {
        Flavor::MariaDb
    } else {
        Flavor::Oracle
    };
    let dir = scratch::create("mysql").context("creating a scratch dir")?;
    let prepared = Prepared {
        server,
        flavor,
        dir,
    };
    if let Err(error) = prepared.initialise() {
        let _ = scratch::remove_dir(&prepared.dir);
        return Err(error);
    }
    Ok(prepared)
}

impl Prepared {
    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `--user=root` when running as root: the server refuses to run as root otherwise.
    fn user_args(&self) -> Vec<String> {
        if rustix::process::geteuid().is_root() {
            vec!["--user=root".to_owned()]
        } else {
            Vec::new()
        }
    }

    fn initialise(&self) -> anyhow::Result<()> {
        std::fs::write(self.dir.join("init.sql"), INIT_SQL)?;
        let log = self.dir.join("install.log");
        let mut command = match self.flavor {
            Flavor::MariaDb => {
                let install = find_program("mariadb-install-db")
                    .or_else(|| find_program("mysql_install_db"))
                    .context("mariadb-install-db is missing (apt-get install -y mariadb-server)")?;
                let mut command = Command::new(install);
                command
                    .arg("--no-defaults")
                    .arg(format!("--datadir={}", self.data_dir().display()))
                    .arg("--auth-root-authentication-method=normal")
                    .arg("--skip-test-db");
                command
            }
            Flavor::Oracle => {
                let mut command = Command::new(&self.server);
                command
                    .arg("--no-defaults")
                    .arg("--initialize-insecure")
                    .arg(format!("--datadir={}", self.data_dir().display()));
                command
            }
        };
        command.args(self.user_args());
        let file = File::create(&log)?;
        let status = command
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .status()
            .context("initialising the data directory")?;
        anyhow::ensure!(
            status.success(),
            "initialising the data directory failed ({status}):\n{}",
            tail(&log, 20)
        );
        Ok(())
    }

    /// Starts the server on a free port (retrying when the port was taken meanwhile) and waits
    /// for `SELECT 1`.
    async fn launch(self) -> anyhow::Result<Provisioned> {
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            match self.launch_once().await {
                Ok(provisioned) => return Ok(provisioned),
                Err((error, port_taken)) => {
                    last_error = Some(error);
                    if !port_taken {
                        break;
                    }
                }
            }
        }
        let _ = scratch::remove_dir(&self.dir);
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("the local server did not start")))
    }

    /// One start attempt; the flag says whether a retry on another port may help.
    async fn launch_once(&self) -> Result<Provisioned, (anyhow::Error, bool)> {
        let port = free_port().map_err(|error| (error, false))?;
        let error_log = self.dir.join("error.log");
        let _ = std::fs::remove_file(&error_log);
        let mut command = Command::new(&self.server);
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.data_dir().display()))
            .arg(format!(
                "--socket={}",
                self.dir.join("mysqld.sock").display()
            ))
            .arg(format!(
                "--pid-file={}",
                self.dir.join("mysqld.pid").display()
            ))
            .arg(format!("--log-error={}", error_log.display()))
            .arg(format!(
                "--init-file={}",
                self.dir.join("init.sql").display()
            ))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg("--skip-name-resolve")
            .arg("--innodb-buffer-pool-size=64M")
            .args(self.user_args());
        if self.flavor == Flavor::Oracle {
            // The X plugin listens on a fixed port (33060) and would clash between instances.
            command.arg("--mysqlx=OFF");
        }
        let stderr =
            File::create(self.dir.join("stderr.log")).map_err(|error| (error.into(), false))?;
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", self.server.display()))
            .map_err(|error| (error, false))?;
        let _ = std::fs::write(
            self.dir.join(scratch::SERVER_PID_FILE),
            child.id().to_string(),
        );
        let admin = format!("mysql://{USER}:{PASSWORD}@127.0.0.1:{port}");
        let waited = ready::wait_for_select_1(
            &admin,
            READY_LIMIT,
            Liveness::Process(&mut child, &error_log),
        )
        .await;
        match waited {
            Ok(waited) => {
                eprintln!(
                    "[harness] mysql: {} answered SELECT 1 after {:.2} s",
                    self.server.display(),
                    waited.as_secs_f64()
                );
                let name = format!("local {} in {}", self.server.display(), self.dir.display());
                let guard = Guard::register(Resource::Process {
                    child,
                    dir: self.dir.clone(),
                    name,
                });
                Ok(Provisioned {
                    host: "127.0.0.1".to_owned(),
                    port,
                    provider: format!(
                        "local {} (data in {})",
                        self.server.display(),
                        self.dir.display()
                    ),
                    container_id: None,
                    guard: Some(guard),
                    extra: Login {
                        user: USER.to_owned(),
                        password: PASSWORD.to_owned(),
                    },
                })
            }
            Err(not_ready) => {
                let _ = child.kill();
                let _ = child.wait();
                let port_taken = matches!(&not_ready, NotReady::Died(_)) && port_in_use(&error_log);
                Err((not_ready.into_error(), port_taken))
            }
        }
    }
}

/// Whether the server's log says it could not bind its port.
fn port_in_use(error_log: &Path) -> bool {
    let text = std::fs::read_to_string(error_log).unwrap_or_default();
    text.contains("Address already in use") || text.contains("Do you already have another")
}
