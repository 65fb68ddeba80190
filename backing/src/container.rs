//! The container provider every backing service shares, straight on the engine's API (bollard):
//! the configured image is pulled when missing and, when it cannot be had (no registry reachable
//! here), the local recipe is built and run instead. A container publishes its server's port on
//! 127.0.0.1 only, carries the owner labels, and is owned by a clean-up [`Guard`] from the moment
//! it exists.

use std::{collections::HashMap, future::Future, time::Duration};

use anyhow::Context as _;
use bollard::{
    errors::Error as DockerError,
    models::{ContainerCreateBody, HostConfig, PortBinding},
    query_parameters::{CreateContainerOptionsBuilder, CreateImageOptionsBuilder},
    Docker,
};
use futures::StreamExt as _;

use super::{
    cleanup::{Guard, Resource},
    docker, images,
    ready::NotReady,
};

/// Upper bound for pulling an image that is not present.
const PULL_LIMIT: Duration = Duration::from_secs(120);

/// Why one attempt to run a container failed.
pub(crate) enum StartError {
    /// The image is not present and could not be pulled: the local recipe may stand in.
    ImageMissing(String),
    /// The host port was taken between picking and publishing it; another port may work.
    PortTaken(anyhow::Error),
    /// Anything else.
    Other(anyhow::Error),
}

/// The image a container provider runs, and the local recipe it falls back to.
pub(crate) struct ContainerImage {
    /// Prefix of the progress lines, e.g. `mysql`.
    pub kind: &'static str,
    /// Variable naming the image to try first, e.g. `MOCKVIDEO_MYSQL_IMAGE`.
    pub image_env: &'static str,
    /// The image tried when that variable is unset, e.g. `mysql:8.4`.
    pub default_image: &'static str,
    /// The recipe built and run when the image cannot be pulled (no registry reachable).
    pub fallback: &'static images::Recipe,
}

/// Checks the engine, sweeps stale containers, then calls `run` with the configured image and,
/// when that cannot be pulled, with the local recipe's (built first if missing).
pub(crate) async fn start_container<P, Run, Fut>(
    image: &ContainerImage,
    mut run: Run,
) -> anyhow::Result<P>
where
    Run: FnMut(String) -> Fut,
    Fut: Future<Output = Result<P, StartError>>,
{
    let kind = image.kind;
    let engine = docker::probe().await.context(
        "no Docker engine answers: run `cargo xtask bootstrap`, or `apt-get install -y docker.io` and start dockerd",
    )?;
    match docker::sweep_stale().await {
        Ok(0) => {}
        Ok(removed) => {
            eprintln!("[harness] docker: removed {removed} stale container(s) of earlier runs")
        }
        Err(error) => eprintln!("[harness] docker: sweeping stale containers failed: {error:#}"),
    }
    let requested = std::env::var(image.image_env)
        .ok()
        .filter(|image| !image.trim().is_empty())
        .unwrap_or_else(|| image.default_image.to_owned());
    eprintln!("[harness] {kind}: trying docker image {requested} (engine {engine}) …");
    match run(requested.clone()).await {
        Ok(provisioned) => Ok(provisioned),
        Err(StartError::Other(error) | StartError::PortTaken(error)) => Err(error),
        Err(StartError::ImageMissing(reason)) => {
            eprintln!(
                "[harness] {kind}: image {requested} is not available ({reason}); using the local recipe {}",
                image.fallback.repository
            );
            let local = images::ensure_image(image.fallback)
                .await
                .with_context(|| {
                    format!("building the local image {}", image.fallback.repository)
                })?;
            eprintln!("[harness] {kind}: trying docker image {local} …");
            run(local.clone()).await.map_err(|error| match error {
                StartError::ImageMissing(reason) => {
                    anyhow::anyhow!("image {local} is missing: {reason}")
                }
                StartError::Other(error) | StartError::PortTaken(error) => error,
            })
        }
    }
}

/// One container to run.
pub(crate) struct RunSpec<'a> {
    /// The image reference.
    pub image: &'a str,
    /// What it is for (`mysql`, `redis`, …): its name prefix and owner label.
    pub kind: &'a str,
    /// The server's port inside the container.
    pub container_port: u16,
    /// The host port to publish it on (127.0.0.1 only); `None` for an ephemeral one. A fixed
    /// host port survives `docker restart`, an ephemeral one may not.
    pub host_port: Option<u16>,
    /// Environment variables.
    pub env: Vec<(&'static str, String)>,
    /// The command; empty for the image's own.
    pub command: Vec<&'static str>,
}

/// A container that runs.
pub(crate) struct Running {
    /// Its id.
    pub id: String,
    /// Its name, `mockvideo-<kind>-<8 hex digits>`.
    pub name: String,
    /// The host port its server is published on (127.0.0.1).
    pub host_port: u16,
    /// Removes it when released or dropped (and at process exit).
    pub guard: Guard,
}

