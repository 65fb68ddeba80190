//! The command line of `bench activity`.

use clap::{Args, ValueEnum};

use crate::LoadArgs;

/// CreateEvent rate and ListEvents streaming against a running activity server.
#[derive(Debug, Args)]
pub struct ActivityArgs {
    /// The server's gRPC address.
    #[arg(long, value_name = "HOST:PORT")]
    pub(super) addr: String,

    /// The server's process id, to sample its memory during the stream (omit to skip memory).
    #[arg(long, value_name = "PID")]
    pub(super) server_pid: Option<u32>,

    /// Events seeded into one deployment and then streamed back by one ListEvents call.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub(super) stream_events: u64,

    /// How the events to stream are stored.
    #[arg(long, value_enum, default_value_t = Seed::Sql)]
    pub(super) seed: Seed,

    /// The server's MySQL database, for `--seed sql`.
    #[arg(
        long,
        env = "BENCH_MYSQL_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub(super) mysql_url: Option<String>,

    /// Concurrent CreateEvent calls for `--seed grpc`.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub(super) seed_concurrency: u32,

    /// HTTP/2 connections the callers share (round robin).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub(super) connections: u32,

    /// The first event id used; the run uses consecutive ids from there (each id is stored once,
    /// so against a database that already holds events, start above the ids it holds).
    #[arg(long, value_name = "ID", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    pub(super) first_id: i32,

    /// Deployment id of the CreateEvent load.
    #[arg(long, value_name = "ID", default_value_t = 1)]
    pub(super) load_deployment: i32,

    /// Deployment id seeded and streamed (should hold nothing else).
    #[arg(long, value_name = "ID", default_value_t = 2)]
    pub(super) stream_deployment: i32,

    #[command(flatten)]
    pub(super) load: LoadArgs,
}

/// How the events to stream are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Seed {
    /// Multi-row INSERTs straight into the server's `activity_event` table (fast).
    Sql,
    /// One CreateEvent per event, through the server.
    Grpc,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_parse_with_defaults() {
        let cli = crate::parse(&["activity", "--addr", "127.0.0.1:50051"]).unwrap();
        let crate::Mode::Activity(args) = cli.mode else {
            panic!("expected activity")
        };
        assert_eq!(args.addr, "127.0.0.1:50051");
        assert_eq!(args.stream_events, 100_000);
        assert_eq!(args.seed, Seed::Sql);
        assert_eq!(args.first_id, 1);
        assert_eq!(args.seed_concurrency, 64);
        assert_eq!(args.server_pid, None);
        assert_eq!((args.load_deployment, args.stream_deployment), (1, 2));
        assert_eq!(args.load.spec().concurrency, 32);
        let cli = crate::parse(&[
            "activity",
            "--addr",
            "127.0.0.1:1",
            "--server-pid",
            "42",
            "--stream-events",
            "5",
            "-c",
            "8",
            "--seed",
            "grpc",
        ])
        .unwrap();
        let crate::Mode::Activity(args) = cli.mode else {
            panic!("expected activity")
        };
        assert_eq!(
            (args.server_pid, args.stream_events, args.load.concurrency),
            (Some(42), 5, 8)
        );
        assert_eq!(args.seed, Seed::Grpc);
        assert!(crate::parse(&["activity"]).is_err());
    }
}
