//! How long a deployed workload takes to be Ready again after a fault ([`crate::fault`]): a
//! bounded wait until it is, which returns the measured recovery time.
//!
//! Ready means: as many pods as desired, none being deleted, each with its `Ready` condition
//! true, and what the fault says recovered means ([`Recovered`]: none of them the pods that were
//! deleted, or the killed containers restarted at least once more); then the workload's
//! readiness URL ([`Workload::readiness_url`]) answers 200 on the host.

use std::{
    fmt,
    time::{Duration, Instant},
};

use k8s_openapi::api::core::v1::Pod;

use super::{discovery, Cluster, Workload, POLL};
use crate::{
    backing::wait::{wait_until, Attempt},
    fault::{Applied, Recovered},
};

/// Longest a wait for a workload to be Ready again lasts by default.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(120);

/// How long a workload took to be Ready again after a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The workload's name.
    pub workload: String,
    /// The fault, e.g. `pods deleted`.
    pub fault: String,
    /// From the fault to Ready (pods and readiness URL).
    pub took: Duration,
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} Ready again {:.2} s after: {}",
            self.workload,
            self.took.as_secs_f64(),
            self.fault
        )
    }
}

/// Waits, bounded, until deployed workloads are Ready, and measures how long that took.
#[derive(Debug, Clone)]
pub struct Readiness {
    cluster: Cluster,
    limit: Duration,
    http: reqwest::Client,
}

impl Readiness {
    /// Waits that last at most [`DEFAULT_LIMIT`].
    pub fn new(cluster: Cluster) -> Self {
        Self {
            cluster,
            limit: DEFAULT_LIMIT,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap_or_default(),
        }
    }

    /// The same waits, bounded by `limit`.
    pub fn with_limit(mut self, limit: Duration) -> Self {
        self.limit = limit;
        self
    }

    /// Waits until the workload `name` is Ready now (no fault); returns how long that took.
    pub async fn now(&self, name: &str) -> anyhow::Result<Recovery> {
        let workload = self.cluster.workload(name).await?;
        let check = Applied {
            took: Duration::ZERO,
            ..Applied::since(Instant::now(), "nothing (readiness check)")
        };
        self.after(&workload, &check).await
    }

    /// Waits until `workload` is Ready again after `fault` (as the module docs say), at most the
    /// limit after the fault. Returns the time from the fault to Ready.
    pub async fn after(&self, workload: &Workload, fault: &Applied) -> anyhow::Result<Recovery> {
        let readiness = workload.readiness_url();
        let what = format!(
            "{} {} Ready after {} ({} Ready pod(s){}{})",
            workload.kind,
            workload.name,
            fault.what,
            workload.replicas,
            expectation_text(&fault.recovered),
            readiness
                .as_deref()
                .map(|url| format!(" and {url} answering 200"))
                .unwrap_or_default(),
        );
        let left = self.limit.saturating_sub(fault.at.elapsed());
        wait_until(&what, left, POLL, || async {
            let pods = match self.cluster.pods(workload).await {
                Ok(pods) => pods,
                Err(error) => return Attempt::Pending(format!("{error:#}")),
            };
            if let Err(state) = pods_ready(&pods, workload.replicas, &fault.recovered) {
                return Attempt::Pending(state);
            }
            let Some(url) = &readiness else {
                return Attempt::Ready(());
            };
            match self.http.get(url).send().await {
                Ok(answer) if answer.status().as_u16() == 200 => Attempt::Ready(()),
                Ok(answer) => {
                    Attempt::Pending(format!("pods Ready, {url} answered {}", answer.status()))
                }
                Err(error) => Attempt::Pending(format!("pods Ready, {url}: {error}")),
            }
        })
        .await?;
        Ok(Recovery {
            workload: workload.name.clone(),
            fault: fault.what.clone(),
            took: fault.at.elapsed(),
        })
    }
}

fn expectation_text(recovered: &Recovered) -> &'static str {
    match recovered {
        Recovered::Answering => "",
        Recovered::Replaced(_) => " replacing the deleted ones",
        Recovered::RestartedBeyond(_) => " with the killed containers restarted",
    }
}

