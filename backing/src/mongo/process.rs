//! Provider (c): a MongoDB-wire server from this machine — `mongod`, else SecantusDB's
//! `secantusd-rs` or `secantusd-py` (`pip install secantusdb`) — started on a free 127.0.0.1
//! port with its data in a scratch directory. Killed (and the directory deleted) on drop, at
//! process exit, or by the next run's sweep.

use std::{
    ffi::OsString,
    fs::File,
    path::Path,
    process::{Command, Stdio},
};

use anyhow::Context as _;

use super::{ready::Ping, Provisioned};
use crate::{
    launch::find_program,
    local::{self, AttemptError, LocalServer},
    scratch,
};

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
    local::on_free_port(&server, &dir, |port| {
        launch_once(&server, &dir, &data, port)
    })
    .await
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

/// One start attempt on `port`.
async fn launch_once(
    server: &Path,
    dir: &Path,
    data: &Path,
    port: u16,
) -> Result<Provisioned, AttemptError> {
    let log = dir.join("server.log");
    let mongod_log = dir.join("mongod.log");
    let _ = std::fs::remove_file(&log);
    let output = File::create(&log).map_err(|error| (error.into(), false))?;
    let stderr = output.try_clone().map_err(|error| (error.into(), false))?;
    let mut command = Command::new(server);
    command
        .args(server_args(server, port, data, &mongod_log))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(stderr);
    LocalServer {
        server,
        dir,
        port,
        log: &log,
        logs: vec![log.clone(), mongod_log],
    }
    .spawn::<Ping>(&mut command)
    .await
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
