//! Keeps a shared cargo target directory from filling the disk.
//!
//! CI shares one `CARGO_TARGET_DIR` between runs (each a fresh clone). Cargo replaces most
//! artefacts in place, but every variant of a test binary (another feature set, another
//! dependency resolution) is a new `deps/<name>-<hash>` file of tens to hundreds of MB that
//! nothing ever removes: one working day added about 25 GB. [`prune_stale_binaries`] keeps the
//! newest executable of each name and removes the older ones once they are old enough not to
//! belong to a build running right now; cargo rebuilds one if it is ever needed again.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use anyhow::{Context as _, Result};

/// How old a superseded binary must be before it is removed.
pub const MIN_AGE: Duration = Duration::from_secs(3600);

/// What a prune removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Binaries removed.
    pub files: usize,
    /// Their size in bytes.
    pub bytes: u64,
}

impl Pruned {
    /// "pruned 12 superseded test binaries (3.4 GB)".
    pub fn note(&self) -> String {
        // Display only: the precision lost converting to f64 does not matter.
        #[allow(clippy::cast_precision_loss)]
        let gigabytes = self.bytes as f64 / 1e9;
        format!(
            "pruned {} superseded test binaries ({gigabytes:.1} GB)",
            self.files
        )
    }
}

/// In each `<target>/<profile>/deps` (`debug`, `release`), keeps the newest executable of each
/// name (`<name>-<hash>`, no extension) and removes the others (with their `.d` file) when they
/// were last modified more than `min_age` ago.
pub fn prune_stale_binaries(target: &Path, min_age: Duration) -> Result<Pruned> {
    let mut pruned = Pruned::default();
    for profile in ["debug", "release"] {
        let deps = target.join(profile).join("deps");
        if deps.is_dir() {
            prune_dir(&deps, min_age, SystemTime::now(), &mut pruned)?;
        }
    }
    Ok(pruned)
}

/// One `deps` directory (see [`prune_stale_binaries`]); `now` is a parameter for the tests.
fn prune_dir(deps: &Path, min_age: Duration, now: SystemTime, pruned: &mut Pruned) -> Result<()> {
    let mut by_name: BTreeMap<String, Vec<(SystemTime, u64, PathBuf)>> = BTreeMap::new();
    let entries = fs::read_dir(deps).with_context(|| format!("reading {}", deps.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = executable_name(&path) else {
            continue;
        };
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        let modified = meta.modified().unwrap_or(now);
        by_name
            .entry(name)
            .or_default()
            .push((modified, meta.len(), path));
    }
    for mut versions in by_name.into_values() {
        versions.sort_by_key(|version| std::cmp::Reverse(version.0));
        for (modified, size, path) in versions.into_iter().skip(1) {
            let age = now.duration_since(modified).unwrap_or_default();
            if age < min_age {
                continue;
            }
            if fs::remove_file(&path).is_ok() {
                let _ = fs::remove_file(path.with_extension("d"));
                pruned.files += 1;
                pruned.bytes += size;
            }
        }
    }
    Ok(())
}

/// `name` of a `deps/<name>-<16 hex digits>` executable (a test or binary), else `None`.
fn executable_name(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let file = path.file_name()?.to_str()?;
    if file.contains('.') {
        return None;
    }
    let (name, hash) = file.rsplit_once('-')?;
    if hash.len() != 16 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let meta = fs::metadata(path).ok()?;
    (meta.is_file() && meta.permissions().mode() & 0o100 != 0).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn file(dir: &Path, name: &str, executable: bool, age_secs: u64) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, vec![0u8; 10]).unwrap();
        let mode = if executable { 0o755 } else { 0o644 };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        let when = SystemTime::now() - Duration::from_secs(age_secs);
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
        path
    }

    #[test]
    fn keeps_the_newest_of_each_name_and_recent_ones() {
        let dir = tempfile::tempdir().unwrap();
        let deps = dir.path().join("debug").join("deps");
        fs::create_dir_all(&deps).unwrap();
        let newest = file(&deps, "functional-00000000000000aa", true, 10);
        let old = file(&deps, "functional-00000000000000bb", true, 7200);
        let old_dep_info = file(&deps, "functional-00000000000000bb.d", false, 7200);
        let recent = file(&deps, "functional-00000000000000cc", true, 60);
        let lone = file(&deps, "robustness-00000000000000dd", true, 9000);
        let rlib = file(&deps, "libtokio-00000000000000ee.rlib", false, 9000);
        let not_executable = file(&deps, "notes-00000000000000ff", false, 9000);
        let not_executable_twin = file(&deps, "notes-0000000000000011", false, 9500);

        let pruned = prune_stale_binaries(dir.path(), MIN_AGE).unwrap();

        assert_eq!(
            pruned,
            Pruned {
                files: 1,
                bytes: 10
            }
        );
        assert!(!old.exists() && !old_dep_info.exists());
        for kept in [
            newest,
            recent,
            lone,
            rlib,
            not_executable,
            not_executable_twin,
        ] {
            assert!(kept.exists(), "{}", kept.display());
        }
        assert_eq!(pruned.note(), "pruned 1 superseded test binaries (0.0 GB)");
    }

    #[test]
    fn a_missing_target_directory_prunes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let pruned = prune_stale_binaries(&dir.path().join("nowhere"), MIN_AGE).unwrap();
        assert_eq!(pruned, Pruned::default());
    }
}
