//! The cluster Gherkin suite: every feature under `features/cluster`, black-box against the
//! system deployed by `cargo xtask deploy --env local` (hostNetwork pods on fixed 127.0.0.1
//! ports, found from the pod templates), plus chaos: pods deleted, containers SIGKILLed, a
//! Deployment scaled to 0 and back, and the services' links to their stores slowed, cut or
//! reset through the release's fault proxy (`@network`), with the recovery times printed. One
//! scenario at a time (the fault proxy is shared). Terminal output plus JUnit XML at
//! `target/cucumber/cluster.xml` (repo root).
//!
//! Run: `cargo test -p harness --test cluster` (all), `-- --tags '@cluster and not @chaos'` for
//! the smoke features only, `-- --tags @chaos` for the chaos ones, `-- --tags @network` for the
//! network faults. Environment:
//! `MOCKVIDEO_KUBECONFIG`, `MOCKVIDEO_KUBE_CONTEXT`, `MOCKVIDEO_NAMESPACE` (see
//! `harness::cluster`).

#[path = "../src/steps/mod.rs"]
mod steps;

#[path = "support/runner.rs"]
mod runner;

fn main() -> std::process::ExitCode {
    runner::run_suite("cluster")
}
