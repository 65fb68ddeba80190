//! Provider (b): a container through testcontainers. Tries `MOCKVIDEO_MYSQL_IMAGE` (default
//! `mysql:8.4`); when that image cannot be had (no registry reachable), builds and uses the
//! local MariaDB recipe. The port is published on 127.0.0.1 only, the container carries the
//! owner labels, and it counts as ready once a real `SELECT 1` succeeds.

use std::time::Duration;

use anyhow::Context as _;
use testcontainers::{
    core::{error::ClientError, IntoContainerPort as _},
    runners::AsyncRunner as _,
    GenericImage, ImageExt as _, TestcontainersError,
};

use super::{
    percent_encode,
    ready::{self, Liveness, NotReady},
    Login, Provisioned, DEFAULT_IMAGE,
};
use crate::{
    cleanup::{Guard, Resource},
    docker::{self, ContainerImage, StartError},
    images,
};

/// MySQL's port inside the container.
const MYSQL_PORT: u16 = 3306;
/// Password given to the official images' root user.
const ROOT_PASSWORD: &str = "test";
/// Upper bound for a container to answer `SELECT 1`. The official `mysql` image initialises
/// its data directory on first start (tens of seconds on two cores); the local recipe needs
/// about half a second.
const READY_LIMIT: Duration = Duration::from_secs(180);

/// Starts a MySQL container, falling back to the local MariaDB recipe when the requested image
/// cannot be pulled.
pub(super) async fn start() -> anyhow::Result<Provisioned> {
    let image = ContainerImage {
        kind: "mysql",
        image_env: "MOCKVIDEO_MYSQL_IMAGE",
        default_image: DEFAULT_IMAGE,
        fallback: &images::MARIADB,
    };
    docker::start_container(&image, |reference| async move { run(&reference).await }).await
}

/// Runs `image` and waits until it answers.
async fn run(image: &str) -> Result<Provisioned, StartError> {
    let (name, tag) = docker::split_reference(image);
    let (user, password, env) = credentials_for(image);
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let container_name = format!("mockvideo-mysql-{}", &suffix[..8]);
    let mut request = GenericImage::new(name, tag)
        .with_exposed_port(MYSQL_PORT.tcp())
        .with_container_name(&container_name)
        .with_labels(docker::owner_labels("mysql"))
        .with_startup_timeout(Duration::from_secs(60))
        .with_host_config_modifier(docker::publish_on_loopback(MYSQL_PORT, None));
    for (key, value) in env {
        request = request.with_env_var(key, value);
    }
    let container = match request.start().await {
        Ok(container) => container,
        Err(TestcontainersError::Client(ClientError::PullImage { err, .. })) => {
            return Err(StartError::ImageMissing(format!("pull failed: {err}")));
        }
        Err(error) => {
            return Err(StartError::Other(
                anyhow::Error::new(error).context(format!("starting a container from {image}")),
            ));
        }
    };
    let id = container.id().to_owned();
    let guard = Guard::register(Resource::Container {
        id: id.clone(),
        name: format!("container {container_name}"),
    });
    let port = container.get_host_port_ipv4(MYSQL_PORT).await;
    // From here on `guard` owns the container. testcontainers' own Drop would remove it again
    // and needs a Tokio runtime at drop time, which a `MySql` dropped at the end of `main` or
    // held in a static does not have; so its handle is forgotten rather than dropped.
    std::mem::forget(container);
    let port = port
        .with_context(|| format!("reading the host port of container {container_name}"))
        .map_err(StartError::Other)?;
    let admin = format!(
        "mysql://{}:{}@127.0.0.1:{port}",
        percent_encode(&user),
        percent_encode(&password)
    );
    match ready::wait_for_select_1(&admin, READY_LIMIT, Liveness::Container(&id)).await {
        Ok(waited) => eprintln!(
            "[harness] mysql: container {container_name} answered SELECT 1 after {:.2} s",
            waited.as_secs_f64()
        ),
        Err(NotReady::Died(report)) => return Err(StartError::Other(anyhow::anyhow!(report))),
        Err(NotReady::TimedOut(report)) => {
            return Err(StartError::Other(anyhow::anyhow!(
                "container {container_name} from {image}: {report}"
            )));
        }
    }
    Ok(Provisioned {
        host: "127.0.0.1".to_owned(),
        port,
        provider: format!("docker image {image} (container {container_name})"),
        container_id: Some(id),
        guard: Some(guard),
        extra: Login { user, password },
    })
}

/// User, password and environment for `image`: the local recipe has a `test` user; the official
/// `mysql`/`mariadb` images (and anything else) get a root password through their environment.
/// `MOCKVIDEO_MYSQL_USER` / `MOCKVIDEO_MYSQL_PASSWORD` override the user for other images.
fn credentials_for(image: &str) -> (String, String, Vec<(&'static str, String)>) {
    if image.starts_with(images::MARIADB.repository) {
        let (user, password) = images::MARIADB_CREDENTIALS;
        return (user.to_owned(), password.to_owned(), Vec::new());
    }
    let user = std::env::var("MOCKVIDEO_MYSQL_USER").unwrap_or_else(|_| "root".to_owned());
    let password =
        std::env::var("MOCKVIDEO_MYSQL_PASSWORD").unwrap_or_else(|_| ROOT_PASSWORD.to_owned());
    let env = vec![
        ("MYSQL_ROOT_PASSWORD", ROOT_PASSWORD.to_owned()),
        ("MYSQL_ROOT_HOST", "%".to_owned()),
        ("MARIADB_ROOT_PASSWORD", ROOT_PASSWORD.to_owned()),
        ("MARIADB_ROOT_HOST", "%".to_owned()),
    ];
    (user, password, env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_recipe_uses_its_test_user() {
        let (user, _, env) = credentials_for(&images::MARIADB.reference());
        assert_eq!(user, "test");
        assert!(env.is_empty());
    }
}
