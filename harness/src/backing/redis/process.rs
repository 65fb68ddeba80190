//! Provider (c): `redis-server` from this machine, started on a free 127.0.0.1 port with its
//! working directory (and any append-only file) in a scratch directory. Killed (and the
//! directory deleted) on drop, at process exit, or by the next run's sweep.

use std::{
    fs::File,
    path::PathBuf,
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::Context as _;

use super::{ready, Provisioned, RedisOptions};
use crate::backing::{
    cleanup::{Guard, Resource},
    images::{find_program, tail},
    providers::free_port,
    ready::{Liveness, NotReady},
    scratch,
};

/// Attempts with a fresh port when another process grabbed the one picked.
const PORT_ATTEMPTS: usize = 3;
const READY_LIMIT: Duration = Duration::from_secs(30);

/// Starts `redis-server` in a new scratch directory.
pub(super) async fn start(options: RedisOptions) -> anyhow::Result<Provisioned> {
    let server = find_program("redis-server")
        .context("redis-server is not installed (apt-get install -y redis-server)")?;
    let dir = scratch::create("redis").context("creating a scratch dir")?;
    let mut last_error = None;
    for _ in 0..PORT_ATTEMPTS {
        match launch_once(&server, &dir, options).await {
            Ok(provisioned) => return Ok(provisioned),
            Err((error, port_taken)) => {
                last_error = Some(error);
                if !port_taken {
                    break;
                }
            }
        }
    }
    let _ = scratch::remove_dir(&dir);
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("the local redis-server did not start")))
}

/// One start attempt; the flag says whether a retry on another port may help.
async fn launch_once(
    server: &PathBuf,
    dir: &PathBuf,
    options: RedisOptions,
) -> Result<Provisioned, (anyhow::Error, bool)> {
    let port = free_port().map_err(|error| (error, false))?;
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
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("starting {}", server.display()))
        .map_err(|error| (error, false))?;
    let _ = std::fs::write(dir.join(scratch::SERVER_PID_FILE), child.id().to_string());
    let url = format!("redis://127.0.0.1:{port}");
    let waited = ready::wait_for_pong(&url, READY_LIMIT, Liveness::Process(&mut child, &log)).await;
    match waited {
        Ok(waited) => {
            eprintln!(
                "[harness] redis: {} answered PING after {:.2} s",
                server.display(),
                waited.as_secs_f64()
            );
            let guard = Guard::register(Resource::Process {
                child,
                dir: dir.clone(),
                name: format!("local {} in {}", server.display(), dir.display()),
            });
            Ok(Provisioned {
                host: "127.0.0.1".to_owned(),
                port,
                provider: format!("local {} (dir {})", server.display(), dir.display()),
                container_id: None,
                guard: Some(guard),
                extra: url,
            })
        }
        Err(not_ready) => {
            let _ = child.kill();
            let _ = child.wait();
            let port_taken = matches!(&not_ready, NotReady::Died(_))
                && tail(&log, 20).contains("Address already in use");
            Err((not_ready.into_error(), port_taken))
        }
    }
}
