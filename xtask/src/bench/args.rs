//! The command line of `cargo xtask bench`: one subcommand per target, each with the shared
//! load shape ([`LoadArgs`]) and its own flags, turned into the options of [`super`].

use clap::{Args, Subcommand};

use super::{AccountdOptions, ActivityOptions, EventsOptions, Load};

/// What `bench` measures.
#[derive(Debug, Subcommand)]
pub enum BenchTarget {
    /// `GET /users/1` through accountd vs the same point select straight to MySQL.
    #[command(
        long_about = "Build accountd and the harness `bench` binary in release, start \
MySQL with the test users and the release accountd, then drive `GET /users/{id}` at a fixed \
concurrency for a fixed time, and the same `SELECT … FROM user WHERE id = ?` straight to MySQL \
with the same concurrency and time. Prints requests, req/s, p50, p99 and errors per target and \
the HTTP/MySQL rate ratio. Cleans everything up.

Examples:
  cargo xtask bench accountd
  cargo xtask bench accountd --concurrency 64 --duration 30 --warmup 5"
    )]
    Accountd(BenchAccountdArgs),

    /// The activity server over gRPC: CreateEvent rate, then one ListEvents stream of many events.
    #[command(
        long_about = "Build activity-server and the harness `bench` binary in release, start \
MySQL and the release activity server, then (a) drive CreateEvent at a fixed concurrency for a \
fixed time with unique ids (req/s, p50, p99, errors), and (b) seed --stream-events events into one \
deployment (multi-row INSERTs straight into the server's database), open one ListEvents stream \
for it and drain it (events/s, time to the first event, total time) while sampling the server's resident memory every 20 ms. Prints the figures and the \
server's peak RSS before and during the stream. Cleans everything up.

Examples:
  cargo xtask bench activity
  cargo xtask bench activity -c 64 -d 30 -w 5 --stream-events 1000000"
    )]
    Activity(BenchActivityArgs),

    /// The event pipeline: POST /event through the producer vs XADD straight to Redis, and the
    /// end-to-end lag from accept to processed.
    #[command(
        long_about = "Build the harness `bench` binary in release, start Redis (REDIS_URL, a \
container or a local redis-server), then run `bench events`, which starts the event producer and \
--consumers event consumers inside its own process on a fresh stream and measures, at a fixed \
concurrency for a fixed time after a warm-up:
  (a) POST /event through the producer, unthrottled, by the simulator engine: accepted events/s, \
p50, p99, errors (the consumers process meanwhile);
  (b) the same XADD (same field, a same-sized Notification Message JSON) sent straight to Redis \
by the same tool on a stream no consumer reads: XADDs/s, p50, p99;
  (c) the ratio a/b;
  (d) the end-to-end lag from accept (the message's timestamp) to processed (the consumer's \
record): p50, p99, max, after waiting (bounded) for the consumers to drain.
Prints the tables; removes the container.

Examples:
  cargo xtask bench events
  cargo xtask bench events --concurrency 64 --duration 30 --warmup 5
  cargo xtask bench events --consumers 4"
    )]
    Events(BenchEventsArgs),

    /// The cinema services: GET /movies/{id} and GET /users/{id}/suggestions vs the same
    /// find_one straight to MongoDB.
    #[command(
        long_about = "Build the harness `bench` binary in release, start MongoDB (MONGODB_URL, a \
container or a local mongod / SecantusDB), then run `bench cinema`, which loads the seed data into \
a fresh database, starts the movies, showtimes, bookings and users services inside its own \
process, waits until each answers /healthy, and measures, one after the other at a fixed \
concurrency for a fixed time after a warm-up:
  (a) GET /movies/{id} of the seeded movie Zootopia through the movies service;
  (b) GET /users/{id}/suggestions of the seeded user Cristina through the users service, which \
calls the other three over HTTP;
  (c) the same find_one({\"_id\": ObjectId(..)}) on `movies` sent straight to MongoDB by the same \
tool.
Prints requests, req/s, p50, p99 and errors per target and the GET /movies/{id} / find_one rate \
ratio; anything but a 2xx counts as an error. Drops the database, stops the services, removes the \
container.

Examples:
  cargo xtask bench cinema
  cargo xtask bench cinema --concurrency 64 --duration 30 --warmup 5"
    )]
    Cinema(BenchCinemaArgs),

    /// The harness's TCP fault proxy with no toxic: a MySQL point select and a Redis GET
    /// straight to the server and through the proxy.
    #[command(
        long_about = "Build the harness `bench` binary in release, start MySQL (a fresh database) \
and Redis (each: the URL in MYSQL_URL / REDIS_URL, a container or a local server), then run `bench \
fault-proxy`, which opens one proxy to each store inside its own process (on a runtime of its own, \
no toxic) and measures, one after the other with the same workers for the same time after a \
warm-up:
  (a) a point select (`SELECT id, name FROM bench_point WHERE id = ?`) straight to MySQL, in a \
