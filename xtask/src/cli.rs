//! The command line: `cargo xtask <stage>`, parsed with clap derive.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::ci::StepName;

/// Project tasks in Rust: one command per pipeline stage, the same on a laptop, Jenkins and
/// GitHub Actions.
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    version,
    long_about = "Project tasks in Rust: one command per pipeline stage, the same on a laptop, \
Jenkins and GitHub Actions. Every external command is echoed (`$ ...`) before it runs.

Examples:
  cargo xtask doctor                 what is installed, what is missing, what to do
  sudo cargo xtask bootstrap         install and start the Docker engine, build the images
  cargo xtask ci                     fmt, clippy, actionlint, charts, all tests, Gherkin
                                     suites, amd64 images, summary table
  cargo xtask ci --skip functional --skip robustness
                                     the same without the Gherkin suites
  cargo xtask up                     MySQL, accountd, activity, Redis, the event pipeline,
                                     MongoDB and the cinema services on 127.0.0.1 until Ctrl-C
  cargo xtask bench accountd -c 64   HTTP vs raw MySQL throughput
  cargo xtask bench activity         gRPC CreateEvent rate and ListEvents streaming
  cargo xtask bench events           POST /event vs raw XADD, end-to-end lag
  cargo xtask bench cinema           GET /movies/{id}, suggestions vs raw find_one
  cargo xtask fuzz --service movies  Schemathesis against a service's OpenAPI document
  cargo xtask images --arch all      static amd64 + armv7 images, each smoke-tested
  cargo xtask tag --dry-run          the release version and what tagging would run
  cargo xtask push --registry 127.0.0.1:5000
                                     images (multi-arch) and charts to a registry
  cargo xtask deploy --env dev --dry-run
                                     lint, render and validate every chart"
)]
pub struct Cli {
    /// Stream every command's output instead of showing a spinner on a terminal.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// The stage to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The stages.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install and start what the tests need (Docker engine, debootstrap, images).
    #[command(
        long_about = "Install and start what the tests need, idempotently: on Debian as \
root, `apt-get install` docker.io, debootstrap and cgroupfs-mount when missing (one apt-get update, \
only if something is missing), start dockerd in the background (log in target/xtask/dockerd.log) \
when `docker info` fails, then build the debootstrap base image and the MariaDB, Redis and \
MongoDB-wire images unless present, and register qemu-arm with binfmt_misc (armv7 images run \
through it). With --registry it also starts a local image registry on 127.0.0.1:5000. Elsewhere \
it says what to install. Running it again does nothing.

Examples:
  sudo cargo xtask bootstrap
  sudo cargo xtask bootstrap --registry   also a registry on 127.0.0.1:5000 for push tests
  cargo xtask bootstrap --dry-run    show what it would do on this machine"
    )]
    Bootstrap(BootstrapArgs),

    /// Show what is present or missing on this machine and what to do next.
    #[command(
        long_about = "Check cargo, rustfmt, clippy, the docker CLI, the engine, \
debootstrap, the images, a local mariadbd and MYSQL_URL; print a table with what to do next. \
Changes nothing. Exits non-zero when the tests cannot run here.

Example:
  cargo xtask doctor"
    )]
    Doctor,

    /// Run the whole pipeline: bootstrap, lints, chart checks, tests, Gherkin suites, images.
    #[command(
        long_about = "Run the pipeline in order: bootstrap → cargo fmt --check → \
cargo clippy -D warnings → actionlint on the GitHub workflows → every Helm chart linted, rendered \
and validated for dev and prod → cargo test (unit + integration) → harness tests (with the \
dashboards' metrics checked against the services' real /metrics) → functional Gherkin \
suites (`cargo test -p harness --test functional`) → robustness Gherkin suites (faults: Redis \
restarted or down, consumers killed; `cargo test -p harness --test robustness`) → \
Schemathesis against the six services' OpenAPI documents (`cargo xtask fuzz`, 100 examples per \
operation and phase) → the amd64 image of every deployable built and smoke-tested → sweep stale containers, then print a summary table (step, status, seconds). A failed step does not stop the \
later ones unless --fail-fast; the sweep always runs. Exits non-zero if any step failed. \
CARGO_TARGET_DIR and the rest of the environment are passed through unchanged.

