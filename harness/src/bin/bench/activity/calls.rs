//! The gRPC side of `bench activity`: a few shared connections, unique event ids for the whole
//! run, and CreateEvent in a closed loop through `harness::load`.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use activity::proto::activity_events_client::ActivityEventsClient;
use activity::proto::{EventRequest, Timestamp};
use anyhow::{ensure, Context, Result};
use harness::load::{self, LoadReport, LoadSpec};
use tonic::transport::Channel;

/// Unique event ids for the whole run (the server keeps one event per id).
#[derive(Debug)]
pub(super) struct Ids(AtomicI32);

impl Ids {
    /// Ids `first`, `first + 1`, …
    pub(super) fn starting_at(first: i32) -> Self {
        Self(AtomicI32::new(first))
    }

    pub(super) fn next(&self) -> Result<i32> {
        let id = self.0.fetch_add(1, Ordering::Relaxed);
        ensure!(
            id > 0 && id < i32::MAX,
            "ran out of unique int32 event ids (start lower with --first-id)"
        );
        Ok(id)
    }
}

/// Round-robin over a few connections.
#[derive(Clone)]
pub(super) struct Clients {
    clients: Arc<Vec<ActivityEventsClient<Channel>>>,
    turn: Arc<AtomicI32>,
}

impl Clients {
    pub(super) async fn connect(addr: &str, connections: u32) -> Result<Self> {
        let url = format!("http://{addr}");
        let mut clients = Vec::new();
        for _ in 0..connections {
            let client = tokio::time::timeout(
                Duration::from_secs(10),
                ActivityEventsClient::connect(url.clone()),
            )
            .await
            .with_context(|| format!("connecting to {url}: timed out"))?
            .with_context(|| format!("connecting to {url}"))?;
            clients.push(client);
        }
        Ok(Self {
            clients: Arc::new(clients),
            turn: Arc::default(),
        })
    }

    pub(super) fn pick(&self) -> ActivityEventsClient<Channel> {
        let turn = self.turn.fetch_add(1, Ordering::Relaxed).unsigned_abs() as usize;
        self.clients[turn % self.clients.len()].clone()
    }
}

/// Now, in Unix nanoseconds (the protocol's `Timestamp.send`).
pub(super) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// The text of bench event `id`.
pub(super) fn message(id: i32, deployment: i32) -> String {
    format!("bench event {id} for deployment {deployment}")
}

/// One event with a fresh id for `deployment`.
fn event(id: i32, deployment: i32) -> EventRequest {
    EventRequest {
        id,
        message: message(id, deployment),
        timestamp: Some(Timestamp {
            send: now_ns(),
            receive: 0,
        }),
        deployment_id: deployment,
    }
}

/// CreateEvent with fresh ids for `deployment`, in a closed loop as `spec` says.
pub(super) async fn create_events(
    clients: &Clients,
    ids: &Arc<Ids>,
    deployment: i32,
    spec: LoadSpec,
) -> Result<LoadReport> {
    let clients = clients.clone();
    let ids = Arc::clone(ids);
    let report = load::run(spec, move || {
        let mut client = clients.pick();
        let id = ids.next();
        async move {
            let id = id?;
            let response = client
                .create_event(event(id, deployment))
                .await
                .map_err(|status| anyhow::anyhow!("{:?}: {}", status.code(), status.message()))?
                .into_inner();
            ensure!(
                response.success && response.id == id,
                "CreateEvent {id} answered {response:?}"
            );
            Ok(())
        }
    })
    .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_positive() {
        let ids = Ids::starting_at(1);
        assert_eq!(ids.next().unwrap(), 1);
        assert_eq!(ids.next().unwrap(), 2);
        assert_eq!(Ids::starting_at(1_000).next().unwrap(), 1_000);
        let exhausted = Ids::starting_at(i32::MAX - 1);
        assert_eq!(exhausted.next().unwrap(), i32::MAX - 1);
        assert!(exhausted.next().is_err());
        // The counter wraps past i32::MAX; negative ids are refused too.
        assert!(exhausted.next().is_err());
    }

    #[test]
    fn events_carry_a_send_time_and_their_deployment() {
        let event = event(7, 2);
        assert_eq!((event.id, event.deployment_id), (7, 2));
        let send = event.timestamp.unwrap().send;
        assert!(send > 1_600_000_000_000_000_000, "{send}");
        assert!(event.message.contains('7'));
    }
}