/// Creates and starts the container of `spec`, pulling its image first when missing.
pub(crate) async fn run(spec: &RunSpec<'_>) -> Result<Running, StartError> {
    let docker = docker::connect().await.map_err(StartError::Other)?;
    ensure_pulled(&docker, spec.image).await?;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let name = format!("mockvideo-{}-{}", spec.kind, &suffix[..8]);
    let port_key = format!("{}/tcp", spec.container_port);
    let body = ContainerCreateBody {
        image: Some(spec.image.to_owned()),
        cmd: (!spec.command.is_empty())
            .then(|| spec.command.iter().map(|part| (*part).to_owned()).collect()),
        env: Some(
            spec.env
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect(),
        ),
        labels: Some(docker::owner_labels(spec.kind)),
        exposed_ports: Some(vec![port_key.clone()]),
        host_config: Some(loopback_host_config(spec.container_port, spec.host_port)),
        ..ContainerCreateBody::default()
    };
    let options = CreateContainerOptionsBuilder::new().name(&name).build();
    let created = match docker.create_container(Some(options), body).await {
        Ok(created) => created,
        Err(DockerError::DockerResponseServerError {
            status_code: 404,
            message,
        }) => return Err(StartError::ImageMissing(message)),
        Err(error) => {
            return Err(StartError::Other(
                anyhow::Error::new(error)
                    .context(format!("creating a container from {}", spec.image)),
            ))
        }
    };
    let guard = Guard::register(Resource::Container {
        id: created.id.clone(),
        name: format!("container {name}"),
    });
    if let Err(error) = docker.start_container(&created.id, None).await {
        let text = error.to_string();
        let error = anyhow::Error::new(error)
            .context(format!("starting container {name} from {}", spec.image));
        let _ = guard.release().await;
        return Err(
            if text.contains("port is already allocated") || text.contains("address already in use")
            {
                StartError::PortTaken(error)
            } else {
                StartError::Other(error)
            },
        );
    }
    let host_port = match spec.host_port {
        Some(port) => port,
        None => match published_port(&docker, &created.id, &port_key).await {
            Ok(port) => port,
            Err(error) => {
                let _ = guard.release().await;
                return Err(StartError::Other(
                    error.context(format!("reading the host port of container {name}")),
                ));
            }
        },
    };
    Ok(Running {
        id: created.id,
        name,
        host_port,
        guard,
    })
}

/// The outcome of waiting until the server in container `name` (from `image`) answered
/// `request`: a progress line when it did, the report as the error when it did not.
pub(crate) fn settle(
    kind: &str,
    request: &str,
    name: &str,
    image: &str,
    waited: Result<Duration, NotReady>,
) -> Result<(), StartError> {
    match waited {
        Ok(waited) => {
            eprintln!(
                "[harness] {kind}: container {name} answered {request} after {:.2} s",
                waited.as_secs_f64()
            );
            Ok(())
        }
        Err(NotReady::Died(report)) => Err(StartError::Other(anyhow::anyhow!(report))),
        Err(NotReady::TimedOut(report)) => Err(StartError::Other(anyhow::anyhow!(
            "container {name} from {image}: {report}"
        ))),
    }
}

/// A host config that publishes `container_port` on 127.0.0.1 only: on `host_port`, or an
/// ephemeral port when `None`.
fn loopback_host_config(container_port: u16, host_port: Option<u16>) -> HostConfig {
    HostConfig {
        publish_all_ports: Some(false),
        port_bindings: Some(HashMap::from([(
            format!("{container_port}/tcp"),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".to_owned()),
                host_port: Some(host_port.map(|port| port.to_string()).unwrap_or_default()),
            }]),
        )])),
        ..HostConfig::default()
    }
}

/// Pulls `image` when the engine does not have it; a failed pull is [`StartError::ImageMissing`].
async fn ensure_pulled(docker: &Docker, image: &str) -> Result<(), StartError> {
    if images::image_exists(docker, image)
        .await
        .map_err(StartError::Other)?
    {
        return Ok(());
    }
    let (name, tag) = docker::split_reference(image);
    let options = CreateImageOptionsBuilder::new()
        .from_image(&name)
        .tag(&tag)
        .build();
    let pull = async {
        let mut progress = docker.create_image(Some(options), None, None);
        while let Some(step) = progress.next().await {
            step?;
        }
        Ok::<(), DockerError>(())
    };
    match tokio::time::timeout(PULL_LIMIT, pull).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(StartError::ImageMissing(format!("pull failed: {error}"))),
        Err(_) => Err(StartError::ImageMissing(format!(
            "pull did not finish within {} s",
            PULL_LIMIT.as_secs()
        ))),
    }
}

/// The host port the engine published `port_key` (`3306/tcp`) of container `id` on.
async fn published_port(docker: &Docker, id: &str, port_key: &str) -> anyhow::Result<u16> {
    let inspected = docker.inspect_container(id, None).await?;
    inspected
        .network_settings
        .and_then(|settings| settings.ports)
        .and_then(|ports| ports.get(port_key).cloned().flatten())
        .and_then(|bindings| bindings.into_iter().find_map(|binding| binding.host_port))
        .and_then(|port| port.parse().ok())
        .with_context(|| format!("the engine published no host port for {port_key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_publishing_binds_127_0_0_1_only() {
        let config = loopback_host_config(6379, Some(40123));
        let bindings = config.port_bindings.expect("bindings");
        let binding = &bindings["6379/tcp"].as_ref().expect("one binding")[0];
        assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(binding.host_port.as_deref(), Some("40123"));
        assert_eq!(config.publish_all_ports, Some(false));
        let ephemeral = loopback_host_config(3306, None)
            .port_bindings
            .expect("bindings");
        let binding = &ephemeral["3306/tcp"].as_ref().expect("one binding")[0];
        assert_eq!(binding.host_port.as_deref(), Some(""));
    }
}
