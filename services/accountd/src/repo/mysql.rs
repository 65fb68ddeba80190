//! [`MySqlUserRepo`]: users in the `user` table (see `sql/migrations`).
//!
//! # Batches: all or nothing, whatever happens to the caller
//!
//! [`UserRepo::apply_batch`] runs its transaction on a task of its own (`tokio::spawn`), which
//! owns the connection, the writes and the decision to COMMIT; the caller only waits for the
//! answer on a channel. So when the caller's future is dropped (the HTTP request timed out, the
//! client went away), nothing is cut halfway:
//!
//! - Before the COMMIT is sent, the task checks that the deadline has not passed and that the
//!   caller still waits (its end of the channel is open); between writes it checks the same. If
//!   not, it sends no COMMIT: the transaction is rolled back. A batch is therefore committed
//!   only while someone is waiting to answer for it.
//! - Once sent, the COMMIT is seen through (bounded by [`COMMIT_LIMIT`]), never abandoned
//!   halfway: it completes and its outcome goes back to the caller. The only window left is a
//!   caller dropped *during* the COMMIT's round trip (a few milliseconds); the task then logs
//!   the committed batch at `error`, as nobody could be told. (As with any database, a COMMIT
//!   whose reply is lost — the connection dropped while it ran — has an unknown outcome; it is
//!   reported as a failure.)
//! - Every other failure (a statement refused for a reason other than its values, the
//!   connection lost, the deadline passed in the middle of a statement) drops the transaction
//!   and closes its connection instead of returning it to the pool, so a connection whose
//!   statement was cut is never reused and the server discards the open transaction (MySQL
//!   rolls back a transaction whose session ends without COMMIT).
//!
//! A write refused for its own values (duplicate e-mail, data too long, no such user) is not a
//! failure of the batch: InnoDB rolls back only that statement, the transaction goes on, and
//! the write is reported alone.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use sqlx::{
    mysql::{MySqlArguments, MySqlDatabaseError, MySqlQueryResult},
    query::Query,
    Connection as _, MySql, MySqlConnection, MySqlPool, Row,
};
use tokio::sync::oneshot;

use super::{BatchOp, BatchOutcome, NewUser, RepoError, UserRepo};
use crate::domain::User;

/// How long a COMMIT, once sent, is waited for. It is not cut by the batch's deadline (a COMMIT
/// abandoned halfway may still take effect); this bound only keeps a server that never answers
/// from holding the task forever.
pub const COMMIT_LIMIT: Duration = Duration::from_secs(30);

/// MySQL error numbers that mean "the client sent values the column cannot hold".
const DUPLICATE_KEY: u16 = 1062;
const CLIENT_VALUE_ERRORS: &[u16] = &[
    1048, // column cannot be null
    1264, // out of range value
    1366, // incorrect string value
    1406, // data too long
];

const SELECT_USERS: &str = "SELECT `accountID`, `id`, `name`, `email`, `role` FROM `user`";

/// The answer a batch's task sends back to the caller.
type BatchAnswer = Result<Vec<BatchOutcome>, RepoError>;

fn insert_user(user: &NewUser) -> Query<'_, MySql, MySqlArguments> {
    sqlx::query(
        "INSERT INTO `user` (`accountID`, `name`, `email`, `role`, `password`) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(user.account_id)
    .bind(&user.name)
    .bind(&user.email)
    .bind(user.role)
    .bind(&user.password_hash)
}

fn update_user(id: i64, user: &NewUser) -> Query<'_, MySql, MySqlArguments> {
    sqlx::query(
        "UPDATE `user` SET `accountID` = ?, `name` = ?, `email` = ?, `role` = ?, \
         `password` = ? WHERE `id` = ?",
    )
    .bind(user.account_id)
    .bind(&user.name)
    .bind(&user.email)
    .bind(user.role)
    .bind(&user.password_hash)
    .bind(id)
}

fn user_exists(id: i64) -> Query<'static, MySql, MySqlArguments> {
    sqlx::query("SELECT 1 FROM `user` WHERE `id` = ?").bind(id)
}

