//! Provider (b): a container ([`crate::container`]). Tries `MOCKVIDEO_MYSQL_IMAGE` (default
//! `mysql:8.4`); when that image cannot be had (no registry reachable), builds and uses the
//! local MariaDB recipe. The port is published on 127.0.0.1 only, the container carries the
//! owner labels, and it counts as ready once a real `SELECT 1` succeeds.

use std::time::Duration;

use super::{
    percent_encode,
    ready::{self, Liveness},
    Login, Provisioned, DEFAULT_IMAGE,
};
use crate::{
    container::{self, ContainerImage, RunSpec, Running, StartError},
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
    container::start_container(&image, |reference| async move { run(&reference).await }).await
}

/// Runs `image` and waits until it answers.
async fn run(image: &str) -> Result<Provisioned, StartError> {
    let (user, password, env) = credentials_for(image);
    let Running {
        id,
        name: container_name,
        host_port: port,
        guard,
    } = container::run(&RunSpec {
        image,
        kind: "mysql",
        container_port: MYSQL_PORT,
        host_port: None,
        env,
        command: Vec::new(),
    })
    .await?;
    let admin = format!(
        "mysql://{}:{}@127.0.0.1:{port}",
        percent_encode(&user),
        percent_encode(&password)
    );
    let waited = ready::wait_for_select_1(&admin, READY_LIMIT, Liveness::Container(&id)).await;
    container::settle("mysql", "SELECT 1", &container_name, image, waited)?;
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
