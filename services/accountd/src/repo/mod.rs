//! User storage: the [`UserRepo`] trait, its MySQL implementation, an in-memory one for router
//! unit tests, and a decorator that times every call for Prometheus.
//!
//! Single-user writes ([`UserRepo::create`], [`UserRepo::update`]) are one statement each. Bulk
//! requests go through [`UserRepo::apply_batch`]: every write of the request in one
//! transaction, all of it stored or none of it (see its documentation).

mod memory;
mod metered;
mod mysql;

use std::time::Instant;

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
    /// A batch could not be applied before its deadline, or its caller stopped waiting for it:
    /// it was rolled back.
    #[error("the batch was not applied before its deadline; it was rolled back")]
    TimedOut,
}

impl RepoError {
    /// Whether this error concerns one write only (the values it carries): a batch records it
    /// for that write and goes on. Every other error fails the whole batch.
    pub fn is_per_item(&self) -> bool {
        matches!(self, Self::Duplicate | Self::NotFound | Self::Invalid(_))
    }
}

/// One write of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOp {
    /// Store a new user.
    Create(NewUser),
    /// Replace every field of user `id`.
    Update(i64, NewUser),
}

/// What became of one write of a committed batch: the user's id (new for a create), or why
/// this write alone was skipped ([`RepoError::Duplicate`], [`RepoError::NotFound`] or
/// [`RepoError::Invalid`]; see [`RepoError::is_per_item`]).
pub type BatchOutcome = Result<i64, RepoError>;

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

    /// Applies `batch` in order, in one transaction, and returns one outcome per write, in the
    /// same order.
    ///
    /// - A write refused for its own values ([`RepoError::is_per_item`]) is skipped and
    ///   reported; the others of the batch are still applied and committed together.
    /// - Any other failure (connection lost, deadlock, the table gone, …) rolls the whole batch
    ///   back and is returned: nothing of it is stored.
    /// - Every write must be applied and the COMMIT sent before `deadline`; otherwise the batch
    ///   is rolled back and [`RepoError::TimedOut`] returned.
    /// - Dropping the returned future never leaves part of the batch stored: the batch is
    ///   either rolled back (COMMIT not sent yet) or committed whole.
    fn apply_batch(
        &self,
        batch: Vec<BatchOp>,
        deadline: Instant,
    ) -> BoxFuture<'_, Result<Vec<BatchOutcome>, RepoError>>;

    /// Deletes user `id`; returns whether it existed.
    fn delete(&self, id: i64) -> BoxFuture<'_, Result<bool, RepoError>>;

    /// Checks that the store answers (for readiness).
    fn ping(&self) -> BoxFuture<'_, Result<(), RepoError>>;
}
