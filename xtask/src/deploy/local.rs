//! What `deploy --env local` adds for the throwaway cluster of `cargo xtask cluster up`: the
//! kubeconfig under `target/cluster/`, the stores' data directory on the node, the harness's
//! content-tagged MariaDB/Redis/MongoDB images, and this commit's service images present in the
//! Docker engine (built with `cargo xtask images` when missing: the pods never pull).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cluster::config::Dirs;
use crate::cmd::Cmd;
use crate::deployables::DEPLOYABLES;
use crate::images::{image_ref, Arch};
use crate::runner::Runner;

/// The local cluster's files (`target/cluster/`).
pub fn cluster_dirs() -> Dirs {
    Dirs::new(crate::paths::repo_target().join("cluster"))
}

/// The kubeconfig helm uses when no `--kube-context` is given: the local cluster's, if it is up.
pub fn local_kubeconfig() -> Option<PathBuf> {
    let dirs = cluster_dirs();
    (dirs.state().is_file() && dirs.kubeconfig().is_file()).then(|| dirs.kubeconfig())
}

/// Which values key each harness image fills (the recipe's repository → the store).
const STORE_IMAGES: [(&str, &str); 3] = [
    ("local/mockvideo-mariadb", "mysql"),
    ("local/mockvideo-redis", "redis"),
    ("local/mockvideo-mongo", "mongodb"),
];

/// The `--set` pairs of the local environment: the stores' data directory and images.
pub fn local_sets(data_dir: &Path, images: &[(&str, String)]) -> Result<Vec<String>> {
    let mut sets = vec![format!("backing.hostPath={}", data_dir.display())];
    for (repository, store) in STORE_IMAGES {
        let reference = images
            .iter()
            .find(|(name, _)| *name == repository)
            .map(|(_, reference)| reference)
            .with_context(|| format!("the harness has no image recipe {repository}"))?;
        sets.push(format!("backing.{store}.image={reference}"));
    }
    Ok(sets)
}

/// The service images `tag` needs that the engine lacks.
pub fn missing_images(runner: &dyn Runner, tag: &str) -> Vec<String> {
    DEPLOYABLES
        .iter()
        .map(|deployable| image_ref(deployable.name, tag, Arch::Amd64))
        .filter(|reference| {
            !runner.probe(
                &Cmd::new(crate::images::docker())
                    .args(["image", "inspect", "--format", "{{.Id}}", reference]),
            )
        })
        .collect()
}

/// Makes everything the local values need ready; returns the extra `--set` pairs.
pub async fn prepare(runner: &dyn Runner, tag: &str, explicit_tag: bool) -> Result<Vec<String>> {
    let missing = missing_images(runner, tag);
    if !missing.is_empty() {
        if explicit_tag {
            bail!(
                "the engine lacks {} image(s) of tag {tag}: {}; build them from that commit \
                 with `cargo xtask images --arch amd64`",
                missing.len(),
                missing.join(", ")
            );
        }
        eprintln!(
            "deploy: {} of the {} service images of {tag} missing; building them (cargo xtask images --arch amd64)",
            missing.len(),
            DEPLOYABLES.len()
        );
        crate::images::ci_amd64(runner).await?;
    } else {
        eprintln!(
            "deploy: the {} service images of {tag} are in the engine",
            DEPLOYABLES.len()
        );
    }
    for line in crate::stores::ensure_images().await? {
        eprintln!("deploy: {line}");
    }
    let data = cluster_dirs().data();
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    local_sets(&data, &crate::stores::image_references())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_name_the_data_dir_and_every_store_image() {
        let images = [
            ("local/mockvideo-base", "local/mockvideo-base:1".to_string()),
            (
                "local/mockvideo-mariadb",
                "local/mockvideo-mariadb:2".to_string(),
            ),
            (
                "local/mockvideo-redis",
                "local/mockvideo-redis:3".to_string(),
            ),
            (
                "local/mockvideo-mongo",
                "local/mockvideo-mongo:4".to_string(),
            ),
        ];
        assert_eq!(
            local_sets(Path::new("/r/target/cluster/data"), &images).unwrap(),
            [
                "backing.hostPath=/r/target/cluster/data",
                "backing.mysql.image=local/mockvideo-mariadb:2",
                "backing.redis.image=local/mockvideo-redis:3",
                "backing.mongodb.image=local/mockvideo-mongo:4",
            ]
        );
        let error = local_sets(Path::new("/d"), &images[..2]).unwrap_err();
        assert!(
            error.to_string().contains("local/mockvideo-redis"),
            "{error}"
        );
    }
}
