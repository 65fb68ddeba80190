//! Provider (c): `redis-server` from this machine, started on a free 127.0.0.1 port with its
//! working directory (and any append-only file) in a scratch directory. Killed (and the
//! directory deleted) on drop, at process exit, or by the next run's sweep.

use std::{
    fs::File,
    path::Path,
    process::{Command, Stdio},
};

use anyhow::Context as _;

use super::{ready::Pong, Provisioned, RedisOptions};
use crate::{
    launch::find_program,
    local::{self, AttemptError, LocalServer},
    scratch,
};

/// Starts `redis-server` in a new scratch directory.
pub(super) async fn start(options: RedisOptions) -> anyhow::Result<Provisioned> {
    let server = find_program("redis-server")
        .context("redis-server is not installed (apt-get install -y redis-server)")?;
    let dir = scratch::create("redis").context("creating a scratch dir")?;
    local::on_free_port(&server, &dir, |port| {
        launch_once(&server, &dir, options, port)
    })
    .await
}

/// One start attempt on `port`.
async fn launch_once(
    server: &Path,
    dir: &Path,
    options: RedisOptions,
    port: u16,
) -> Result<Provisioned, AttemptError> {
    let log = dir.join("redis.log");
    let _ = std::fs::remove_file(&log);
    let mut command = Command::new(server);
    command
        .arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--protected-mode", "no"])
        .args(["--daemonize", "no", "--save", ""])
        // Keep the command line as written, so the scratch sweep recognises the process by its
        // directory (redis-server rewrites its process title otherwise).
        .args(["--set-proc-title", "no"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(&log)
        .args(options.server_args());
    let stderr = File::create(dir.join("stderr.log")).map_err(|error| (error.into(), false))?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    LocalServer {
        server,
        dir,
        port,
        log: &log,
        logs: vec![log.clone()],
    }
    .spawn::<Pong>(&mut command)
    .await
}
