//! Faults injected into the deployed system through the Kubernetes API and the Docker engine the
//! kubelet drives: a workload's pods deleted, its containers SIGKILLed (the kubelet restarts
//! them), a Deployment scaled to 0 and back; then a bounded wait until it is Ready again, which
//! returns the measured recovery time.
//!
//! Ready means: as many pods as desired, none being deleted, each with its `Ready` condition
//! true, and none of them the pods that were deleted (or, after a kill, the containers restarted
//! at least once more); then the workload's readiness URL ([`Workload::readiness_url`]) answers
//! 200 on the host.

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use bollard::query_parameters::ListContainersOptionsBuilder;
use k8s_openapi::api::{apps::v1::Deployment, core::v1::Pod};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};

use super::{
    bounded,
    discovery::{self, Workload, WorkloadKind},
    Cluster,
};
use crate::backing::docker;

/// Longest a wait for a workload to be Ready again (or gone) lasts by default.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(120);
/// How often the state is polled while waiting.
const POLL: Duration = Duration::from_millis(250);
/// Docker labels the kubelet (dockershim) puts on a pod's containers.
const POD_NAME_LABEL: &str = "io.kubernetes.pod.name";
const POD_NAMESPACE_LABEL: &str = "io.kubernetes.pod.namespace";
const CONTAINER_NAME_LABEL: &str = "io.kubernetes.container.name";
/// The name dockershim gives a pod's sandbox (pause) container.
const SANDBOX_CONTAINER: &str = "POD";

/// What a fault did, and what "recovered" means after it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expectation {
    /// Just Ready.
    Ready,
    /// Ready with none of these pods (by uid): the deleted ones are replaced.
    Replaced(BTreeSet<String>),
    /// Ready with more container restarts in total than this: the killed ones came back.
    RestartedBeyond(i32),
}

/// A fault that was injected, to wait on with [`ChaosDriver::wait_ready`].
#[derive(Debug, Clone)]
pub struct Fault {
    workload: Workload,
    what: String,
    started: Instant,
    expectation: Expectation,
}

impl Fault {
    /// What was done, e.g. `deleted pod event-consumer-5d9c…`.
    pub fn description(&self) -> &str {
        &self.what
    }
}

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

/// Injects faults into the deployed workloads and measures their recovery.
#[derive(Debug, Clone)]
pub struct ChaosDriver {
    cluster: Cluster,
    limit: Duration,
    http: reqwest::Client,
}

impl ChaosDriver {
    /// A driver whose waits last at most [`DEFAULT_LIMIT`].
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

    /// The same driver with waits bounded by `limit`.
    pub fn with_limit(mut self, limit: Duration) -> Self {
        self.limit = limit;
        self
    }

    /// The workload's pods, including those being deleted.
    pub async fn pods(&self, workload: &Workload) -> anyhow::Result<Vec<Pod>> {
        let params = ListParams::default().labels(&workload.selector()?);
        let list = bounded(
            &format!("listing the pods of {} {}", workload.kind, workload.name),
            self.cluster.api::<Pod>().list(&params),
        )
        .await?;
        Ok(list.items)
    }

    /// Deletes every pod of the workload `name` (its controller makes new ones).
    pub async fn delete_pods(&self, name: &str) -> anyhow::Result<Fault> {
        let workload = self.cluster.workload(name).await?;
        let pods = self.pods(&workload).await?;
        anyhow::ensure!(
            !pods.is_empty(),
            "{} {name} has no pod to delete",
            workload.kind
        );
        let started = Instant::now();
        let mut uids = BTreeSet::new();
        let mut names = Vec::new();
        for pod in &pods {
            let pod_name = pod.metadata.name.clone().unwrap_or_default();
            bounded(
                &format!("deleting pod {pod_name}"),
                self.cluster
                    .api::<Pod>()
                    .delete(&pod_name, &DeleteParams::default()),
            )
            .await?;
            uids.extend(pod.metadata.uid.clone());
            names.push(pod_name);
        }
        Ok(Fault {
            workload,
            what: format!("pod(s) {} deleted", names.join(", ")),
            started,
            expectation: Expectation::Replaced(uids),
        })
    }