Examples:
  cargo xtask ci
  cargo xtask ci --fail-fast
  cargo xtask ci --skip bootstrap --skip functional
  cargo xtask ci --skip robustness   everything but the fault-injection suites
  cargo xtask ci --only fmt,clippy   just the lints (a pipeline stage)
  cargo xtask ci --dry-run           list the steps and their commands"
    )]
    Ci(CiArgs),

    /// Start MySQL, accountd, activity, Redis, the event pipeline, MongoDB and the cinema
    /// services locally until Ctrl-C.
    #[command(
        long_about = "Start the stack on this machine. First, when the Docker engine or one of the \
harness images is missing (and not every store comes from MYSQL_URL, REDIS_URL and MONGODB_URL), \
it runs the same idempotent bootstrap as `ci` and says so (--no-bootstrap skips it). Then MySQL \
(MYSQL_URL, a container or a local mariadbd) with a `mockvideo` and an `activity` database, then accountd (debug build) with \
the test users loaded, on port 5000 if free, then the activity server (debug build) with gRPC on \
50051 and its admin HTTP (/readyz, /metrics) on 9091 if free; then Redis (REDIS_URL, a container \
or a local redis-server), the event producer (POST /event on 8080 if free), two event consumers \
(consumer-1 and consumer-2 in group demo_consumer_group, admin HTTP on 9092 and 9093 if free) \
and the event simulator sending 2 events/s, all on the stream NotificationStream; then MongoDB \
(MONGODB_URL, a container or a local mongod/SecantusDB) and the cinema services movies, \
showtimes, bookings and users (debug builds, on 8081-8084 if free, database `cinema`, seed data \
loaded). accountd (every route but health, metrics, /openapi.json), the producer's POST /event \
and the cinema services' POST and DELETE need a bearer token: one random secret in \
target/up/secrets/jwt-secret, and development tokens from mockvideo-token (ACCOUNTD_TOKEN, \
EVENT_PRODUCER_TOKEN, CINEMA_TOKEN). One `cargo build` builds every service binary; logs \
go to target/up/<name>.log. Prints the URLs and example requests and writes \
target/up/endpoints.env, mode 0600 (MYSQL_URL, ACCOUNTD_TOKEN, EVENT_PRODUCER_TOKEN, \
CINEMA_TOKEN, ACCOUNTD_URL, ACTIVITY_ADDR, ACTIVITY_ADMIN_URL, \
ACTIVITY_CLIENT_BIN, REDIS_URL, REDIS_STREAM, EVENT_PRODUCER_URL, EVENT_CONSUMER_GROUP, \
EVENT_CONSUMER_1_ADMIN_URL, EVENT_CONSUMER_2_ADMIN_URL, EVENT_SIMULATOR_ACTIVE=1, MONGODB_URL, \
MOVIES_URL, SHOWTIMES_URL, BOOKINGS_URL, USERS_URL). Ctrl-C or SIGTERM stops \
everything (services first, then the containers), removes the file and the secrets and reports \
what was cleaned.

Examples:
  cargo xtask up
  cargo xtask up --port 8080         accountd on 8080
  cargo xtask up --exit-after 30     smoke test: stop by itself after 30 s
  cargo xtask up --no-bootstrap      never install anything; fail if MySQL cannot be had