fn new_id(result: &MySqlQueryResult) -> Result<i64, RepoError> {
    i64::try_from(result.last_insert_id())
        .map_err(|_| RepoError::Invalid("the new id does not fit in 64 bits".to_owned()))
}

/// The MySQL user store.
#[derive(Debug, Clone)]
pub struct MySqlUserRepo {
    pool: MySqlPool,
}

impl MySqlUserRepo {
    /// A store on `pool` (whose database has the migrations applied).
    pub fn new(pool: MySqlPool) -> Self {
        Self { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }
}

fn user_from_row(row: &sqlx::mysql::MySqlRow) -> Result<User, sqlx::Error> {
    let id: i64 = row.try_get("id")?;
    Ok(User {
        accountid: row.try_get::<Option<i64>, _>("accountID")?.unwrap_or(0),
        href: User::href_for(id),
        id,
        name: row.try_get("name")?,
        email: row
            .try_get::<Option<String>, _>("email")?
            .unwrap_or_default(),
        role: row.try_get::<Option<i64>, _>("role")?.unwrap_or(0),
    })
}

/// Maps a sqlx error onto the store's error kinds.
pub(crate) fn classify(error: sqlx::Error) -> RepoError {
    if let sqlx::Error::Database(db) = &error {
        if let Some(mysql) = db.try_downcast_ref::<MySqlDatabaseError>() {
            let number = mysql.number();
            if number == DUPLICATE_KEY {
                return RepoError::Duplicate;
            }
            if CLIENT_VALUE_ERRORS.contains(&number) {
                return RepoError::Invalid(mysql.message().to_owned());
            }
        }
        if db.message().contains("Data too long") {
            return RepoError::Invalid(db.message().to_owned());
        }
    }
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            RepoError::Unavailable(error)
        }
        other => RepoError::Other(other),
    }
}

