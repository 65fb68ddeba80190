//! `bench activity`: the activity server over gRPC.
//!
//! 1. **CreateEvent** at a fixed concurrency for a fixed time (after a warm-up), every event with a
//!    unique id, through `harness::load`: requests, req/s, p50, p99, errors.
//! 2. **Seed** `--stream-events` events into one deployment of their own: by default with
//!    multi-row `INSERT`s straight into the server's table ([`crate::bulk_insert`], needs
//!    `BENCH_MYSQL_URL`), or with `--seed grpc` through CreateEvent at `--seed-concurrency`.
//! 3. **ListEvents**: one stream for that deployment, drained to the end: events, time to the
//!    first event, total time, events/s — while the server's `VmRSS` is read from
//!    `/proc/<pid>/status` every 20 ms. Its peak (`VmHWM`) is read before the stream, reset, and
//!    read again after it, so the table shows the peak before and during the stream.
//!
//! [`args`] holds the command line, [`calls`] the gRPC side (connections, unique ids,
//! CreateEvent in a closed loop), [`seed`] the seeding and [`stream`] the ListEvents drain with
//! the memory samples and its table.

mod args;
mod calls;
mod seed;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use harness::load::{format_latency, LoadSpec};

pub use args::ActivityArgs;
use calls::{create_events, Clients, Ids};
use seed::{seed, Seeded};
use stream::{drain_measured, stream_table};

use crate::{load_row, table, LOAD_HEADER};

/// Runs the three phases and prints the tables.
pub async fn run(args: &ActivityArgs) -> Result<()> {
    let spec = args.load.spec();
    let clients = Clients::connect(&args.addr, args.connections).await?;
    let ids = Arc::new(Ids::starting_at(args.first_id));

    // Fail early and clearly if the target is wrong.
    create_events(
        &clients,
        &ids,
        args.load_deployment,
        LoadSpec {
            max_requests: Some(1),
            ..LoadSpec::new(1, Duration::from_secs(10))
        },
    )
    .await
    .and_then(|probe| match probe.first_error {
        Some(error) => bail!(
            "CreateEvent before the run failed: {error} (if the database already holds events, \
             pass a --first-id above their ids)"
        ),
        None => Ok(()),
    })?;

    eprintln!(
        "bench: CreateEvent on {}: {} workers, {} s warm-up + {} s measured …",
        args.addr, spec.concurrency, args.load.warmup, args.load.duration
    );
    let create = create_events(&clients, &ids, args.load_deployment, spec).await?;
    eprintln!("bench: CreateEvent {create}");

    let seeded = seed(args, &clients, &ids).await?;
    eprintln!(
        "bench: seeded {} events ({}) in {}",
        seeded.events(),
        seeded.how(),
        format_latency(seeded.took())
    );

    eprintln!(
        "bench: ListEvents for deployment {} …",
        args.stream_deployment
    );
    let (stream, memory) = drain_measured(
        &clients,
        args.stream_deployment,
        seeded.events(),
        args.server_pid,
    )
    .await?;
    eprintln!(
        "bench: stream {} events in {:.2} s",
        stream.events,
        stream.total.as_secs_f64()
    );

    let mut load_rows = vec![load_row(
        &format!("CreateEvent (c={})", args.load.concurrency),
        &create,
    )];
    if let Seeded::Grpc(report) = &seeded {
        load_rows.push(load_row(
            &format!("seed CreateEvent (c={})", args.seed_concurrency),
            report,
        ));
    }
    println!();
    print!("{}", table::render(&LOAD_HEADER, &load_rows));
    println!();
    print!(
        "{}",
        stream_table(args.stream_deployment, &seeded, &stream, memory.as_ref())
    );

    let seed_errors = match &seeded {
        Seeded::Grpc(report) => report.errors,
        Seeded::Sql(_) => 0,
    };
    if create.errors > 0 || seed_errors > 0 {
        bail!("some CreateEvent calls failed (see the errors column)");
    }
    if stream.events != seeded.events() {
        bail!(
            "ListEvents streamed {} events but {} were seeded",
            stream.events,
            seeded.events()
        );
    }
    Ok(())
}
