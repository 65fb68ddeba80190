//! Provider (b): a container ([`crate::container`]). Tries `MOCKVIDEO_MONGO_IMAGE` (default
//! `mongo:7`); when that image cannot be had (no registry reachable), builds and uses the local
//! MongoDB-wire recipe ([`images::MONGO`], SecantusDB as the container's own process). Both keep
//! their data inside the container (`/data/db`, `/var/lib/secantusdb/data`), so a `docker
//! restart` keeps it. The port is published on a fixed, free port of 127.0.0.1 only (so it
//! survives the restart), the container carries the owner labels, and it counts as ready once
//! the official driver's `ping` succeeds.

use super::{ready::Ping, Provisioned, DEFAULT_IMAGE};
use crate::{
    container::ContainerImage,
    fixed_port::{self, FixedPortContainer},
    images,
};

/// The server's port inside the container.
const MONGO_PORT: u16 = 27017;

/// Starts a MongoDB-wire container with its own command (`mongod` binds every interface in the
/// official image, `secantusd-py --host 0.0.0.0` in ours), falling back to the local recipe
/// when the requested image cannot be pulled.
pub(super) async fn start() -> anyhow::Result<Provisioned> {
    fixed_port::start::<Ping>(FixedPortContainer {
        image: ContainerImage {
            kind: "mongo",
            image_env: "MOCKVIDEO_MONGO_IMAGE",
            default_image: DEFAULT_IMAGE,
            fallback: &images::MONGO,
        },
        container_port: MONGO_PORT,
        command: Vec::new(),
    })
    .await
}
