//! [`Stop`]: a cloneable "please stop" flag that background loops can both poll and await.

use std::future::Future;

use tokio::sync::watch;

/// Sender side of a [`Stop`]: [`StopHandle::stop`] tells every clone to stop.
#[derive(Debug, Clone)]
pub struct StopHandle {
    tx: std::sync::Arc<watch::Sender<bool>>,
}

/// Receiver side: loops check [`Stop::is_stopped`] or `select!` on [`Stop::stopped`].
#[derive(Debug, Clone)]
pub struct Stop {
    rx: watch::Receiver<bool>,
}

/// A new, not yet stopped pair.
pub fn channel() -> (StopHandle, Stop) {
    let (tx, rx) = watch::channel(false);
    (
        StopHandle {
            tx: std::sync::Arc::new(tx),
        },
        Stop { rx },
    )
}

impl StopHandle {
    /// Tells every [`Stop`] to stop (idempotent).
    pub fn stop(&self) {
        self.tx.send_replace(true);
    }

    /// A new receiver.
    pub fn subscribe(&self) -> Stop {
        Stop {
            rx: self.tx.subscribe(),
        }
    }
}

impl Stop {
    /// A flag stopped when `future` resolves (spawned on the current runtime).
    pub fn from_future(future: impl Future<Output = ()> + Send + 'static) -> (StopHandle, Stop) {
        let (handle, stop) = channel();
        let trigger = handle.clone();
        tokio::spawn(async move {
            future.await;
            trigger.stop();
        });
        (handle, stop)
    }

    /// Whether stopping was requested.
    pub fn is_stopped(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once stopping is requested (at once if it already was, or if every handle is
    /// gone).
    pub async fn stopped(&mut self) {
        let _ = self.rx.wait_for(|stopped| *stopped).await;
    }

    /// Sleeps for `duration`, or less when stopping is requested; returns whether it stopped.
    pub async fn sleep(&mut self, duration: std::time::Duration) -> bool {
        tokio::select! {
            () = self.stopped() => true,
            () = tokio::time::sleep(duration) => self.is_stopped(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn stop_wakes_sleepers_and_sticks() {
        let (handle, mut stop) = channel();
        assert!(!stop.is_stopped());
        let mut sleeper = stop.clone();
        let task = tokio::spawn(async move { sleeper.sleep(Duration::from_secs(60)).await });
        handle.stop();
        assert!(tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .is_ok_and(|joined| joined.is_ok_and(|stopped| stopped)));
        stop.stopped().await;
        assert!(stop.is_stopped());
    }
}
