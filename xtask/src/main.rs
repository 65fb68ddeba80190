//! `cargo xtask`: the project's tasks in Rust (bootstrap, doctor, ci, up, bench, and delivery:
//! images, tag, push, deploy, rollback, status; openapi, fuzz).
//!
//! Run `cargo xtask --help` for the stages and examples. Every external command goes through the
//! [`runner::Runner`] seam, which echoes it before running it and lets unit tests assert the exact
//! command lines a stage would run.

mod bench;
mod bootstrap;
mod child;
mod ci;
mod cli;
mod cluster;
mod cmd;
mod deploy;
mod deployables;
mod doctor;
mod fuzz;
mod images;
mod openapi;
mod paths;
mod probe;
mod progress;
mod prune;
mod release;
mod runner;
mod service;
mod stores;
mod summary;
mod tools;
mod up;
mod version;

use std::collections::BTreeSet;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use runner::SystemRunner;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let runner = SystemRunner {
        verbose: cli.verbose,
    };
    let outcome = match &cli.command {
        Command::Bootstrap(args) => {
            let done = bootstrap::bootstrap(&runner, args.dry_run).await;
            match (done, args.registry) {
                (Ok(()), true) => tools::registry::ensure_local_registry(&runner).map(|url| {
                    eprintln!("bootstrap: image registry at {url}");
                }),
                (done, _) => done,
            }
        }
        Command::Doctor => doctor::doctor(&runner),
        Command::Ci(args) => {
            let options = ci::Options {
                skip: args.skip.iter().copied().collect::<BTreeSet<_>>(),
                only: args.only.iter().copied().collect::<BTreeSet<_>>(),
                fail_fast: args.fail_fast,
            };
            ci::ci(&runner, &options, args.dry_run).await
        }
        Command::Up(args) => up::up(&runner, &args.options()).await,
        Command::Images(args) => images::run(&runner, args).await,
        Command::Tag(args) => release::tag::run(&runner, args).await,
        Command::Push(args) => release::push::run(&runner, args).await,
        Command::Deploy(args) => deploy::deploy(&runner, args).await,
        Command::Rollback(args) => deploy::rollback(&runner, args).await,
        Command::Status(args) => deploy::status(&runner, args).await,
        Command::Cluster(args) => cluster::run(&runner, args).await,
        Command::Smoke(args) => cluster::suite::smoke(&runner, args).await,
        Command::Chaos(args) => cluster::suite::chaos(&runner, args).await,
        Command::Bench(target) => bench::run(&runner, target).await,
        Command::Openapi => openapi::run(&runner),
        Command::Fuzz(args) => fuzz::run(&runner, &args.options()).await.map(|_| ()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
