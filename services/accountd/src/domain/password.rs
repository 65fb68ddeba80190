//! Password hashing: argon2id with the crate's default (OWASP minimum) parameters, stored as a
//! PHC string. Hashing is deliberately slow and each hash holds about 19 MiB, so it runs on the
//! few threads of a [`Hasher`]: at most `concurrent` hashes at once per process, at most `queue`
//! requests waiting, each for at most `wait`; beyond that the answer is [`HashError::Busy`] (a
//! 429 with `Retry-After`), never unbounded memory.
//!
//! How long a hash may wait is its [`Patience`]: a single create or update waits behind at most
//! one hash per thread, so that its answer comes within about two hashes whatever the load (a
//! third create for a busy thread is refused at once rather than queued); a bulk request's
//! users, hashed a few at a time, may wait in the queue.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    sync::{
        mpsc::{Receiver, SyncSender, TrySendError},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use argon2::{
    password_hash::{self, Output, ParamsString, PasswordHash, PasswordVerifier, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::oneshot;

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

/// How long a hash may wait for a hashing thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// Behind at most one hash per thread (a single create or update).
    OneHash,
    /// In the queue, within `queue` and `wait_ms` (a bulk request's users).
    Queue,
}

/// The process's password hasher; cheap to clone (clones share the bounds and the threads).
///
/// Hashes run on `concurrent` threads of its own that live as long as the hasher, each with one
/// 19 MiB working memory allocated once and reused. Letting argon2 allocate per hash on the
/// shared blocking pool left a block in the malloc arena of every thread that ever hashed: four
/// 100-user bulk requests under a 2-hash bound peaked at 833 MiB that way (358 MiB on two
/// dedicated threads still allocating per hash).
#[derive(Debug, Clone)]
pub struct Hasher {
    jobs: SyncSender<Job>,
    /// Jobs sent and not yet finished (waiting or running).
    outstanding: Arc<AtomicUsize>,
    /// How many threads hash.
    threads: usize,
    /// How many threads hash (what [`Hasher::occupy`] must hold).
    #[cfg(test)]
    workers: usize,
}

/// One request to the hashing threads.
enum Job {
    /// Hash `password`, unless it waited longer than the bound since `queued`.
    Hash {
        password: SecretString,
        queued: Instant,
        reply: oneshot::Sender<Result<String, HashError>>,
    },
    /// Keep one thread busy until `release` is dropped, after saying so on `started` (tests).
    #[cfg(test)]
    Hold {
        started: std::sync::mpsc::Sender<()>,
        release: Receiver<()>,
    },
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new(&HashLimits::default())
    }
}

impl Hasher {
    /// A hasher within `limits`: its threads start now and stop when the last clone is dropped.
    pub fn new(limits: &HashLimits) -> Self {
        let (jobs, queue) = std::sync::mpsc::sync_channel(limits.queue);
        let queue = Arc::new(Mutex::new(queue));
        let wait = Duration::from_millis(limits.wait_ms);
        let workers = limits.concurrent.max(1);
        let outstanding = Arc::new(AtomicUsize::new(0));
        for index in 0..workers {
            let queue = Arc::clone(&queue);
            let outstanding = Arc::clone(&outstanding);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || work(&queue, wait, &outstanding));
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        Self {
            jobs,
            outstanding,
            threads: workers,
            #[cfg(test)]
            workers,
        }
    }

    /// Hashes `password` on one of the hasher's threads; returns the PHC string, or
    /// [`HashError::Busy`] at once when it would wait longer than `patience` allows (every
    /// thread busy and the queue full, or, for [`Patience::OneHash`], one hash already waiting
    /// per thread), or when it waited longer than the bound.
    pub async fn hash(
        &self,
        password: SecretString,
        patience: Patience,
    ) -> Result<String, HashError> {
        let ahead = match patience {
            Patience::OneHash => 2 * self.threads,
            Patience::Queue => usize::MAX,
        };
        let admitted = self
            .outstanding
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < ahead).then_some(n + 1)
            });
        if admitted.is_err() {
            return Err(HashError::Busy);
        }
        let (reply, answer) = oneshot::channel();
        let job = Job::Hash {
            password,
            queued: Instant::now(),
            reply,
        };
        if let Err(refused) = self.jobs.try_send(job) {
            self.outstanding.fetch_sub(1, Ordering::AcqRel);
            return Err(match refused {
                TrySendError::Full(_) => HashError::Busy,
                TrySendError::Disconnected(_) => {
                    HashError::Failed("no hashing thread runs".to_owned())
                }
            });
        }
        answer
            .await
            .map_err(|_| HashError::Failed("the hashing thread stopped".to_owned()))?
    }

    /// Keeps every hashing thread busy until the guard is dropped (tests of what a full hasher
    /// answers; with a queue of 0 every hash is then refused at once).
    #[cfg(test)]
    pub(crate) fn occupy(&self) -> Vec<std::sync::mpsc::Sender<()>> {
        (0..self.workers)
            .map(|_| {
                let (started, running) = std::sync::mpsc::channel();
                let (guard, release) = std::sync::mpsc::channel();
                self.outstanding.fetch_add(1, Ordering::AcqRel);
                self.jobs
                    .send(Job::Hold { started, release })
                    .expect("the hashing threads run");
                running.recv().expect("a hashing thread took the hold");
                guard
            })
            .collect()
    }
}

