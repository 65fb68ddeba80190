//! The service benchmarks: what [`super::bench`] builds, starts and measures for accountd and the
//! activity server.

use std::path::Path;

use backing::mysql::DbParts;

use super::{AccountdOptions, ActivityOptions};
use crate::cmd::Cmd;
use crate::paths;
use crate::service;

/// The service a benchmark started, as `bench` needs to know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Running {
    /// The ports it listens on, in the order [`Target::ports`] asked for them.
    pub ports: Vec<u16>,
    /// Its process id (for memory sampling).
    pub pid: u32,
    /// Its database.
    pub db: DbParts,
}

/// What one benchmark measures and how its service runs.
pub trait Target {
    /// The service binary, e.g. `accountd`; also names its log (`target/bench/<name>.log`).
    fn service(&self) -> &'static str;

    /// The release builds (the service and the `bench` binary).
    fn builds(&self) -> Vec<Cmd>;

    /// Prefix of the service's database.
    fn db_prefix(&self) -> &'static str;

    /// How many free ports the service needs.
    fn ports(&self) -> usize;

    /// The service's command line.
    fn service_cmd(&self, binary: &Path, ports: &[u16], db: &DbParts) -> Cmd;

    /// The URL answering 200 once the service is ready.
    fn ready_url(&self, ports: &[u16]) -> String;

    /// The `bench` command line against the running service.
    fn bench_cmd(&self, bench: &Path, running: &Running) -> Cmd;
}

/// `bench accountd`: HTTP vs raw MySQL.
pub struct Accountd(pub AccountdOptions);

impl Target for Accountd {
    fn service(&self) -> &'static str {
        "accountd"
    }

    fn builds(&self) -> Vec<Cmd> {
        let root = paths::repo_root();
        vec![
            Cmd::cargo(["build", "--release", "-p", "accountd", "--bin", "accountd"]).dir(&root),
            Cmd::cargo(["build", "--release", "-p", "harness", "--bin", "bench"]).dir(&root),
        ]
    }

    fn db_prefix(&self) -> &'static str {
        "bench"
    }

    fn ports(&self) -> usize {
        1
    }

    fn service_cmd(&self, binary: &Path, ports: &[u16], db: &DbParts) -> Cmd {
        service::accountd_cmd(binary, ports[0], db)
    }

    fn ready_url(&self, ports: &[u16]) -> String {
        format!("http://127.0.0.1:{}/readyz", ports[0])
    }

    fn bench_cmd(&self, bench: &Path, running: &Running) -> Cmd {
        let options = &self.0;
        Cmd::new(bench.display().to_string())
            .args([
                "accountd".to_string(),
                "--http-url".to_string(),
                format!(
                    "http://127.0.0.1:{}/users/{}",
                    running.ports[0], options.user_id
                ),
                "--user-id".to_string(),
                options.user_id.to_string(),
            ])
            .args(options.load.args())
            .env_secret("BENCH_MYSQL_URL", running.db.url())
    }
}

/// `bench activity`: CreateEvent rate, then streaming.
pub struct Activity(pub ActivityOptions);

