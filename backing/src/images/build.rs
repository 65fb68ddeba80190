//! Building one recipe's image on this machine: `debootstrap` + `docker import` for the base,
//! `docker build` for the rest, each command logged to a file and bounded in time.

use std::{
    fs::File,
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::Context as _;

use super::{docker, scratch, Build, Recipe};
use crate::{
    launch::{find_program, tail},
    wait::{self, Attempt},
};

/// Builds one image (its parent must exist). Blocking.
pub(super) fn build(recipe: &Recipe) -> anyhow::Result<()> {
    let dir =
        scratch::create("imagebuild").context("creating a scratch dir for the image build")?;
    let outcome = match &recipe.build {
        Build::Debootstrap {
            suite,
            variant,
            slim_script,
            changes,
        } => build_debootstrap(
            &dir,
            &recipe.reference(),
            suite,
            variant,
            slim_script,
            changes,
        ),
        Build::Dockerfile { .. } => build_dockerfile(&dir, recipe),
    };
    if let Err(error) = scratch::remove_dir(&dir) {
        eprintln!(
            "[harness] images: could not remove {}: {error}",
            dir.display()
        );
    }
    outcome
}

fn build_dockerfile(dir: &Path, recipe: &Recipe) -> anyhow::Result<()> {
    let dockerfile = recipe.dockerfile().context("recipe has no Dockerfile")?;
    let context = dir.join("context");
    std::fs::create_dir_all(&context)?;
    std::fs::write(context.join("Dockerfile"), dockerfile)?;
    if let Build::Dockerfile { context: files, .. } = &recipe.build {
        for files in *files {
            files.fetch(&context, dir)?;
        }
    }
    let mut command = Command::new(docker::cli());
    command
        // The classic builder: the 28.x CLI has no buildx, and FROM a local image needs no pull.
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "--rm", "--force-rm", "--label"])
        .arg(format!("io.mockvideo.recipe={}", recipe.repository))
        .arg("-t")
        .arg(recipe.reference())
        .arg(&context);
    run_logged(
        command,
        &dir.join("build.log"),
        Duration::from_secs(20 * 60),
    )
    .with_context(|| format!("docker build of {}", recipe.reference()))
}

fn build_debootstrap(
    dir: &Path,
    reference: &str,
    suite: &str,
    variant: &str,
    slim_script: &str,
    changes: &[&str],
) -> anyhow::Result<()> {
    let debootstrap = find_program("debootstrap").context(
        "debootstrap is not installed, so the base image cannot be built: run `cargo xtask bootstrap` \
         (installs it with docker.io) or `apt-get install -y debootstrap`",
    )?;
    anyhow::ensure!(
        rustix::process::geteuid().is_root(),
        "building the base image runs debootstrap, which needs root: run `sudo cargo xtask bootstrap` once"
    );
    let mirror = debian_mirror();
    let rootfs = dir.join("rootfs");
    let mut command = Command::new(debootstrap);
    command
        .arg(format!("--variant={variant}"))
        .arg(suite)
        .arg(&rootfs)
        .arg(&mirror);
    eprintln!("[harness] images: debootstrap --variant={variant} {suite} from {mirror}");
    run_logged(
        command,
        &dir.join("debootstrap.log"),
        Duration::from_secs(20 * 60),
    )
    .context("debootstrap")?;

    let script = dir.join("slim.sh");
    std::fs::write(&script, slim_script)?;
    let mut command = Command::new("sh");
    command.arg(&script).arg(&rootfs);
    run_logged(command, &dir.join("slim.log"), Duration::from_secs(5 * 60))
        .context("trimming the rootfs")?;

    // tar --numeric-owner -C rootfs -c . | docker import --change … - REFERENCE
    let mut tar = Command::new("tar")
        .arg("--numeric-owner")
        .arg("-C")
        .arg(&rootfs)
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .stderr(File::create(dir.join("tar.log"))?)
        .spawn()
        .context("running tar")?;
    let tar_out = tar.stdout.take().context("tar has no stdout")?;
    let mut import = Command::new(docker::cli());
    import.arg("import");
    for change in changes {
        import.arg("--change").arg(change);
    }
    import.arg("-").arg(reference).stdin(Stdio::from(tar_out));
    let imported = run_logged(
        import,
        &dir.join("import.log"),
        Duration::from_secs(10 * 60),
    );
    let tar_status = wait_bounded(&mut tar, Duration::from_secs(60));
    imported.context("docker import")?;
    let tar_status = tar_status.context("tar")?;
    anyhow::ensure!(
        tar_status.success(),
        "tar of the rootfs failed ({tar_status})"
    );
    Ok(())
}

