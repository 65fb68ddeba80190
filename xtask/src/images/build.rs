//! Building the images: one `cargo build --release --target <triple>` per architecture, then per
//! deployable a build context under `target/images/<arch>/<name>/` (the binary and its
//! Dockerfile) and a BuildKit build with `--platform`, each image smoke-tested right after.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use super::dockerfile::{dockerfile, workspace_repository, Labels};
use super::report::{ImageRow, Report};
use super::{checkout, image_ref, smoke::smoke, Arch};
use crate::cmd::Cmd;
use crate::deployables::{Deployable, DEPLOYABLES};
use crate::paths;
use crate::runner::Runner;
use crate::tools::cross;
use crate::version::Version;

/// The docker client: `/usr/bin/docker` (Debian's 20.10, whose BuildKit builds for other
/// platforms without buildx) when present, else `docker` on `PATH`.
pub fn docker() -> String {
    if Path::new("/usr/bin/docker").is_file() {
        "/usr/bin/docker".to_string()
    } else {
        "docker".to_string()
    }
}

/// One `cargo build --release --target <triple>` for the binaries of `selected`. `images` always
/// passes every deployable, even with `--service`: a narrower build resolves other features
/// (a different binary, and a rebuild of the shared dependencies).
pub fn cargo_build_cmd(arch: Arch, selected: &[&Deployable]) -> Cmd {
    let mut packages: Vec<&str> = selected.iter().map(|d| d.package).collect();
    packages.sort_unstable();
    packages.dedup();
    let mut cmd = Cmd::cargo([
        "build",
        "--release",
        "--locked",
        "--target",
        arch.rust_target(),
    ]);
    for package in packages {
        cmd = cmd.args(["-p", package]);
    }
    for deployable in selected {
        cmd = cmd.args(["--bin", deployable.name]);
    }
    for (key, value) in cross::cargo_env(arch) {
        cmd = cmd.env(key, value);
    }
    cmd.dir(paths::repo_root())
}

/// `DOCKER_BUILDKIT=1 docker build --platform P -t REF -t LATEST DIR`.
pub fn docker_build_cmd(docker: &str, arch: Arch, tags: &[String], context: &Path) -> Cmd {
    let mut cmd = Cmd::new(docker).env("DOCKER_BUILDKIT", "1").args([
        "build",
        "--progress=plain",
        "--platform",
        arch.platform(),
    ]);
    for tag in tags {
        cmd = cmd.args(["-t", tag]);
    }
    cmd.arg(context.display().to_string())
}

/// Builds the cargo binaries per architecture, then each image, smoke-testing it right after.
/// Build and smoke failures are rows of the report; toolchain and cargo failures are errors.
pub async fn build_and_smoke(
    runner: &dyn Runner,
    arches: &[Arch],
    selected: &[&Deployable],
) -> Result<Report> {
    let version = Version::detect(runner)?;
    if version.dirty {
        eprintln!(
            "images: the tree has uncommitted changes; the images say {} but are not that commit",
            version.tag()
        );
    }
    let target_dir = paths::cargo_target_dir(runner)?;
    let manifest_path = paths::repo_root().join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let source = workspace_repository(&manifest).unwrap_or_else(|| {
        eprintln!(
            "images: no [workspace.package] repository in Cargo.toml; the source label is empty"
        );
        String::new()
    });
    let created = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .context("truncating the build time")?
        .format(&time::format_description::well_known::Rfc3339)
        .context("formatting the build time")?;
    let docker = docker();
    let mut report = Report::default();
    for &arch in arches {
        cross::ensure_toolchain(runner, arch)?;
        if arch == Arch::Armv7 {
            cross::ensure_binfmt(runner)?;
        }
        eprintln!(
            "images: building the {} binaries for {}",
            DEPLOYABLES.len(),
            arch.rust_target()
        );
        let started = Instant::now();
        checkout::prepare(runner, &target_dir, arch)?;
        let all: Vec<&Deployable> = DEPLOYABLES.iter().collect();
        runner
            .run(&cargo_build_cmd(arch, &all))
            .with_context(|| format!("building the {} binaries", arch.name()))?;
        checkout::record(&target_dir, arch)?;
        report.cargo.push((arch, started.elapsed()));
        let bin_dir = target_dir.join(arch.rust_target()).join("release");
        for deployable in selected {
            let labels = Labels {
                title: deployable.name.to_string(),
                version: version.tag(),
                revision: version.commit.clone(),
                source: source.clone(),
                created: created.clone(),
            };
            let row = build_one(runner, &docker, arch, deployable, &bin_dir, &labels).await;
            eprintln!(
                "images: {} {}",
                row.image,
                match &row.smoke {
                    Ok(what) => format!("ok ({what})"),
                    Err(why) => format!("FAILED: {why}"),
                }
            );
            report.rows.push(row);
        }
    }
    Ok(report)
}

