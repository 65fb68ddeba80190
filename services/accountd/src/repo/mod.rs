//! User storage: the [`UserRepo`] trait, its MySQL implementation, an in-memory one for router
//! unit tests, and a decorator that times every call for Prometheus.

mod memory;
mod metered;
mod mysql;

use futures::future::BoxFuture;

pub use memory::InMemoryUserRepo;
pub use metered::Metered;
pub use mysql::MySqlUserRepo;

use crate::domain::User;

/// A user ready to be stored: validated, password already hashed.
///
/// Fields are plain so that storage tests can also hand the store what validation would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The account id.
    pub account_id: i64,
    /// The name.
    pub name: String,
    /// The e-mail address (unique).
    pub email: String,
    /// The role.
    pub role: i64,
    /// The argon2 PHC string.
    pub password_hash: String,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// Another user has this e-mail address (MySQL error 1062).
    #[error("another user has this e-mail address")]
    Duplicate,
    /// No user has this id.
    #[error("no such user")]
    NotFound,
    /// The database refused the values (too long, out of range, …): a client error.
    #[error("the database refused the values: {0}")]
    Invalid(String),
    /// No connection could be had in time: the database is down or overloaded.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database failure.
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
}

/// Where users are kept. Object-safe (boxed futures), so the app holds an `Arc<dyn UserRepo>`.
pub trait UserRepo: Send + Sync + 'static {
    /// Every user, ordered by id.
    fn list(&self) -> BoxFuture<'_, Result<Vec<User>, RepoError>>;

    /// The user with this id, if any.
    fn get(&self, id: i64) -> BoxFuture<'_, Result<Option<User>, RepoError>>;

    /// Stores a new user and returns its id.
    fn create<'a>(&'a self, user: &'a NewUser) -> BoxFuture<'a, Result<i64, RepoError>>;

    /// Replaces every field of user `id`; [`RepoError::NotFound`] if there is none.
    fn update<'a>(&'a self, id: i64, user: &'a NewUser) -> BoxFuture<'a, Result<(), RepoError>>;

    /// Deletes user `id`; returns whether it existed.
    fn delete(&self, id: i64) -> BoxFuture<'_, Result<bool, RepoError>>;

    /// Checks that the store answers (for readiness).
    fn ping(&self) -> BoxFuture<'_, Result<(), RepoError>>;
}
