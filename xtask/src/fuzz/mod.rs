//! `cargo xtask fuzz`: Schemathesis against each service's own OpenAPI document.
//!
//! It starts its own stack ([`stack`]: the components of `cargo xtask up` on free ports, with
//! their own secret and tokens), then runs Schemathesis ([`crate::tools::schemathesis`],
//! installed on first use) against `<url>/openapi.json` of each chosen service, one after the
//! other, with every phase (examples, coverage, fuzzing, stateful) and every check, the service's
//! bearer token sent where its document asks for it (through the environment, never on a
//! command line), and a fresh `Idempotency-Key` per request (`xtask/fuzz/hooks.py`). Each run is
//! bounded by `--examples` per operation and phase, and interrupted (a failure) past
//! `--max-time`. The reports land in `target/fuzz/<service>.{json,xml}` (JUnit); [`report`]
//! reads them back into one table: operations, examples, failures by check, and below it the
//! `curl` that reproduces each failure. The stack is stopped whatever happened; the command
//! fails when any service has a failure or an error.

pub mod report;
pub mod stack;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use crate::cmd::Cmd;
use crate::paths;
use crate::runner::Runner;
use crate::up::{self, Stack};
use report::ServiceReport;
pub use stack::Target;

/// The variable carrying the bearer token to Schemathesis (its config reads `${…}`).
const TOKEN_ENV: &str = "MOCKVIDEO_FUZZ_TOKEN";

/// Long help for `cargo xtask fuzz`.
pub const LONG_ABOUT: &str = "Fuzz every HTTP service from its OpenAPI document with \
Schemathesis (installed on first use from PyPI into the tools cache). Starts its own stack the \
way `up` does (MySQL, Redis, MongoDB, the services' debug builds on free ports, a fresh JWT \
secret; logs in target/fuzz/logs/), then runs, per service: the examples, coverage, fuzzing and \
stateful phases with every check (not_a_server_error, status code, content type, headers and \
response schema conformance, negative data rejection, positive data acceptance, missing \
required header, unsupported method, ignored auth, use after free, resource availability, …), \
sending the service's bearer token and a fresh Idempotency-Key per request. Bounded by --examples per operation and phase; a service \
still running after --max-time seconds is interrupted and fails. Writes target/fuzz/<service>.json (Schemathesis's run report) and \
target/fuzz/<service>.xml (JUnit), prints operations, examples and failures by check per \
service, and the curl reproducing each failure. Exits non-zero on any failure.

Examples:
  cargo xtask fuzz                              all six services
  cargo xtask fuzz --service movies --examples 200
  cargo xtask fuzz --service accountd --seed 7  another seed (the default is fixed)";

/// How `fuzz` runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The services to fuzz (all when empty).
    pub services: Vec<Target>,
    /// Examples per operation and phase (Schemathesis's `--max-examples`).
    pub examples: u32,
    /// Time bound per service: a run still going then is interrupted and fails.
    pub max_time: Duration,
    /// The random seed: fixed by default, so a failure reproduces.
    pub seed: u64,
}

/// The budget `cargo xtask ci` fuzzes with (its `fuzz` step): every service, 100 examples per
/// operation and phase (about 8,000 requests in 2 minutes here), each service bounded to 5
/// minutes.
pub fn ci_options() -> Options {
    Options {
        services: Vec::new(),
        examples: 100,
        max_time: Duration::from_secs(300),
        seed: 1,
    }
}

/// The directory of the reports, logs and secret: `target/fuzz`.
pub fn dir() -> PathBuf {
    paths::repo_target().join("fuzz")
}