async fn build_one(
    runner: &dyn Runner,
    docker: &str,
    arch: Arch,
    deployable: &Deployable,
    bin_dir: &Path,
    labels: &Labels,
) -> ImageRow {
    let image = image_ref(deployable.name, &labels.version, arch);
    let started = Instant::now();
    let built = build_image(runner, docker, arch, deployable, bin_dir, labels, &image);
    let build = started.elapsed();
    let (size, smoke) = match built {
        Err(error) => (None, Err(format!("build: {error:#}"))),
        Ok(()) => {
            let size = runner
                .read(&Cmd::new(docker).args(["image", "inspect", "-f", "{{.Size}}", &image]))
                .ok()
                .and_then(|text| text.trim().parse().ok());
            let smoke = smoke(runner, docker, arch, deployable, &image)
                .await
                .map_err(|error| format!("{error:#}"));
            (size, smoke)
        }
    };
    ImageRow {
        image,
        arch,
        size,
        build,
        smoke,
    }
}

/// The build context of one image: `target/images/<arch>/<name>/`.
pub fn context_dir(arch: Arch, name: &str) -> PathBuf {
    paths::repo_target()
        .join("images")
        .join(arch.name())
        .join(name)
}

fn build_image(
    runner: &dyn Runner,
    docker: &str,
    arch: Arch,
    deployable: &Deployable,
    bin_dir: &Path,
    labels: &Labels,
    image: &str,
) -> Result<()> {
    let context = context_dir(arch, deployable.name);
    std::fs::create_dir_all(&context).with_context(|| format!("creating {}", context.display()))?;
    let binary = bin_dir.join(deployable.name);
    std::fs::copy(&binary, context.join(deployable.name)).with_context(|| {
        format!(
            "copying {} (did the cargo build produce it?)",
            binary.display()
        )
    })?;
    std::fs::write(context.join("Dockerfile"), dockerfile(deployable, labels))
        .with_context(|| format!("writing {}/Dockerfile", context.display()))?;
    let latest = image_ref(deployable.name, "latest", arch);
    let built = runner.run(&docker_build_cmd(
        docker,
        arch,
        &[image.to_string(), latest],
        &context,
    ));
    // The copy is in the image now; the Dockerfile stays for a look.
    let _ = std::fs::remove_file(context.join(deployable.name));
    built
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::select;

    #[test]
    fn one_cargo_build_per_arch_names_each_package_once() {
        let selected = select(&["movies".into(), "users".into(), "accountd".into()]).unwrap();
        let cmd = cargo_build_cmd(Arch::Armv7, &selected);
        assert_eq!(
            cmd.line(),
            "cargo build --release --locked --target armv7-unknown-linux-gnueabihf \
             -p accountd -p cinema --bin movies --bin users --bin accountd"
        );
        assert!(cmd.to_string().contains(
            "CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUSTFLAGS='-C target-feature=+crt-static'"
        ));
        assert!(select(&["nope".into()]).is_err());
    }

    #[test]
    fn armv7_images_are_built_by_buildkit_for_their_platform() {
        let cmd = docker_build_cmd(
            "/usr/bin/docker",
            Arch::Armv7,
            &["a:1-armv7".into(), "a:latest-armv7".into()],
            Path::new("/t/ctx"),
        );
        assert_eq!(
            cmd.to_string(),
            "DOCKER_BUILDKIT=1 /usr/bin/docker build --progress=plain --platform linux/arm/v7 \
             -t a:1-armv7 -t a:latest-armv7 /t/ctx"
        );
    }
}
