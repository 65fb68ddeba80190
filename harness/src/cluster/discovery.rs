//! Where a deployed workload answers, read from its pod template: the pods run on the host
//! network, so a container port `P` is `127.0.0.1:P` on this machine. Pure functions over the
//! Kubernetes API types, so they are unit-tested without a cluster.

use std::collections::BTreeMap;

use anyhow::Context as _;
use k8s_openapi::{
    api::{
        apps::v1::{Deployment, StatefulSet},
        core::v1::{Container, Pod, PodTemplateSpec},
    },
    apimachinery::pkg::{apis::meta::v1::LabelSelector, util::intstr::IntOrString},
};

/// The host every workload is reached on (hostNetwork pods on this machine).
pub const LOOPBACK: &str = "127.0.0.1";

/// The kinds of workload the system deploys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
}

impl std::fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
        })
    }
}

/// A Deployment or StatefulSet as the harness needs it: name, desired replicas, pod selector and
/// pod template.
#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: WorkloadKind,
    pub name: String,
    /// Desired replicas (`spec.replicas`, 1 when unset).
    pub replicas: i32,
    /// `spec.selector.matchLabels`.
    pub match_labels: BTreeMap<String, String>,
    pub template: PodTemplateSpec,
}

impl Workload {
    /// From a Deployment read from the API.
    pub fn from_deployment(deployment: Deployment) -> anyhow::Result<Workload> {
        let name = deployment.metadata.name.unwrap_or_default();
        let spec = deployment
            .spec
            .with_context(|| format!("Deployment {name} has no spec"))?;
        let parts = (spec.replicas, spec.selector, spec.template);
        Ok(Workload::from_parts(WorkloadKind::Deployment, name, parts))
    }

    /// From a StatefulSet read from the API.
    pub fn from_stateful_set(stateful_set: StatefulSet) -> anyhow::Result<Workload> {
        let name = stateful_set.metadata.name.unwrap_or_default();
        let spec = stateful_set
            .spec
            .with_context(|| format!("StatefulSet {name} has no spec"))?;
        let parts = (spec.replicas, spec.selector, spec.template);
        Ok(Workload::from_parts(WorkloadKind::StatefulSet, name, parts))
    }

    /// From the spec fields both kinds share: replicas, selector and pod template.
    fn from_parts(
        kind: WorkloadKind,
        name: String,
        (replicas, selector, template): (Option<i32>, LabelSelector, PodTemplateSpec),
    ) -> Workload {
        Workload {
            kind,
            name,
            replicas: replicas.unwrap_or(1),
            match_labels: selector.match_labels.unwrap_or_default(),
            template,
        }
    }

    /// The label selector of its pods, `key=value,…`.
    pub fn selector(&self) -> anyhow::Result<String> {
        anyhow::ensure!(
            !self.match_labels.is_empty(),
            "{} {} has no matchLabels selector",
            self.kind,
            self.name
        );
        Ok(label_selector(&self.match_labels))
    }

    /// `http://127.0.0.1:<port>` of the container port named `port_name`.
    pub fn url(&self, port_name: &str) -> anyhow::Result<String> {
        port_url(&self.template, port_name).with_context(|| format!("{} {}", self.kind, self.name))
    }

    /// The URL that answers 200 when the workload is ready: its readiness probe's `httpGet`, else
    /// `/readyz` on its `admin` or `http` port (the platform's readiness route), else none.
    pub fn readiness_url(&self) -> Option<String> {
        readiness_url(&self.template)
    }
}

