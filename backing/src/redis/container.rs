//! Provider (b): a container ([`crate::container`]). Tries `MOCKVIDEO_REDIS_IMAGE` (default
//! `redis:7`); when that image cannot be had (no registry reachable), builds and uses the local
//! Redis recipe ([`images::REDIS`]). The port is published on a fixed, free port of 127.0.0.1
//! only (so it survives `docker restart`), the container carries the owner labels, and it counts
//! as ready once a real `PING` answers `PONG`.

use super::{ready::Pong, Provisioned, RedisOptions, DEFAULT_IMAGE};
use crate::{
    container::ContainerImage,
    fixed_port::{self, FixedPortContainer},
    images,
};

/// Redis's port inside the container.
const REDIS_PORT: u16 = 6379;

/// Starts a Redis container, falling back to the local recipe when the requested image cannot
/// be pulled.
pub(super) async fn start(options: RedisOptions) -> anyhow::Result<Provisioned> {
    let mut command = vec![
        "redis-server",
        "--protected-mode",
        "no",
        "--bind",
        "0.0.0.0",
    ];
    command.extend(options.server_args());
    fixed_port::start::<Pong>(FixedPortContainer {
        image: ContainerImage {
            kind: "redis",
            image_env: "MOCKVIDEO_REDIS_IMAGE",
            default_image: DEFAULT_IMAGE,
            fallback: &images::REDIS,
        },
        container_port: REDIS_PORT,
        command,
    })
    .await
}
