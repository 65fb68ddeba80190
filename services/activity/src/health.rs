//! The standard gRPC health service (`grpc.health.v1.Health`) with real statuses.
//!
//! The overall server (`""`) and `activityevents.ActivityEvents` are `SERVING` while the event
//! store answers. A background task pings the store every [`PING_INTERVAL`] and turns both to
//! `NOT_SERVING` while it does not (and back when it does); shutdown turns them to
//! `NOT_SERVING` for good, before in-flight calls drain.

use std::{sync::Arc, time::Duration};

use platform::health::{Readiness, CHECK_TIMEOUT};
use tokio::task::JoinHandle;
use tonic_health::{server::HealthReporter, ServingStatus};

use crate::{proto::SERVICE_NAME, repo::EventRepo};

/// How often the store is pinged.
pub const PING_INTERVAL: Duration = Duration::from_secs(2);

/// The names whose status this server reports: the whole server and the events service.
pub const REPORTED: [&str; 2] = ["", SERVICE_NAME];

/// Sets every [`REPORTED`] name to `status`.
pub async fn set_status(reporter: &HealthReporter, status: ServingStatus) {
    for name in REPORTED {
        reporter.set_service_status(name, status).await;
    }
}

/// Pings `repo` every `interval` and reports `SERVING`/`NOT_SERVING` on changes. Stops by
/// itself once `readiness` is draining (shutdown owns the status from then on); abort it
/// before setting the final status so it cannot overwrite it.
pub fn spawn_pinger(
    reporter: HealthReporter,
    repo: Arc<dyn EventRepo>,
    readiness: Readiness,
    interval: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut serving = true;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate; the store answered at start-up.
        ticker.tick().await;
        loop {
            ticker.tick().await;
            if readiness.is_draining() {
                return;
            }
            let answer = tokio::time::timeout(CHECK_TIMEOUT, repo.ping()).await;
            let reachable = matches!(answer, Ok(Ok(())));
            if readiness.is_draining() {
                return;
            }
            if reachable != serving {
                serving = reachable;
                if reachable {
                    tracing::info!("event store reachable again: health SERVING");
                    set_status(&reporter, ServingStatus::Serving).await;
                } else {
                    let reason = match answer {
                        Ok(Err(error)) => error.to_string(),
                        _ => format!("no answer within {CHECK_TIMEOUT:?}"),
                    };
                    tracing::warn!(%reason, "event store unreachable: health NOT_SERVING");
                    set_status(&reporter, ServingStatus::NotServing).await;
                }
            }
        }
    })
}
