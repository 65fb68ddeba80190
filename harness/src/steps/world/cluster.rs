//! The cluster part of a scenario: its run label, the recovery times its faults measured, and
//! what it created on the deployed system, deleted in teardown.

use std::{collections::HashMap, time::Duration};

use cinema::Service;
use harness::cluster::Recovery;

/// The cluster part of a scenario.
#[derive(Debug, Default)]
pub struct ClusterState {
    /// This scenario's label: `cluster-` and 10 random hex digits.
    pub(crate) run: String,
    /// Recovery times measured by the scenario's faults, in order.
    pub(crate) recoveries: Vec<Recovery>,
    /// Id and deployment of the activity event the scenario created.
    pub(crate) activity_event: Option<(i32, i32)>,
    /// Ids of the accountd users the scenario created.
    pub(crate) accountd_users: Vec<String>,
}

impl ClusterState {
    /// Deletes what a cluster scenario created and may not have deleted itself (it failed
    /// half-way): the accountd users, and every remembered ObjectId from each cinema
    /// collection (ids are unique, so the wrong collection answers 404). Bounded per request;
    /// failures are printed, not raised.
    pub async fn teardown(
        &mut self,
        http: &reqwest::Client,
        services: &HashMap<String, String>,
        ids: &HashMap<String, String>,
    ) {
        if self.run.is_empty() {
            return;
        }
        let mut urls: Vec<String> = Vec::new();
        if let Some(accountd) = services.get("accountd") {
            urls.extend(
                self.accountd_users
                    .drain(..)
                    .map(|id| format!("{accountd}/users/{id}")),
            );
        }
        let object_ids = ids.values().filter(|id| is_object_id(id));
        for id in object_ids {
            // Each cinema service's collection is named like it (`/movies/{id}`, …).
            for name in Service::ALL.map(Service::name) {
                if let Some(base) = services.get(name) {
                    urls.push(format!("{base}/{name}/{id}"));
                }
            }
        }
        for url in urls {
            let answer = http
                .delete(&url)
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            match answer.map(|answer| answer.status().as_u16()) {
                Ok(200 | 204 | 404) => {}
                Ok(status) => eprintln!("[harness] cleanup DELETE {url}: {status}"),
                Err(error) => eprintln!("[harness] cleanup DELETE {url}: {error}"),
            }
        }
    }
}

/// 24 hex digits: a MongoDB ObjectId as the cinema services write it.
fn is_object_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit())
}
