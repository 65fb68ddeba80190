//! Provider (b): a container through testcontainers. Tries `MOCKVIDEO_MONGO_IMAGE` (default
//! `mongo:7`); when that image cannot be had (no registry reachable), builds and uses the local
//! MongoDB-wire recipe ([`images::MONGO`], SecantusDB as the container's own process). Both keep
//! their data inside the container (`/data/db`, `/var/lib/secantusdb/data`), so a `docker
//! restart` keeps it. The port is published on a fixed, free port of 127.0.0.1 only (so it
//! survives the restart), the container carries the owner labels, and it counts as ready once
//! the official driver's `ping` succeeds.

use std::time::Duration;

use testcontainers::{
    core::{error::ClientError, IntoContainerPort as _},
    runners::AsyncRunner as _,
    GenericImage, ImageExt as _, TestcontainersError,
};

use super::{ready, Provisioned, DEFAULT_IMAGE};
use crate::backing::{
    cleanup::{Guard, Resource},
    docker::{self, ContainerImage, StartError},
    images,
    providers::free_port,
    ready::{Liveness, NotReady},
};

/// The server's port inside the container.
const MONGO_PORT: u16 = 27017;
/// Upper bound for a container to answer `ping` (the local recipe needs about 0.5 s).
pub(super) const READY_LIMIT: Duration = Duration::from_secs(60);
/// Attempts with a fresh host port when another process grabbed the one picked.
const PORT_ATTEMPTS: usize = 3;

/// Why one image could not be run.
enum RunError {
    /// The image is not present and could not be pulled.
    ImageMissing(String),
    /// The host port was taken between picking and publishing it; another port may work.
    PortTaken(anyhow::Error),
    /// Anything else.
    Other(anyhow::Error),
}

/// Starts a MongoDB-wire container, falling back to the local recipe when the requested image
/// cannot be pulled.
pub(super) async fn start() -> anyhow::Result<Provisioned> {
    let image = ContainerImage {
        kind: "mongo",
        image_env: "MOCKVIDEO_MONGO_IMAGE",
        default_image: DEFAULT_IMAGE,
        fallback: &images::MONGO,
    };
    docker::start_container(&image, |reference| async move {
        run_on_free_port(&reference).await
    })
    .await
}

/// Runs `image` on a free host port, retrying with another port when it was taken meanwhile.
async fn run_on_free_port(image: &str) -> Result<Provisioned, StartError> {
    let mut last = None;
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port().map_err(StartError::Other)?;
        match run(image, port).await {
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

/// Runs `image` (its own command: `mongod` binds every interface in the official image,
/// `secantusd-py --host 0.0.0.0` in ours) with 27017 published on `127.0.0.1:host_port`, and
/// waits until it answers.
async fn run(image: &str, host_port: u16) -> Result<Provisioned, RunError> {
    let (name, tag) = docker::split_reference(image);
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let container_name = format!("mockvideo-mongo-{}", &suffix[..8]);
    let request = GenericImage::new(name, tag)
        .with_exposed_port(MONGO_PORT.tcp())
        .with_container_name(&container_name)
        .with_labels(docker::owner_labels("mongo"))
        .with_startup_timeout(Duration::from_secs(60))
        .with_host_config_modifier(docker::publish_on_loopback(MONGO_PORT, Some(host_port)));
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
    // time, which a `Mongo` held in a static does not have), so its handle is forgotten.
    std::mem::forget(container);
    let url = format!("mongodb://127.0.0.1:{host_port}/?directConnection=true");
    match ready::wait_for_ping(&url, READY_LIMIT, Liveness::Container(&id)).await {
        Ok(waited) => eprintln!(
            "[harness] mongo: container {container_name} answered ping after {:.2} s",
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
