//! The deployed system on a Kubernetes cluster, seen from the host: connecting with kube-rs,
//! finding a workload's loopback URLs from its pod template ([`discovery`]), listing its pods,
//! and measuring how long it takes to be Ready again after a fault ([`recovery`]; the faults
//! themselves, pods deleted, containers killed, a Deployment scaled to 0, are in
//! [`crate::fault`]).
//!
//! The local cluster (`cargo xtask cluster up`, then `cargo xtask deploy --env local`) runs every
//! pod on the host network at fixed 127.0.0.1 ports, so the harness talks to the services
//! directly, without kube-proxy or port-forwarding.
//!
//! Configuration, from the environment:
//!
//! | variable | default |
//! |---|---|
//! | `MOCKVIDEO_KUBECONFIG` | `<repo>/target/cluster/kubeconfig`; when that file is absent, kube's usual inference (`KUBECONFIG`, `~/.kube/config`, in-cluster) |
//! | `MOCKVIDEO_KUBE_CONTEXT` | the kubeconfig's current context |
//! | `MOCKVIDEO_NAMESPACE` | `mockvideo` |

pub mod discovery;
pub mod recovery;

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use anyhow::Context as _;
use k8s_openapi::api::{
    apps::v1::{Deployment, StatefulSet},
    core::v1::{ConfigMap, Pod},
};
use kube::{
    api::{Api, ListParams},
    config::{KubeConfigOptions, Kubeconfig},
    Client, Config,
};

pub use discovery::{Workload, WorkloadKind};
pub use recovery::{Readiness, Recovery};

/// The namespace `cargo xtask deploy --env local` installs into.
pub const DEFAULT_NAMESPACE: &str = "mockvideo";

/// What to run when the deployment is missing.
pub const DEPLOY_HINT: &str = "run `cargo xtask cluster up && cargo xtask deploy --env local`";

/// Longest one API call may take: the local API server answers in milliseconds.
const API_TIMEOUT: Duration = Duration::from_secs(15);

/// How often the cluster's state is polled while waiting for it to change.
pub const POLL: Duration = Duration::from_millis(250);

/// Where and how to connect, read from the environment ([module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The kubeconfig file, or `None` for kube's inference.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context, or `None` for its current context.
    pub context: Option<String>,
    /// The namespace the system is deployed in.
    pub namespace: String,
}

impl ClusterConfig {
    /// Reads `MOCKVIDEO_KUBECONFIG`, `MOCKVIDEO_KUBE_CONTEXT` and `MOCKVIDEO_NAMESPACE`.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok(), default_kubeconfig())
    }

    /// [`ClusterConfig::from_env`] over any lookup; `default_file` is used when it exists and
    /// `MOCKVIDEO_KUBECONFIG` is unset.
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>, default_file: PathBuf) -> Self {
        let non_empty = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let kubeconfig = match non_empty("MOCKVIDEO_KUBECONFIG") {
            Some(path) => Some(PathBuf::from(path)),
            None => default_file.exists().then_some(default_file),
        };
        Self {
            kubeconfig,
            context: non_empty("MOCKVIDEO_KUBE_CONTEXT"),
            namespace: non_empty("MOCKVIDEO_NAMESPACE")
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
        }
    }
}