    /// SIGKILLs the app containers of every pod of the workload `name` through the Docker engine
    /// the kubelet drives; the kubelet restarts them in the same pods.
    pub async fn kill_containers(&self, name: &str) -> anyhow::Result<Fault> {
        let workload = self.cluster.workload(name).await?;
        let pods = self.pods(&workload).await?;
        let live: Vec<&Pod> = pods
            .iter()
            .filter(|pod| !discovery::is_terminating(pod))
            .collect();
        anyhow::ensure!(
            !live.is_empty(),
            "{} {name} has no running pod",
            workload.kind
        );
        let restarts: i32 = live.iter().map(|pod| discovery::restart_count(pod)).sum();
        let engine = docker::connect().await?;
        let mut killed = Vec::new();
        let started = Instant::now();
        for pod in live {
            let pod_name = pod.metadata.name.clone().unwrap_or_default();
            let ids = app_containers(&engine, &pod_name, self.cluster.namespace()).await?;
            anyhow::ensure!(
                !ids.is_empty(),
                "no running Docker container labelled {POD_NAME_LABEL}={pod_name}: is the kubelet \
                 driving this machine's Docker engine (dockershim)?"
            );
            for (id, container) in ids {
                docker::kill_container(&id, "SIGKILL").await?;
                killed.push(format!("{pod_name}/{container}"));
            }
        }
        Ok(Fault {
            workload,
            what: format!("container(s) {} SIGKILLed", killed.join(", ")),
            started,
            expectation: Expectation::RestartedBeyond(restarts),
        })
    }

    /// Sets the replicas of the Deployment `name`.
    pub async fn scale(&self, name: &str, replicas: i32) -> anyhow::Result<()> {
        let patch = serde_json::json!({ "spec": { "replicas": replicas } });
        bounded(
            &format!("scaling Deployment {name} to {replicas}"),
            self.cluster.api::<Deployment>().patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            ),
        )
        .await?;
        Ok(())
    }

    /// Scales the Deployment `name` to 0, waits until its pods are gone, scales it back to the
    /// replicas it had and waits until it is Ready. The recovery is measured from the scale-up;
    /// the time the pods took to go is returned with it.
    pub async fn scale_to_zero_and_back(&self, name: &str) -> anyhow::Result<(Duration, Recovery)> {
        let workload = self.cluster.workload(name).await?;
        anyhow::ensure!(
            workload.kind == WorkloadKind::Deployment,
            "only a Deployment is scaled; {name} is a {}",
            workload.kind
        );
        let replicas = workload.replicas;
        anyhow::ensure!(replicas > 0, "Deployment {name} is already scaled to 0");
        self.scale(name, 0).await?;
        let gone = self.wait_gone(&workload).await;
        // Scale back even when the pods did not go in time: never leave the system at 0.
        let up = Instant::now();
        self.scale(name, replicas).await?;
        let gone = gone?;
        let fault = Fault {
            workload,
            what: format!(
                "scaled to 0 (pods gone in {:.2} s) and back to {replicas}",
                gone.as_secs_f64()
            ),
            started: up,
            expectation: Expectation::Ready,
        };
        let recovery = self.wait_ready(&fault).await?;
        Ok((gone, recovery))
    }

    /// Waits (bounded) until the workload has no pod left; returns how long that took.
    pub async fn wait_gone(&self, workload: &Workload) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let left = self.pods(workload).await?;
            if left.is_empty() {
                return Ok(started.elapsed());
            }
            if started.elapsed() >= self.limit {
                let names: Vec<String> = left
                    .iter()
                    .filter_map(|pod| pod.metadata.name.clone())
                    .collect();
                anyhow::bail!(
                    "{} {} still had pods {names:?} {:?} after it was scaled to 0",
                    workload.kind,
                    workload.name,
                    self.limit
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the workload `name` is Ready now (no fault); returns how long that took.
    pub async fn wait_ready_now(&self, name: &str) -> anyhow::Result<Recovery> {
        let workload = self.cluster.workload(name).await?;
        let fault = Fault {
            workload,
            what: "nothing (readiness check)".to_owned(),
            started: Instant::now(),
            expectation: Expectation::Ready,
        };
        self.wait_ready(&fault).await
    }

    /// Waits (bounded by the driver's limit) until the faulted workload is Ready again: its pods
    /// as the module docs say, then its readiness URL answering 200. Returns the time from the
    /// fault to Ready.
    pub async fn wait_ready(&self, fault: &Fault) -> anyhow::Result<Recovery> {
        let workload = &fault.workload;
        let readiness = workload.readiness_url();
        let deadline = fault.started + self.limit;
        let mut last;
        loop {
            match self.pods(workload).await {
                Ok(pods) => match pods_ready(&pods, workload.replicas, &fault.expectation) {
                    Err(state) => last = state,
                    Ok(()) => match &readiness {
                        None => break,
                        Some(url) => match self.http.get(url).send().await {
                            Ok(answer) if answer.status().as_u16() == 200 => break,
                            Ok(answer) => {
                                last = format!("pods Ready, {url} answered {}", answer.status())
                            }
                            Err(error) => last = format!("pods Ready, {url}: {error}"),
                        },
                    },
                },
                Err(error) => last = format!("{error:#}"),
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "{} {} was not Ready within {:?} after {}: waited for {} Ready pod(s){}{}; last seen: {last}",
                    workload.kind,
                    workload.name,
                    self.limit,
                    fault.what,
                    workload.replicas,
                    expectation_text(&fault.expectation),
                    readiness.as_deref().map(|url| format!(" and {url} answering 200")).unwrap_or_default(),
                );
            }
            tokio::time::sleep(POLL).await;
        }
        Ok(Recovery {
            workload: workload.name.clone(),
            fault: fault.what.clone(),
            took: fault.started.elapsed(),
        })
    }
}

