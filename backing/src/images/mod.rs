//! Container images the harness builds itself, because no registry is reachable: a Debian base
//! made with `debootstrap` and `docker import`, and service images built `FROM` it. Each recipe
//! is Rust text; its tag is a hash of that text (and of its parent's tag), so a changed recipe
//! gets a new tag and an unchanged one is built once per machine. One helper, [`ensure_image`],
//! serves every recipe; Redis or a MongoDB-wire server are one more `static Recipe` each. A
//! recipe may name files its build context needs ([`ContextFiles`]), fetched on the host first.

mod build;
mod recipes;

pub use build::debian_mirror;
use build::run_logged;
pub use recipes::*;

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

use super::{docker, launch::find_program, scratch};

/// How an image is made.
#[derive(Debug)]
pub enum Build {
    /// A root filesystem from `debootstrap`, trimmed by `slim_script` (run as
    /// `sh slim ROOTFS`), then `docker import`ed with `changes` (`--change` lines).
    Debootstrap {
        /// Debian suite, e.g. `bookworm`.
        suite: &'static str,
        /// `debootstrap --variant`, e.g. `minbase`.
        variant: &'static str,
        /// Shell script that trims the tree for use as an image.
        slim_script: &'static str,
        /// Dockerfile instructions applied by `docker import --change`.
        changes: &'static [&'static str],
    },
    /// `docker build` of `dockerfile`, in which `{{FROM}}` stands for the parent image.
    Dockerfile {
        /// The parent image's recipe.
        from: &'static Recipe,
        /// Dockerfile text.
        dockerfile: &'static str,
        /// Files fetched on the host into the build context before `docker build`.
        context: &'static [ContextFiles],
    },
}

/// Files a Dockerfile recipe needs in its build context, fetched on the host before the build:
/// the host reaches the package registries through its own configuration (pip's index, proxy
/// and CA settings), which a build container does not have (behind a TLS-intercepting egress
/// proxy, only the host trusts its CA).
#[derive(Debug)]
pub enum ContextFiles {
    /// `pip download` of `requirements` and their dependencies, as binary wheels for CPython
    /// `python_version` on `platforms`, into the context directory `dir` (install them in the
    /// Dockerfile with `pip install --no-index --find-links DIR`).
    PipWheels {
        /// Directory inside the build context, e.g. `wheels`.
        dir: &'static str,
        /// Requirement specifiers, e.g. `secantusdb==0.7.0b3`.
        requirements: &'static [&'static str],
        /// CPython version of the image, e.g. `3.11` (Debian bookworm's).
        python_version: &'static str,
        /// Wheel platform tags accepted, e.g. `manylinux_2_28_x86_64`.
        platforms: &'static [&'static str],
    },
}

impl ContextFiles {
    /// The text that identifies these files in the recipe's tag.
    fn fingerprint(&self) -> String {
        match self {
            ContextFiles::PipWheels {
                dir,
                requirements,
                python_version,
                platforms,
            } => format!(
                "pip-wheels dir={dir} python={python_version} platforms={} requirements={}",
                platforms.join(","),
                requirements.join(",")
            ),
        }
    }

    /// Fetches the files into `context` (blocking); logs go to `dir`.
    fn fetch(&self, context: &Path, dir: &Path) -> anyhow::Result<()> {
        match self {
            ContextFiles::PipWheels {
                dir: target,
                requirements,
                python_version,
                platforms,
            } => {
                let (program, prefix) = pip_command().context(
                    "pip is not installed, so the wheels for the image cannot be downloaded: \
                     `apt-get install -y python3-pip` (or run `cargo xtask bootstrap`)",
                )?;
                let abi = format!("cp{}", python_version.replace('.', ""));
                let mut command = Command::new(program);
                command
                    .args(prefix)
                    .args(["download", "--disable-pip-version-check", "--dest"])
                    .arg(context.join(target))
                    .args(["--only-binary=:all:", "--implementation", "cp"])
                    .args(["--python-version", python_version, "--abi", &abi]);
                for platform in *platforms {
                    command.args(["--platform", platform]);
                }
                command.args(*requirements);
                eprintln!(
                    "[harness] images: pip download {} (CPython {python_version}) on the host",
                    requirements.join(" ")
                );
                run_logged(
                    command,
                    &dir.join("pip-download.log"),
                    Duration::from_secs(10 * 60),
                )
                .context("pip download")
            }
        }
    }
}

