//! Provider (c): a MongoDB-wire server from this machine — `mongod`, else SecantusDB's
//! `secantusd-rs` or `secantusd-py` (`pip install secantusdb`) — started on a free 127.0.0.1
//! port with its data in a scratch directory. Killed (and the directory deleted) on drop, at
//! process exit, or by the next run's sweep.

use std::{
    ffi::OsString,
    fs::File,
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::Context as _;

use super::{ready, Provisioned};
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

/// The servers looked for on `PATH`, in order of preference.
const PROGRAMS: [&str; 3] = ["mongod", "secantusd-rs", "secantusd-py"];

/// Starts the first server found in a new scratch directory.
pub(super) async fn start() -> anyhow::Result<Provisioned> {
    let server = PROGRAMS
        .iter()
        .find_map(|name| find_program(name))
        .context(
            "none of mongod, secantusd-rs, secantusd-py is installed (`pip install secantusdb` \
             gives secantusd-py)",
        )?;
    let dir = scratch::create("mongo").context("creating a scratch dir")?;
    let data = dir.join("data");
    std::fs::create_dir_all(&data).context("creating the data dir")?;
    let mut last_error = None;
    for _ in 0..PORT_ATTEMPTS {
        match launch_once(&server, &dir, &data).await {
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
    Err(last_error
        .unwrap_or_else(|| anyhow::anyhow!("the local {} did not start", server.display())))
}

/// The command-line arguments `server` needs to listen on `127.0.0.1:port` with its data in
/// `data` (and, for `mongod`, its log in `log`).
fn server_args(server: &Path, port: u16, data: &Path, log: &Path) -> Vec<OsString> {
    let port = port.to_string();
    let is_mongod = server.file_name().is_some_and(|name| name == "mongod");
    let mut args: Vec<OsString> = Vec::new();
    if is_mongod {
        for arg in ["--bind_ip", "127.0.0.1", "--port", &port, "--dbpath"] {
            args.push(arg.into());
        }
        args.push(data.into());
        args.push("--logpath".into());
        args.push(log.into());
    } else {
        for arg in ["--host", "127.0.0.1", "--port", &port, "--storage-path"] {
            args.push(arg.into());
        }
        args.push(data.into());
    }
    args
}

/// One start attempt; the flag says whether a retry on another port may help.
async fn launch_once(
    server: &Path,
    dir: &Path,
    data: &Path,
) -> Result<Provisioned, (anyhow::Error, bool)> {
    let port = free_port().map_err(|error| (error, false))?;
    let log = dir.join("server.log");
    let _ = std::fs::remove_file(&log);
    let output = File::create(&log).map_err(|error| (error.into(), false))?;
    let stderr = output.try_clone().map_err(|error| (error.into(), false))?;
    let mut child = Command::new(server)
        .args(server_args(server, port, data, &dir.join("mongod.log")))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("starting {}", server.display()))
        .map_err(|error| (error, false))?;
    let _ = std::fs::write(dir.join(scratch::SERVER_PID_FILE), child.id().to_string());
    let url = format!("mongodb://127.0.0.1:{port}/?directConnection=true");
    let waited = ready::wait_for_ping(&url, READY_LIMIT, Liveness::Process(&mut child, &log)).await;
    match waited {
        Ok(waited) => {
            eprintln!(
                "[harness] mongo: {} answered ping after {:.2} s",
                server.display(),
                waited.as_secs_f64()
            );
            let guard = Guard::register(Resource::Process {
                child,
                dir: dir.to_path_buf(),
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
            let output = format!("{}{}", tail(&log, 20), tail(&dir.join("mongod.log"), 20));
            let port_taken = matches!(&not_ready, NotReady::Died(_))
                && (output.contains("Address already in use")
                    || output.contains("address already in use"));
            Err((not_ready.into_error(), port_taken))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn mongod_and_secantus_get_their_own_flags() {
        let data = PathBuf::from("/s/data");
        let log = PathBuf::from("/s/mongod.log");
        let mongod = server_args(Path::new("/usr/bin/mongod"), 4000, &data, &log);
        assert_eq!(
            mongod,
            [
                "--bind_ip",
                "127.0.0.1",
                "--port",
                "4000",
                "--dbpath",
                "/s/data",
                "--logpath",
                "/s/mongod.log"
            ]
            .map(OsString::from)
        );
        let secantus = server_args(Path::new("/opt/bin/secantusd-py"), 4000, &data, &log);
        assert_eq!(
            secantus,
            [
                "--host",
                "127.0.0.1",
                "--port",
                "4000",
                "--storage-path",
                "/s/data"
            ]
            .map(OsString::from)
        );
    }
}
