//! The pods of a deployed workload as a fault target: deleted through the Kubernetes API (their
//! controller makes new ones), or their app containers SIGKILLed through the Docker engine the
//! kubelet drives (the kubelet restarts them in the same pods). Either undoes itself; the
//! [`Applied`] says what recovered means ([`Recovered`]), for [`crate::cluster::recovery`].

use std::{
    collections::{BTreeSet, HashMap},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use bollard::query_parameters::ListContainersOptionsBuilder;
use k8s_openapi::api::core::v1::Pod;
use kube::api::DeleteParams;

use super::{container::Container, unsupported, Applied, Fault, Recovered, Target};
use crate::{
    backing::docker,
    cluster::{bounded, discovery, Cluster, Workload},
};

/// Docker labels the kubelet (dockershim) puts on a pod's containers.
const POD_NAME_LABEL: &str = "io.kubernetes.pod.name";
const POD_NAMESPACE_LABEL: &str = "io.kubernetes.pod.namespace";
const CONTAINER_NAME_LABEL: &str = "io.kubernetes.container.name";
/// The name dockershim gives a pod's sandbox (pause) container.
const SANDBOX_CONTAINER: &str = "POD";

/// Every pod of one deployed workload.
#[derive(Debug, Clone)]
pub struct Pods {
    cluster: Cluster,
    workload: Workload,
}

impl Pods {
    /// The pods of the Deployment or StatefulSet `name`.
    pub async fn of(cluster: &Cluster, name: &str) -> anyhow::Result<Pods> {
        Ok(Pods {
            cluster: cluster.clone(),
            workload: cluster.workload(name).await?,
        })
    }

    /// Their workload, as read when the target was made.
    pub fn workload(&self) -> &Workload {
        &self.workload
    }

    /// Deletes every pod, including those already being deleted.
    async fn delete(&self) -> anyhow::Result<Applied> {
        let workload = &self.workload;
        let pods = self.cluster.pods(workload).await?;
        anyhow::ensure!(
            !pods.is_empty(),
            "{} {} has no pod to delete",
            workload.kind,
            workload.name
        );
        let at = Instant::now();
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
        Ok(Applied {
            recovered: Recovered::Replaced(uids),
            ..Applied::since(at, format!("pod(s) {} deleted", names.join(", ")))
        })
    }

    /// SIGKILLs the app containers (not the sandbox) of every live pod.
    async fn kill(&self) -> anyhow::Result<Applied> {
        let workload = &self.workload;
        let pods = self.cluster.pods(workload).await?;
        let live: Vec<&Pod> = pods
            .iter()
            .filter(|pod| !discovery::is_terminating(pod))
            .collect();
        anyhow::ensure!(
            !live.is_empty(),
            "{} {} has no running pod",
            workload.kind,
            workload.name
        );
        let restarts: i32 = live.iter().map(|pod| discovery::restart_count(pod)).sum();
        let engine = docker::connect().await?;
        let mut killed = Vec::new();
        let at = Instant::now();
        for pod in live {
            let pod_name = pod.metadata.name.clone().unwrap_or_default();
            let ids = app_containers(&engine, &pod_name, self.cluster.namespace()).await?;
            anyhow::ensure!(
                !ids.is_empty(),
                "no running Docker container labelled {POD_NAME_LABEL}={pod_name}: is the kubelet \
                 driving this machine's Docker engine (dockershim)?"
            );
            for (id, container) in ids {
                Container::new(id).inject(Fault::Kill).await?;
                killed.push(format!("{pod_name}/{container}"));
            }
        }
        Ok(Applied {
            recovered: Recovered::RestartedBeyond(restarts),
            ..Applied::since(at, format!("container(s) {} SIGKILLed", killed.join(", ")))
        })
    }
}

impl Target for Pods {
    fn describe(&self) -> String {
        format!("the pods of {} {}", self.workload.kind, self.workload.name)
    }

    /// [`Fault::Delete`] deletes every pod; [`Fault::Kill`] SIGKILLs their app containers.
    async fn inject(&mut self, fault: Fault) -> anyhow::Result<Applied> {
        match fault {
            Fault::Delete => self.delete().await,
            Fault::Kill => self.kill().await,
            _ => Err(unsupported(self, "inject", fault)),
        }
    }

    /// Nothing to undo: the controller replaces deleted pods, the kubelet restarts killed
    /// containers.
    async fn undo(&mut self, fault: Fault) -> anyhow::Result<Applied> {
        Err(unsupported(self, "undo", fault))
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