/// `Ok` when `pods` are the workload Ready after a fault after which `recovered` says what
/// recovery is; otherwise what is still missing.
fn pods_ready(pods: &[Pod], replicas: i32, recovered: &Recovered) -> Result<(), String> {
    let live: Vec<&Pod> = pods
        .iter()
        .filter(|pod| !discovery::is_terminating(pod))
        .collect();
    let terminating = pods.len() - live.len();
    let ready = live.iter().filter(|pod| discovery::is_ready(pod)).count();
    let wanted = usize::try_from(replicas).unwrap_or(0);
    if live.len() != wanted || ready != wanted {
        return Err(format!(
            "{ready} of {} pod(s) Ready ({terminating} terminating), {wanted} wanted",
            live.len()
        ));
    }
    match recovered {
        Recovered::Answering => Ok(()),
        Recovered::Replaced(old) => {
            let kept: Vec<&str> = live
                .iter()
                .filter(|pod| {
                    pod.metadata
                        .uid
                        .as_ref()
                        .is_some_and(|uid| old.contains(uid))
                })
                .filter_map(|pod| pod.metadata.name.as_deref())
                .collect();
            if kept.is_empty() {
                Ok(())
            } else {
                Err(format!("deleted pod(s) {kept:?} still listed as live"))
            }
        }
        Recovered::RestartedBeyond(before) => {
            let now: i32 = live.iter().map(|pod| discovery::restart_count(pod)).sum();
            if now > *before {
                Ok(())
            } else {
                Err(format!(
                    "restart count still {now} (was {before} before the kill)"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn pod(uid: &str, ready: bool, restarts: i32, terminating: bool) -> Pod {
        let mut pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": format!("p-{uid}"), "uid": uid},
            "status": {
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                "containerStatuses": [{"name": "app", "ready": ready, "restartCount": restarts, "image": "x", "imageID": ""}]
            }
        }))
        .unwrap_or_default();
        if terminating {
            pod.metadata.deletion_timestamp = Some(
                k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Default::default()),
            );
        }
        pod
    }

    #[test]
    fn ready_needs_the_desired_number_of_ready_live_pods() {
        let answering = Recovered::Answering;
        assert_eq!(
            pods_ready(&[pod("a", true, 0, false)], 1, &answering),
            Ok(())
        );
        assert!(pods_ready(&[pod("a", false, 0, false)], 1, &answering).is_err());
        assert!(pods_ready(&[], 1, &answering).is_err());
        assert!(pods_ready(&[pod("a", true, 0, true)], 1, &answering).is_err());
        assert_eq!(pods_ready(&[], 0, &answering), Ok(()));
    }

    #[test]
    fn after_a_delete_the_old_pod_does_not_count() {
        let old = Recovered::Replaced(BTreeSet::from(["a".to_owned()]));
        let error = pods_ready(&[pod("a", true, 0, false)], 1, &old);
        assert!(error.is_err(), "{error:?}");
        assert_eq!(
            pods_ready(
                &[pod("a", true, 0, true), pod("b", true, 0, false)],
                1,
                &old
            ),
            Ok(())
        );
    }

    #[test]
    fn after_a_kill_the_restart_count_must_grow() {
        let killed = Recovered::RestartedBeyond(1);
        assert!(pods_ready(&[pod("a", true, 1, false)], 1, &killed).is_err());
        assert_eq!(pods_ready(&[pod("a", true, 2, false)], 1, &killed), Ok(()));
    }

    #[test]
    fn a_recovery_prints_its_time() {
        let recovery = Recovery {
            workload: "event-consumer".to_owned(),
            fault: "pod(s) event-consumer-x deleted".to_owned(),
            took: Duration::from_millis(4250),
        };
        assert_eq!(
            recovery.to_string(),
            "event-consumer Ready again 4.25 s after: pod(s) event-consumer-x deleted"
        );
    }
}
