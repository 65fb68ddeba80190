//! `cargo xtask smoke` and `cargo xtask chaos`: the cluster Gherkin suite
//! (`harness/tests/cluster.rs`, features under `features/cluster`) against the deployed
//! release, and the docker-driver robustness suite beside it; plus [`ci_round`], the cluster
//! step of `cargo xtask ci` (up → deploy --env local → smoke → a pod deleted mid-flow and the
//! three network faults through the release's fault proxy → down).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{builder::PossibleValuesParser, Args, ValueEnum};

use crate::cmd::Cmd;
use crate::deploy::{DeployArgs, Env, Target};
use crate::paths;
use crate::runner::Runner;

/// The tag expression of the smoke features.
pub const SMOKE_TAGS: &str = "@cluster and not @chaos";
/// The tag expression of the chaos features.
pub const CHAOS_TAGS: &str = "@cluster and @chaos";
/// The tag of the network-fault scenarios (a service's link to a store or to another service,
/// through a fault proxy).
pub const NETWORK_TAG: &str = "@network";
/// The services of the fault matrix: the keys of `harness::matrix::Service` (a test checks they
/// match), tagged `@service-<key>` on each cell's scenario.
pub const MATRIX_SERVICES: [&str; 6] = [
    "accountd",
    "activity-server",
    "movies",
    "suggestions",
    "event-producer",
    "event-consumer",
];
/// The faults of the fault matrix: the keys of `harness::matrix::Fault` (a test checks they
/// match), tagged `@fault-<key>` on each cell's scenario.
pub const MATRIX_FAULTS: [&str; 7] = [
    "store-slow",
    "store-cut",
    "store-half-open",
    "store-reset",
    "overload",
    "sigterm",
    "sigkill",
];
/// The chaos scenarios `cargo xtask ci` runs, by name (plain text: each is a part of exactly one
/// scenario's name in features/cluster/chaos): a pod deleted while events flow, and the three
/// network faults.
pub const CI_CHAOS_SCENARIOS: [&str; 4] = [
    "the consumer pod deleted mid-flow",
    "MySQL slow under accountd",
    "Redis link cut under the producer and the consumer",
    "MongoDB reset under movies",
];

/// The cucumber `--name` regex of [`CI_CHAOS_SCENARIOS`]: any of them.
pub fn ci_chaos_filter() -> String {
    CI_CHAOS_SCENARIOS.join("|")
}

/// The long help of `cargo xtask smoke`.
pub const SMOKE_LONG_ABOUT: &str =
    "Run the smoke features (features/cluster/smoke, tagged @cluster) against the deployed
release: every service's black-box contract through its pod's 127.0.0.1 port, found from the
Deployments' pod templates (hostNetwork, the `local` values). Each scenario creates and removes
its own data.

Needs a deployed release: `cargo xtask cluster up && cargo xtask deploy --env local`.
Without --kube-context the local cluster's kubeconfig (target/cluster/kubeconfig) is used.
JUnit: target/cucumber/cluster.xml.

Examples:
  cargo xtask smoke
  cargo xtask smoke --name accountd       only the scenarios whose name matches";

/// The long help of `cargo xtask chaos`.
pub const CHAOS_LONG_ABOUT: &str =
    "Inject faults and check that nothing accepted is lost or processed twice.

