//! The container provider of the servers that keep one host port across `docker restart`
//! (Redis, MongoDB): the configured image (or its local recipe) runs with its port published on
//! a fixed, free port of 127.0.0.1 only, carries the owner labels, and counts as ready once the
//! server's [`Probe`] succeeds. A port taken between picking and publishing is retried.

use std::time::Duration;

use super::{
    container::{self, ContainerImage, RunSpec, Running, StartError},
    port::free_port,
    providers::Provisioned,
    ready::{Liveness, Probe},
};

/// Upper bound for a container to answer its probe (the local recipes need well under 1 s).
pub(crate) const READY_LIMIT: Duration = Duration::from_secs(60);
/// Attempts with a fresh host port when another process grabbed the one picked.
const PORT_ATTEMPTS: usize = 3;

/// What to run: the image, the server's port inside the container and its command.
pub(crate) struct FixedPortContainer {
    /// The image and its local fallback recipe.
    pub image: ContainerImage,
    /// The server's port inside the container.
    pub container_port: u16,
    /// The command to run; empty for the image's own.
    pub command: Vec<&'static str>,
}

/// Starts a container from `spec`, falling back to the local recipe when the requested image
/// cannot be pulled. Hands back the server's [`Probe::local_url`].
pub(crate) async fn start<P: Probe>(
    spec: FixedPortContainer,
) -> anyhow::Result<Provisioned<String>> {
    let spec = &spec;
    container::start_container(&spec.image, move |reference| async move {
        run_on_free_port::<P>(spec, &reference).await
    })
    .await
}

/// Runs `image` on a free host port, retrying with another port when it was taken meanwhile.
async fn run_on_free_port<P: Probe>(
    spec: &FixedPortContainer,
    image: &str,
) -> Result<Provisioned<String>, StartError> {
    let mut last = None;
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port().map_err(StartError::Other)?;
        match run::<P>(spec, image, port).await {
            Ok(provisioned) => return Ok(provisioned),
            Err(StartError::PortTaken(error)) => last = Some(error),
            Err(error) => return Err(error),
        }
    }
    Err(StartError::Other(last.unwrap_or_else(|| {
        anyhow::anyhow!("no free host port after {PORT_ATTEMPTS} attempts")
    })))
}

/// Runs `image` with the server's port published on `127.0.0.1:host_port` and waits until it
/// answers.
async fn run<P: Probe>(
    spec: &FixedPortContainer,
    image: &str,
    host_port: u16,
) -> Result<Provisioned<String>, StartError> {
    let kind = P::KIND;
    let Running {
        id,
        name: container_name,
        guard,
        ..
    } = container::run(&RunSpec {
        image,
        kind,
        container_port: spec.container_port,
        host_port: Some(host_port),
        env: Vec::new(),
        command: spec.command.clone(),
    })
    .await?;
    let url = P::local_url(host_port);
    let waited = P::wait(&url, READY_LIMIT, Liveness::Container(&id)).await;
    container::settle(kind, P::REQUEST, &container_name, image, waited)?;
    Ok(Provisioned {
        host: "127.0.0.1".to_owned(),
        port: host_port,
        provider: format!("docker image {image} (container {container_name})"),
        container_id: Some(id),
        guard: Some(guard),
        extra: url,
    })
}