fn expectation_text(expectation: &Expectation) -> &'static str {
    match expectation {
        Expectation::Ready => "",
        Expectation::Replaced(_) => " replacing the deleted ones",
        Expectation::RestartedBeyond(_) => " with the killed containers restarted",
    }
}

/// `Ok` when `pods` are the workload Ready after a fault with `expectation`; otherwise what is
/// still missing.
fn pods_ready(pods: &[Pod], replicas: i32, expectation: &Expectation) -> Result<(), String> {
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
    match expectation {
        Expectation::Ready => Ok(()),
        Expectation::Replaced(old) => {
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
        Expectation::RestartedBeyond(before) => {
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

/// The running app containers (not the sandbox) of pod `pod` in `namespace`: (id, name).
async fn app_containers(
    engine: &bollard::Docker,
    pod: &str,
    namespace: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let pod_filter = format!("{POD_NAME_LABEL}={pod}");
    let namespace_filter = format!("{POD_NAMESPACE_LABEL}={namespace}");
    let filters = HashMap::from([(
        "label",
        vec![pod_filter.as_str(), namespace_filter.as_str()],
    )]);
    let options = ListContainersOptionsBuilder::new()
        .filters(&filters)
        .build();
    let containers = tokio::time::timeout(
        Duration::from_secs(10),
        engine.list_containers(Some(options)),
    )
    .await
    .context("listing the pod's Docker containers timed out")?
    .with_context(|| format!("listing the Docker containers of pod {pod}"))?;
    Ok(containers
        .into_iter()
        .filter_map(|container| {
            let name = container
                .labels
                .as_ref()?
                .get(CONTAINER_NAME_LABEL)?
                .clone();
            (name != SANDBOX_CONTAINER).then_some((container.id?, name))
        })
        .collect())
}

#[cfg(test)]
mod tests {
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
        assert_eq!(
            pods_ready(&[pod("a", true, 0, false)], 1, &Expectation::Ready),
            Ok(())
        );
        assert!(pods_ready(&[pod("a", false, 0, false)], 1, &Expectation::Ready).is_err());
        assert!(pods_ready(&[], 1, &Expectation::Ready).is_err());
        assert!(pods_ready(&[pod("a", true, 0, true)], 1, &Expectation::Ready).is_err());
        assert_eq!(pods_ready(&[], 0, &Expectation::Ready), Ok(()));
    }

    #[test]
    fn after_a_delete_the_old_pod_does_not_count() {
        let old = Expectation::Replaced(BTreeSet::from(["a".to_owned()]));
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
        let killed = Expectation::RestartedBeyond(1);
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
