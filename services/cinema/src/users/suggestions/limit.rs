//! [`ComputeLimit`]: how many suggestion requests one process computes at once. Each one fans
//! out to three services and holds their lists while it ranks, so they are bounded like every
//! other expensive request: at most `concurrent` run, at most `queue` wait for a slot, each for
//! at most `queue_wait`; beyond that the answer is 429 with `Retry-After`, never unbounded
//! memory or a pile of upstream calls.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use tokio::sync::{Semaphore, SemaphorePermit};

/// No slot within the bounds: every slot is taken and the queue is full, or the wait ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many suggestion requests are being computed")]
pub struct Busy;

/// The per-process bound on suggestion computations.
#[derive(Debug)]
pub struct ComputeLimit {
    slots: Semaphore,
    waiting: AtomicUsize,
    queue: usize,
    queue_wait: Duration,
}

/// Leaves the queue when dropped (granted, refused or abandoned by a client that went away).
struct InQueue<'a>(&'a AtomicUsize);

impl Drop for InQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl ComputeLimit {
    /// At most `concurrent` (at least 1) at once, `queue` waiting, each for `queue_wait`.
    pub fn new(concurrent: usize, queue: usize, queue_wait: Duration) -> Self {
        Self {
            slots: Semaphore::new(concurrent.max(1)),
            waiting: AtomicUsize::new(0),
            queue,
            queue_wait,
        }
    }

    /// A slot, held until the permit is dropped; [`Busy`] at once when every slot is taken and
    /// the queue is full, or after `queue_wait` in the queue.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, Busy> {
        if let Ok(permit) = self.slots.try_acquire() {
            return Ok(permit);
        }
        self.waiting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |waiting| {
                (waiting < self.queue).then_some(waiting + 1)
            })
            .map_err(|_| Busy)?;
        let _in_queue = InQueue(&self.waiting);
        match tokio::time::timeout(self.queue_wait, self.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            // Timed out, or the semaphore was closed (it never is).
            _ => Err(Busy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_slots_and_the_queue_is_busy_at_once() {
        let limit = ComputeLimit::new(1, 0, Duration::from_secs(60));
        let held = limit.acquire().await.unwrap();
        let started = tokio::time::Instant::now();
        assert_eq!(limit.acquire().await.unwrap_err(), Busy);
        assert!(started.elapsed() < Duration::from_secs(1));
        drop(held);
        assert!(limit.acquire().await.is_ok());
    }

    #[tokio::test]
    async fn a_queued_request_gets_a_freed_slot_or_gives_up_after_the_wait() {
        let limit = ComputeLimit::new(1, 1, Duration::from_millis(200));
        let held = limit.acquire().await.unwrap();
        // The queue has room for one: it waits, and gives up after the wait.
        assert_eq!(limit.acquire().await.unwrap_err(), Busy);
        assert_eq!(limit.waiting.load(Ordering::SeqCst), 0);
        // A slot freed while it waits is granted.
        let (queued, ()) = tokio::join!(limit.acquire(), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(held);
        });
        let granted = queued.unwrap();
        // While one runs and one waits, a third is refused at once.
        let (waiter, third) = tokio::join!(limit.acquire(), async {
            tokio::task::yield_now().await;
            limit.acquire().await
        });
        assert_eq!(third.unwrap_err(), Busy);
        assert_eq!(waiter.unwrap_err(), Busy);
        drop(granted);
    }
}
