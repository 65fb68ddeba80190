//! A deployed Deployment's replicas as a fault target: scaled to zero (and waited on until its
//! pods are gone), then scaled back to the replicas it had. Recovery after the scale-up is
//! [`crate::cluster::recovery`]'s to measure.

use std::time::{Duration, Instant};

use kube::api::{Patch, PatchParams};

use super::{unsupported, Applied, Fault, Target};
use crate::{
    backing::wait::{wait_until, Attempt},
    cluster::{bounded, Cluster, Workload, WorkloadKind, POLL},
};

/// Longest the pods of a Deployment scaled to zero may take to go.
pub const GONE_WITHIN: Duration = Duration::from_secs(120);

/// One Deployment, with the replicas it had when the target was made.
#[derive(Debug, Clone)]
pub struct Deployment {
    cluster: Cluster,
    workload: Workload,
}

impl Deployment {
    /// The Deployment `name`; an error for a StatefulSet (only Deployments are scaled).
    pub async fn of(cluster: &Cluster, name: &str) -> anyhow::Result<Deployment> {
        let workload = cluster.workload(name).await?;
        anyhow::ensure!(
            workload.kind == WorkloadKind::Deployment,
            "only a Deployment is scaled; {name} is a {}",
            workload.kind
        );
        Ok(Deployment {
            cluster: cluster.clone(),
            workload,
        })
    }

    /// The workload, as read when the target was made.
    pub fn workload(&self) -> &Workload {
        &self.workload
    }

    /// Sets its replicas.
    async fn scale(&self, replicas: i32) -> anyhow::Result<()> {
        let name = &self.workload.name;
        let patch = serde_json::json!({ "spec": { "replicas": replicas } });
        bounded(
            &format!("scaling Deployment {name} to {replicas}"),
            self.cluster
                .api::<k8s_openapi::api::apps::v1::Deployment>()
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch)),
        )
        .await?;
        Ok(())
    }

    /// Waits (at most [`GONE_WITHIN`]) until it has no pod left; returns how long that took.
    async fn wait_gone(&self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let workload = &self.workload;
        let what = format!(
            "{} {} without pods after it was scaled to 0",
            workload.kind, workload.name
        );
        wait_until(&what, GONE_WITHIN, POLL, || async {
            match self.cluster.pods(workload).await {
                Err(error) => Attempt::Failed(error),
                Ok(left) if left.is_empty() => Attempt::Ready(()),
                Ok(left) => {
                    let names: Vec<String> = left
                        .iter()
                        .filter_map(|pod| pod.metadata.name.clone())
                        .collect();
                    Attempt::Pending(format!("pods {names:?} still there"))
                }
            }
        })
        .await?;
        Ok(started.elapsed())
    }
}

impl Target for Deployment {
    fn describe(&self) -> String {
        format!("Deployment {}", self.workload.name)
    }

    /// [`Fault::ScaleToZero`]: scales it to 0 and waits until its pods are gone. When they do
    /// not go in time it is scaled back before the error is returned: the system is never left
    /// at 0.
    async fn inject(&mut self, fault: Fault) -> anyhow::Result<Applied> {
        if fault != Fault::ScaleToZero {
            return Err(unsupported(self, "inject", fault));
        }
        let replicas = self.workload.replicas;
        anyhow::ensure!(
            replicas > 0,
            "Deployment {} is already scaled to 0",
            self.workload.name
        );
        let at = Instant::now();
        self.scale(0).await?;
        let gone = match self.wait_gone().await {
            Ok(gone) => gone,
            Err(error) => {
                self.scale(replicas).await?;
                return Err(error);
            }
        };
        Ok(Applied {
            took: gone,
            ..Applied::since(
                at,
                format!("scaled to 0 (pods gone in {:.2} s)", gone.as_secs_f64()),
            )
        })
    }

    /// Scales it back to the replicas it had.
    async fn undo(&mut self, fault: Fault) -> anyhow::Result<Applied> {
        if fault != Fault::ScaleToZero {
            return Err(unsupported(self, "undo", fault));
        }
        let replicas = self.workload.replicas;
        let at = Instant::now();
        self.scale(replicas).await?;
        Ok(Applied::since(at, format!("back to {replicas}")))
    }
}
