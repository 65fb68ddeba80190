//! Schemathesis: installed on first use from PyPI into a virtual environment in the tools cache
//! (`<tools>/schemathesis-<version>/`), pinned, so `cargo xtask fuzz` on a fresh machine needs
//! nothing but Python. When `python3 -m venv` is missing (Debian splits it out), the
//! `python3-venv` package is installed first.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cmd::Cmd;
use crate::runner::Runner;
use crate::tools::{cache_dir, ensure_apt_packages};

/// The pinned release.
pub const VERSION: &str = "4.32.5";

/// The virtual environment holding it.
fn venv_dir(cache: &Path) -> PathBuf {
    cache.join(format!("schemathesis-{VERSION}"))
}

/// The `schemathesis` executable inside a virtual environment.
fn executable_in(cache: &Path) -> PathBuf {
    venv_dir(cache).join("bin").join("schemathesis")
}

/// The marker written once the install completed (a half-made venv is redone, not trusted).
fn marker_in(cache: &Path) -> PathBuf {
    venv_dir(cache).join(".installed")
}

/// The `schemathesis` executable, installed into the tools cache on first use.
pub fn ensure(runner: &dyn Runner) -> Result<PathBuf> {
    install(runner, &cache_dir())
}

fn install(runner: &dyn Runner, cache: &Path) -> Result<PathBuf> {
    let executable = executable_in(cache);
    if marker_in(cache).is_file() && executable.is_file() {
        return Ok(executable);
    }
    let venv = venv_dir(cache);
    eprintln!(
        "tools: installing Schemathesis {VERSION} from PyPI into {}",
        venv.display()
    );
    if !runner.probe(&venv_cmd(&venv)) {
        ensure_apt_packages(runner, &["python3-venv"], "creating Schemathesis's venv")?;
        runner
            .run(&venv_cmd(&venv))
            .context("creating a Python virtual environment (is python3 installed?)")?;
    }
    runner
        .run(&pip_cmd(&venv))
        .with_context(|| format!("installing schemathesis=={VERSION} from PyPI"))?;
    let marker = marker_in(cache);
    std::fs::write(&marker, VERSION).with_context(|| format!("writing {}", marker.display()))?;
    Ok(executable)
}

/// `python3 -m venv --clear DIR`.
fn venv_cmd(venv: &Path) -> Cmd {
    Cmd::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(venv.display().to_string())
}

/// `DIR/bin/pip install --quiet --disable-pip-version-check schemathesis==VERSION`.
fn pip_cmd(venv: &Path) -> Cmd {
    Cmd::new(venv.join("bin").join("pip").display().to_string())
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("schemathesis=={VERSION}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_venv_is_versioned_in_the_cache_and_pip_pins_the_release() {
        let cache = Path::new("/cache");
        assert_eq!(
            executable_in(cache),
            Path::new("/cache/schemathesis-4.32.5/bin/schemathesis")
        );
        assert_eq!(
            pip_cmd(&venv_dir(cache)).to_string(),
            "/cache/schemathesis-4.32.5/bin/pip install --quiet --disable-pip-version-check \
             schemathesis==4.32.5"
        );
        assert_eq!(
            venv_cmd(&venv_dir(cache)).to_string(),
            "python3 -m venv --clear /cache/schemathesis-4.32.5"
        );
    }
}