/// `cargo xtask fuzz`: starts the stack, fuzzes each service, stops the stack, prints the table.
pub async fn run(runner: &dyn Runner, options: &Options) -> Result<Vec<ServiceReport>> {
    let mut signals = up::Signals::listen()?;
    let targets = if options.services.is_empty() {
        Target::ALL.to_vec()
    } else {
        options.services.clone()
    };
    let dir = dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let schemathesis = crate::tools::schemathesis::ensure(runner)?;
    up::setup::prepare(runner, false).await?;

    let mut stack = Stack::new(paths::cargo_target_dir(runner)?);
    let mut components = stack::components(&targets, &dir);
    let started = up::start_all("fuzz", &mut components, &mut stack, runner, &mut signals).await;
    let outcome =
        started.and_then(|()| fuzz_all(runner, &schemathesis, &stack, &targets, options, &dir));
    let cleaned = up::stop_all(&mut components, runner).await;
    eprintln!("fuzz: stopped the stack ({})", cleaned.join("; "));
    let reports = outcome?;

    println!("\nfuzz: Schemathesis {}, seed {}, up to {} examples per operation and phase, {} s per service; reports in {}\n",
        crate::tools::schemathesis::VERSION,
        options.seed,
        options.examples,
        options.max_time.as_secs(),
        dir.display());
    print!("{}", report::table(&reports));
    let failed: Vec<&ServiceReport> = reports.iter().filter(|report| !report.passed()).collect();
    for report in &failed {
        if !report.reproductions.is_empty() {
            println!("\n{}: reproduce with", report.service);
            for curl in &report.reproductions {
                println!("  {curl}");
            }
        }
    }
    if !failed.is_empty() {
        let names: Vec<&str> = failed
            .iter()
            .map(|report| report.service.as_str())
            .collect();
        bail!(
            "fuzz: {} failed (details above, logs in {}/logs)",
            names.join(", "),
            dir.display()
        );
    }
    Ok(reports)
}

/// Runs Schemathesis against each target in turn.
fn fuzz_all(
    runner: &dyn Runner,
    schemathesis: &Path,
    stack: &Stack,
    targets: &[Target],
    options: &Options,
    dir: &Path,
) -> Result<Vec<ServiceReport>> {
    let mut reports = Vec::new();
    for &target in targets {
        let config = dir.join(format!("{}.toml", target.name()));
        std::fs::write(&config, config_file(&hooks_file(), target))
            .with_context(|| format!("writing {}", config.display()))?;
        let url = stack.endpoint(&target.url_key())?;
        let token = stack.endpoint(target.token_key())?;
        let (json, junit) = report_paths(dir, target);
        for stale in [&json, &junit] {
            let _ = std::fs::remove_file(stale);
        }
        let started = Instant::now();
        eprintln!("fuzz: {} ({url})", target.name());
        // Schemathesis exits non-zero when it finds something; the report says what.
        // Run in `dir`, where Schemathesis keeps its cache (`.schemathesis/`).
        let _ = runner.run_visible(
            &command(schemathesis, &config, url, options, &json, &junit)
                .env_secret(TOKEN_ENV, token)
                .dir(dir),
        );
        let report = report::read(target.name(), &json, &junit)?;
        eprintln!(
            "fuzz: {}: {} examples, {} failures in {:.0} s",
            target.name(),
            report.examples,
            report.failure_count(),
            started.elapsed().as_secs_f64()
        );
        reports.push(report);
    }
    Ok(reports)
}

/// Where a target's JSON run report and JUnit report go.
fn report_paths(dir: &Path, target: Target) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{}.json", target.name())),
        dir.join(format!("{}.xml", target.name())),
    )
}

/// The hooks Schemathesis loads: a fresh `Idempotency-Key` per request, as a real client sends
/// (see the file).
pub fn hooks_file() -> PathBuf {
    paths::repo_root()
        .join("xtask")
        .join("fuzz")
        .join("hooks.py")
}

/// Schemathesis's configuration for `target`: the hooks, the bearer token from [`TOKEN_ENV`]
/// on the operations that need it (as the document's `bearer` scheme says, so the auth checks
/// can leave it out), 413 among the refusals of invalid data (a body over a documented bound is
/// refused as too large), and the target's [`oracle`] notes.
fn config_file(hooks: &Path, target: Target) -> String {
    format!(
        "hooks = \"{}\"\n\n[auth.openapi.bearer]\nbearer = \"${{{TOKEN_ENV}}}\"\n\n\
         [checks.negative_data_rejection]\n\
         expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]\n{}",
        hooks.display(),
        oracle(target)
    )
}