/// `<repo>/target/cluster/kubeconfig`, written by `cargo xtask cluster up`.
fn default_kubeconfig() -> PathBuf {
    crate::backing::workspace::manifest_dir(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("cluster")
        .join("kubeconfig")
}

/// A connection to the cluster and the namespace the system lives in.
#[derive(Clone)]
pub struct Cluster {
    client: Client,
    namespace: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Connects as [`ClusterConfig::from_env`] says and checks that the API server answers.
    pub async fn connect() -> anyhow::Result<Cluster> {
        Cluster::connect_with(&ClusterConfig::from_env()).await
    }

    /// Connects with `config` and checks that the API server answers (bounded).
    pub async fn connect_with(config: &ClusterConfig) -> anyhow::Result<Cluster> {
        let options = KubeConfigOptions {
            context: config.context.clone(),
            ..KubeConfigOptions::default()
        };
        let kube_config = match &config.kubeconfig {
            Some(path) => {
                let file = Kubeconfig::read_from(path).with_context(|| {
                    format!("reading the kubeconfig {} ({DEPLOY_HINT})", path.display())
                })?;
                Config::from_custom_kubeconfig(file, &options)
                    .await
                    .with_context(|| format!("loading the kubeconfig {}", path.display()))?
            }
            None => Config::infer()
                .await
                .with_context(|| format!("no kubeconfig found ({DEPLOY_HINT})"))?,
        };
        let server = kube_config.cluster_url.to_string();
        let client = Client::try_from(kube_config).context("building the Kubernetes client")?;
        tokio::time::timeout(API_TIMEOUT, client.apiserver_version())
            .await
            .with_context(|| {
                format!(
                    "the API server {server} did not answer within {API_TIMEOUT:?} ({DEPLOY_HINT})"
                )
            })?
            .with_context(|| format!("the API server {server} is not reachable ({DEPLOY_HINT})"))?;
        Ok(Cluster {
            client,
            namespace: config.namespace.clone(),
        })
    }

    /// The kube-rs client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The namespace the system is deployed in.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// An API handle for namespaced resources of kind `K` in the system's namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// The Deployment or StatefulSet named `name`, or an error that says how to deploy it.
    pub async fn workload(&self, name: &str) -> anyhow::Result<Workload> {
        let deployment = bounded(
            &format!("reading Deployment {name}"),
            self.api::<Deployment>().get_opt(name),
        )
        .await?;
        if let Some(deployment) = deployment {
            return Workload::from_deployment(deployment);
        }
        let stateful_set = bounded(
            &format!("reading StatefulSet {name}"),
            self.api::<StatefulSet>().get_opt(name),
        )
        .await?;
        match stateful_set {
            Some(stateful_set) => Workload::from_stateful_set(stateful_set),
            None => anyhow::bail!(
                "no Deployment or StatefulSet {name:?} in namespace {:?}: {DEPLOY_HINT}",
                self.namespace
            ),
        }
    }

    /// `http://127.0.0.1:<port>` of the workload's container port named `port_name`.
    pub async fn url(&self, workload: &str, port_name: &str) -> anyhow::Result<String> {
        self.workload(workload).await?.url(port_name)
    }

    /// The data of the ConfigMap `name`, or an error that says how to deploy it.
    pub async fn config_map(&self, name: &str) -> anyhow::Result<BTreeMap<String, String>> {
        let map = bounded(
            &format!("reading ConfigMap {name}"),
            self.api::<ConfigMap>().get_opt(name),
        )
        .await?
        .with_context(|| {
            format!(
                "no ConfigMap {name:?} in namespace {:?}: {DEPLOY_HINT}",
                self.namespace
            )
        })?;
        Ok(map.data.unwrap_or_default())
    }

    /// The workload's pods, including those being deleted.
    pub async fn pods(&self, workload: &Workload) -> anyhow::Result<Vec<Pod>> {
        let params = ListParams::default().labels(&workload.selector()?);
        let list = bounded(
            &format!("listing the pods of {} {}", workload.kind, workload.name),
            self.api::<Pod>().list(&params),
        )
        .await?;
        Ok(list.items)
    }

    /// Waits for workloads to be Ready over this connection, for at most
    /// [`recovery::DEFAULT_LIMIT`].
    pub fn readiness(&self) -> Readiness {
        Readiness::new(self.clone())
    }
}

/// Runs one API call with [`API_TIMEOUT`], naming `what` in the error.
pub(crate) async fn bounded<T>(
    what: &str,
    call: impl std::future::Future<Output = kube::Result<T>>,
) -> anyhow::Result<T> {
    tokio::time::timeout(API_TIMEOUT, call)
        .await
        .with_context(|| format!("{what}: no answer within {API_TIMEOUT:?}"))?
        .with_context(|| what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn defaults_are_the_repo_kubeconfig_and_the_mockvideo_namespace() {
        let existing = std::env::temp_dir();
        let config = ClusterConfig::from_lookup(lookup(&[]), existing.clone());
        assert_eq!(
            config,
            ClusterConfig {
                kubeconfig: Some(existing),
                context: None,
                namespace: "mockvideo".to_owned(),
            }
        );
    }

    #[test]
    fn a_missing_default_kubeconfig_falls_back_to_inference() {
        let config =
            ClusterConfig::from_lookup(lookup(&[]), PathBuf::from("/nonexistent/kubeconfig"));
        assert_eq!(config.kubeconfig, None);
    }

    #[test]
    fn the_environment_overrides_every_default() {
        let config = ClusterConfig::from_lookup(
            lookup(&[
                ("MOCKVIDEO_KUBECONFIG", "/etc/kube/config"),
                ("MOCKVIDEO_KUBE_CONTEXT", "kind-ci"),
                ("MOCKVIDEO_NAMESPACE", "staging"),
            ]),
            PathBuf::from("/nonexistent/kubeconfig"),
        );
        assert_eq!(
            config,
            ClusterConfig {
                kubeconfig: Some(PathBuf::from("/etc/kube/config")),
                context: Some("kind-ci".to_owned()),
                namespace: "staging".to_owned(),
            }
        );
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let config = ClusterConfig::from_lookup(
            lookup(&[("MOCKVIDEO_NAMESPACE", " "), ("MOCKVIDEO_KUBE_CONTEXT", "")]),
            PathBuf::from("/nonexistent/kubeconfig"),
        );
        assert_eq!(config.namespace, "mockvideo");
        assert_eq!(config.context, None);
    }
}