Then, in another terminal:
  set -a; . target/up/endpoints.env; set +a
  curl -s -H \"Authorization: Bearer $ACCOUNTD_TOKEN\" $ACCOUNTD_URL/users
  curl -si -X POST $EVENT_PRODUCER_URL/event -H \"Authorization: Bearer $EVENT_PRODUCER_TOKEN\" \\
       -d '{\"description\":\"hello world\"}'
  curl -s $EVENT_CONSUMER_1_ADMIN_URL/metrics | grep ^events_consumed_total
  curl -s $MOVIES_URL/movies
  curl -si -X POST $MOVIES_URL/movies -H \"Authorization: Bearer $CINEMA_TOKEN\" \\
       -H 'Content-Type: application/json' -d '{\"data\":{\"title\":\"Lucia\"}}'"
    )]
    Up(UpArgs),

    /// Benchmark a service against its backing store.
    #[command(subcommand)]
    Bench(crate::bench::args::BenchTarget),

    /// Regenerate the committed OpenAPI documents (docs/openapi/) from the code.
    #[command(long_about = crate::openapi::LONG_ABOUT)]
    Openapi,

    /// Fuzz every HTTP service from its OpenAPI document with Schemathesis.
    #[command(long_about = crate::fuzz::LONG_ABOUT)]
    Fuzz(FuzzArgs),

    /// Build static x86_64 and armv7 images of every deployable and smoke-test each.
    #[command(long_about = crate::images::LONG_ABOUT)]
    Images(crate::images::ImagesArgs),

    /// Tag the images and the commit with the release version.
    #[command(long_about = crate::release::tag::LONG_ABOUT)]
    Tag(crate::release::tag::TagArgs),

    /// Push the images (one multi-arch manifest each) and the packaged charts.
    #[command(long_about = crate::release::push::LONG_ABOUT)]
    Push(crate::release::push::PushArgs),

    /// Validate the Helm charts and install or upgrade the release.
    #[command(long_about = crate::deploy::DEPLOY_LONG_ABOUT)]
    Deploy(crate::deploy::DeployArgs),

    /// Roll the release back to an earlier revision.
    #[command(long_about = crate::deploy::ROLLBACK_LONG_ABOUT)]
    Rollback(crate::deploy::RollbackArgs),

    /// Show the release, its revisions and its pods.
    #[command(long_about = crate::deploy::STATUS_LONG_ABOUT)]
    Status(crate::deploy::StatusArgs),

    /// Start, stop or show a throwaway local Kubernetes cluster (or use your own context).
    #[command(
        long_about = "A throwaway Kubernetes 1.20 cluster on this machine, everything on \
127.0.0.1: `up` builds kube-apiserver, kube-controller-manager, kube-scheduler and the kubelet \
once from Debian's kubernetes source package with Debian's Go (cached in \
/var/cache/mockvideo/tools/kubernetes-1.20.2, about 6 min cold), builds the pause image, writes \
credentials and a kubeconfig under target/cluster/, starts etcd, the control plane and a \
kubelet that runs pods on the local Docker engine, and waits until the node is Ready (about \
17 s). With --kube-context (or MOCKVIDEO_KUBE_CONTEXT) it uses your own cluster instead. `down` \
stops every process `up` started, removes the pods' containers and restores the kernel \
settings the kubelet changed.

Examples:
  cargo xtask cluster up
  export KUBECONFIG=$PWD/target/cluster/kubeconfig
  cargo xtask cluster status
  cargo xtask cluster down
  cargo xtask cluster up --kube-context kind-dev   use a cluster you already have"
    )]
    Cluster(crate::cluster::ClusterArgs),

    /// Run the @cluster smoke features against the deployed release.
    #[command(long_about = crate::cluster::suite::SMOKE_LONG_ABOUT)]
    Smoke(crate::cluster::suite::SmokeArgs),

    /// Inject faults (pods deleted, containers killed, scaled to 0) and check nothing is lost.
    #[command(long_about = crate::cluster::suite::CHAOS_LONG_ABOUT)]
    Chaos(crate::cluster::suite::ChaosArgs),
}

/// `bootstrap` options.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Print what would be done on this machine and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Also start a local image registry (Debian's docker-registry) on 127.0.0.1:5000, for
    /// `cargo xtask push --registry 127.0.0.1:5000`.
    #[arg(long, conflicts_with = "dry_run")]
    pub registry: bool,
}

/// `ci` options.
#[derive(Debug, Args)]
pub struct CiArgs {
    /// Stop at the first failed step (the stale-container sweep still runs).
    #[arg(long)]
    pub fail_fast: bool,

    /// Do not run this step (repeatable).
    #[arg(long, value_enum, value_name = "STEP")]
    pub skip: Vec<StepName>,

    /// Run only these steps, comma-separated or repeated (the container sweep still runs);
    /// how the Jenkins and GitHub stages run one part of the pipeline each.
    #[arg(long, value_enum, value_name = "STEP", value_delimiter = ',')]
    pub only: Vec<StepName>,

    /// List the steps and their commands, run nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `up` options.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Port for accountd [default: 5000 if free, else any free port].
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,

    /// Stop by itself after SECS instead of waiting for Ctrl-C.
    #[arg(long, value_name = "SECS")]
    pub exit_after: Option<u64>,

    /// Do not run the bootstrap when the Docker engine or an image is missing; only check that
    /// MySQL can be had (MYSQL_URL, the engine, or a local mariadbd).
    #[arg(long)]
    pub no_bootstrap: bool,
}

