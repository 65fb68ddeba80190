//! The robustness Gherkin suite: every feature under `features/robustness`, faults injected into
//! real backing services and our own processes (Redis stopped, paused, restarted; consumers
//! SIGKILLed). Terminal output plus JUnit XML at `target/cucumber/robustness.xml` (repo root).
//!
//! Run: `cargo test -p harness --test robustness` (cucumber options after `--`).

#[path = "../src/steps/mod.rs"]
mod steps;

#[path = "support/runner.rs"]
mod runner;

fn main() -> std::process::ExitCode {
    runner::run_suite("robustness")
}
