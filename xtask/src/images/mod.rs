//! `cargo xtask images`: static release binaries, one `FROM scratch` image per deployable and
//! architecture, each smoke-tested right after its build, then a table of the images.
//!
//! Per architecture ([`arch`]): [`crate::tools::cross::ensure_toolchain`] (and
//! [`crate::tools::cross::ensure_binfmt`] for armv7), one `cargo build --release --target
//! <triple>` for every selected binary, then per deployable ([`build`]) a build context under
//! `target/images/<arch>/<name>/` (the binary and a generated [`dockerfile`]), a BuildKit build
//! with `--platform` (the 20.10 client at `/usr/bin/docker`: the legacy builder cannot build
//! `FROM scratch` for another platform), and [`smoke`]: the engine starts the image (armv7
//! through qemu binfmt), its liveness endpoint must answer 200 through a `127.0.0.1` port mapping
//! (or `--version` exit 0), and the container is removed. [`report`] is the table at the end;
//! [`checkout`] makes sure the binaries are this checkout's when clones share a target dir.

pub mod arch;
pub mod build;
pub mod checkout;
pub mod dockerfile;
pub mod report;
pub mod smoke;

use anyhow::Result;
use clap::Args;

use crate::deployables::{self, Deployable, DEPLOYABLES};
use crate::runner::Runner;

pub use arch::{Arch, ArchChoice};
use build::build_and_smoke;
pub use build::docker;

/// The local image of `deployable` at `tag` for `arch`:
/// `local/mockvideo/<deployable>:<tag>-<arch>` (e.g. `local/mockvideo/accountd:0.1.0-9abcb1e-amd64`).
pub fn image_ref(deployable: &str, tag: &str, arch: Arch) -> String {
    format!("local/mockvideo/{deployable}:{tag}-{}", arch.name())
}

/// The long help of `cargo xtask images` (the `Images` variant in `cli.rs` needs
/// `#[command(long_about = crate::images::LONG_ABOUT)]`: its doc comment resets it).
pub const LONG_ABOUT: &str = "Build static release binaries (x86_64-unknown-linux-musl; \
armv7-unknown-linux-gnueabihf with +crt-static and Debian's cross gcc, installed on demand), one \
FROM scratch image per deployable and architecture (non-root user 65532, OCI labels, EXPOSEd \
ports), tagged local/mockvideo/<name>:<version>-<arch> and :latest-<arch>. Each image is \
smoke-tested right after its build: the engine starts it (armv7 through qemu binfmt, registered \
on demand), its liveness endpoint must answer 200 on a 127.0.0.1 port within a bounded time \
(the simulator: --version exits 0), and the container is removed. accountd and activity-server, \
which need MySQL to start, run in the network namespace of a MariaDB container (the harness's \
local/mockvideo-mariadb image). Ends with a table: image, \
platform, size, build seconds, smoke result; exits non-zero if any build or smoke test failed.\n\n\
Installing the toolchain or registering qemu needs root the first time.\n\n\
Examples:\n  cargo xtask images                           both architectures, every deployable\n  \
cargo xtask images --arch amd64\n  cargo xtask images --arch armv7 --service accountd";

/// `images` options.
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT)]
pub struct ImagesArgs {
    /// Which architectures to build.
    #[arg(long, value_enum, default_value = "all")]
    pub arch: ArchChoice,
    /// Build only this deployable (repeatable); default: all of them.
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
}

/// Builds and smoke-tests the images, prints the table, errors if anything failed.
pub async fn run(runner: &dyn Runner, args: &ImagesArgs) -> Result<()> {
    let selected = select(&args.services)?;
    let report = build_and_smoke(runner, &args.arch.arches(), &selected).await?;
    println!("\n{}", report.table());
    println!("{}", report.headline());
    report.check()
}

/// For `cargo xtask ci`: builds and smoke-tests the amd64 image of every deployable, prints the
/// table, and returns a one-line summary (errors, naming the failures, if any image failed).
pub async fn ci_amd64(runner: &dyn Runner) -> Result<String> {
    let all: Vec<&Deployable> = DEPLOYABLES.iter().collect();
    let report = build_and_smoke(runner, &[Arch::Amd64], &all).await?;
    println!("\n{}", report.table());
    report.check()?;
    Ok(report.headline())
}

/// The deployables named (all when none).
pub fn select(names: &[String]) -> Result<Vec<&'static Deployable>> {
    if names.is_empty() {
        return Ok(DEPLOYABLES.iter().collect());
    }
    names.iter().map(|name| deployables::find(name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_carry_the_tag_and_the_arch() {
        assert_eq!(
            image_ref("accountd", "0.1.0-9abcb1e", Arch::Armv7),
            "local/mockvideo/accountd:0.1.0-9abcb1e-armv7"
        );
        assert_eq!(ArchChoice::All.arches(), Arch::ALL);
    }
}
