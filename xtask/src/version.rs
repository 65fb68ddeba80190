//! The release version every delivery stage shares: the workspace version plus the short
//! commit, e.g. `0.1.0-9abcb1e`, and whether the tree has uncommitted changes.

use anyhow::{Context, Result};

use crate::cmd::Cmd;
use crate::runner::Runner;

/// The workspace version (`[workspace.package] version`, which every crate inherits).
pub const WORKSPACE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What is being delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// `0.1.0`.
    pub workspace: String,
    /// The full commit id (`git rev-parse HEAD`).
    pub commit: String,
    /// Uncommitted changes to tracked files (`git status --porcelain --untracked-files=no`).
    pub dirty: bool,
}

impl Version {
    /// Reads the commit and the tree's state through `runner`.
    pub fn detect(runner: &dyn Runner) -> Result<Version> {
        let commit = runner
            .read(&Cmd::new("git").args(["rev-parse", "HEAD"]))
            .context("reading the commit (is this a git clone?)")?
            .trim()
            .to_string();
        let status = runner
            .read(&Cmd::new("git").args(["status", "--porcelain", "--untracked-files=no"]))
            .context("reading the tree's state")?;
        Ok(Version {
            workspace: WORKSPACE_VERSION.to_string(),
            commit,
            dirty: !status.trim().is_empty(),
        })
    }

    /// The first 7 digits of the commit.
    pub fn short_commit(&self) -> &str {
        self.commit.get(..7).unwrap_or(&self.commit)
    }

    /// The tag of images, charts' `appVersion` and the git tag: `0.1.0-9abcb1e`.
    pub fn tag(&self) -> String {
        format!("{}-{}", self.workspace, self.short_commit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::recording::RecordingRunner;

    #[test]
    fn the_tag_is_the_workspace_version_and_the_short_commit() {
        let runner = RecordingRunner::new()
            .read_answer(
                "git rev-parse HEAD",
                "9abcb1e0123456789abcdef0123456789abcdef0\n",
            )
            .read_answer("git status --porcelain --untracked-files=no", "");
        let version = Version::detect(&runner).unwrap();
        assert_eq!(version.tag(), format!("{WORKSPACE_VERSION}-9abcb1e"));
        assert!(!version.dirty);
    }

    #[test]
    fn modified_tracked_files_make_it_dirty() {
        let runner = RecordingRunner::new()
            .read_answer("git rev-parse HEAD", "abc\n")
            .read_answer(
                "git status --porcelain --untracked-files=no",
                " M README.md\n",
            );
        let version = Version::detect(&runner).unwrap();
        assert!(version.dirty);
        assert_eq!(version.short_commit(), "abc");
    }
}