/// How to run pip on the host: `pip3`/`pip`, else `python3 -m pip`.
fn pip_command() -> Option<(PathBuf, &'static [&'static str])> {
    if let Some(pip) = find_program("pip3").or_else(|| find_program("pip")) {
        return Some((pip, &[]));
    }
    let python = find_program("python3")?;
    let works = Command::new(&python)
        .args(["-m", "pip", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    works.then_some((python, &["-m", "pip"]))
}

/// A locally built image: where it goes and how it is made.
#[derive(Debug)]
pub struct Recipe {
    /// Repository part of the image reference, e.g. `local/mockvideo-mariadb`.
    pub repository: &'static str,
    /// Typical build time, for the message printed before building.
    pub expected_build: &'static str,
    /// How to make it.
    pub build: Build,
}

impl Recipe {
    /// The content tag: the first 12 hex digits of a SHA-256 over the recipe text and its
    /// parent's reference.
    pub fn tag(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(self.repository.as_bytes());
        match &self.build {
            Build::Debootstrap {
                suite,
                variant,
                slim_script,
                changes,
            } => {
                for part in [*suite, *variant, *slim_script]
                    .into_iter()
                    .chain(changes.iter().copied())
                {
                    hash.update([0]);
                    hash.update(part.as_bytes());
                }
            }
            Build::Dockerfile { context, .. } => {
                hash.update([0]);
                hash.update(self.dockerfile().unwrap_or_default().as_bytes());
                for files in *context {
                    hash.update([0]);
                    hash.update(files.fingerprint().as_bytes());
                }
            }
        }
        hex::encode(hash.finalize())[..12].to_owned()
    }

    /// `repository:tag`, the name the image is built under.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag())
    }

    /// The Dockerfile with the parent reference filled in (`None` for debootstrap recipes).
    pub fn dockerfile(&self) -> Option<String> {
        match &self.build {
            Build::Dockerfile {
                from, dockerfile, ..
            } => Some(dockerfile.replace("{{FROM}}", &from.reference())),
            Build::Debootstrap { .. } => None,
        }
    }

    fn parent(&self) -> Option<&'static Recipe> {
        match &self.build {
            Build::Dockerfile { from, .. } => Some(from),
            Build::Debootstrap { .. } => None,
        }
    }
}

/// Makes sure `recipe`'s image and every parent image exist, building what is missing
/// (parents first). Prints what it does and how long it took. Returns the image reference.
pub async fn ensure_image(recipe: &'static Recipe) -> anyhow::Result<String> {
    let mut chain = vec![recipe];
    while let Some(parent) = chain.last().and_then(|last| last.parent()) {
        chain.push(parent);
    }
    // One build at a time in this process (tests provisioning in parallel would otherwise run
    // two debootstraps). Separate processes are not serialised; they would build the same tag.
    static BUILDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one_at_a_time = BUILDING.lock().await;
    let docker = docker::connect().await?;
    for step in chain.into_iter().rev() {
        let reference = step.reference();
        if image_exists(&docker, &reference).await? {
            eprintln!("[harness] images: {reference} present");
            continue;
        }
        eprintln!(
            "[harness] images: building {reference} ({}) …",
            step.expected_build
        );
        let started = Instant::now();
        tokio::task::spawn_blocking(move || build::build(step))
            .await
            .context("image build task failed")??;
        eprintln!(
            "[harness] images: built {reference} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(recipe.reference())
}

/// Whether the engine has an image called `reference`.
pub async fn image_exists(docker: &bollard::Docker, reference: &str) -> anyhow::Result<bool> {
    match tokio::time::timeout(Duration::from_secs(10), docker.inspect_image(reference)).await {
        Err(_) => anyhow::bail!("inspecting image {reference} timed out"),
        Ok(Ok(_)) => Ok(true),
        Ok(Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        })) => Ok(false),
        Ok(Err(error)) => Err(error).with_context(|| format!("inspecting image {reference}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_twelve_hex_digits_and_stable() {
        let tag = MARIADB.tag();
        assert_eq!(tag.len(), 12);
        assert!(tag.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(tag, MARIADB.tag());
        assert_ne!(BASE.tag(), MARIADB.tag());
        assert_ne!(REDIS.tag(), MARIADB.tag());
    }

    #[test]
    fn a_dockerfile_recipe_builds_from_its_parents_reference() {
        let dockerfile = MARIADB.dockerfile().expect("dockerfile recipe");
        assert!(dockerfile.starts_with(&format!("FROM {}\n", BASE.reference())));
        assert!(BASE.dockerfile().is_none());
    }

    #[test]
    fn the_mongo_recipe_installs_wheels_fetched_on_the_host() {
        let dockerfile = MONGO.dockerfile().expect("dockerfile recipe");
        assert!(dockerfile.starts_with(&format!("FROM {}\nCOPY wheels ", BASE.reference())));
        assert!(dockerfile.contains("--no-index"));
        let Build::Dockerfile { context, .. } = &MONGO.build else {
            panic!("MONGO is a Dockerfile recipe");
        };
        assert!(matches!(
            context,
            [ContextFiles::PipWheels {
                dir: "wheels",
                requirements: [SECANTUSDB_REQUIREMENT],
                ..
            }]
        ));
        assert!(RECIPES
            .iter()
            .any(|recipe| recipe.repository == MONGO.repository));
    }

    #[test]
    fn the_context_files_are_part_of_the_tag() {
        static PLAIN: Recipe = Recipe {
            repository: "local/x",
            expected_build: "",
            build: Build::Dockerfile {
                from: &BASE,
                dockerfile: "FROM {{FROM}}\n",
                context: &[],
            },
        };
        static WITH_WHEELS: Recipe = Recipe {
            repository: "local/x",
            expected_build: "",
            build: Build::Dockerfile {
                from: &BASE,
                dockerfile: "FROM {{FROM}}\n",
                context: &[ContextFiles::PipWheels {
                    dir: "wheels",
                    requirements: &["a==1"],
                    python_version: "3.11",
                    platforms: &["manylinux_2_28_x86_64"],
                }],
            },
        };
        assert_ne!(PLAIN.tag(), WITH_WHEELS.tag());
    }
}