/// `key=value,…` in key order, as the API's `labelSelector` wants it.
pub fn label_selector(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn containers(template: &PodTemplateSpec) -> &[Container] {
    template
        .spec
        .as_ref()
        .map(|spec| spec.containers.as_slice())
        .unwrap_or_default()
}

fn host_network(template: &PodTemplateSpec) -> bool {
    template
        .spec
        .as_ref()
        .and_then(|spec| spec.host_network)
        .unwrap_or(false)
}

/// The number of the container port named `name` in any of the template's containers.
fn named_port(template: &PodTemplateSpec, name: &str) -> Option<i32> {
    containers(template)
        .iter()
        .flat_map(|container| container.ports.iter().flatten())
        .find(|port| port.name.as_deref() == Some(name))
        .map(|port| port.host_port.unwrap_or(port.container_port))
}

/// `http://127.0.0.1:<port>` of the container port named `port_name`; an error when the pods are
/// not on the host network (unreachable from here) or no container has that port.
pub fn port_url(template: &PodTemplateSpec, port_name: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        host_network(template),
        "its pods are not on the host network, so port {port_name:?} is not reachable at {LOOPBACK} \
         (the local deployment sets hostNetwork: true)"
    );
    let port = named_port(template, port_name).with_context(|| {
        let known: Vec<&str> = containers(template)
            .iter()
            .flat_map(|container| container.ports.iter().flatten())
            .filter_map(|port| port.name.as_deref())
            .collect();
        format!("no container port named {port_name:?} (ports: {known:?})")
    })?;
    Ok(format!("http://{LOOPBACK}:{port}"))
}

/// See [`Workload::readiness_url`].
pub fn readiness_url(template: &PodTemplateSpec) -> Option<String> {
    if !host_network(template) {
        return None;
    }
    let probe = containers(template)
        .iter()
        .find_map(|container| container.readiness_probe.as_ref()?.http_get.as_ref());
    if let Some(get) = probe {
        let port = match &get.port {
            IntOrString::Int(port) => Some(*port),
            IntOrString::String(name) => named_port(template, name),
        }?;
        let path = get.path.as_deref().unwrap_or("/");
        return Some(format!("http://{LOOPBACK}:{port}{path}"));
    }
    let port = named_port(template, "admin").or_else(|| named_port(template, "http"))?;
    Some(format!("http://{LOOPBACK}:{port}/readyz"))
}

/// True when the pod is being deleted (its `deletionTimestamp` is set).
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// True when the pod's `Ready` condition is `True` and it is not being deleted.
pub fn is_ready(pod: &Pod) -> bool {
    !is_terminating(pod)
        && pod
            .status
            .as_ref()
            .and_then(|status| status.conditions.as_ref())
            .is_some_and(|conditions| {
                conditions
                    .iter()
                    .any(|condition| condition.type_ == "Ready" && condition.status == "True")
            })
}