/// One hashing thread: takes jobs until every [`Hasher`] clone is gone, counting each finished
/// one off `outstanding`. Its working memory is allocated at its first hash and reused for
/// every later one.
fn work(queue: &Mutex<Receiver<Job>>, wait: Duration, outstanding: &AtomicUsize) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            Err(_) => return,
            Ok(Job::Hash {
                password,
                queued,
                reply,
            }) => {
                let result = if queued.elapsed() > wait {
                    Err(HashError::Busy)
                } else {
                    if memory.is_empty() {
                        memory = working_memory();
                    }
                    hash_in(&mut memory, &password)
                };
                outstanding.fetch_sub(1, Ordering::AcqRel);
                let _ = reply.send(result);
            }
            #[cfg(test)]
            Ok(Job::Hold { started, release }) => {
                let _ = started.send(());
                let _ = release.recv();
                outstanding.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

/// argon2id's working memory for one hash with the default parameters (19 MiB).
fn working_memory() -> Vec<Block> {
    vec![Block::default(); Params::DEFAULT_M_COST as usize]
}

/// Hashes `password` in `memory` (argon2id's blocks, reused from one hash to the next).
fn hash_in(memory: &mut [Block], password: &SecretString) -> Result<String, HashError> {
    let failed = |error: password_hash::Error| HashError::Failed(error.to_string());
    let argon2 = Argon2::default();
    // 16 random bytes from the OS (uuid v4 uses getrandom), the recommended salt length.
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes()).map_err(failed)?;
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes).map_err(failed)?;
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        Ok(argon2.hash_password_into_with_memory(
            password.expose_secret().as_bytes(),
            salt_bytes,
            out,
            &mut *memory,
        )?)
    })
    .map_err(failed)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
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
            .hash(SecretString::from("helpmerhonda"), Patience::Queue)
            .await
            .unwrap();
        let second = hasher
            .hash(SecretString::from("helpmerhonda"), Patience::Queue)
            .await
            .unwrap();
        assert!(first.starts_with("$argon2id$"), "{first}");
        assert_ne!(first, second);
        assert!(verify("helpmerhonda", &first));
        assert!(!verify("wrong", &first));
        assert!(!verify("helpmerhonda", "not a hash"));
    }

    #[tokio::test]
    async fn with_every_thread_busy_and_the_queue_full_a_hash_is_refused_at_once() {
        let hasher = Hasher::new(&HashLimits {
            concurrent: 2,
            queue: 0,
            wait_ms: 60_000,
        });
        let held = hasher.occupy();
        let refused = hasher
            .hash(SecretString::from("third"), Patience::Queue)
            .await;
        assert!(matches!(refused, Err(HashError::Busy)), "{refused:?}");
        drop(held);
        // Freed, the threads hash again (a rendezvous queue takes a job once one waits for it).
        let hashed = wait_until_free(&hasher).await;
        assert!(hashed.starts_with("$argon2id$"), "{hashed}");
    }

    /// Hashes once a thread is back waiting for work.
    async fn wait_until_free(hasher: &Hasher) -> String {
        for _ in 0..1000 {
            match hasher
                .hash(SecretString::from("again"), Patience::Queue)
                .await
            {
                Ok(hashed) => return hashed,
                Err(HashError::Busy) => tokio::time::sleep(Duration::from_millis(5)).await,
                Err(other) => panic!("{other:?}"),
            }
        }
        panic!("no hashing thread came back");
    }

    /// Hashes `password` on a task of its own.
    fn spawn_hash(
        hasher: &Hasher,
        password: &'static str,
        patience: Patience,
    ) -> tokio::task::JoinHandle<Result<String, HashError>> {
        let hasher = hasher.clone();
        tokio::spawn(async move { hasher.hash(SecretString::from(password), patience).await })
    }

    #[tokio::test]
    async fn a_hash_that_waited_beyond_the_bound_is_refused() {
        let hasher = Hasher::new(&HashLimits {
            concurrent: 1,
            queue: 8,
            wait_ms: 20,
        });
        let held = hasher.occupy();
        let late = spawn_hash(&hasher, "late", Patience::Queue);
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(held);
        assert!(matches!(late.await.unwrap(), Err(HashError::Busy)));
    }

    #[tokio::test]
    async fn a_single_hash_waits_behind_one_hash_per_thread_at_most() {
        let hasher = Hasher::new(&HashLimits {
            concurrent: 1,
            queue: 8,
            wait_ms: 60_000,
        });
        let held = hasher.occupy();
        // One may wait behind the running hash ...
        let waiting = spawn_hash(&hasher, "second", Patience::OneHash);
        for _ in 0..100 {
            if hasher.outstanding.load(Ordering::Acquire) == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // ... a third is refused at once, while a bulk request's user may still queue.
        let third = hasher
            .hash(SecretString::from("third"), Patience::OneHash)
            .await;
        assert!(matches!(third, Err(HashError::Busy)), "{third:?}");
        let queued = spawn_hash(&hasher, "bulk", Patience::Queue);
        drop(held);
        assert!(waiting.await.unwrap().is_ok());
        assert!(queued.await.unwrap().is_ok());
        assert_eq!(hasher.outstanding.load(Ordering::Acquire), 0);
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
