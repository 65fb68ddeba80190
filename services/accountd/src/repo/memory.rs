//! [`InMemoryUserRepo`]: a store in a mutex, for router unit tests only.
//!
//! It mimics what matters of the MySQL store: ids from 1 upwards (never reused), e-mail
//! uniqueness compared like the `utf8mb4_unicode_ci` column (case-insensitive, trailing spaces
//! ignored — approximately), values longer than the columns refused.

use std::{collections::BTreeMap, sync::Mutex};

use futures::future::BoxFuture;

use super::{NewUser, RepoError, UserRepo};
use crate::domain::{user::MAX_CHARS, User};

#[derive(Debug, Default)]
struct Table {
    rows: BTreeMap<i64, NewUser>,
    next_id: i64,
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
        let result = {
            let mut table = self.lock();
            Self::check(&table, None, user).map(|()| {
                table.next_id += 1;
                let id = table.next_id;
                table.rows.insert(id, user.clone());
                id
            })
        };
        Box::pin(async move { result })
    }

    fn update<'a>(&'a self, id: i64, user: &'a NewUser) -> BoxFuture<'a, Result<(), RepoError>> {
        let result = {
            let mut table = self.lock();
            if table.rows.contains_key(&id) {
                Self::check(&table, Some(id), user).map(|()| {
                    table.rows.insert(id, user.clone());
                })
            } else {
                Err(RepoError::NotFound)
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
