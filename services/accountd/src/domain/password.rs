//! Password hashing: argon2id with the crate's default (OWASP minimum) parameters, stored as a
//! PHC string. Hashing is deliberately slow and each hash holds about 19 MiB, so it runs on the
//! blocking thread pool behind a [`Hasher`]: at most `concurrent` hashes at once per process,
//! at most `queue` requests waiting, each for at most `wait`; beyond that the answer is
//! [`HashError::Busy`] (a 429 with `Retry-After`), never unbounded memory.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Semaphore;

/// What one argon2id hash with the default parameters allocates (m = 19 MiB).
pub const MEMORY_PER_HASH_MIB: usize = 19;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing slot is taken and the queue is full, or the wait ran out.
    #[error("too many passwords are being hashed; retry later")]
    Busy,
    /// argon2 rejected the input, or the blocking task died.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// The bounds of password hashing in one process.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct HashLimits {
    /// Hashes running at once (> 0); each holds [`MEMORY_PER_HASH_MIB`]. Default: the cores
    /// this process may use, at most 4.
    pub concurrent: usize,
    /// Requests waiting for a slot at most; one more is refused at once.
    pub queue: usize,
    /// How long a request waits for a slot, in milliseconds, before it is refused.
    pub wait_ms: u64,
}

impl Default for HashLimits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            concurrent: cores.clamp(1, 4),
            queue: 64,
            wait_ms: 5_000,
        }
    }
}

/// The process's password hasher; cheap to clone (clones share the bounds).
#[derive(Debug, Clone)]
pub struct Hasher {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    queue: usize,
    wait: Duration,
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new(&HashLimits::default())
    }
}

impl Hasher {
    /// A hasher within `limits`.
    pub fn new(limits: &HashLimits) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limits.concurrent.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            queue: limits.queue,
            wait: Duration::from_millis(limits.wait_ms),
        }
    }

    /// Hashes `password` on the blocking pool once a slot is free; returns the PHC string.
    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => self.queued().await?,
        };
        let hashed = tokio::task::spawn_blocking(move || {
            let hashed = hash_blocking(&password);
            drop(slot);
            hashed
        })
        .await
        .map_err(|join| HashError::Failed(join.to_string()))?;
        hashed
    }

    /// Takes every free slot until the guard is dropped (tests of what a full hasher answers).
    #[cfg(test)]
    pub(crate) fn occupy(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let free = u32::try_from(self.slots.available_permits()).ok()?;
        self.slots.clone().try_acquire_many_owned(free).ok()
    }

    /// Waits in the bounded queue for a slot.
    async fn queued(&self) -> Result<tokio::sync::OwnedSemaphorePermit, HashError> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(HashError::Busy);
        }
        let slot = tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match slot {
            Ok(Ok(slot)) => Ok(slot),
            Ok(Err(closed)) => Err(HashError::Failed(closed.to_string())),
            Err(_) => Err(HashError::Busy),
        }
    }
}

/// Hashes `password` on the current thread (tens of milliseconds).
pub fn hash_blocking(password: &SecretString) -> Result<String, HashError> {
    // 16 random bytes from the OS (uuid v4 uses getrandom), the recommended salt length.
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|error| HashError::Failed(error.to_string()))?;
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| HashError::Failed(error.to_string()))
}

/// Whether `password` matches the PHC string `phc`.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_are_salted() {
        let hasher = Hasher::default();
        let first = hasher
            .hash(SecretString::from("helpmerhonda"))
            .await
            .unwrap();
        let second = hasher
            .hash(SecretString::from("helpmerhonda"))
            .await
            .unwrap();
        assert!(first.starts_with("$argon2id$"), "{first}");
        assert_ne!(first, second);
        assert!(verify("helpmerhonda", &first));
        assert!(!verify("wrong", &first));
        assert!(!verify("helpmerhonda", "not a hash"));
    }

    #[tokio::test]
    async fn beyond_the_slots_and_the_queue_a_hash_is_refused_at_once() {
        let hasher = Hasher::new(&HashLimits {
            concurrent: 1,
            queue: 1,
            wait_ms: 60_000,
        });
        // One hash holds the slot and one waits in the queue: the third is refused.
        let held = hasher.slots.clone().try_acquire_owned().unwrap();
        let queued = {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.hash(SecretString::from("queued")).await })
        };
        while hasher.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let refused = hasher.hash(SecretString::from("third")).await;
        assert!(matches!(refused, Err(HashError::Busy)), "{refused:?}");
        drop(held);
        assert!(queued.await.unwrap().unwrap().starts_with("$argon2id$"));
    }

    #[tokio::test]
    async fn a_wait_beyond_its_limit_is_refused() {
        let hasher = Hasher::new(&HashLimits {
            concurrent: 1,
            queue: 8,
            wait_ms: 20,
        });
        let _held = hasher.slots.clone().try_acquire_owned().unwrap();
        let refused = hasher.hash(SecretString::from("late")).await;
        assert!(matches!(refused, Err(HashError::Busy)), "{refused:?}");
        assert_eq!(hasher.waiting.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn the_default_bound_fits_the_chart_memory_limit() {
        // helm/accountd/values.yaml limits the container to 128Mi; the process itself needs
        // about 20 MiB besides the hashes.
        assert!(HashLimits::default().concurrent * MEMORY_PER_HASH_MIB + 20 <= 128);
    }

    #[test]
    fn seed_test_data_hash_is_the_seed_password() {
        let sql = include_str!("../../../../sql/testdata.sql");
        let phc = sql
            .split('\'')
            .find(|part| part.starts_with("$argon2id$"))
            .unwrap();
        assert!(verify("alksdf98423)*(&#", phc));
    }
}
