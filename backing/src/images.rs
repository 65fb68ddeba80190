//! Container images the harness builds itself, because no registry is reachable: a Debian base
//! made with `debootstrap` and `docker import`, and service images built `FROM` it. Each recipe
//! is Rust text; its tag is a hash of that text (and of its parent's tag), so a changed recipe
//! gets a new tag and an unchanged one is built once per machine. One helper, [`ensure_image`],
//! serves every recipe; Redis or a MongoDB-wire server are one more `static Recipe` each. A
//! recipe may name files its build context needs ([`ContextFiles`]), fetched on the host first.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

use super::{docker, scratch};

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

/// Trims a debootstrap tree so it can be imported as an image (environment.md §1): caches,
/// docs, man pages and non-English locales go; the host's apt sources (with -updates and
/// -security) come in; apt gets the settings the official Debian images ship.
pub const SLIM_SCRIPT: &str = r#"#!/bin/sh
# slim ROOTFS : make a debootstrap tree fit to be `docker import`ed
set -eu
R="$1"
rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/cache/apt/*.bin "$R"/var/lib/apt/lists/* \
       "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/usr/share/info/* \
       "$R"/var/log/*.log "$R"/var/log/apt/* "$R"/tmp/* "$R"/var/tmp/*
find "$R"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'en*' ! -name locale.alias -exec rm -rf {} +
: > "$R"/etc/resolv.conf
rm -f "$R"/etc/hostname
# the host's mirror, with -updates and -security (debootstrap only wrote the main suite)
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  rm -f "$R"/etc/apt/sources.list
  cp /etc/apt/sources.list.d/debian.sources "$R"/etc/apt/sources.list.d/
fi
cat > "$R"/etc/apt/apt.conf.d/docker-clean <<'S'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
S
echo 'Acquire::Languages "none";' > "$R"/etc/apt/apt.conf.d/docker-no-languages
echo 'Acquire::GzipIndexes "true";' > "$R"/etc/apt/apt.conf.d/docker-gzip-indexes
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > "$R"/etc/apt/apt.conf.d/90norecommends
printf '#!/bin/sh\nexit 101\n' > "$R"/usr/sbin/policy-rc.d && chmod +x "$R"/usr/sbin/policy-rc.d
"#;

/// MariaDB 10.11 (Debian's MySQL) on the base image (environment.md §3): a TCP user `test` /
/// `test` with every privilege, created by an init file; an 8 MiB redo log; port 3306.
pub const MARIADB_DOCKERFILE: &str = r#"FROM {{FROM}}
RUN apt-get update \
 && apt-get install -y mariadb-server \
 && rm -rf /var/lib/apt/lists/* /var/lib/mysql/* \
 && mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld \
 && printf '[mariadbd]\nbind-address = 0.0.0.0\nskip-name-resolve\ninnodb_log_file_size = 8M\ninnodb_buffer_pool_size = 64M\ninit-file = /etc/mysql/init.sql\n' \
      > /etc/mysql/mariadb.conf.d/99-container.cnf \
 && printf "CREATE USER IF NOT EXISTS 'test'@'%%' IDENTIFIED BY 'test';\nGRANT ALL ON *.* TO 'test'@'%%' WITH GRANT OPTION;\nCREATE DATABASE IF NOT EXISTS test;\n" \
      > /etc/mysql/init.sql \
 && mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db > /dev/null
EXPOSE 3306
USER mysql
CMD ["mariadbd"]
"#;

/// Debian bookworm, minimal, trimmed (about 74 MB).
pub static BASE: Recipe = Recipe {
    repository: "local/mockvideo-base",
    expected_build: "30-90 s",
    build: Build::Debootstrap {
        suite: "bookworm",
        variant: "minbase",
        slim_script: SLIM_SCRIPT,
        changes: &[r#"CMD ["/bin/bash"]"#, "ENV LANG=C.UTF-8"],
    },
};

/// MariaDB 10.11 with the `test`/`test` TCP user (about 370 MB).
pub static MARIADB: Recipe = Recipe {
    repository: "local/mockvideo-mariadb",
    expected_build: "10-60 s",
    build: Build::Dockerfile {
        from: &BASE,
        dockerfile: MARIADB_DOCKERFILE,
        context: &[],
    },
};

/// Redis 7.0 (Debian's `redis-server`) on the base image (environment.md §2): listens on every
/// interface of the container without protected mode, runs as `redis` in `/var/lib/redis` (where
/// an append-only file goes when the server is started with `--appendonly yes`); port 6379.
pub const REDIS_DOCKERFILE: &str = r#"FROM {{FROM}}
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /var/lib/redis
EXPOSE 6379
USER redis
CMD ["redis-server", "--protected-mode", "no", "--bind", "0.0.0.0"]
"#;

/// Redis 7.0 (about 89 MB).
pub static REDIS: Recipe = Recipe {
    repository: "local/mockvideo-redis",
    expected_build: "4-20 s",
    build: Build::Dockerfile {
        from: &BASE,
        dockerfile: REDIS_DOCKERFILE,
        context: &[],
    },
};

/// The SecantusDB release the MongoDB-wire image runs (PyPI `secantusdb`, a cp311 wheel).
pub const SECANTUSDB_REQUIREMENT: &str = "secantusdb==0.7.0b3";

/// A MongoDB-wire server on the base image, for where `mongo:7` cannot be pulled
/// (environment.md, "MongoDB here"): SecantusDB (`secantusd-py`, WiredTiger storage) in a venv
/// of Debian's Python 3.11, installed from wheels downloaded on the host (no network needed in
/// the build), running as `secantus` with its data in `/var/lib/secantusdb/data`; port 27017.
pub const MONGO_DOCKERFILE: &str = r#"FROM {{FROM}}
COPY wheels /tmp/wheels
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/secantusdb \
 && /opt/secantusdb/bin/pip install --no-index --no-cache-dir --disable-pip-version-check \
      --find-links /tmp/wheels secantusdb \
 && rm -rf /tmp/wheels \
 && useradd --system --home-dir /var/lib/secantusdb --create-home secantus \
 && mkdir -p /var/lib/secantusdb/data && chown -R secantus /var/lib/secantusdb
WORKDIR /var/lib/secantusdb
EXPOSE 27017
USER secantus
CMD ["/opt/secantusdb/bin/secantusd-py", "--host", "0.0.0.0", "--port", "27017", "--storage-path", "/var/lib/secantusdb/data"]
"#;

/// SecantusDB, a MongoDB-wire server (about 290 MB).
pub static MONGO: Recipe = Recipe {
    repository: "local/mockvideo-mongo",
    expected_build: "20-90 s",
    build: Build::Dockerfile {
        from: &BASE,
        dockerfile: MONGO_DOCKERFILE,
        context: &[ContextFiles::PipWheels {
            dir: "wheels",
            requirements: &[SECANTUSDB_REQUIREMENT],
            python_version: "3.11",
            platforms: &["manylinux_2_28_x86_64", "manylinux2014_x86_64"],
        }],
    },
};

/// Every recipe, parents before children (for `cargo xtask bootstrap` / `doctor`).
pub static RECIPES: [&Recipe; 4] = [&BASE, &MARIADB, &REDIS, &MONGO];

/// User and password of the TCP user the [`MARIADB`] image creates.
pub const MARIADB_CREDENTIALS: (&str, &str) = ("test", "test");

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
        tokio::task::spawn_blocking(move || build(step))
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

/// Builds one image (its parent must exist). Blocking.
fn build(recipe: &Recipe) -> anyhow::Result<()> {
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

/// Looks for an executable in `PATH` and the sbin directories (not in a normal user's `PATH`).
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Runs `command` with its output in `log`, bounded by `limit`; on failure the error holds the
/// log's last lines.
fn run_logged(mut command: Command, log: &Path, limit: Duration) -> anyhow::Result<()> {
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
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("still running after {} s, killed", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last `lines` lines of a text file.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
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
