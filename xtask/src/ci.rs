//! `cargo xtask ci`: the whole pipeline as a list of steps, run in order, with a summary table.
//!
//! The steps are data ([`steps`]) so a unit test can assert the exact command lines. A failed step
//! does not stop the run (each later step still tells something: formatting, lints, unit tests and
//! the Gherkin suites fail independently) unless `--fail-fast` is given; the sweep (stale containers,
//! and superseded test binaries in the shared target directory: [`crate::prune`]) always runs, and the summary is always printed. The exit status is non-zero if any step failed.

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::ValueEnum;

use crate::cmd::Cmd;
use crate::paths;
use crate::runner::Runner;
use crate::summary::{Status, Summary};

/// The steps of `ci`, by name (also the values of `--skip`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum StepName {
    /// Install and start the Docker engine, build the images (`cargo xtask bootstrap`).
    Bootstrap,
    /// `cargo fmt --all -- --check`.
    Fmt,
    /// `cargo clippy --workspace --all-targets -- -D warnings`.
    Clippy,
    /// Unit and integration tests of every crate but the harness.
    Test,
    /// The harness's unit tests (library and `bench` binary) and its MySQL provisioning
    /// integration test.
    Harness,
    /// The functional Gherkin suites (`cargo test -p harness --test functional`).
    Functional,
    /// The robustness Gherkin suites: faults injected into Redis and the event services
    /// (`cargo test -p harness --test robustness`).
    Robustness,
    /// Schemathesis against the six services' OpenAPI documents (`cargo xtask fuzz` with
    /// the CI budget).
    Fuzz,
    /// Lint the GitHub Actions workflows with actionlint.
    Workflows,
    /// Lint, render and validate every Helm chart for dev and prod (`deploy --dry-run`'s checks).
    Charts,
    /// Build the static amd64 image of every deployable and smoke-test each.
    Images,
    /// The local Kubernetes cluster: up, deploy --env local, the smoke features, four chaos
    /// scenarios (a pod deleted mid-flow and the three network faults), down.
    Cluster,
    /// Remove containers left behind by dead test processes.
    Sweep,
}

impl StepName {
    /// The name shown in the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            StepName::Bootstrap => "bootstrap",
            StepName::Fmt => "fmt",
            StepName::Clippy => "clippy",
            StepName::Test => "test",
            StepName::Harness => "harness",
            StepName::Functional => "functional",
            StepName::Robustness => "robustness",
            StepName::Fuzz => "fuzz",
            StepName::Workflows => "workflows",
            StepName::Charts => "charts",
            StepName::Images => "images",
            StepName::Cluster => "cluster",
            StepName::Sweep => "sweep",
        }
    }
}

/// What a step does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepAction {
    /// Run an external command.
    Command(Cmd),
    /// `bootstrap`, in-process.
    Bootstrap,
    /// `backing::docker::sweep_stale()` and [`crate::prune::prune_stale_binaries`], in-process.
    SweepStale,
    /// A delivery check, in-process.
    Delivery(Delivery),
}

/// The delivery checks `ci` runs in-process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// [`crate::tools::actionlint::lint_workflows`].
    Workflows,
    /// [`crate::deploy::validate_all`].
    Charts,
    /// [`crate::fuzz::run`] with [`crate::fuzz::ci_options`].
    Fuzz,
    /// [`crate::images::ci_amd64`].
    Images,
    /// [`crate::cluster::suite::ci_round`].
    Cluster,
}

impl Delivery {
    /// What it runs, for `--dry-run`.
    pub fn describe(self) -> &'static str {
        match self {
            Delivery::Workflows => "actionlint on .github/workflows (in-process)",
            Delivery::Charts => {
                "helm lint --strict + helm template + k8s-openapi, dev, local, prod and dev with \
                 the fault proxy (in-process)"
            }
            Delivery::Fuzz => {
                "cargo xtask fuzz --examples 100 --max-time 300: Schemathesis, every phase and \
                 check, six services (in-process)"
            }
            Delivery::Images => "cargo xtask images --arch amd64 (in-process)",
            Delivery::Cluster => {
                "cargo xtask cluster up, deploy --env local, smoke, chaos --target cluster \
                 (a pod deleted mid-flow and the three network faults), cluster down (in-process)"
            }
        }
    }
}

