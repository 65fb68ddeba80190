//! Seeding `bench activity`'s stream deployment: bulk `INSERT`s straight into the server's table,
//! or CreateEvent calls through the server.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use harness::load::{LoadReport, LoadSpec};

use super::args::{ActivityArgs, Seed};
use super::calls::{create_events, message, now_ns, Clients, Ids};
use crate::bulk_insert;

/// Longest the seeding may take before the run fails.
const SEED_TIMEOUT: Duration = Duration::from_secs(1800);

/// How the seeding went.
#[derive(Clone, Debug, PartialEq)]
pub enum Seeded {
    /// Through CreateEvent.
    Grpc(LoadReport),
    /// Through bulk INSERTs.
    Sql(bulk_insert::Inserted),
}

impl Seeded {
    /// Events stored (all calls, for CreateEvent: the run fails if any failed).
    pub fn events(&self) -> u64 {
        match self {
            Seeded::Grpc(report) => report.requests,
            Seeded::Sql(inserted) => inserted.rows,
        }
    }

    /// How, in a few words.
    pub fn how(&self) -> String {
        match self {
            Seeded::Grpc(_) => "CreateEvent".to_string(),
            Seeded::Sql(inserted) => format!(
                "{} bulk INSERTs of ≤{} rows",
                inserted.statements,
                bulk_insert::BATCH_ROWS
            ),
        }
    }

    /// How long it took.
    pub fn took(&self) -> Duration {
        match self {
            Seeded::Grpc(report) => report.elapsed,
            Seeded::Sql(inserted) => inserted.took,
        }
    }
}

/// Stores `--stream-events` events for the stream deployment, as `--seed` says.
pub(super) async fn seed(args: &ActivityArgs, clients: &Clients, ids: &Arc<Ids>) -> Result<Seeded> {
    let deployment = args.stream_deployment;
    eprintln!(
        "bench: seeding {} events into deployment {deployment} ({}) …",
        args.stream_events,
        match args.seed {
            Seed::Sql => format!("bulk INSERT, {} rows each", bulk_insert::BATCH_ROWS),
            Seed::Grpc => format!("{} concurrent CreateEvent calls", args.seed_concurrency),
        }
    );
    match args.seed {
        Seed::Grpc => {
            let spec = LoadSpec {
                concurrency: args.seed_concurrency as usize,
                duration: SEED_TIMEOUT,
                max_requests: Some(args.stream_events),
                ..LoadSpec::default()
            };
            let report = create_events(clients, ids, deployment, spec).await?;
            Ok(Seeded::Grpc(report))
        }
        Seed::Sql => {
            let Some(url) = args.mysql_url.as_deref() else {
                bail!("--seed sql needs the server's database in BENCH_MYSQL_URL (or use --seed grpc)");
            };
            let inserted = tokio::time::timeout(
                SEED_TIMEOUT,
                bulk_insert::insert(url, args.stream_events, |_| {
                    let id = ids.next()?;
                    let now = now_ns();
                    Ok(bulk_insert::Row {
                        id,
                        deployment_id: deployment,
                        message: message(id, deployment),
                        send_ns: now,
                        receive_ns: now,
                    })
                }),
            )
            .await
            .context("seeding through MySQL did not finish in time")??;
            Ok(Seeded::Sql(inserted))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_says_how_and_how_long() {
        let grpc = Seeded::Grpc(LoadReport {
            requests: 1000,
            errors: 0,
            elapsed: Duration::from_millis(500),
            rps: 2000.0,
            p50: Duration::ZERO,
            p90: Duration::ZERO,
            p99: Duration::ZERO,
            max: Duration::ZERO,
            first_error: None,
            errors_by_class: Default::default(),
        });
        assert_eq!(grpc.events(), 1000);
        assert_eq!(grpc.how(), "CreateEvent");
        assert_eq!(grpc.took(), Duration::from_millis(500));
    }
}
