//! [`MySqlEventRepo`]: events in the `activity_event` table (`sql/activity/migrations`).
//!
//! Idempotency rests on the table's `UNIQUE (deployment_id, id)` (migration 0002): an insert
//! that hits it (MySQL error 1062, also when a concurrent call won the race) reads the stored
//! row back by that key instead.

use futures::future::BoxFuture;
use sqlx::{mysql::MySqlRow, MySqlPool, Row as _};

use super::{EventRepo, Inserted, RepoError, Seq};
use crate::domain::{DeploymentFilter, NewEvent, StoredEvent};

/// Where the migrations live in the repository (for messages).
pub const MIGRATIONS_DIR: &str = "sql/activity/migrations";

/// activity-server's migrations, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../sql/activity/migrations");

const COLUMNS: &str = "`seq`, `id`, `deployment_id`, `message`, `send_ns`, `receive_ns`";

/// The MySQL event store.
#[derive(Debug, Clone)]
pub struct MySqlEventRepo {
    pool: MySqlPool,
}

impl MySqlEventRepo {
    /// A store over `pool` (migrations already applied).
    pub fn new(pool: MySqlPool) -> Self {
        Self { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    async fn insert_event(&self, event: &NewEvent, receive_ns: i64) -> Result<Inserted, RepoError> {
        let inserted = sqlx::query(
            "INSERT INTO `activity_event` (`id`, `deployment_id`, `message`, `send_ns`, `receive_ns`) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(event.id())
        .bind(event.deployment_id())
        .bind(event.message())
        .bind(event.send_ns())
        .bind(receive_ns)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(Inserted::New(event.received_at(receive_ns))),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                // The key is taken (maybe by a concurrent insert that has committed by now:
                // InnoDB made this one wait for it). Read what is stored under it.
                let row = sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM `activity_event` WHERE `deployment_id` = ? AND `id` = ?"
                ))
                .bind(event.deployment_id())
                .bind(event.id())
                .fetch_optional(&self.pool)
                .await
                .map_err(classify)?;
                match row {
                    Some(row) => Ok(Inserted::Existing(decode(&row)?.1)),
                    None => Err(RepoError::Failed(
                        format!(
                            "{} was reported as a duplicate but cannot be read",
                            event.key()
                        )
                        .into(),
                    )),
                }
            }
            Err(error) => Err(classify(error)),
        }
    }

    async fn read_page(
        &self,
        filter: DeploymentFilter,
        after: Seq,
        up_to: Seq,
        limit: u32,
    ) -> Result<Vec<(Seq, StoredEvent)>, RepoError> {
        let rows = match filter {
            DeploymentFilter::All => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM `activity_event` \
                     WHERE `seq` > ? AND `seq` <= ? ORDER BY `seq` LIMIT ?"
                ))
                .bind(after)
                .bind(up_to)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
            }
            DeploymentFilter::One(deployment) => {
                sqlx::query(&format!(
                    // Without the hint MariaDB resolves this with `ref` access on
                    // `deployment_id` alone and re-reads the deployment from its first row on
                    // every page, which makes a long stream quadratic; the hint makes it a
                    // `range` scan on (deployment_id, seq) that starts at the cursor.
                    "SELECT {COLUMNS} FROM `activity_event` \
                     FORCE INDEX (`activity_event_deployment_seq`) \
                     WHERE `deployment_id` = ? AND `seq` > ? AND `seq` <= ? ORDER BY `seq` LIMIT ?"
                ))
                .bind(deployment)
                .bind(after)
                .bind(up_to)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(classify)?;
        rows.iter().map(decode).collect()
    }
}

fn decode(row: &MySqlRow) -> Result<(Seq, StoredEvent), RepoError> {
    let decoded = (|| {
        Ok::<_, sqlx::Error>((
            row.try_get::<u64, _>("seq")?,
            StoredEvent {
                id: row.try_get("id")?,
                deployment_id: row.try_get("deployment_id")?,
                message: row.try_get("message")?,
                send_ns: row.try_get("send_ns")?,
                receive_ns: row.try_get("receive_ns")?,
            },
        ))
    })();
    decoded.map_err(|error| RepoError::Failed(Box::new(DecodeRow(error))))
}

/// A row that does not decode as an event.
#[derive(Debug, thiserror::Error)]
#[error("decoding an event row: {0}")]
struct DecodeRow(#[source] sqlx::Error);

/// Connection-level failures are transient (`Unavailable`); the rest are not.
fn classify(error: sqlx::Error) -> RepoError {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => RepoError::Unavailable(Box::new(error)),
        other => RepoError::Failed(Box::new(other)),
    }
}

impl EventRepo for MySqlEventRepo {
    fn insert<'a>(
        &'a self,
        event: &'a NewEvent,
        receive_ns: i64,
    ) -> BoxFuture<'a, Result<Inserted, RepoError>> {
        Box::pin(self.insert_event(event, receive_ns))
    }

    fn last_seq(&self) -> BoxFuture<'_, Result<Seq, RepoError>> {
        Box::pin(async move {
            let seq: Option<u64> = sqlx::query_scalar(
                "SELECT `seq` FROM `activity_event` ORDER BY `seq` DESC LIMIT 1",
            )
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)?;
            Ok(seq.unwrap_or(0))
        })
    }

    fn page(
        &self,
        filter: DeploymentFilter,
        after: Seq,
        up_to: Seq,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<(Seq, StoredEvent)>, RepoError>> {
        Box::pin(self.read_page(filter, after, up_to, limit))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), RepoError>> {
        Box::pin(async move { platform::mysql::ping(&self.pool).await.map_err(classify) })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.pool.close())
    }
}