/// One step of the pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Its name.
    pub name: StepName,
    /// What it does.
    pub action: StepAction,
    /// Runs even after an earlier failure with `--fail-fast` (clean-up).
    pub always: bool,
}

/// The pipeline, in order.
pub fn steps() -> Vec<Step> {
    let root = paths::repo_root();
    let cargo = |args: &[&str]| StepAction::Command(Cmd::cargo(args.iter().copied()).dir(&root));
    let step = |name, action| Step {
        name,
        action,
        always: false,
    };
    vec![
        step(StepName::Bootstrap, StepAction::Bootstrap),
        step(StepName::Fmt, cargo(&["fmt", "--all", "--", "--check"])),
        step(
            StepName::Clippy,
            cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
        ),
        step(
            StepName::Workflows,
            StepAction::Delivery(Delivery::Workflows),
        ),
        step(StepName::Charts, StepAction::Delivery(Delivery::Charts)),
        step(
            StepName::Test,
            cargo(&["test", "--workspace", "--exclude", "harness"]),
        ),
        step(
            StepName::Harness,
            cargo(&[
                "test",
                "-p",
                "harness",
                "--lib",
                "--bins",
                "--test",
                "backing_mysql",
                "--test",
                "backing_redis",
                "--test",
                "backing_mongo",
                "--test",
                "dashboards",
            ]),
        ),
        step(
            StepName::Functional,
            cargo(&["test", "-p", "harness", "--test", "functional"]),
        ),
        step(
            StepName::Robustness,
            cargo(&["test", "-p", "harness", "--test", "robustness"]),
        ),
        step(StepName::Fuzz, StepAction::Delivery(Delivery::Fuzz)),
        step(StepName::Images, StepAction::Delivery(Delivery::Images)),
        step(StepName::Cluster, StepAction::Delivery(Delivery::Cluster)),
        Step {
            name: StepName::Sweep,
            action: StepAction::SweepStale,
            always: true,
        },
    ]
}

/// The in-process parts of the pipeline (real ones call the harness; tests fake them).
pub trait InProcess {
    /// Runs `bootstrap`.
    async fn bootstrap(&self, runner: &dyn Runner) -> Result<()>;
    /// Sweeps stale containers and prunes superseded test binaries from the target directory;
    /// returns a note such as "removed 2 stale container(s); pruned 3 …".
    async fn sweep_stale(&self, runner: &dyn Runner) -> Result<String>;
    /// Runs a delivery check; returns a note for the summary.
    async fn delivery(&self, runner: &dyn Runner, check: Delivery) -> Result<String>;
    /// A note for the summary after the command step `step` ran (none by default).
    fn note_after(&self, step: StepName) -> String {
        let _ = step;
        String::new()
    }
}

/// The real in-process actions.
pub struct Harness;

impl InProcess for Harness {
    async fn bootstrap(&self, runner: &dyn Runner) -> Result<()> {
        crate::bootstrap::bootstrap(runner, false).await
    }

    async fn sweep_stale(&self, runner: &dyn Runner) -> Result<String> {
        let containers = crate::stores::sweep_stale().await?;
        let target = crate::paths::cargo_target_dir(runner)?;
        let pruned = crate::prune::prune_stale_binaries(&target, crate::prune::MIN_AGE)
            .with_context(|| format!("pruning {}", target.display()))?;
        Ok(format!("{containers}; {}", pruned.note()))
    }

