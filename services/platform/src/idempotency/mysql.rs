//! [`MySqlStore`]: keys in the service's own MySQL database, table `idempotency_key`, which the
//! service's migrations create (accountd: `sql/migrations/0002_idempotency_key.sql`).
//!
//! A key is claimed with `INSERT IGNORE`; a key that exists is read `FOR UPDATE` in the same
//! transaction, so two requests with one key never both run. Times are the database's
//! (`NOW(3)`), so every replica agrees on leases and expiry. Expired keys are deleted a hundred
//! at a time, on one claim in 64.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use futures::future::BoxFuture;
use sqlx::{MySqlPool, Row as _};

use super::{Answer, Begun, Fingerprint, Key, Lease, Policy, Store, StoreError};

/// Claims between two purges of expired keys.
const PURGE_EVERY: u64 = 64;

/// Keys in MySQL.
#[derive(Debug)]
pub struct MySqlStore {
    pool: MySqlPool,
    claims: AtomicU64,
}

impl MySqlStore {
    /// Keys in the database of `pool` (its migrations created the table).
    pub fn new(pool: MySqlPool) -> MySqlStore {
        MySqlStore {
            pool,
            claims: AtomicU64::new(0),
        }
    }

    async fn claim(
        &self,
        key: &Key,
        fingerprint: Fingerprint,
        policy: &Policy,
    ) -> Result<Begun, sqlx::Error> {
        if self
            .claims
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PURGE_EVERY)
        {
            sqlx::query("DELETE FROM `idempotency_key` WHERE `expires_at` < NOW(3) LIMIT 100")
                .execute(&self.pool)
                .await?;
        }
        let lease = Lease::new(key.clone());
        let lease_micros = micros(policy.lease);
        let ttl_micros = micros(policy.ttl);
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT IGNORE INTO `idempotency_key` \
             (`idem_key`, `fingerprint`, `token`, `lease_until`, `expires_at`) \
             VALUES (?, ?, ?, NOW(3) + INTERVAL ? MICROSECOND, NOW(3) + INTERVAL ? MICROSECOND)",
        )
        .bind(key.as_str())
        .bind(&fingerprint.0[..])
        .bind(lease.token)
        .bind(lease_micros)
        .bind(ttl_micros)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 1 {
            tx.commit().await?;
            return Ok(Begun::Fresh(lease));
        }
        let row = sqlx::query(
            "SELECT `fingerprint`, `status`, `headers`, `body`, \
             `expires_at` < NOW(3) AS `expired`, `lease_until` < NOW(3) AS `abandoned` \
             FROM `idempotency_key` WHERE `idem_key` = ? FOR UPDATE",
        )
        .bind(key.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let stored: Vec<u8> = row.try_get("fingerprint")?;
        let expired: bool = row.try_get("expired")?;
        let abandoned: bool = row.try_get("abandoned")?;
        let status: Option<u16> = row.try_get("status")?;
        let begun = if !expired && stored != fingerprint.0 {
            Begun::Mismatch
        } else if let (false, Some(status)) = (expired, status) {
            let headers: Option<String> = row.try_get("headers")?;
            Begun::Replay(Answer {
                status,
                headers: Answer::headers_from_json(headers.as_deref().unwrap_or("[]")),
                body: row
                    .try_get::<Option<Vec<u8>>, _>("body")?
                    .unwrap_or_default(),
            })
        } else if !expired && !abandoned {
            Begun::InFlight
        } else {
            // Expired, or its holder died: this request takes the key over.
            sqlx::query(
                "UPDATE `idempotency_key` SET `fingerprint` = ?, `token` = ?, `status` = NULL, \
                 `headers` = NULL, `body` = NULL, \
                 `lease_until` = NOW(3) + INTERVAL ? MICROSECOND, \
                 `expires_at` = NOW(3) + INTERVAL ? MICROSECOND \
                 WHERE `idem_key` = ?",
            )
            .bind(&fingerprint.0[..])
            .bind(lease.token)
            .bind(lease_micros)
            .bind(ttl_micros)
            .bind(key.as_str())
            .execute(&mut *tx)
            .await?;
            Begun::Fresh(lease)
        };
        tx.commit().await?;
        Ok(begun)
    }
}

/// A duration in microseconds for `INTERVAL ? MICROSECOND`.
fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

fn store_error(error: sqlx::Error) -> StoreError {
    StoreError(error.to_string())
}

impl Store for MySqlStore {
    fn begin<'a>(
        &'a self,
        key: &'a Key,
        fingerprint: Fingerprint,
        policy: &'a Policy,
    ) -> BoxFuture<'a, Result<Begun, StoreError>> {
        Box::pin(async move {
            self.claim(key, fingerprint, policy)
                .await
                .map_err(store_error)
        })
    }

    fn finish<'a>(
        &'a self,
        lease: &'a Lease,
        answer: &'a Answer,
        _policy: &'a Policy,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query(
                "UPDATE `idempotency_key` SET `status` = ?, `headers` = ?, `body` = ? \
                 WHERE `idem_key` = ? AND `token` = ?",
            )
            .bind(answer.status)
            .bind(answer.headers_json())
            .bind(&answer.body[..])
            .bind(lease.key.as_str())
            .bind(lease.token)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(store_error)
        })
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query(
                "DELETE FROM `idempotency_key` \
                 WHERE `idem_key` = ? AND `token` = ? AND `status` IS NULL",
            )
            .bind(lease.key.as_str())
            .bind(lease.token)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(store_error)
        })
    }
}