--target cluster runs features/cluster/chaos (tagged @chaos) against the deployed release
with a kube-rs driver: the event-consumer pod deleted mid-stream, its containers SIGKILLed,
the Redis pod deleted mid-stream, the event-producer scaled to 0 and back. Every scenario checks
the processed record in Redis against what the producer accepted (0 lost, 0 twice) and prints
the recovery times it measured.
On the cluster the network faults (tagged @network) go through the release's fault proxy (the
fault-proxy pod of `deploy --env local`, its admin API on 127.0.0.1:31474, reset before and
after each scenario): MySQL slow under accountd (the latency carried, then a 503 bounded by the
connection pool's acquire timeout), the Redis link cut under the producer and the consumer while
events flow, MongoDB connections reset under movies; each prints its recovery time, and the
Redis one its ledger.
--target docker runs the robustness features (features/robustness) with the docker and
process driver: Redis stopped, paused and restarted in its container, consumers SIGKILLed, and
the network faults (tagged @network), each service's link to its store put behind a fault proxy
of the scenario's own: MySQL slow under accountd, the Redis link cut under the producer and the
consumers and then healed (with the ledger: accepted, processed, duplicates, lost), MongoDB
reset and black-holed under movies, the users service's link to movies slowed. Each prints its
recovery time.
--network runs only the network faults, on either target.

Either target prints the fault matrix at the end: one line per cell (service × fault) with
pass/fail, time to detect, time to recover, p99 during the fault, errors by class, lost and
applied twice; and writes it as JSON and JUnit: target/chaos/docker.json and docker.xml
(cluster.json and cluster.xml). --service and --fault run only the cells of one service or one
fault (they combine).

Examples:
  cargo xtask cluster up && cargo xtask deploy --env local && cargo xtask chaos --target cluster
  cargo xtask chaos --target cluster --name 'Redis pod'
  cargo xtask chaos --target cluster --network
  cargo xtask chaos --target docker
  cargo xtask chaos --target docker --service accountd
  cargo xtask chaos --target docker --fault overload
  cargo xtask chaos --target docker --network";

/// Where the chaos runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ChaosTarget {
    /// The deployed release, through the Kubernetes API (kube-rs).
    Cluster,
    /// Containers and processes on this machine, through the Docker engine.
    Docker,
}

/// Which release the suite talks to.
#[derive(Clone, Debug, Args)]
pub struct ReleaseArgs {
    /// The kubeconfig context (default: the local cluster when it is up, else the current one).
    #[arg(long, value_name = "CONTEXT")]
    pub kube_context: Option<String>,
    /// The release's namespace.
    #[arg(long, default_value = "mockvideo")]
    pub namespace: String,
    /// Only the scenarios of the cluster suite (smoke and chaos) whose name matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub name: Option<String>,
}

/// `smoke` options.
#[derive(Clone, Debug, Args)]
#[command(long_about = SMOKE_LONG_ABOUT)]
pub struct SmokeArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
}

/// `chaos` options.
#[derive(Clone, Debug, Args)]
#[command(long_about = CHAOS_LONG_ABOUT)]
pub struct ChaosArgs {
    /// Where to inject the faults.
    #[arg(long, value_enum)]
    pub target: ChaosTarget,
    /// Only the network-fault scenarios (tagged @network): on the cluster through the
    /// release's fault proxy, on docker through fault proxies of the scenarios' own.
    #[arg(long, conflicts_with = "name")]
    pub network: bool,
    /// Only the matrix cells of this service.
    #[arg(long, conflicts_with = "name", value_parser = PossibleValuesParser::new(MATRIX_SERVICES))]
    pub service: Option<String>,
    /// Only the matrix cells of this fault.
    #[arg(long, conflicts_with = "name", value_parser = PossibleValuesParser::new(MATRIX_FAULTS))]
    pub fault: Option<String>,
    #[command(flatten)]
    pub release: ReleaseArgs,
}

impl ChaosArgs {
    /// `base` (a tag expression, or none for the whole suite) narrowed by `--network`,
    /// `--service` and `--fault`.
    fn tags(&self, base: Option<&str>) -> Option<String> {
        let mut parts: Vec<String> = base.map(str::to_owned).into_iter().collect();
        if self.network {
            parts.push(NETWORK_TAG.to_owned());
        }
        parts.extend(
            self.service
                .iter()
                .map(|service| format!("@service-{service}")),
        );
        parts.extend(self.fault.iter().map(|fault| format!("@fault-{fault}")));
        (!parts.is_empty()).then(|| parts.join(" and "))
    }
}