/// What Schemathesis cannot read from a document and must be told, per service; each entry
/// says why. Nothing here hides a failure: these are answers the contract prescribes. (An
/// entry's filters are alternatives, so each names its operations by one `METHOD /path` regex.)
fn oracle(target: Target) -> &'static str {
    match target {
        Target::Accountd => {
            r#"
# A write's body must match its Bulk-Request header (one user without it, {"users":[...]} with
# it; the original's contract, kept), which OpenAPI cannot express: a generated pair that does
# not match is a valid-looking request the service rightly refuses with 400.
[[operations]]
include-name-regex = "^(POST|PUT) /users"
checks.positive_data_acceptance.expected-statuses = ["2XX", 400, 401, 404, 409, 429]

# DELETE /users deletes nothing: the contract's answer is 400 (Malformed URL), always.
[[operations]]
include-name-regex = "^DELETE /users/?$"
checks.positive_data_acceptance.expected-statuses = [400, 401, 429]

# The contract answers /accountdhealth on any method, also those OpenAPI 3.1 cannot list (QUERY).
[[operations]]
include-path = "/accountdhealth"
phases.coverage.unexpected-methods = []
"#
        }
        _ => "",
    }
}

/// The Schemathesis command for one service.
fn command(
    schemathesis: &Path,
    config: &Path,
    url: &str,
    options: &Options,
    json: &Path,
    junit: &Path,
) -> Cmd {
    // Schemathesis's own --max-time makes fuzzing repeat until the time is spent; the budget
    // here is a bound, so `timeout` interrupts a run that outgrows it (its report then says
    // the run did not complete, which fails it).
    Cmd::new("timeout")
        .args(["--signal=INT", "--kill-after=30"])
        .arg(options.max_time.as_secs().max(1).to_string())
        .arg(schemathesis.display().to_string())
        .arg("--config-file")
        .arg(config.display().to_string())
        .args(["--no-color", "run"])
        .arg(format!("{url}/openapi.json"))
        .args([
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--workers",
            "1",
            "--max-examples",
        ])
        .arg(options.examples.to_string())
        .arg("--seed")
        .arg(options.seed.to_string())
        .args(["--report", "json,junit", "--report-json-path"])
        .arg(json.display().to_string())
        .arg("--report-junit-path")
        .arg(junit.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_runs_every_phase_and_check_within_the_budget() {
        let options = Options {
            services: Vec::new(),
            examples: 50,
            max_time: Duration::from_secs(120),
            seed: 1,
        };
        let cmd = command(
            Path::new("/t/st"),
            Path::new("/f/st.toml"),
            "http://127.0.0.1:1",
            &options,
            Path::new("/f/movies.json"),
            Path::new("/f/movies.xml"),
        );
        assert_eq!(
            cmd.to_string(),
            "timeout --signal=INT --kill-after=30 120 /t/st --config-file /f/st.toml --no-color \
             run http://127.0.0.1:1/openapi.json \
             --checks all --phases examples,coverage,fuzzing,stateful --workers 1 \
             --max-examples 50 --seed 1 --report json,junit \
             --report-json-path /f/movies.json --report-junit-path /f/movies.xml"
        );
    }

    #[test]
    fn the_token_reaches_schemathesis_through_the_environment_only() {
        assert_eq!(
            config_file(Path::new("/r/hooks.py"), Target::Movies),
            "hooks = \"/r/hooks.py\"\n\n[auth.openapi.bearer]\n\
             bearer = \"${MOCKVIDEO_FUZZ_TOKEN}\"\n\n[checks.negative_data_rejection]\n\
             expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]\n"
        );
        assert!(config_file(Path::new("/r/hooks.py"), Target::Accountd).contains("[[operations]]"));
        assert!(hooks_file().is_file());
    }
}
