//! The shared main of every cucumber suite: runs `features/<suite>`, tees the output into JUnit
//! XML, tears every scenario down, and stops the suite's backing services whatever the outcome.

use std::{path::PathBuf, process::ExitCode};

use cucumber::{event, writer, World as _, WriterExt as _};

use crate::steps::world::MockVideoWorld;

/// The repository root of the checkout the suite runs from (the harness crate lives one level
/// below it).
fn repo_root() -> PathBuf {
    harness::backing::workspace::manifest_dir(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the suite named `suite` and returns the process exit code.
pub fn run_suite(suite: &str) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(suite))
}

async fn run(suite: &str) -> ExitCode {
    let features = repo_root().join("features").join(suite);
    let junit_dir = repo_root().join("target").join("cucumber");
    if let Err(error) = std::fs::create_dir_all(&junit_dir) {
        eprintln!("cannot create {}: {error}", junit_dir.display());
        return ExitCode::FAILURE;
    }
    let junit_path = junit_dir.join(format!("{suite}.xml"));
    let junit_file = match std::fs::File::create(&junit_path) {
        Ok(file) => file,
        Err(error) => {
            eprintln!("cannot create {}: {error}", junit_path.display());
            return ExitCode::FAILURE;
        }
    };

    let outcome = MockVideoWorld::cucumber()
        .max_concurrent_scenarios(concurrency(suite))
        .after(|_feature, _rule, _scenario, finished, world| {
            let failed = !matches!(
                finished,
                event::ScenarioFinished::StepPassed | event::ScenarioFinished::StepSkipped
            );
            Box::pin(async move {
                if let Some(world) = world {
                    world.teardown(failed).await;
                }
            })
        })
        .with_writer(
            writer::Basic::stdout()
                .summarized()
                .tee::<MockVideoWorld, _>(writer::JUnit::for_tee(junit_file, 0))
                .normalized(),
        )
        .fail_on_skipped()
        .run(features)
        .await;

    harness::suite::shutdown().await;
    println!("JUnit report: {}", junit_path.display());

    use cucumber::writer::Stats as _;
    if outcome.execution_has_failed() || outcome.skipped_steps() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Scenarios run at once: each starts its own service on its own database, so the default of
/// 64 would swamp a 2-core machine. Robustness scenarios start containers and push thousands of
/// events each, so fewer of them share the machine (the heaviest are also tagged `@serial`).
/// Cluster scenarios share one deployment and break it on purpose: one at a time.
/// `MOCKVIDEO_SCENARIO_CONCURRENCY` overrides it.
fn concurrency(suite: &str) -> Option<usize> {
    let configured = std::env::var("MOCKVIDEO_SCENARIO_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok());
    let default = match suite {
        "cluster" => 1,
        "robustness" => 2,
        _ => 8,
    };
    Some(configured.unwrap_or(default))
}