/// `cargo test -p harness --test cluster -- --tags <tags>`, or `--name <regex>` instead of the
/// tags when a name is given (cucumber takes one filter or the other), aimed at `target`.
pub fn cluster_suite_cmd(tags: &str, release: &ReleaseArgs, target: &Target) -> Cmd {
    let cmd = Cmd::cargo(["test", "-p", "harness", "--test", "cluster", "--"])
        .dir(paths::repo_root())
        .env("MOCKVIDEO_NAMESPACE", release.namespace.clone());
    let cmd = match &release.name {
        Some(name) => cmd.args(["--name", name]),
        None => cmd.args(["--tags", tags]),
    };
    match target {
        Target::Context(context) => cmd.env("MOCKVIDEO_KUBE_CONTEXT", context.clone()),
        Target::Kubeconfig(path) => cmd.env("MOCKVIDEO_KUBECONFIG", path.display().to_string()),
        Target::Current => cmd,
    }
}

/// `cargo test -p harness --test robustness [-- --name <regex> | -- --tags <tags>]`.
pub fn docker_suite_cmd(release: &ReleaseArgs, tags: Option<&str>) -> Cmd {
    let cmd = Cmd::cargo(["test", "-p", "harness", "--test", "robustness"]).dir(paths::repo_root());
    match (&release.name, tags) {
        (Some(name), _) => cmd.args(["--", "--name", name]),
        (None, Some(tags)) => cmd.args(["--", "--tags", tags]),
        (None, None) => cmd,
    }
}