closed loop (each worker sends its next request when the last is answered: the most it carries);
  (b) the same through the proxy;
  (c, d) both again at a fixed rate, 1,000/s or --rate (open model: latency counts from when a \
request was due; one due per millisecond, the timer's resolution, so arrivals never bunch), for \
the latency the proxy adds to one request, without a saturated queue's;
  (e-h) the same four with `GET` of one key on Redis (one connection per worker).
Both MySQL pools skip sqlx's ping before each acquire. Prints requests, req/s, p50, p99 and \
errors per run; per store the proxied/direct rate ratio (closed loop), the p50 and p99 the proxy \
adds (fixed rate), the proxy's CPU per request (its threads' run time from /proc) and the cores \
it kept busy, against the bar of issue 15 (< 100 µs added at p50, ≥ 80% of the direct rate). \
Removes both stores. The defaults keep the run near a minute.

Examples:
  cargo xtask bench fault-proxy
  cargo xtask bench fault-proxy --rate 5000
  cargo xtask bench fault-proxy --concurrency 16 --duration 10 --warmup 2"
    )]
    FaultProxy(BenchFaultProxyArgs),
}

/// The load shape every `bench` target takes: closed-loop concurrency, measured time, warm-up.
/// A target whose load is not "requests per target" words the help its own way (`mut_arg`).
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Concurrent workers (closed loop: one request in flight each).
    #[arg(short, long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,

    /// Measured seconds per target.
    #[arg(short, long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,

    /// Warm-up seconds per target, not measured.
    #[arg(short, long, value_name = "SECS", default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup: u64,

    /// Requests per second at fixed intervals (open model: latency counts from when a request
    /// was due, so queueing shows); the workers then bound what is in flight. Without it, a
    /// closed loop. `bench fault-proxy` uses it for its latency runs only.
    #[arg(long, value_name = "PER_SEC", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,
}

impl LoadArgs {
    /// As the load shape of a bench target.
    pub fn load(&self) -> Load {
        Load {
            concurrency: self.concurrency as usize,
            duration: self.duration,
            warmup: self.warmup,
            rate: self.rate,
        }
    }
}

/// `bench accountd` options.
#[derive(Debug, Args)]
pub struct BenchAccountdArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// The user id fetched.
    #[arg(long, default_value_t = 1)]
    pub user_id: u32,
}

impl BenchAccountdArgs {
    /// As bench options.
    pub fn options(&self) -> AccountdOptions {
        AccountdOptions {
            load: self.load.load(),
            user_id: self.user_id,
        }
    }
}

/// `bench activity` options.
#[derive(Debug, Args)]
#[command(
    mut_arg("concurrency", |arg| arg.help("Concurrent CreateEvent workers (closed loop: one call in flight each)")),
    mut_arg("duration", |arg| arg.help("Measured seconds of CreateEvent load")),
    mut_arg("warmup", |arg| arg.help("Warm-up seconds before the measured CreateEvent load"))
)]
pub struct BenchActivityArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Events seeded into one deployment and then streamed back by one ListEvents call.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub stream_events: u64,
}

impl BenchActivityArgs {
    /// As bench options.
    pub fn options(&self) -> ActivityOptions {
        ActivityOptions {
            load: self.load.load(),
            stream_events: self.stream_events,
        }
    }
}

/// `bench events` options.
#[derive(Debug, Args)]
#[command(mut_arg("concurrency", |arg| {
    arg.help("Concurrent direct XADDs, then concurrent POST /event callers (closed loop)")
}))]
pub struct BenchEventsArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Event consumers (one group) processing what the producer accepts.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub consumers: u32,
}

impl BenchEventsArgs {
    /// As bench options.
    pub fn options(&self) -> EventsOptions {
        EventsOptions {
            load: self.load.load(),
            consumers: self.consumers,
        }
    }
}

/// `bench cinema` options.
#[derive(Debug, Args)]
pub struct BenchCinemaArgs {
    #[command(flatten)]
    pub load: LoadArgs,
}