    async fn delivery(&self, runner: &dyn Runner, check: Delivery) -> Result<String> {
        match check {
            Delivery::Workflows => {
                crate::tools::actionlint::lint_workflows(runner)?;
                Ok("actionlint: no findings".into())
            }
            Delivery::Charts => {
                let reports = crate::deploy::validate_all(runner)?;
                let notes: Vec<String> = reports
                    .iter()
                    .map(|report| {
                        format!(
                            "{}: {} manifests valid",
                            report.env.name(),
                            report.manifests
                        )
                    })
                    .collect();
                Ok(notes.join("; "))
            }
            Delivery::Fuzz => crate::fuzz::run(runner, &crate::fuzz::ci_options())
                .await
                .map(|reports| crate::fuzz::report::note(&reports)),
            Delivery::Images => crate::images::ci_amd64(runner).await,
            Delivery::Cluster => crate::cluster::suite::ci_round(runner).await,
        }
    }

    fn note_after(&self, step: StepName) -> String {
        match step {
            StepName::Robustness => {
                crate::cluster::suite::matrix_note(&crate::paths::repo_root(), "docker")
            }
            _ => String::new(),
        }
    }
}

/// How to run the pipeline.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Steps not to run.
    pub skip: BTreeSet<StepName>,
    /// When not empty, the only steps to run (besides the clean-up steps marked `always`).
    pub only: BTreeSet<StepName>,
    /// Stop after the first failure (steps marked `always` still run).
    pub fail_fast: bool,
}

impl Options {
    /// Why `step` is not run at all, if it is not (`--skip`, or not named by `--only`).
    pub fn left_out(&self, step: &Step) -> Option<&'static str> {
        if self.skip.contains(&step.name) {
            Some("--skip")
        } else if !self.only.is_empty() && !self.only.contains(&step.name) && !step.always {
            Some("not in --only")
        } else {
            None
        }
    }
}

/// Runs `steps` and returns what happened to each.
pub async fn run_steps(
    steps: &[Step],
    options: &Options,
    runner: &dyn Runner,
    in_process: &impl InProcess,
) -> Summary {
    let mut summary = Summary::default();
    let mut failed = false;
    let total = steps.len();
    for (index, step) in steps.iter().enumerate() {
        let name = step.name.as_str();
        if let Some(reason) = options.left_out(step) {
            summary.push(name, Status::Skipped, Default::default(), reason);
            continue;
        }
        if failed && options.fail_fast && !step.always {
            summary.push(name, Status::Skipped, Default::default(), "--fail-fast");
            continue;
        }
        eprintln!("\n=== ci [{}/{total}] {name}", index + 1);
        let started = Instant::now();
        let outcome = match &step.action {
            StepAction::Command(cmd) => runner.run(cmd).map(|()| in_process.note_after(step.name)),
            StepAction::Bootstrap => in_process.bootstrap(runner).await.map(|()| String::new()),
            StepAction::SweepStale => in_process.sweep_stale(runner).await,
            StepAction::Delivery(check) => in_process.delivery(runner, *check).await,
        };
        let took = started.elapsed();
        match outcome {
            Ok(note) => summary.push(name, Status::Ok, took, note),
            Err(error) => {
                eprintln!("=== ci: {name} failed: {error:#}");
                failed = true;
                summary.push(name, Status::Failed, took, format!("{error:#}"));
            }
        }
    }
    summary
}

