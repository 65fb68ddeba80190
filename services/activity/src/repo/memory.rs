//! [`InMemoryEventRepo`]: the store for unit tests of the gRPC service (no MySQL). It keeps
//! the same contract as the MySQL store, and can pretend to be unreachable.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Mutex, MutexGuard,
};

use futures::future::BoxFuture;

use super::{EventRepo, Inserted, RepoError, Seq};
use crate::domain::{DeploymentFilter, NewEvent, StoredEvent};

/// Events in a vector, in insertion order (`seq` = index + 1).
#[derive(Debug, Default)]
pub struct InMemoryEventRepo {
    events: Mutex<Vec<StoredEvent>>,
    unavailable: AtomicBool,
}

impl InMemoryEventRepo {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every call fail with [`RepoError::Unavailable`] (or work again).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// How many events are stored.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no event is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Vec<StoredEvent>> {
        // A panic while holding the lock cannot leave the vector half-written.
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn available(&self) -> Result<(), RepoError> {
        if self.unavailable.load(Ordering::SeqCst) {
            Err(RepoError::Unavailable(
                "the in-memory store is switched off".into(),
            ))
        } else {
            Ok(())
        }
    }
}

fn to_seq(index: usize) -> Seq {
    Seq::try_from(index).unwrap_or(Seq::MAX).saturating_add(1)
}

impl EventRepo for InMemoryEventRepo {
    fn insert<'a>(
        &'a self,
        event: &'a NewEvent,
        receive_ns: i64,
    ) -> BoxFuture<'a, Result<Inserted, RepoError>> {
        Box::pin(async move {
            self.available()?;
            let mut events = self.lock();
            if let Some(stored) = events.iter().find(|stored| stored.key() == event.key()) {
                return Ok(Inserted::Existing(stored.clone()));
            }
            let stored = event.received_at(receive_ns);
            events.push(stored.clone());
            Ok(Inserted::New(stored))
        })
    }

    fn last_seq(&self) -> BoxFuture<'_, Result<Seq, RepoError>> {
        Box::pin(async move {
            self.available()?;
            Ok(Seq::try_from(self.lock().len()).unwrap_or(Seq::MAX))
        })
    }

    fn page(
        &self,
        filter: DeploymentFilter,
        after: Seq,
        up_to: Seq,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<(Seq, StoredEvent)>, RepoError>> {
        Box::pin(async move {
            self.available()?;
            let events = self.lock();
            Ok(events
                .iter()
                .enumerate()
                .map(|(index, event)| (to_seq(index), event))
                .filter(|(seq, event)| {
                    *seq > after
                        && *seq <= up_to
                        && match filter {
                            DeploymentFilter::All => true,
                            DeploymentFilter::One(deployment) => event.deployment_id == deployment,
                        }
                })
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .map(|(seq, event)| (seq, event.clone()))
                .collect())
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), RepoError>> {
        Box::pin(async move { self.available() })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