/// The Debian mirror to bootstrap from: `MOCKVIDEO_DEBIAN_MIRROR`, else the host's (first
/// `URIs:` of `/etc/apt/sources.list.d/debian.sources`, or the first `deb` line of
/// `/etc/apt/sources.list`), else `http://deb.debian.org/debian`.
pub fn debian_mirror() -> String {
    if let Ok(mirror) = std::env::var("MOCKVIDEO_DEBIAN_MIRROR") {
        if !mirror.is_empty() {
            return mirror;
        }
    }
    let deb822 =
        std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    let one_line = std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
    mirror_from_sources(&deb822, &one_line)
        .unwrap_or_else(|| "http://deb.debian.org/debian".to_owned())
}

fn mirror_from_sources(deb822: &str, one_line: &str) -> Option<String> {
    let from_deb822 = deb822
        .lines()
        .filter_map(|line| line.trim().strip_prefix("URIs:"))
        .filter_map(|uris| uris.split_whitespace().next())
        .find(|uri| !uri.contains("security"));
    let from_one_line = || {
        one_line
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with("deb "))
            .filter_map(|line| line.split_whitespace().find(|word| word.contains("://")))
            .find(|uri| !uri.contains("security"))
    };
    from_deb822.or_else(from_one_line).map(str::to_owned)
}

/// Runs `command` with its output in `log`, bounded by `limit`; on failure the error holds the
/// log's last lines.
pub(super) fn run_logged(mut command: Command, log: &Path, limit: Duration) -> anyhow::Result<()> {
    let file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let mut child = command
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()
        .with_context(|| format!("starting {:?}", command.get_program()))?;
    let status = wait_bounded(&mut child, limit)?;
    if status.success() {
        return Ok(());
    }
    anyhow::bail!(
        "{:?} failed ({status}); last output:\n{}",
        command.get_program(),
        tail(log, 25)
    )
}

/// Waits for `child`, killing it after `limit`.
fn wait_bounded(child: &mut Child, limit: Duration) -> anyhow::Result<std::process::ExitStatus> {
    let exited =
        wait::wait_until_blocking("exit", limit, Duration::from_millis(50), || {
            match child.try_wait() {
                Ok(Some(status)) => Attempt::Ready(status),
                Ok(None) => Attempt::Pending("still running".to_owned()),
                Err(error) => Attempt::Failed(error.into()),
            }
        });
    exited.or_else(|error| {
        let _ = child.kill();
        let _ = child.wait();
        match error {
            wait::WaitError::Failed(error) => Err(error),
            wait::WaitError::TimedOut { .. } => {
                anyhow::bail!("still running after {} s, killed", limit.as_secs())
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mirror_is_the_hosts_first_non_security_entry() {
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\n\
                      Types: deb\nURIs: http://deb.debian.org/debian-security\n";
        assert_eq!(
            mirror_from_sources(deb822, "").as_deref(),
            Some("http://mirror.example/debian")
        );
        let one_line = "# comment\ndeb http://security.debian.org/ bookworm-security main\n\
                        deb [arch=amd64] http://ftp.example/debian bookworm main\n";
        assert_eq!(
            mirror_from_sources("", one_line).as_deref(),
            Some("http://ftp.example/debian")
        );
        assert_eq!(mirror_from_sources("", ""), None);
    }
}
