//! Seeding the activity server's store straight through MySQL: multi-row `INSERT`s into its
//! `activity_event` table (layout from `sql/activity/migrations/0001_activity_events.sql`:
//! `id` unique, `seq` auto-increment = stream order), a few batches in flight at once. Tens of
//! times faster than one CreateEvent per event, so a large stream is quick to set up.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use sqlx::mysql::MySqlPoolOptions;
use sqlx::{MySql, QueryBuilder};

/// Rows per `INSERT` (5 placeholders each, far below MySQL's 65,535).
pub const BATCH_ROWS: usize = 1_000;

/// Batches in flight at once (one connection each).
const PARALLEL_BATCHES: usize = 4;

/// One row of `activity_event`, as CreateEvent would have stored it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Event id (unique in the table).
    pub id: i32,
    /// Deployment id.
    pub deployment_id: i32,
    /// Event text.
    pub message: String,
    /// Client send time, Unix ns.
    pub send_ns: i64,
    /// Server receive time, Unix ns.
    pub receive_ns: i64,
}

/// How the seeding went.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Inserted {
    /// Rows inserted.
    pub rows: u64,
    /// Statements run.
    pub statements: u64,
    /// Wall-clock time.
    pub took: Duration,
}

/// The statement inserting `rows` (bound, not spliced).
pub fn statement(rows: &[Row]) -> QueryBuilder<'_, MySql> {
    let mut builder = QueryBuilder::new(
        "INSERT INTO `activity_event` (`id`, `deployment_id`, `message`, `send_ns`, `receive_ns`) ",
    );
    builder.push_values(rows, |mut values, row| {
        values
            .push_bind(row.id)
            .push_bind(row.deployment_id)
            .push_bind(row.message.as_str())
            .push_bind(row.send_ns)
            .push_bind(row.receive_ns);
    });
    builder
}

/// Inserts `count` rows made by `row(i)` for `i` in `0..count` into the database at `url`, in
/// batches of [`BATCH_ROWS`].
pub async fn insert(
    url: &str,
    count: u64,
    row: impl Fn(u64) -> Result<Row> + Send + Sync,
) -> Result<Inserted> {
    let pool = MySqlPoolOptions::new()
        .max_connections(PARALLEL_BATCHES as u32)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .context("connecting to the activity server's MySQL database (BENCH_MYSQL_URL)")?;
    let started = Instant::now();
    let batch = BATCH_ROWS as u64;
    let batches = count.div_ceil(batch);
    let row = &row;
    let pool_ref = &pool;
    let statements = stream::iter(0..batches)
        .map(|b| async move {
            let rows = (b * batch..count.min((b + 1) * batch))
                .map(row)
                .collect::<Result<Vec<_>>>()?;
            statement(&rows)
                .build()
                .execute(pool_ref)
                .await
                .with_context(|| format!("inserting batch {} of {batches}", b + 1))?;
            Ok::<u64, anyhow::Error>(1)
        })
        .buffer_unordered(PARALLEL_BATCHES)
        .try_fold(0u64, |done, one| async move { Ok(done + one) })
        .await;
    let took = started.elapsed();
    pool.close().await;
    Ok(Inserted {
        rows: count,
        statements: statements?,
        took,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_statement_binds_every_row() {
        let rows: Vec<Row> = (1..=3)
            .map(|id| Row {
                id,
                deployment_id: 2,
                message: format!("m{id}"),
                send_ns: 1,
                receive_ns: 2,
            })
            .collect();
        let builder = statement(&rows);
        assert_eq!(
            builder.sql(),
            "INSERT INTO `activity_event` (`id`, `deployment_id`, `message`, `send_ns`, \
             `receive_ns`) VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)"
        );
    }
}
