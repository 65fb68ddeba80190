//! [`MySqlUserRepo`]: users in the `user` table (see `sql/migrations`).

use futures::future::BoxFuture;
use sqlx::{mysql::MySqlDatabaseError, MySqlPool, Row};

use super::{NewUser, RepoError, UserRepo};
use crate::domain::User;

/// MySQL error numbers that mean "the client sent values the column cannot hold".
const DUPLICATE_KEY: u16 = 1062;
const CLIENT_VALUE_ERRORS: &[u16] = &[
    1048, // column cannot be null
    1264, // out of range value
    1366, // incorrect string value
    1406, // data too long
];

const SELECT_USERS: &str = "SELECT `accountID`, `id`, `name`, `email`, `role` FROM `user`";

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
            let result = sqlx::query(
                "INSERT INTO `user` (`accountID`, `name`, `email`, `role`, `password`) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(user.account_id)
            .bind(&user.name)
            .bind(&user.email)
            .bind(user.role)
            .bind(&user.password_hash)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
            i64::try_from(result.last_insert_id())
                .map_err(|_| RepoError::Invalid("the new id does not fit in 64 bits".to_owned()))
        })
    }

    fn update<'a>(&'a self, id: i64, user: &'a NewUser) -> BoxFuture<'a, Result<(), RepoError>> {
        Box::pin(async move {
            let result = sqlx::query(
                "UPDATE `user` SET `accountID` = ?, `name` = ?, `email` = ?, `role` = ?, \
                 `password` = ? WHERE `id` = ?",
            )
            .bind(user.account_id)
            .bind(&user.name)
            .bind(&user.email)
            .bind(user.role)
            .bind(&user.password_hash)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
            if result.rows_affected() > 0 {
                return Ok(());
            }
            // sqlx connects with CLIENT_FOUND_ROWS, so 0 means "no such row"; check anyway in
            // case a server counts only changed rows.
            let exists = sqlx::query("SELECT 1 FROM `user` WHERE `id` = ?")
                .bind(id)
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