impl Target for Activity {
    fn service(&self) -> &'static str {
        "activity-server"
    }

    fn builds(&self) -> Vec<Cmd> {
        // One invocation: the server and `bench` share most dependencies, and one feature
        // resolution keeps cargo from compiling them twice.
        vec![Cmd::cargo([
            "build",
            "--release",
            "-p",
            "activity",
            "-p",
            "harness",
            "--bin",
            "activity-server",
            "--bin",
            "bench",
        ])
        .dir(paths::repo_root())]
    }

    fn db_prefix(&self) -> &'static str {
        "bench_activity"
    }

    fn ports(&self) -> usize {
        2
    }

    fn service_cmd(&self, binary: &Path, ports: &[u16], db: &DbParts) -> Cmd {
        service::activity_cmd(binary, ports[0], ports[1], db)
    }

    fn ready_url(&self, ports: &[u16]) -> String {
        format!("http://127.0.0.1:{}/readyz", ports[1])
    }

    fn bench_cmd(&self, bench: &Path, running: &Running) -> Cmd {
        let options = &self.0;
        Cmd::new(bench.display().to_string())
            .args([
                "activity".to_string(),
                "--addr".to_string(),
                format!("127.0.0.1:{}", running.ports[0]),
                "--server-pid".to_string(),
                running.pid.to_string(),
                "--stream-events".to_string(),
                options.stream_events.to_string(),
            ])
            .args(options.load.args())
            .env_secret("BENCH_MYSQL_URL", running.db.url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::TEST_LOAD as LOAD;

    fn running(ports: &[u16]) -> Running {
        Running {
            ports: ports.to_vec(),
            pid: 4242,
            db: DbParts {
                host: "127.0.0.1".into(),
                port: 3306,
                name: "bench_1".into(),
                user: "test".into(),
                password: "pw".into(),
            },
        }
    }

    fn accountd() -> Accountd {
        Accountd(AccountdOptions {
            load: LOAD,
            user_id: 1,
        })
    }

    fn activity() -> Activity {
        Activity(ActivityOptions {
            load: LOAD,
            stream_events: 100_000,
        })
    }

    #[test]
    fn builds_accountd_and_bench_in_release() {
        let lines: Vec<String> = accountd().builds().iter().map(Cmd::line).collect();
        assert_eq!(
            lines,
            [
                "cargo build --release -p accountd --bin accountd",
                "cargo build --release -p harness --bin bench"
            ]
        );
    }

    #[test]
    fn bench_gets_the_url_and_load_shape_and_mysql_url_secretly() {
        let cmd = accountd().bench_cmd(Path::new("/t/release/bench"), &running(&[40000]));
        assert_eq!(
            cmd.line(),
            "/t/release/bench accountd --http-url http://127.0.0.1:40000/users/1 --user-id 1 \
             --concurrency 32 --duration 10 --warmup 2"
        );
        assert!(!cmd.to_string().contains("pw@"));
        assert_eq!(cmd.env[0].key, "BENCH_MYSQL_URL");
        assert_eq!(
            accountd().ready_url(&[40000]),
            "http://127.0.0.1:40000/readyz"
        );
    }

    #[test]
    fn builds_activity_server_and_bench_in_one_release_build() {
        let lines: Vec<String> = activity().builds().iter().map(Cmd::line).collect();
        assert_eq!(
            lines,
            ["cargo build --release -p activity -p harness --bin activity-server --bin bench"]
        );
    }

    #[test]
    fn activity_server_gets_grpc_and_admin_ports_and_is_ready_on_admin() {
        let target = activity();
        assert_eq!(target.ports(), 2);
        let cmd = target.service_cmd(
            Path::new("/t/release/activity-server"),
            &[40001, 40002],
            &running(&[]).db,
        );
        assert_eq!(cmd.line(), "/t/release/activity-server");
        assert!(cmd.to_string().starts_with(
            "ACTIVITY__PORT=40001 ACTIVITY__ADMIN_PORT=40002 ACTIVITY__DB__HOST=127.0.0.1"
        ));
        assert_eq!(
            target.ready_url(&[40001, 40002]),
            "http://127.0.0.1:40002/readyz"
        );
    }

    #[test]
    fn activity_bench_gets_the_address_pid_and_load_shape() {
        let cmd = activity().bench_cmd(Path::new("/t/release/bench"), &running(&[40001, 40002]));
        assert_eq!(
            cmd.line(),
            "/t/release/bench activity --addr 127.0.0.1:40001 --server-pid 4242 \
             --stream-events 100000 --concurrency 32 --duration 10 --warmup 2"
        );
        // The events to stream are seeded straight into the server's database.
        assert!(!cmd.to_string().contains("pw@"));
        assert_eq!(cmd.env[0].key, "BENCH_MYSQL_URL");
    }
}
