//! activity-client steps: run the client in-process against the scenario's server (also
//! through an outage of it) and check its exit status and what it printed.

use std::time::Duration;

use cucumber::{then, when};

use super::{grpc_url, stop_server};
use crate::steps::world::{activity::ClientRun, MockVideoWorld};

/// The scenario's server's gRPC port.
fn grpc_port(world: &MockVideoWorld) -> String {
    grpc_url(world)
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Runs activity-client in-process against `port` with `arguments` (a command line).
async fn client_run_on(port: String, arguments: &str) -> ClientRun {
    let mut argv = vec!["activity-client".to_owned(), "-port".to_owned(), port];
    argv.extend(split_arguments(arguments));
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let exit_code = activity::client::main_with(argv, &mut stdout, &mut stderr).await;
    ClientRun {
        exit_code,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

#[when(regex = r"^I run the activity client with `(.*)`$")]
async fn run_client(world: &mut MockVideoWorld, arguments: String) {
    let run = client_run_on(grpc_port(world), &arguments).await;
    world.activity.previous_client = world.activity.client.replace(run);
}

#[when(
    regex = r"^the activity server is down for (\d+) s while I run the activity client with `(.*)`$"
)]
async fn run_client_through_outage(
    world: &mut MockVideoWorld,
    seconds: u64,
    arguments: String,
) -> anyhow::Result<()> {
    let port = grpc_port(world);
    stop_server(world).await?;
    // The server comes back on the same port while the client is retrying.
    let mut settings = harness::launch::activity::settings_for(
        world
            .activity
            .db
            .as_ref()
            .expect("a database for activity-server"),
    );
    settings.port = port.parse()?;
    let restart = async {
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        harness::launch::activity::start_with(settings).await
    };
    let (run, restarted) = tokio::join!(client_run_on(port, &arguments), restart);
    let service = restarted?;
    world.base_url = service.admin_url();
    world.services.push(service);
    world.activity.previous_client = world.activity.client.replace(run);
    Ok(())
}

/// Splits a command line on spaces, keeping 'single-quoted' parts whole (as a shell would).
fn split_arguments(line: &str) -> Vec<String> {
    let mut arguments = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for character in line.chars() {
        match character {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    arguments.push(std::mem::take(&mut current));
                }
            }
            other => current.push(other),
        }
    }
    if !current.is_empty() {
        arguments.push(current);
    }
    arguments
}

fn client_run(world: &MockVideoWorld) -> &ClientRun {
    world
        .activity
        .client
        .as_ref()
        .expect("the activity client has not run in this scenario")
}

#[then(expr = "the client exits with status {int}")]
fn client_exit(world: &mut MockVideoWorld, code: i32) {
    let run = client_run(world);
    assert_eq!(run.exit_code, code, "{run:?}");
}

#[then(expr = "the client prints a line starting with {string}")]
fn client_prints(world: &mut MockVideoWorld, prefix: String) {
    let run = client_run(world);
    assert!(
        run.stdout.lines().any(|line| line.starts_with(&prefix)),
        "{prefix:?} in {run:?}"
    );
}

#[then(expr = "the client prints a line containing {string}")]
fn client_prints_containing(world: &mut MockVideoWorld, needle: String) {
    let run = client_run(world);
    assert!(
        run.stdout.lines().any(|line| line.contains(&needle)),
        "{needle:?} in {run:?}"
    );
}

#[then(expr = "the client prints {int} lines starting with {string}")]
fn client_prints_count(world: &mut MockVideoWorld, count: usize, prefix: String) {
    let run = client_run(world);
    let matching = run
        .stdout
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .count();
    assert_eq!(matching, count, "{prefix:?} in {run:?}");
}

#[then(expr = "the client reports an error containing {string}")]
fn client_error(world: &mut MockVideoWorld, needle: String) {
    let run = client_run(world);
    assert!(run.stderr.contains(&needle), "{needle:?} not in {run:?}");
    assert_eq!(
        run.stderr.trim().lines().count(),
        1,
        "a one-line reason: {run:?}"
    );
}

#[then(expr = "the client noted at least {int} retry/retries of its create")]
fn client_retried(world: &mut MockVideoWorld, at_least: usize) {
    let run = client_run(world);
    let notes = run
        .stderr
        .lines()
        .filter(|line| line.starts_with("CreateEvent failed ("))
        .count();
    assert!(notes >= at_least, "{notes} retries noted: {run:?}");
}

#[then(expr = "the client's last error line contains {string}")]
fn client_last_error(world: &mut MockVideoWorld, needle: String) {
    let run = client_run(world);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains(&needle),
        "{needle:?} not in {last:?}: {run:?}"
    );
}

#[then("the client prints what it printed on its previous run")]
fn client_prints_the_same(world: &mut MockVideoWorld) {
    let run = client_run(world);
    let previous = world
        .activity
        .previous_client
        .as_ref()
        .expect("two activity-client runs in this scenario");
    assert_eq!(run.stdout, previous.stdout, "{previous:?} then {run:?}");
}

#[then(expr = "every line the client prints is a JSON object with {string}")]
fn client_json(world: &mut MockVideoWorld, key: String) {
    let run = client_run(world);
    assert!(!run.stdout.trim().is_empty(), "no output: {run:?}");
    for line in run.stdout.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|error| panic!("{line:?}: {error}"));
        assert!(value.get(&key).is_some(), "{key:?} not in {line}");
    }
}
