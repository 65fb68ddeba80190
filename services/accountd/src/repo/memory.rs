//! [`InMemoryUserRepo`]: a store in a mutex, for router unit tests only.
//!
//! It mimics what matters of the MySQL store: ids from 1 upwards (never reused), e-mail
//! uniqueness compared like the `utf8mb4_unicode_ci` column (case-insensitive, trailing spaces
//! ignored — approximately), values longer than the columns refused, and batches applied in
//! order, all or nothing (a write refused for its own values skipped alone), like the MySQL
//! transaction. [`InMemoryUserRepo::fail_next_batch_at`] simulates a store failure in the
//! middle of a batch.

use std::{collections::BTreeMap, sync::Mutex, time::Instant};

use futures::future::BoxFuture;

use super::{BatchOp, BatchOutcome, NewUser, RepoError, UserRepo};
use crate::domain::{user::MAX_CHARS, User};

#[derive(Debug, Default, Clone)]
struct Table {
    rows: BTreeMap<i64, NewUser>,
    next_id: i64,
    /// The write at which the next batch fails, if a test asked for it.
    fail_batch_at: Option<usize>,
}

impl Table {
    fn insert(&mut self, user: &NewUser) -> Result<i64, RepoError> {
        InMemoryUserRepo::check(self, None, user)?;
        self.next_id += 1;
        let id = self.next_id;
        self.rows.insert(id, user.clone());
        Ok(id)
    }

    fn replace(&mut self, id: i64, user: &NewUser) -> Result<(), RepoError> {
        if !self.rows.contains_key(&id) {
            return Err(RepoError::NotFound);
        }
        InMemoryUserRepo::check(self, Some(id), user)?;
        self.rows.insert(id, user.clone());
        Ok(())
    }

    /// Applies `batch` to a copy of the table and returns the copy, or the batch's failure.
    fn with_batch(
        &self,
        batch: &[BatchOp],
        fail_at: Option<usize>,
    ) -> Result<(Table, Vec<BatchOutcome>), RepoError> {
        let mut draft = self.clone();
        let mut outcomes = Vec::with_capacity(batch.len());
        for (index, op) in batch.iter().enumerate() {
            if fail_at == Some(index) {
                return Err(RepoError::Unavailable(sqlx::Error::Io(
                    std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "simulated store failure (fail_next_batch_at)",
                    ),
                )));
            }
            let outcome = match op {
                BatchOp::Create(user) => draft.insert(user),
                BatchOp::Update(id, user) => draft.replace(*id, user).map(|()| *id),
            };
            outcomes.push(outcome);
        }
        Ok((draft, outcomes))
    }
}

/// An in-memory user store.
#[derive(Debug, Default)]
pub struct InMemoryUserRepo {
    table: Mutex<Table>,
}

/// The seed's five test users (contracts §1.7), with their argon2 hashes.
const SEED_USERS: &[(i64, &str, &str, i64)] = &[
    (1, "mickey dolenz", "mickeyd@gmail.com", 1),
    (1, "peter tork", "petertd@gmail.com", 3),
    (1, "davy jones", "djonesI@gmail.com", 3),
    (1, "michael nesmith", "joanne@gmail.com", 2),
    (2, "mama cass", "mama@gmail.com", 1),
];

fn email_key(email: &str) -> String {
    email.trim_end_matches(' ').to_lowercase()
}

fn to_user(id: i64, row: &NewUser) -> User {
    User {
        accountid: row.account_id,
        href: User::href_for(id),
        id,
        name: row.name.clone(),
        email: row.email.clone(),
        role: row.role,
    }
}

impl InMemoryUserRepo {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding the seed's five users with ids 1..5 (the next id is 6).
    pub fn with_seed_users() -> Self {
        let repo = Self::new();
        {
            let mut table = repo.lock();
            for (account_id, name, email, role) in SEED_USERS {
                table.next_id += 1;
                let id = table.next_id;
                table.rows.insert(
                    id,
                    NewUser {
                        account_id: *account_id,
                        name: (*name).to_owned(),
                        email: (*email).to_owned(),
                        role: *role,
                        password_hash: "$argon2id$seed".to_owned(),
                    },
                );
            }
        }
        repo
    }

    /// The stored password hash of user `id` (tests check that it is not the plaintext).
    pub fn password_hash(&self, id: i64) -> Option<String> {
        self.lock()
            .rows
            .get(&id)
            .map(|row| row.password_hash.clone())
    }

    /// Makes the next batch fail, as a lost connection would, when it reaches its write
    /// `index` (0-based): nothing of that batch is stored (router tests of the 503).
    pub fn fail_next_batch_at(&self, index: usize) {
        self.lock().fail_batch_at = Some(index);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding the lock cannot leave a half-written row; keep going.
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn check(table: &Table, id: Option<i64>, user: &NewUser) -> Result<(), RepoError> {
        for (column, value) in [
            ("name", &user.name),
            ("email", &user.email),
            ("password", &user.password_hash),
        ] {
            if value.chars().count() > MAX_CHARS {
                return Err(RepoError::Invalid(format!(
                    "Data too long for column '{column}'"
                )));
            }
        }
        let key = email_key(&user.email);
        let taken = table
            .rows
            .iter()
            .any(|(other, row)| Some(*other) != id && email_key(&row.email) == key);
        if taken {
            return Err(RepoError::Duplicate);
        }
        Ok(())
    }
}

impl UserRepo for InMemoryUserRepo {
    fn list(&self) -> BoxFuture<'_, Result<Vec<User>, RepoError>> {
        let users = self
            .lock()
            .rows
            .iter()
            .map(|(id, row)| to_user(*id, row))
            .collect();
        Box::pin(async move { Ok(users) })
    }