/// The summary of the fault-matrix report a run on `target` wrote
/// (`target/chaos/<target>.json`): `fault matrix: 42 of 42 cells passed`, or nothing when there
/// is none.
pub fn matrix_note(repo_root: &Path, target: &str) -> String {
    let path = repo_root
        .join("target/chaos")
        .join(format!("{target}.json"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        return String::new();
    };
    let Ok(report) = serde_json::from_str::<serde_json::Value>(&text) else {
        return format!("fault matrix: {} is not JSON", path.display());
    };
    let count = |key: &str| report[key].as_u64().unwrap_or(0);
    let (passed, failed) = (count("passed"), count("failed"));
    format!(
        "fault matrix: {passed} of {} cells passed ({})",
        passed + failed,
        path.display()
    )
}

/// Runs the smoke features.
pub async fn smoke(runner: &dyn Runner, args: &SmokeArgs) -> Result<()> {
    let target = Target::pick(args.release.kube_context.as_deref());
    eprintln!("smoke: the @cluster features against {}", target.describe());
    runner
        .run(&cluster_suite_cmd(SMOKE_TAGS, &args.release, &target))
        .context(
            "smoke features failed (scenario output above; JUnit in target/cucumber/cluster.xml). \
             Is the release deployed? `cargo xtask status` shows it",
        )
}

/// Runs the chaos features.
pub async fn chaos(runner: &dyn Runner, args: &ChaosArgs) -> Result<()> {
    let (cmd, place) = match args.target {
        ChaosTarget::Cluster => {
            let target = Target::pick(args.release.kube_context.as_deref());
            let place = target.describe();
            let tags = args.tags(Some(CHAOS_TAGS)).unwrap_or_default();
            (cluster_suite_cmd(&tags, &args.release, &target), place)
        }
        ChaosTarget::Docker => (
            docker_suite_cmd(&args.release, args.tags(None).as_deref()),
            "containers on this machine".to_string(),
        ),
    };
    eprintln!(
        "chaos: faults injected into {place}; the fault matrix is printed at the end and written \
         under target/chaos/"
    );
    runner.run(&cmd).context(
        "a chaos scenario failed (its invariant and measurements are printed above; the matrix \
         in target/chaos/ names the failed cells)",
    )
}

/// The cluster step of `cargo xtask ci`: the local cluster up (unless already up), the release
/// deployed with the `local` values, the smoke features, the chaos scenarios
/// [`CI_CHAOS_SCENARIOS`] (one cucumber run), and the cluster
/// down again if this step started it (whatever happened). Returns the timings as a note.
pub async fn ci_round(runner: &dyn Runner) -> Result<String> {
    let dirs = crate::deploy::local::cluster_dirs();
    let was_up = dirs.state().is_file();
    let mut timings = Vec::new();
    let outcome = round(runner, &mut timings).await;
    if !was_up {
        let started = Instant::now();
        match crate::cluster::down(runner, &dirs) {
            Ok(_) => timings.push(format!("down {:.0} s", started.elapsed().as_secs_f64())),
            Err(error) => eprintln!("ci: cluster down failed: {error:#}"),
        }
    }
    let note = timings.join(", ");
    outcome
        .map(|()| note.clone())
        .with_context(|| format!("the cluster round stopped ({note})"))
}

async fn round(runner: &dyn Runner, timings: &mut Vec<String>) -> Result<()> {
    let mut timed = |what: &str, started: Instant| {
        timings.push(format!("{what} {:.0} s", started.elapsed().as_secs_f64()));
    };
    let started = Instant::now();
    crate::cluster::up_local(runner).await?;
    timed("up", started);
    let started = Instant::now();
    crate::deploy::deploy(runner, &local_deploy()).await?;
    timed("deploy", started);
    let release = ReleaseArgs {
        kube_context: None,
        namespace: "mockvideo".to_string(),
        name: None,
    };
    let started = Instant::now();
    smoke(
        runner,
        &SmokeArgs {
            release: release.clone(),
        },
    )
    .await?;
    timed("smoke", started);
    let started = Instant::now();
    chaos(
        runner,
        &ChaosArgs {
            target: ChaosTarget::Cluster,
            network: false,
            service: None,
            fault: None,
            release: ReleaseArgs {
                name: Some(ci_chaos_filter()),
                ..release
            },
        },
    )
    .await?;
    timed("chaos", started);
    Ok(())
}

/// `deploy --env local` with the defaults.
fn local_deploy() -> DeployArgs {
    DeployArgs {
        env: Env::Local,
        kube_context: None,
        namespace: "mockvideo".to_string(),
        image_tag: None,
        dry_run: false,
        timeout: "5m".to_string(),
        charts: None,
        sets: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn release(name: Option<&str>) -> ReleaseArgs {
        ReleaseArgs {
            kube_context: None,
            namespace: "mv".to_string(),
            name: name.map(String::from),
        }
    }

    fn env(cmd: &Cmd) -> Vec<(&str, &str)> {
        cmd.env
            .iter()
            .map(|var| (var.key.as_str(), var.value.as_str()))
            .collect()
    }

    #[test]
    fn the_cluster_suite_is_filtered_by_tags_and_aimed_by_env() {
        let cmd = cluster_suite_cmd(
            SMOKE_TAGS,
            &release(Some("accountd")),
            &Target::Kubeconfig(PathBuf::from("/r/target/cluster/kubeconfig")),
        );
        assert_eq!(
            cmd.line(),
            "cargo test -p harness --test cluster -- --name accountd"
        );
        assert_eq!(
            env(&cmd),
            [
                ("MOCKVIDEO_NAMESPACE", "mv"),
                ("MOCKVIDEO_KUBECONFIG", "/r/target/cluster/kubeconfig")
            ]
        );
        let cmd = cluster_suite_cmd(CHAOS_TAGS, &release(None), &Target::Context("kind".into()));
        assert!(
            cmd.line().ends_with("--tags '@cluster and @chaos'"),
            "{}",
            cmd.line()
        );
        assert_eq!(env(&cmd)[1], ("MOCKVIDEO_KUBE_CONTEXT", "kind"));
    }

    #[test]
    fn the_docker_target_is_the_robustness_suite() {
        assert_eq!(
            docker_suite_cmd(&release(None), None).line(),
            "cargo test -p harness --test robustness"
        );
        assert_eq!(
            docker_suite_cmd(&release(Some("Redis")), Some("@network")).line(),
            "cargo test -p harness --test robustness -- --name Redis"
        );
        assert_eq!(
            docker_suite_cmd(&release(None), Some("@network")).line(),
            "cargo test -p harness --test robustness -- --tags @network"
        );
    }

    #[tokio::test]
    async fn network_chaos_runs_only_the_network_scenarios_on_either_target() {
        use crate::runner::recording::RecordingRunner;
        let runner = RecordingRunner::new();
        let docker = ChaosArgs {
            target: ChaosTarget::Docker,
            network: true,
            service: None,
            fault: None,
            release: release(None),
        };
        chaos(&runner, &docker).await.unwrap();
        let cluster = ChaosArgs {
            target: ChaosTarget::Cluster,
            ..docker.clone()
        };
        chaos(&runner, &cluster).await.unwrap();
        let all = ChaosArgs {
            network: false,
            ..cluster
        };
        chaos(&runner, &all).await.unwrap();
        let lines: Vec<String> = runner.seen().iter().map(|(_, cmd)| cmd.line()).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(
            lines[0],
            "cargo test -p harness --test robustness -- --tags @network"
        );
        assert!(
            lines[1].starts_with("cargo test -p harness --test cluster -- ")
                && lines[1].ends_with("--tags '@cluster and @chaos and @network'"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].ends_with("--tags '@cluster and @chaos'"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn the_ci_filter_names_exactly_one_cluster_scenario_each() {
        // The whole cluster suite: smoke and chaos run from one runner.
        let features = paths::repo_root().join("features/cluster");
        let files = ["smoke", "chaos"]
            .iter()
            .flat_map(|dir| std::fs::read_dir(features.join(dir)).unwrap())
            .map(|entry| entry.unwrap().path());
        let mut names = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(file).unwrap();
            names.extend(
                text.lines()
                    .filter_map(|line| line.trim().strip_prefix("Scenario:"))
                    .map(|name| name.trim().to_string()),
            );
        }
        for part in CI_CHAOS_SCENARIOS {
            // Plain text, so the regex matches it literally.
            assert!(
                !part.contains(|c: char| "\\.^$|?*+()[]{}".contains(c)),
                "{part:?} has regex syntax"
            );
            let matching: Vec<&String> = names.iter().filter(|name| name.contains(part)).collect();
            assert_eq!(
                matching.len(),
                1,
                "{part:?} matches {matching:?} of {names:?}"
            );
        }
        assert_eq!(
            ci_chaos_filter(),
            "the consumer pod deleted mid-flow|MySQL slow under accountd|Redis link cut under \
             the producer and the consumer|MongoDB reset under movies"
        );
    }

    #[test]
    fn service_and_fault_narrow_either_target_to_their_cells() {
        let args = |service: Option<&str>, fault: Option<&str>| ChaosArgs {
            target: ChaosTarget::Docker,
            network: false,
            service: service.map(String::from),
            fault: fault.map(String::from),
            release: release(None),
        };
        assert_eq!(args(None, None).tags(None), None);
        assert_eq!(
            args(Some("accountd"), Some("overload")).tags(None).unwrap(),
            "@service-accountd and @fault-overload"
        );
        assert_eq!(
            args(None, Some("store-cut"))
                .tags(Some(CHAOS_TAGS))
                .unwrap(),
            "@cluster and @chaos and @fault-store-cut"
        );
    }

    #[test]
    fn the_matrix_keys_are_the_harness_ones() {
        // xtask does not link the harness: its keys are read from the harness's source.
        let source =
            std::fs::read_to_string(paths::repo_root().join("harness/src/matrix/mod.rs")).unwrap();
        for key in MATRIX_SERVICES.iter().chain(&MATRIX_FAULTS) {
            assert!(
                source.contains(&format!("=> \"{key}\",")),
                "{key} is not a harness key"
            );
        }
        let arms = |kind: &str| {
            source
                .lines()
                .filter(|line| line.trim_start().starts_with(&format!("{kind}::")))
                .filter(|line| line.contains("=> \""))
                .count()
        };
        assert_eq!(arms("Service"), MATRIX_SERVICES.len());
        assert_eq!(arms("Fault"), MATRIX_FAULTS.len());
    }

    #[test]
    fn the_matrix_note_counts_the_cells_of_the_report() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(matrix_note(root.path(), "docker"), "");
        let dir = root.path().join("target/chaos");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("docker.json"), r#"{"passed": 40, "failed": 2}"#).unwrap();
        assert!(
            matrix_note(root.path(), "docker").starts_with("fault matrix: 40 of 42 cells passed")
        );
    }
}