/// `cargo xtask ci`. Prints the summary; errors if a step failed.
pub async fn ci(runner: &dyn Runner, options: &Options, dry_run: bool) -> Result<()> {
    let steps = steps();
    if dry_run {
        println!("ci would run, in order:");
        for step in &steps {
            let what = match &step.action {
                StepAction::Command(cmd) => cmd.line(),
                StepAction::Bootstrap => "cargo xtask bootstrap (in-process)".into(),
                StepAction::SweepStale => "backing::docker::sweep_stale()".into(),
                StepAction::Delivery(check) => check.describe().into(),
            };
            let skipped = if options.left_out(step).is_some() {
                "  (skipped)"
            } else {
                ""
            };
            println!("  {:<10}  {what}{skipped}", step.name.as_str());
        }
        return Ok(());
    }
    let summary = run_steps(&steps, options, runner, &Harness).await;
    println!("\nci summary\n{summary}");
    if summary.success() {
        Ok(())
    } else {
        let failed: Vec<&str> = summary
            .rows
            .iter()
            .filter(|row| row.status == Status::Failed)
            .map(|row| row.step.as_str())
            .collect();
        anyhow::bail!("ci failed: {}", failed.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::recording::{Kind, RecordingRunner};
    use std::sync::Mutex;

    #[test]
    fn only_runs_the_named_steps_and_the_clean_up() {
        let options = Options {
            only: [StepName::Fmt, StepName::Clippy].into_iter().collect(),
            ..Options::default()
        };
        let run: Vec<&str> = steps()
            .iter()
            .filter(|step| options.left_out(step).is_none())
            .map(|step| step.name.as_str())
            .collect();
        assert_eq!(run, ["fmt", "clippy", "sweep"]);
        let skip_wins = Options {
            skip: [StepName::Fmt].into_iter().collect(),
            ..options
        };
        assert_eq!(
            skip_wins.left_out(&steps()[1]),
            Some("--skip"),
            "fmt is step 2"
        );
    }

    #[test]
    fn ci_runs_exactly_these_commands_in_order() {
        let lines: Vec<(String, String)> = steps()
            .iter()
            .map(|step| {
                let what = match &step.action {
                    StepAction::Command(cmd) => cmd.line(),
                    StepAction::Bootstrap => "<bootstrap>".into(),
                    StepAction::SweepStale => "<sweep_stale>".into(),
                    StepAction::Delivery(check) => format!("<{check:?}>"),
                };
                (step.name.as_str().to_string(), what)
            })
            .collect();
        let expected = [
            ("bootstrap", "<bootstrap>"),
            ("fmt", "cargo fmt --all -- --check"),
            (
                "clippy",
                "cargo clippy --workspace --all-targets -- -D warnings",
            ),
            ("workflows", "<Workflows>"),
            ("charts", "<Charts>"),
            ("test", "cargo test --workspace --exclude harness"),
            (
                "harness",
                "cargo test -p harness --lib --bins --test backing_mysql --test backing_redis \
                 --test backing_mongo --test dashboards",
            ),
            ("functional", "cargo test -p harness --test functional"),
            ("robustness", "cargo test -p harness --test robustness"),
            ("fuzz", "<Fuzz>"),
            ("images", "<Images>"),
            ("cluster", "<Cluster>"),
            ("sweep", "<sweep_stale>"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(lines, expected);
    }

    #[test]
    fn cargo_steps_run_in_the_repo_root_and_leave_the_target_dir_alone() {
        for step in steps() {
            if let StepAction::Command(cmd) = step.action {
                assert_eq!(cmd.dir.as_deref(), Some(paths::repo_root().as_path()));
                assert!(cmd.env.iter().all(|var| var.key != "CARGO_TARGET_DIR"));
            }
        }
    }

    #[derive(Default)]
    struct FakeHarness {
        calls: Mutex<Vec<&'static str>>,
        bootstrap_fails: bool,
    }

    impl InProcess for FakeHarness {
        async fn bootstrap(&self, _runner: &dyn Runner) -> Result<()> {
            self.calls.lock().unwrap().push("bootstrap");
            if self.bootstrap_fails {
                anyhow::bail!("no engine")
            }
            Ok(())
        }
        async fn sweep_stale(&self, _runner: &dyn Runner) -> Result<String> {
            self.calls.lock().unwrap().push("sweep");
            Ok("removed 0".into())
        }
        async fn delivery(&self, _runner: &dyn Runner, check: Delivery) -> Result<String> {
            self.calls.lock().unwrap().push(match check {
                Delivery::Workflows => "workflows",
                Delivery::Charts => "charts",
                Delivery::Fuzz => "fuzz",
                Delivery::Images => "images",
                Delivery::Cluster => "cluster",
            });
            Ok(String::new())
        }
    }

    fn statuses(summary: &Summary) -> Vec<(String, Status)> {
        summary
            .rows
            .iter()
            .map(|row| (row.step.clone(), row.status))
            .collect()
    }

    #[tokio::test]
    async fn all_steps_pass() {
        let runner = RecordingRunner::new();
        let harness = FakeHarness::default();
        let summary = run_steps(&steps(), &Options::default(), &runner, &harness).await;
        assert!(summary.success());
        assert_eq!(runner.lines(Kind::Run).len(), 6);
        assert_eq!(
            *harness.calls.lock().unwrap(),
            [
                "bootstrap",
                "workflows",
                "charts",
                "fuzz",
                "images",
                "cluster",
                "sweep"
            ]
        );
        assert_eq!(summary.rows.last().unwrap().note, "removed 0");
    }

    #[tokio::test]
    async fn a_failed_step_does_not_stop_the_later_ones() {
        let runner =
            RecordingRunner::new().failing("cargo clippy --workspace --all-targets -- -D warnings");
        let harness = FakeHarness {
            bootstrap_fails: true,
            ..FakeHarness::default()
        };
        let summary = run_steps(&steps(), &Options::default(), &runner, &harness).await;
        assert!(!summary.success());
        assert_eq!(
            statuses(&summary),
            [
                ("bootstrap".into(), Status::Failed),
                ("fmt".into(), Status::Ok),
                ("clippy".into(), Status::Failed),
                ("workflows".into(), Status::Ok),
                ("charts".into(), Status::Ok),
                ("test".into(), Status::Ok),
                ("harness".into(), Status::Ok),
                ("functional".into(), Status::Ok),
                ("robustness".into(), Status::Ok),
                ("fuzz".into(), Status::Ok),
                ("images".into(), Status::Ok),
                ("cluster".into(), Status::Ok),
                ("sweep".into(), Status::Ok),
            ]
        );
        assert!(summary.rows[0].note.contains("no engine"));
    }

    #[tokio::test]
    async fn fail_fast_skips_the_rest_but_still_sweeps() {
        let runner = RecordingRunner::new().failing("cargo fmt --all -- --check");
        let harness = FakeHarness::default();
        let options = Options {
            fail_fast: true,
            ..Options::default()
        };
        let summary = run_steps(&steps(), &options, &runner, &harness).await;
        assert_eq!(
            statuses(&summary),
            [
                ("bootstrap".into(), Status::Ok),
                ("fmt".into(), Status::Failed),
                ("clippy".into(), Status::Skipped),
                ("workflows".into(), Status::Skipped),
                ("charts".into(), Status::Skipped),
                ("test".into(), Status::Skipped),
                ("harness".into(), Status::Skipped),
                ("functional".into(), Status::Skipped),
                ("robustness".into(), Status::Skipped),
                ("fuzz".into(), Status::Skipped),
                ("images".into(), Status::Skipped),
                ("cluster".into(), Status::Skipped),
                ("sweep".into(), Status::Ok),
            ]
        );
        assert_eq!(runner.lines(Kind::Run), ["cargo fmt --all -- --check"]);
    }

    #[tokio::test]
    async fn skipped_steps_are_not_run() {
        let runner = RecordingRunner::new();
        let harness = FakeHarness::default();
        let options = Options {
            skip: [StepName::Bootstrap, StepName::Functional].into(),
            ..Options::default()
        };
        let summary = run_steps(&steps(), &options, &runner, &harness).await;
        assert!(summary.success());
        assert_eq!(
            *harness.calls.lock().unwrap(),
            ["workflows", "charts", "fuzz", "images", "cluster", "sweep"]
        );
        assert!(!runner
            .lines(Kind::Run)
            .contains(&"cargo test -p harness --test functional".to_string()));
        assert_eq!(summary.rows[0].status, Status::Skipped);
    }
}
