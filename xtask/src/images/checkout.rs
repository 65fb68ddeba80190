//! Release builds shared between checkouts. Every clone uses the same `CARGO_TARGET_DIR`, and
//! cargo names a workspace crate's artefacts without the checkout's path, so after a build in
//! one clone, the same build in another clone can find the first clone's artefacts "fresh" (their
//! dependency info lists the first clone's unchanged files) and the images would carry the other
//! clone's code. Seen here: images tagged with one commit running the previous commit's binaries.
//!
//! So each `<target>/release/` records which checkout last built it ([`MARKER`]); when that is
//! another one (or unknown), the workspace's own crates are cleaned first and rebuilt from this
//! checkout (their dependencies stay cached).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Arch;
use crate::cmd::Cmd;
use crate::paths;
use crate::runner::Runner;

/// The file in `<target>/release/` naming the checkout that built it.
pub const MARKER: &str = ".mockvideo-checkout";

/// The marker of `arch`'s release directory.
pub fn marker(target_dir: &Path, arch: Arch) -> PathBuf {
    target_dir
        .join(arch.rust_target())
        .join("release")
        .join(MARKER)
}

/// The names of the workspace's packages, from `cargo metadata --no-deps`.
pub fn workspace_packages(metadata_json: &str) -> Result<Vec<String>> {
    let value = paths::parse_metadata(metadata_json)?;
    let packages = value
        .get("packages")
        .and_then(serde_json::Value::as_array)
        .context("`cargo metadata` printed no packages")?;
    Ok(packages
        .iter()
        .filter_map(|package| package.get("name")?.as_str().map(String::from))
        .collect())
}

/// `cargo clean --release --target T -p …` for `packages`.
pub fn clean_cmd(arch: Arch, packages: &[String]) -> Cmd {
    let mut cmd = Cmd::cargo(["clean", "--release", "--target", arch.rust_target()]);
    for package in packages {
        cmd = cmd.args(["-p", package]);
    }
    cmd.dir(paths::repo_root())
}

/// Whether the release directory behind `marker_text` (its content, if any) was built by `root`.
pub fn built_here(marker_text: Option<&str>, root: &Path) -> bool {
    marker_text.is_some_and(|text| Path::new(text.trim()) == root)
}

/// Cleans this workspace's crates for `arch` unless this checkout built them last.
pub fn prepare(runner: &dyn Runner, target_dir: &Path, arch: Arch) -> Result<()> {
    let root = paths::repo_root();
    let recorded = std::fs::read_to_string(marker(target_dir, arch)).ok();
    if built_here(recorded.as_deref(), &root) {
        return Ok(());
    }
    eprintln!(
        "images: the {} release artefacts were last built from {}; cleaning this workspace's \
         crates so that they are rebuilt from {} (dependencies stay cached)",
        arch.rust_target(),
        recorded.as_deref().map_or("an unknown checkout", str::trim),
        root.display()
    );
    let packages = workspace_packages(&runner.read(&paths::metadata_cmd())?)?;
    runner.run(&clean_cmd(arch, &packages))
}

/// Records that this checkout built `arch`'s release directory.
pub fn record(target_dir: &Path, arch: Arch) -> Result<()> {
    let path = marker(target_dir, arch);
    std::fs::write(&path, paths::repo_root().display().to_string())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_checkout_counts_as_built_here() {
        let root = Path::new("/work/main");
        assert!(built_here(Some("/work/main\n"), root));
        assert!(!built_here(Some("/tmp/fresh"), root));
        assert!(!built_here(None, root));
    }

    #[test]
    fn the_workspace_crates_are_cleaned_for_the_arch() {
        let json =
            r#"{"packages":[{"name":"accountd"},{"name":"platform"}],"target_directory":"/t"}"#;
        let packages = workspace_packages(json).unwrap();
        assert_eq!(
            clean_cmd(Arch::Amd64, &packages).line(),
            "cargo clean --release --target x86_64-unknown-linux-musl -p accountd -p platform"
        );
        assert_eq!(
            marker(Path::new("/t"), Arch::Armv7),
            Path::new("/t/armv7-unknown-linux-gnueabihf/release/.mockvideo-checkout")
        );
    }
}