impl UserRepo for MySqlUserRepo {
    fn list(&self) -> BoxFuture<'_, Result<Vec<User>, RepoError>> {
        Box::pin(async move {
            let rows = sqlx::query(&format!("{SELECT_USERS} ORDER BY `id`"))
                .fetch_all(&self.pool)
                .await
                .map_err(classify)?;
            rows.iter()
                .map(user_from_row)
                .collect::<Result<_, _>>()
                .map_err(classify)
        })
    }

    fn get(&self, id: i64) -> BoxFuture<'_, Result<Option<User>, RepoError>> {
        Box::pin(async move {
            let row = sqlx::query(&format!("{SELECT_USERS} WHERE `id` = ?"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(classify)?;
            row.as_ref()
                .map(user_from_row)
                .transpose()
                .map_err(classify)
        })
    }

    fn create<'a>(&'a self, user: &'a NewUser) -> BoxFuture<'a, Result<i64, RepoError>> {
        Box::pin(async move {
            let result = insert_user(user)
                .execute(&self.pool)
                .await
                .map_err(classify)?;
            new_id(&result)
        })
    }

    fn update<'a>(&'a self, id: i64, user: &'a NewUser) -> BoxFuture<'a, Result<(), RepoError>> {
        Box::pin(async move {
            let result = update_user(id, user)
                .execute(&self.pool)
                .await
                .map_err(classify)?;
            if result.rows_affected() > 0 {
                return Ok(());
            }
            // sqlx connects with CLIENT_FOUND_ROWS, so 0 means "no such row"; check anyway in
            // case a server counts only changed rows.
            let exists = user_exists(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(classify)?;
            if exists.is_some() {
                Ok(())
            } else {
                Err(RepoError::NotFound)
            }
        })
    }

    fn apply_batch(
        &self,
        batch: Vec<BatchOp>,
        deadline: Instant,
    ) -> BoxFuture<'_, Result<Vec<BatchOutcome>, RepoError>> {
        let pool = self.pool.clone();
        let (answer, answered) = oneshot::channel::<BatchAnswer>();
        // The task, not the caller's future, owns the transaction: see the module docs.
        tokio::spawn(async move {
            let result = run_batch(&pool, &batch, deadline, &answer).await;
            if let Err(Ok(outcomes)) = answer.send(result) {
                tracing::error!(
                    writes = outcomes.len(),
                    "a batch was committed while its caller stopped waiting (during the COMMIT); \
                     its client was not told"
                );
            }
        });
        Box::pin(async move {
            answered
                .await
                .unwrap_or(Err(RepoError::Other(sqlx::Error::WorkerCrashed)))
        })
    }

    fn delete(&self, id: i64) -> BoxFuture<'_, Result<bool, RepoError>> {
        Box::pin(async move {
            let result = sqlx::query("DELETE FROM `user` WHERE `id` = ?")
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(classify)?;
            Ok(result.rows_affected() > 0)
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), RepoError>> {
        Box::pin(async move {
            sqlx::query("SELECT 1")
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(classify)
        })
    }
}

/// A batch on a connection of its own (see the module docs).
async fn run_batch(
    pool: &MySqlPool,
    batch: &[BatchOp],
    deadline: Instant,
    caller: &oneshot::Sender<BatchAnswer>,
) -> BatchAnswer {
    let deadline = tokio::time::Instant::from_std(deadline);
    let mut connection = tokio::time::timeout_at(deadline, pool.acquire())
        .await
        .map_err(|_| RepoError::TimedOut)?
        .map_err(classify)?;
    let result = in_transaction(&mut connection, batch, deadline, caller).await;
    if result.is_err() {
        // The transaction may have been cut in the middle of a statement: this connection goes
        // to no one else, and closing it makes the server discard the open transaction.
        connection.close_on_drop();
    }
    result
}

/// Whether the batch may go on: its deadline has not passed and its caller still waits.
fn may_go_on(
    deadline: tokio::time::Instant,
    caller: &oneshot::Sender<BatchAnswer>,
) -> Result<(), RepoError> {
    if caller.is_closed() {
        tracing::warn!("batch rolled back: its caller stopped waiting before the COMMIT");
        Err(RepoError::TimedOut)
    } else if tokio::time::Instant::now() >= deadline {
        Err(RepoError::TimedOut)
    } else {
        Ok(())
    }
}

async fn in_transaction(
    connection: &mut MySqlConnection,
    batch: &[BatchOp],
    deadline: tokio::time::Instant,
    caller: &oneshot::Sender<BatchAnswer>,
) -> BatchAnswer {
    let mut transaction = tokio::time::timeout_at(deadline, connection.begin())
        .await
        .map_err(|_| RepoError::TimedOut)?
        .map_err(classify)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for op in batch {
        may_go_on(deadline, caller)?;
        let outcome = tokio::time::timeout_at(deadline, apply_op(&mut transaction, op))
            .await
            .map_err(|_| RepoError::TimedOut)?;
        match outcome {
            Err(error) if !error.is_per_item() => return Err(error),
            outcome => outcomes.push(outcome),
        }
    }
    // The last moment the batch can still be given up cleanly.
    may_go_on(deadline, caller)?;
    match tokio::time::timeout(COMMIT_LIMIT, transaction.commit()).await {
        Ok(committed) => committed.map_err(classify)?,
        Err(_) => {
            tracing::error!(
                limit = ?COMMIT_LIMIT,
                "no answer to a batch's COMMIT: whether it was stored is unknown"
            );
            return Err(RepoError::Unavailable(sqlx::Error::Io(
                std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer to COMMIT"),
            )));
        }
    }
    Ok(outcomes)
}

/// One write of a batch, inside its transaction.
async fn apply_op(connection: &mut MySqlConnection, op: &BatchOp) -> BatchOutcome {
    match op {
        BatchOp::Create(user) => {
            let result = insert_user(user)
                .execute(&mut *connection)
                .await
                .map_err(classify)?;
            new_id(&result)
        }
        BatchOp::Update(id, user) => {
            let result = update_user(*id, user)
                .execute(&mut *connection)
                .await
                .map_err(classify)?;
            if result.rows_affected() > 0 {
                return Ok(*id);
            }
            let exists = user_exists(*id)
                .fetch_optional(&mut *connection)
                .await
                .map_err(classify)?;
            exists.map(|_| *id).ok_or(RepoError::NotFound)
        }
    }
}