/// How many times the pod's containers were restarted, in total.
pub fn restart_count(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|status| status.container_statuses.as_ref())
        .map(|statuses| statuses.iter().map(|status| status.restart_count).sum())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(value: serde_json::Value) -> PodTemplateSpec {
        match serde_json::from_value(value) {
            Ok(template) => template,
            Err(error) => panic!("a pod template: {error}"),
        }
    }

    fn activity_server() -> PodTemplateSpec {
        template(serde_json::json!({
            "metadata": {"labels": {"app.kubernetes.io/name": "activity-server"}},
            "spec": {
                "hostNetwork": true,
                "containers": [{
                    "name": "activity-server",
                    "ports": [
                        {"name": "grpc", "containerPort": 31051},
                        {"name": "admin", "containerPort": 31091}
                    ]
                }]
            }
        }))
    }

    #[test]
    fn a_named_port_of_a_host_network_pod_is_on_loopback() {
        assert_eq!(
            port_url(&activity_server(), "grpc").ok().as_deref(),
            Some("http://127.0.0.1:31051")
        );
        assert_eq!(
            port_url(&activity_server(), "admin").ok().as_deref(),
            Some("http://127.0.0.1:31091")
        );
    }

    #[test]
    fn an_unknown_port_name_lists_the_known_ones() {
        let error = port_url(&activity_server(), "http")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(r#"no container port named "http" (ports: ["grpc", "admin"])"#)
        );
    }

    #[test]
    fn a_pod_off_the_host_network_is_refused() {
        let mut off = activity_server();
        if let Some(spec) = off.spec.as_mut() {
            spec.host_network = None;
        }
        let error = port_url(&off, "grpc")
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("not on the host network"), "{error}");
        assert_eq!(readiness_url(&off), None);
    }

    #[test]
    fn readiness_comes_from_the_probe_with_a_named_or_numbered_port() {
        let named = template(serde_json::json!({
            "spec": {"hostNetwork": true, "containers": [{
                "name": "movies",
                "ports": [{"name": "http", "containerPort": 31081}],
                "readinessProbe": {"httpGet": {"path": "/healthy", "port": "http"}}
            }]}
        }));
        assert_eq!(
            readiness_url(&named).as_deref(),
            Some("http://127.0.0.1:31081/healthy")
        );
        let numbered = template(serde_json::json!({
            "spec": {"hostNetwork": true, "containers": [{
                "name": "accountd",
                "readinessProbe": {"httpGet": {"path": "/readyz", "port": 31500}}
            }]}
        }));
        assert_eq!(
            readiness_url(&numbered).as_deref(),
            Some("http://127.0.0.1:31500/readyz")
        );
    }

    #[test]
    fn without_a_probe_readiness_is_readyz_on_the_admin_port_first() {
        assert_eq!(
            readiness_url(&activity_server()).as_deref(),
            Some("http://127.0.0.1:31091/readyz")
        );
        let redis = template(serde_json::json!({
            "spec": {"hostNetwork": true, "containers": [{
                "name": "redis", "ports": [{"name": "redis", "containerPort": 31379}]
            }]}
        }));
        assert_eq!(readiness_url(&redis), None);
    }

    #[test]
    fn a_selector_is_written_in_key_order() {
        let labels = BTreeMap::from([
            (
                "app.kubernetes.io/name".to_owned(),
                "event-consumer".to_owned(),
            ),
            (
                "app.kubernetes.io/instance".to_owned(),
                "mockvideo".to_owned(),
            ),
        ]);
        assert_eq!(
            label_selector(&labels),
            "app.kubernetes.io/instance=mockvideo,app.kubernetes.io/name=event-consumer"
        );
    }

    #[test]
    fn a_workload_comes_from_a_deployment_or_a_stateful_set() -> anyhow::Result<()> {
        let deployment: Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "event-producer"},
            "spec": {
                "selector": {"matchLabels": {"app.kubernetes.io/name": "event-producer"}},
                "template": {"spec": {"hostNetwork": true, "containers": [{
                    "name": "event-producer", "ports": [{"name": "http", "containerPort": 31080}]
                }]}}
            }
        }))?;
        let workload = Workload::from_deployment(deployment)?;
        assert_eq!(workload.kind, WorkloadKind::Deployment);
        assert_eq!(workload.replicas, 1);
        assert_eq!(
            workload.selector()?,
            "app.kubernetes.io/name=event-producer"
        );
        assert_eq!(workload.url("http")?, "http://127.0.0.1:31080");
        assert_eq!(
            workload.readiness_url().as_deref(),
            Some("http://127.0.0.1:31080/readyz")
        );
        let stateful_set: StatefulSet = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "redis"},
            "spec": {
                "replicas": 1,
                "serviceName": "redis",
                "selector": {"matchLabels": {"app.kubernetes.io/name": "redis"}},
                "template": {"spec": {"hostNetwork": true, "containers": [{
                    "name": "redis", "ports": [{"name": "redis", "containerPort": 31379}]
                }]}}
            }
        }))?;
        let workload = Workload::from_stateful_set(stateful_set)?;
        assert_eq!(workload.kind, WorkloadKind::StatefulSet);
        assert_eq!(workload.url("redis")?, "http://127.0.0.1:31379");
        Ok(())
    }

    #[test]
    fn readiness_and_restarts_are_read_from_the_pod_status() -> anyhow::Result<()> {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "event-consumer-abc"},
            "status": {
                "conditions": [
                    {"type": "PodScheduled", "status": "True"},
                    {"type": "Ready", "status": "True"}
                ],
                "containerStatuses": [
                    {"name": "event-consumer", "ready": true, "restartCount": 2, "image": "x", "imageID": ""}
                ]
            }
        }))?;
        assert!(is_ready(&pod));
        assert_eq!(restart_count(&pod), 2);
        let mut terminating = pod.clone();
        terminating.metadata.deletion_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Default::default()),
        );
        assert!(is_terminating(&terminating));
        assert!(!is_ready(&terminating));
        let unready: Pod = serde_json::from_value(serde_json::json!({
            "status": {"conditions": [{"type": "Ready", "status": "False"}]}
        }))?;
        assert!(!is_ready(&unready));
        Ok(())
    }
}
