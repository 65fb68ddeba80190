//! Where things are: the repository root, cargo's target directory (wherever the environment puts
//! it) and the files xtask writes under the repository's own `target/`, with
//! [`write_private`] for the ones that hold secrets.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cmd::Cmd;

/// Writes `contents` to `file` so that only its owner can read it: the file 0600 (also one left
/// by an earlier run), a missing parent directory created 0700. For secrets, tokens and files
/// holding credentials.
pub fn write_private(file: &Path, contents: &[u8]) -> Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)
        .with_context(|| format!("opening {}", file.display()))?;
    // `mode` applies only to a new file; one left by a killed run gets it too.
    out.set_permissions(std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("restricting {}", file.display()))?;
    out.write_all(contents)
        .with_context(|| format!("writing {}", file.display()))
}
use crate::runner::Runner;

/// The workspace root (the parent of `xtask/`) of the checkout `cargo xtask` runs from
/// ([`backing::workspace::manifest_dir`]).
pub fn repo_root() -> PathBuf {
    let manifest_dir = backing::workspace::manifest_dir(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

/// The repository's own `target/` directory. Files meant for people and scripts
/// (`target/up/endpoints.env`, logs) go here even when `CARGO_TARGET_DIR` points elsewhere.
pub fn repo_target() -> PathBuf {
    repo_root().join("target")
}

/// `target/up/`: what `cargo xtask up` writes while it runs.
pub fn up_dir() -> PathBuf {
    repo_target().join("up")
}

/// The command asking cargo for the workspace metadata.
pub fn metadata_cmd() -> Cmd {
    Cmd::cargo(["metadata", "--format-version", "1", "--no-deps"]).dir(repo_root())
}

/// Cargo's target directory as cargo itself resolves it (`CARGO_TARGET_DIR`, `build.target-dir`
/// in a config file, or `./target`).
pub fn cargo_target_dir(runner: &dyn Runner) -> Result<PathBuf> {
    let json = runner.read(&metadata_cmd())?;
    target_dir_from_metadata(&json)
}

/// `cargo metadata` JSON, parsed (every reader of it starts here).
pub fn parse_metadata(json: &str) -> Result<serde_json::Value> {
    serde_json::from_str(json).context("parsing the output of `cargo metadata`")
}

/// Extracts `target_directory` from `cargo metadata` JSON.
pub fn target_dir_from_metadata(json: &str) -> Result<PathBuf> {
    parse_metadata(json)?
        .get("target_directory")
        .and_then(serde_json::Value::as_str)
        .map(PathBuf::from)
        .context("`cargo metadata` printed no target_directory")
}

/// Path of a binary built by cargo in `profile` (`debug` or `release`).
pub fn binary(target_dir: &Path, profile: &str, name: &str) -> PathBuf {
    target_dir.join(profile).join(name)
}

/// `path` made absolute against the current directory (unchanged if it already is, or if the
/// current directory cannot be read).
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::recording::RecordingRunner;

    #[test]
    fn repo_root_holds_the_workspace_manifest() {
        assert!(repo_root().join("Cargo.toml").is_file());
        assert!(repo_root().join("xtask").is_dir());
        assert_eq!(up_dir(), repo_root().join("target").join("up"));
    }

    #[test]
    fn target_dir_comes_from_cargo_metadata() {
        let runner = RecordingRunner::new().read_answer(
            "cargo metadata --format-version 1 --no-deps",
            r#"{"packages":[],"target_directory":"/elsewhere/target","version":1}"#,
        );
        assert_eq!(
            cargo_target_dir(&runner).unwrap(),
            PathBuf::from("/elsewhere/target")
        );
        assert_eq!(
            binary(Path::new("/elsewhere/target"), "release", "accountd"),
            PathBuf::from("/elsewhere/target/release/accountd")
        );
    }

    #[test]
    fn absolute_paths_stay_and_relative_ones_are_anchored() {
        assert_eq!(
            absolute(Path::new("/t/debug/x")),
            PathBuf::from("/t/debug/x")
        );
        let relative = absolute(Path::new("target/debug/x"));
        assert!(relative.is_absolute());
        assert!(relative.ends_with("target/debug/x"));
    }

    #[test]
    fn metadata_without_target_dir_is_an_error() {
        assert!(target_dir_from_metadata("{}").is_err());
        assert!(target_dir_from_metadata("not json").is_err());
    }
}
