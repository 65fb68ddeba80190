//! The functional Gherkin suite: every feature under `features/functional`, black-box over HTTP
//! against real backing services the harness provisions. Terminal output plus JUnit XML at
//! `target/cucumber/functional.xml` (repo root).
//!
//! Run: `cargo test -p harness --test functional` (cucumber options after `--`, e.g.
//! `-- --tags @accountd` or `-- --name "Bulk"`).

#[path = "../src/steps/mod.rs"]
mod steps;

#[path = "support/runner.rs"]
mod runner;

fn main() -> std::process::ExitCode {
    runner::run_suite("functional")
}
