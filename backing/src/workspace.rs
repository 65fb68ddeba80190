//! Where the checkout a command runs from is, at run time.
//!
//! `env!("CARGO_MANIFEST_DIR")` is baked in at compile time, and cargo reuses a binary across
//! checkouts that share a target directory (`CARGO_TARGET_DIR`, as CI does) when the sources
//! are not newer: a binary built in one clone would then build, test and deploy that clone
//! from another. `cargo run` and `cargo test` set the variable for the process too, naming the
//! checkout actually used; [`manifest_dir`] prefers it.

use std::path::PathBuf;

/// The crate's manifest directory: the run-time `CARGO_MANIFEST_DIR` (set by `cargo run` and
/// `cargo test`) when present, else `compiled` (pass `env!("CARGO_MANIFEST_DIR")`).
pub fn manifest_dir(compiled: &str) -> PathBuf {
    from(std::env::var_os("CARGO_MANIFEST_DIR"), compiled)
}

fn from(run_time: Option<std::ffi::OsString>, compiled: &str) -> PathBuf {
    run_time
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| PathBuf::from(compiled), PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_time_directory_wins_over_the_compiled_one() {
        assert_eq!(
            from(Some("/work/b/xtask".into()), "/work/a/xtask"),
            PathBuf::from("/work/b/xtask")
        );
        assert_eq!(from(None, "/work/a/xtask"), PathBuf::from("/work/a/xtask"));
        assert_eq!(
            from(Some("".into()), "/work/a/xtask"),
            PathBuf::from("/work/a/xtask")
        );
    }
}