impl UpArgs {
    /// As `up` options.
    pub fn options(&self) -> crate::up::Options {
        crate::up::Options {
            accountd_port: self.port,
            exit_after: self.exit_after.map(Duration::from_secs),
            no_bootstrap: self.no_bootstrap,
        }
    }
}

/// `fuzz` options.
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// A service to fuzz (repeatable) [default: all six].
    #[arg(long = "service", value_name = "SERVICE")]
    pub services: Vec<crate::fuzz::Target>,

    /// Examples per operation and phase (Schemathesis's --max-examples).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub examples: u32,

    /// Time bound per service, in seconds: a run still going then is interrupted and fails.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub max_time: u64,

    /// The random seed (fixed by default, so a failure reproduces).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl FuzzArgs {
    /// As `fuzz` options.
    pub fn options(&self) -> crate::fuzz::Options {
        crate::fuzz::Options {
            services: self.services.clone(),
            examples: self.examples,
            max_time: Duration::from_secs(self.max_time),
            seed: self.seed,
        }
    }
}

#[cfg(test)]
impl Cli {
    /// Parses `cargo xtask ARGS…`, for the unit tests.
    pub fn parse_args(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("xtask").chain(args.iter().copied()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::parse_args(args)
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ci_parses_skip_and_fail_fast() {
        let cli = parse(&[
            "ci",
            "--fail-fast",
            "--skip",
            "bootstrap",
            "--skip",
            "functional",
        ])
        .unwrap();
        let Command::Ci(args) = cli.command else {
            panic!("expected ci")
        };
        assert!(args.fail_fast);
        assert!(!args.dry_run);
        assert_eq!(args.skip, [StepName::Bootstrap, StepName::Functional]);
        assert!(parse(&["ci", "--skip", "nonsense"]).is_err());
    }

    #[test]
    fn up_bootstrap_and_doctor_parse() {
        let cli = parse(&["-v", "up", "--port", "8080", "--exit-after", "5"]).unwrap();
        assert!(cli.verbose);
        let Command::Up(args) = cli.command else {
            panic!("expected up")
        };
        let options = args.options();
        assert_eq!(options.accountd_port, Some(8080));
        assert_eq!(options.exit_after, Some(Duration::from_secs(5)));
        assert!(matches!(
            parse(&["bootstrap", "--dry-run"]).unwrap().command,
            Command::Bootstrap(BootstrapArgs {
                dry_run: true,
                registry: false
            })
        ));
        assert!(parse(&["bootstrap", "--registry", "--dry-run"]).is_err());
        assert!(matches!(
            parse(&["doctor"]).unwrap().command,
            Command::Doctor
        ));
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn help_teaches_with_examples() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Examples:"));
        assert!(help.contains("cargo xtask ci --skip functional"));
        let mut command = Cli::command();
        let ci = command.find_subcommand_mut("ci").unwrap();
        let ci_help = ci.render_long_help().to_string();
        assert!(ci_help.contains("--fail-fast"));
        assert!(ci_help.contains("cargo xtask ci --dry-run"));
        assert!(ci_help.contains("--test robustness"));
        let up_help = command
            .find_subcommand_mut("up")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(up_help.contains("EVENT_PRODUCER_URL"));
        assert!(up_help.contains("$EVENT_PRODUCER_URL/event"));
        let bench = command.find_subcommand_mut("bench").unwrap();
        let events_help = bench
            .find_subcommand_mut("events")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(events_help.contains("cargo xtask bench events --concurrency 64"));
    }

    #[test]
    fn fuzz_takes_services_and_a_budget() {
        let Command::Fuzz(args) = parse(&[
            "fuzz",
            "--service",
            "movies",
            "--service",
            "event-producer",
            "--examples",
            "7",
        ])
        .unwrap()
        .command
        else {
            panic!("not fuzz");
        };
        let options = args.options();
        assert_eq!(
            options.services,
            [
                crate::fuzz::Target::Movies,
                crate::fuzz::Target::EventProducer
            ]
        );
        assert_eq!(options.examples, 7);
        assert_eq!(options.max_time, Duration::from_secs(300));
        assert!(parse(&["fuzz", "--service", "activity"]).is_err());
    }
}
