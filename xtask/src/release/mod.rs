//! Releasing what `cargo xtask images` built: `cargo xtask tag` gives the images and the commit
//! the release version, `cargo xtask push` sends the images (one multi-arch manifest list per
//! deployable) and the packaged Helm charts to a registry. This module holds what both share:
//! which local images exist and the default registry from the workspace metadata.

use std::collections::BTreeSet;

use anyhow::{Context, Result};

use crate::cmd::Cmd;
use crate::deployables::DEPLOYABLES;
use crate::images::{image_ref, Arch};
use crate::paths;
use crate::runner::Runner;

#[cfg(test)]
mod pipelines;
pub mod push;
pub mod tag;

/// The command listing the local images of the deployables (`repository:tag` per line).
pub fn list_images_cmd() -> Cmd {
    Cmd::new("docker").args([
        "image",
        "ls",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "--filter",
        "reference=local/mockvideo/*",
    ])
}

/// Every local `local/mockvideo/…` image reference.
pub fn local_images(runner: &dyn Runner) -> Result<BTreeSet<String>> {
    let out = runner
        .read(&list_images_cmd())
        .context("listing the local images (is the Docker engine up? `cargo xtask bootstrap`)")?;
    Ok(out
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(String::from)
        .collect())
}

/// One built image of one deployable for one architecture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltImage {
    /// The deployable's name.
    pub name: &'static str,
    /// Its architecture.
    pub arch: Arch,
    /// `local/mockvideo/<name>:<tag>-<arch>`.
    pub local: String,
}

/// The images among `present` that carry the release `tag`, in deployable then arch order.
pub fn built_images(present: &BTreeSet<String>, tag: &str) -> Vec<BuiltImage> {
    DEPLOYABLES
        .iter()
        .flat_map(|deployable| {
            Arch::ALL.into_iter().map(move |arch| BuiltImage {
                name: deployable.name,
                arch,
                local: image_ref(deployable.name, tag, arch),
            })
        })
        .filter(|image| present.contains(&image.local))
        .collect()
}

/// The default registry namespace: `[workspace.metadata.mockvideo] registry` of the root
/// `Cargo.toml`.
pub fn default_registry(runner: &dyn Runner) -> Result<String> {
    let json = runner.read(&paths::metadata_cmd())?;
    registry_from_metadata(&json)
}

/// Extracts `metadata.mockvideo.registry` from `cargo metadata` JSON.
pub fn registry_from_metadata(json: &str) -> Result<String> {
    paths::parse_metadata(json)?
        .pointer("/metadata/mockvideo/registry")
        .and_then(serde_json::Value::as_str)
        .map(String::from)
        .context(
            "no default registry: add `registry = \"docker.io/<namespace>\"` under \
             [workspace.metadata.mockvideo] in Cargo.toml, or pass --registry",
        )
}

/// Prints the commands a `--dry-run` would run.
pub fn print_plan(title: &str, commands: &[Cmd]) {
    println!("{title}");
    if commands.is_empty() {
        println!("  (nothing to do)");
    }
    for cmd in commands {
        println!("  $ {cmd}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::recording::RecordingRunner;

    #[test]
    fn built_images_are_the_present_ones_with_the_release_tag() {
        let present: BTreeSet<String> = [
            "local/mockvideo/accountd:0.1.0-abc1234-amd64",
            "local/mockvideo/accountd:0.1.0-abc1234-armv7",
            "local/mockvideo/accountd:latest-amd64",
            "local/mockvideo/movies:0.1.0-abc1234-amd64",
            "local/mockvideo/movies:0.1.0-0000000-armv7",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let built = built_images(&present, "0.1.0-abc1234");
        let names: Vec<_> = built.iter().map(|i| (i.name, i.arch.name())).collect();
        assert_eq!(
            names,
            [
                ("accountd", "amd64"),
                ("accountd", "armv7"),
                ("movies", "amd64")
            ]
        );
    }

    #[test]
    fn the_default_registry_comes_from_the_workspace_metadata() {
        let runner = RecordingRunner::new().read_answer(
            "cargo metadata --format-version 1 --no-deps",
            r#"{"metadata":{"mockvideo":{"registry":"docker.io/mockvideo"}}}"#,
        );
        assert_eq!(default_registry(&runner).unwrap(), "docker.io/mockvideo");
        let err = registry_from_metadata(r#"{"metadata":null}"#).unwrap_err();
        assert!(err.to_string().contains("--registry"), "{err}");
    }

    #[test]
    fn the_workspace_manifest_names_the_default_registry() {
        let manifest = std::fs::read_to_string(paths::repo_root().join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("[workspace.metadata.mockvideo]\nregistry = \"docker.io/mockvideo\"")
        );
    }

    #[test]
    fn local_images_are_listed_one_per_line() {
        let runner = RecordingRunner::new().read_answer(
            &list_images_cmd().line(),
            "local/mockvideo/accountd:latest-amd64\n\nlocal/mockvideo/users:x\n",
        );
        let images = local_images(&runner).unwrap();
        assert_eq!(images.len(), 2);
        assert!(images.contains("local/mockvideo/users:x"));
    }
}
