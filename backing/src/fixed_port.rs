//! The container provider of the servers that keep one host port across `docker restart`
//! (Redis, MongoDB): the configured image (or its local recipe) runs with its port published on
//! a fixed, free port of 127.0.0.1 only, carries the owner labels, and counts as ready once the
//! server's [`Probe`] succeeds. A port taken between picking and publishing is retried.

use std::time::Duration;

use testcontainers::{
    core::{error::ClientError, IntoContainerPort as _},
    runners::AsyncRunner as _,
    GenericImage, ImageExt as _, TestcontainersError,
};

use super::{
    cleanup::{Guard, Resource},
    docker::{self, ContainerImage, StartError},
    port::free_port,
    providers::Provisioned,
    ready::{Liveness, NotReady, Probe},
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

/// Why one image could not be run.
enum RunError {
    /// The image is not present and could not be pulled.
    ImageMissing(String),
    /// The host port was taken between picking and publishing it; another port may work.
    PortTaken(anyhow::Error),
    /// Anything else.
    Other(anyhow::Error),
}

/// Starts a container from `spec`, falling back to the local recipe when the requested image
/// cannot be pulled. Hands back the server's [`Probe::local_url`].
pub(crate) async fn start<P: Probe>(
    spec: FixedPortContainer,
) -> anyhow::Result<Provisioned<String>> {
    let spec = &spec;
    docker::start_container(&spec.image, move |reference| async move {
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
            Err(RunError::PortTaken(error)) => last = Some(error),
            Err(RunError::ImageMissing(reason)) => return Err(StartError::ImageMissing(reason)),
            Err(RunError::Other(error)) => return Err(StartError::Other(error)),
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
) -> Result<Provisioned<String>, RunError> {
    let kind = P::KIND;
    let (name, tag) = docker::split_reference(image);
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let container_name = format!("mockvideo-{kind}-{}", &suffix[..8]);
    let mut request = GenericImage::new(name, tag)
        .with_exposed_port(spec.container_port.tcp())
        .with_container_name(&container_name)
        .with_labels(docker::owner_labels(kind));
    if !spec.command.is_empty() {
        request = request.with_cmd(spec.command.clone());
    }
    let request = request
        .with_startup_timeout(Duration::from_secs(60))
        .with_host_config_modifier(docker::publish_on_loopback(
            spec.container_port,
            Some(host_port),
        ));
    let container = match request.start().await {
        Ok(container) => container,
        Err(TestcontainersError::Client(ClientError::PullImage { err, .. })) => {
            return Err(RunError::ImageMissing(format!("pull failed: {err}")));
        }
        Err(error) => {
            let text = error.to_string();
            let error =
                anyhow::Error::new(error).context(format!("starting a container from {image}"));
            // The container may exist (created, not started): remove it by name.
            let _ = docker::remove_container(&container_name).await;
            return Err(
                if text.contains("port is already allocated")
                    || text.contains("address already in use")
                {
                    RunError::PortTaken(error)
                } else {
                    RunError::Other(error)
                },
            );
        }
    };
    let id = container.id().to_owned();
    let guard = Guard::register(Resource::Container {
        id: id.clone(),
        name: format!("container {container_name}"),
    });
    // From here on `guard` owns the container (testcontainers' own Drop needs a runtime at drop
    // time, which a server held in a static does not have), so its handle is forgotten.
    std::mem::forget(container);
    let url = P::local_url(host_port);
    match P::wait(&url, READY_LIMIT, Liveness::Container(&id)).await {
        Ok(waited) => eprintln!(
            "[harness] {kind}: container {container_name} answered {} after {:.2} s",
            P::REQUEST,
            waited.as_secs_f64()
        ),
        Err(NotReady::Died(report)) => return Err(RunError::Other(anyhow::anyhow!(report))),
        Err(NotReady::TimedOut(report)) => {
            return Err(RunError::Other(anyhow::anyhow!(
                "container {container_name} from {image}: {report}"
            )));
        }
    }
    Ok(Provisioned {
        host: "127.0.0.1".to_owned(),
        port: host_port,
        provider: format!("docker image {image} (container {container_name})"),
        container_id: Some(id),
        guard: Some(guard),
        extra: url,
    })
}