    fn get(&self, id: i64) -> BoxFuture<'_, Result<Option<User>, RepoError>> {
        let user = self.lock().rows.get(&id).map(|row| to_user(id, row));
        Box::pin(async move { Ok(user) })
    }

    fn create<'a>(&'a self, user: &'a NewUser) -> BoxFuture<'a, Result<i64, RepoError>> {
        let result = self.lock().insert(user);
        Box::pin(async move { result })
    }

    fn update<'a>(&'a self, id: i64, user: &'a NewUser) -> BoxFuture<'a, Result<(), RepoError>> {
        let result = self.lock().replace(id, user);
        Box::pin(async move { result })
    }

    fn apply_batch(
        &self,
        batch: Vec<BatchOp>,
        deadline: Instant,
    ) -> BoxFuture<'_, Result<Vec<BatchOutcome>, RepoError>> {
        // One lock for the whole batch and no await inside: nothing can see or cut it halfway.
        let result = {
            let mut table = self.lock();
            let fail_at = table.fail_batch_at.take();
            match table.with_batch(&batch, fail_at) {
                Ok(_) if Instant::now() >= deadline => Err(RepoError::TimedOut),
                Ok((draft, outcomes)) => {
                    *table = draft;
                    Ok(outcomes)
                }
                Err(error) => Err(error),
            }
        };
        Box::pin(async move { result })
    }

    fn delete(&self, id: i64) -> BoxFuture<'_, Result<bool, RepoError>> {
        let existed = self.lock().rows.remove(&id).is_some();
        Box::pin(async move { Ok(existed) })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), RepoError>> {
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(email: &str) -> NewUser {
        NewUser {
            account_id: 1,
            name: "n".to_owned(),
            email: email.to_owned(),
            role: 1,
            password_hash: "h".to_owned(),
        }
    }

    #[tokio::test]
    async fn ids_are_not_reused_and_emails_are_unique_case_insensitively() {
        let repo = InMemoryUserRepo::with_seed_users();
        let id = repo.create(&user("new@x.com")).await.unwrap();
        assert_eq!(id, 6);
        assert!(matches!(
            repo.create(&user("MICKEYD@gmail.com ")).await,
            Err(RepoError::Duplicate)
        ));
        assert!(repo.delete(6).await.unwrap());
        assert!(!repo.delete(6).await.unwrap());
        assert_eq!(repo.create(&user("new@x.com")).await.unwrap(), 7);
    }

    fn far() -> Instant {
        Instant::now() + std::time::Duration::from_secs(60)
    }

    #[tokio::test]
    async fn a_batch_applies_in_order_and_skips_only_the_refused_writes() {
        let repo = InMemoryUserRepo::with_seed_users();
        let outcomes = repo
            .apply_batch(
                vec![
                    BatchOp::Create(user("a@x.com")),
                    BatchOp::Create(user("MICKEYD@gmail.com")),
                    // Frees mickey's address for the next write: order matters.
                    BatchOp::Update(1, user("mickey@new.com")),
                    BatchOp::Create(user("mickeyd@gmail.com")),
                    BatchOp::Update(99, user("ghost@x.com")),
                    BatchOp::Create(user("a@x.com")),
                ],
                far(),
            )
            .await
            .unwrap();
        assert!(matches!(
            outcomes.as_slice(),
            [
                Ok(6),
                Err(RepoError::Duplicate),
                Ok(1),
                Ok(7),
                Err(RepoError::NotFound),
                Err(RepoError::Duplicate)
            ]
        ));
        assert_eq!(repo.list().await.unwrap().len(), 7);
    }

    #[tokio::test]
    async fn a_failed_or_late_batch_stores_nothing() {
        let repo = InMemoryUserRepo::with_seed_users();
        repo.fail_next_batch_at(1);
        let batch = vec![
            BatchOp::Create(user("a@x.com")),
            BatchOp::Create(user("b@x.com")),
        ];
        assert!(matches!(
            repo.apply_batch(batch.clone(), far()).await,
            Err(RepoError::Unavailable(_))
        ));
        assert!(matches!(
            repo.apply_batch(batch.clone(), Instant::now()).await,
            Err(RepoError::TimedOut)
        ));
        assert_eq!(repo.list().await.unwrap().len(), 5);
        // The failure is used up; the next batch goes through.
        let outcomes = repo.apply_batch(batch, far()).await.unwrap();
        assert!(matches!(outcomes.as_slice(), [Ok(6), Ok(7)]));
    }

    #[tokio::test]
    async fn update_keeps_own_email_and_refuses_unknown_ids() {
        let repo = InMemoryUserRepo::with_seed_users();
        repo.update(1, &user("mickeyd@gmail.com")).await.unwrap();
        assert!(matches!(
            repo.update(2, &user("mickeyd@gmail.com")).await,
            Err(RepoError::Duplicate)
        ));
        assert!(matches!(
            repo.update(99, &user("z@z")).await,
            Err(RepoError::NotFound)
        ));
    }
}