/// `bench fault-proxy` options: eight runs of the load, so shorter runs (about a minute in all);
/// 32 workers as the other targets.
#[derive(Debug, Args)]
#[command(
    mut_arg("duration", |arg| arg.default_value("5")),
    mut_arg("warmup", |arg| arg.default_value("1"))
)]
pub struct BenchFaultProxyArgs {
    #[command(flatten)]
    pub load: LoadArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::parse_args(args)
    }

    fn load(concurrency: usize, duration: u64, warmup: u64) -> Load {
        Load {
            concurrency,
            duration,
            warmup,
            rate: None,
        }
    }

    #[test]
    fn bench_accountd_has_defaults() {
        let cli = parse(&["bench", "accountd"]).unwrap();
        let Command::Bench(BenchTarget::Accountd(args)) = cli.command else {
            panic!("expected bench accountd")
        };
        assert_eq!(
            args.options(),
            AccountdOptions {
                load: load(32, 10, 2),
                user_id: 1
            }
        );
    }

    #[test]
    fn bench_accountd_takes_flags_and_rejects_zero_concurrency() {
        let cli = parse(&[
            "bench",
            "accountd",
            "--concurrency",
            "8",
            "--duration",
            "3",
            "--warmup",
            "0",
        ])
        .unwrap();
        let Command::Bench(BenchTarget::Accountd(args)) = cli.command else {
            panic!("expected bench accountd")
        };
        assert_eq!(
            (args.load.concurrency, args.load.duration, args.load.warmup),
            (8, 3, 0)
        );
        assert!(parse(&["bench", "accountd", "--concurrency", "0"]).is_err());
        assert!(parse(&["bench"]).is_err());
    }

    #[test]
    fn bench_activity_has_defaults() {
        let cli = parse(&["bench", "activity"]).unwrap();
        let Command::Bench(BenchTarget::Activity(args)) = cli.command else {
            panic!("expected bench activity")
        };
        assert_eq!(
            args.options(),
            ActivityOptions {
                load: load(32, 10, 2),
                stream_events: 100_000
            }
        );
    }

    #[test]
    fn bench_activity_takes_short_and_long_flags() {
        let cli = parse(&[
            "bench",
            "activity",
            "-c",
            "64",
            "-d",
            "30",
            "-w",
            "0",
            "--stream-events",
            "5000",
        ])
        .unwrap();
        let Command::Bench(BenchTarget::Activity(args)) = cli.command else {
            panic!("expected bench activity")
        };
        assert_eq!(
            args.options(),
            ActivityOptions {
                load: load(64, 30, 0),
                stream_events: 5000
            }
        );
        assert!(parse(&["bench", "activity", "-c", "0"]).is_err());
        assert!(parse(&["bench", "activity", "--stream-events", "0"]).is_err());
        assert!(parse(&["bench", "activity", "--user-id", "1"]).is_err());
    }

    #[test]
    fn bench_events_has_defaults_and_bounds() {
        let cli = parse(&["bench", "events"]).unwrap();
        let Command::Bench(BenchTarget::Events(args)) = cli.command else {
            panic!("expected bench events")
        };
        assert_eq!(
            args.options(),
            EventsOptions {
                load: load(32, 10, 2),
                consumers: 2
            }
        );
        let cli = parse(&[
            "bench",
            "events",
            "-c",
            "8",
            "-d",
            "3",
            "-w",
            "0",
            "--consumers",
            "4",
        ])
        .unwrap();
        let Command::Bench(BenchTarget::Events(args)) = cli.command else {
            panic!("expected bench events")
        };
        assert_eq!(
            (
                args.load.concurrency,
                args.load.duration,
                args.load.warmup,
                args.consumers
            ),
            (8, 3, 0, 4)
        );
        assert!(parse(&["bench", "events", "--consumers", "0"]).is_err());
        assert!(parse(&["bench", "events", "-c", "0"]).is_err());
    }

    #[test]
    fn bench_fault_proxy_has_short_defaults_and_takes_the_load_flags() {
        let cli = parse(&["bench", "fault-proxy"]).unwrap();
        let Command::Bench(BenchTarget::FaultProxy(args)) = cli.command else {
            panic!("expected bench fault-proxy")
        };
        assert_eq!(args.load.load(), load(32, 5, 1));
        let cli = parse(&["bench", "fault-proxy", "-c", "8", "-d", "3", "-w", "0"]).unwrap();
        let Command::Bench(BenchTarget::FaultProxy(args)) = cli.command else {
            panic!("expected bench fault-proxy")
        };
        assert_eq!(args.load.load(), load(8, 3, 0));
        // The other targets keep theirs.
        let cli = parse(&["bench", "cinema"]).unwrap();
        let Command::Bench(BenchTarget::Cinema(args)) = cli.command else {
            panic!("expected bench cinema")
        };
        assert_eq!(args.load.load(), load(32, 10, 2));
    }

    #[test]
    fn bench_cinema_has_defaults_and_takes_the_load_flags() {
        let cli = parse(&["bench", "cinema"]).unwrap();
        let Command::Bench(BenchTarget::Cinema(args)) = cli.command else {
            panic!("expected bench cinema")
        };
        assert_eq!(args.load.load(), load(32, 10, 2));
        let cli = parse(&["bench", "cinema", "-c", "64", "-d", "30", "-w", "5"]).unwrap();
        let Command::Bench(BenchTarget::Cinema(args)) = cli.command else {
            panic!("expected bench cinema")
        };
        assert_eq!(args.load.load(), load(64, 30, 5));
        assert!(parse(&["bench", "cinema", "-c", "0"]).is_err());
        assert!(parse(&["bench", "cinema", "--consumers", "2"]).is_err());
        let help = Cli::command()
            .find_subcommand_mut("bench")
            .unwrap()
            .find_subcommand_mut("cinema")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("cargo xtask bench cinema --concurrency 64"));
    }
}
