//! `cargo xtask images`: static release binaries, one `FROM scratch` image per deployable and
//! architecture, each smoke-tested right after its build, then a table of the images.
//!
//! Per architecture: [`cross::ensure_toolchain`] (and [`cross::ensure_binfmt`] for armv7), one
//! `cargo build --release --target <triple>` for every selected binary, then per deployable a
//! build context under `target/images/<arch>/<name>/` (the binary and a generated
//! [`dockerfile`]), a BuildKit build with `--platform` (the 20.10 client at `/usr/bin/docker`:
//! the legacy builder cannot build `FROM scratch` for another platform), and [`smoke`]: the
//! engine starts the image (armv7 through qemu binfmt), its liveness endpoint must answer 200
//! through a `127.0.0.1` port mapping (or `--version` exit 0), and the container is removed.
//! [`checkout`] makes sure the binaries are this checkout's when clones share a target dir.

pub mod checkout;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use crate::cmd::Cmd;
use crate::deployables::{self, Deployable, Health, DEPLOYABLES};
use crate::paths;
use crate::runner::Runner;
use crate::summary::Table;
use crate::tools::cross;
use crate::version::Version;
use backing::images::{ensure_image, MARIADB, MARIADB_CREDENTIALS};

/// A target architecture of the images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    /// `linux/amd64`, built for `x86_64-unknown-linux-musl`.
    Amd64,
    /// `linux/arm/v7` (Raspberry Pi), built for `armv7-unknown-linux-gnueabihf` with
    /// `+crt-static`.
    Armv7,
}

impl Arch {
    /// Both, in order.
    pub const ALL: [Arch; 2] = [Arch::Amd64, Arch::Armv7];

    /// The suffix of image tags: `amd64`, `armv7`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Amd64 => "amd64",
            Self::Armv7 => "armv7",
        }
    }

    /// The OCI platform: `linux/amd64`, `linux/arm/v7`.
    pub fn platform(self) -> &'static str {
        match self {
            Self::Amd64 => "linux/amd64",
            Self::Armv7 => "linux/arm/v7",
        }
    }

    /// The Rust target triple.
    pub fn rust_target(self) -> &'static str {
        match self {
            Self::Amd64 => "x86_64-unknown-linux-musl",
            Self::Armv7 => "armv7-unknown-linux-gnueabihf",
        }
    }

    /// How long a started container may take to answer its liveness check (qemu is slower).
    pub fn smoke_timeout(self) -> Duration {
        match self {
            Self::Amd64 => Duration::from_secs(30),
            Self::Armv7 => Duration::from_secs(90),
        }
    }
}

/// The local image of `deployable` at `tag` for `arch`:
/// `local/mockvideo/<deployable>:<tag>-<arch>` (e.g. `local/mockvideo/accountd:0.1.0-9abcb1e-amd64`).
pub fn image_ref(deployable: &str, tag: &str, arch: Arch) -> String {
    format!("local/mockvideo/{deployable}:{tag}-{}", arch.name())
}

/// The user the images run as (distroless' `nonroot`); a scratch image has no `/etc/passwd`.
pub const IMAGE_USER: &str = "65532:65532";

/// The label on every container xtask starts.
pub const CONTAINER_LABEL: &str = "mockvideo.xtask=1";

/// `--arch` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ArchChoice {
    /// `linux/amd64` only.
    Amd64,
    /// `linux/arm/v7` only (runs under qemu here).
    Armv7,
    /// Both.
    All,
}

impl ArchChoice {
    /// The architectures chosen.
    pub fn arches(self) -> Vec<Arch> {
        match self {
            Self::Amd64 => vec![Arch::Amd64],
            Self::Armv7 => vec![Arch::Armv7],
            Self::All => Arch::ALL.to_vec(),
        }
    }
}

/// The long help of `cargo xtask images` (the `Images` variant in `cli.rs` needs
/// `#[command(long_about = crate::images::LONG_ABOUT)]`: its doc comment resets it).
pub const LONG_ABOUT: &str = "Build static release binaries (x86_64-unknown-linux-musl; \
armv7-unknown-linux-gnueabihf with +crt-static and Debian's cross gcc, installed on demand), one \
FROM scratch image per deployable and architecture (non-root user 65532, OCI labels, EXPOSEd \
ports), tagged local/mockvideo/<name>:<version>-<arch> and :latest-<arch>. Each image is \
smoke-tested right after its build: the engine starts it (armv7 through qemu binfmt, registered \
on demand), its liveness endpoint must answer 200 on a 127.0.0.1 port within a bounded time \
(the simulator: --version exits 0), and the container is removed. accountd and activity-server, \
which need MySQL to start, run in the network namespace of a MariaDB container (the harness's \
local/mockvideo-mariadb image). Ends with a table: image, \
platform, size, build seconds, smoke result; exits non-zero if any build or smoke test failed.\n\n\
Installing the toolchain or registering qemu needs root the first time.\n\n\
Examples:\n  cargo xtask images                           both architectures, every deployable\n  \
cargo xtask images --arch amd64\n  cargo xtask images --arch armv7 --service accountd";

/// `images` options.
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT)]
pub struct ImagesArgs {
    /// Which architectures to build.
    #[arg(long, value_enum, default_value = "all")]
    pub arch: ArchChoice,
    /// Build only this deployable (repeatable); default: all of them.
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
}

/// Builds and smoke-tests the images, prints the table, errors if anything failed.
pub async fn run(runner: &dyn Runner, args: &ImagesArgs) -> Result<()> {
    let selected = select(&args.services)?;
    let report = build_and_smoke(runner, &args.arch.arches(), &selected).await?;
    println!("\n{}", report.table());
    println!("{}", report.headline());
    report.check()
}

/// For `cargo xtask ci`: builds and smoke-tests the amd64 image of every deployable, prints the
/// table, and returns a one-line summary (errors, naming the failures, if any image failed).
pub async fn ci_amd64(runner: &dyn Runner) -> Result<String> {
    let all: Vec<&Deployable> = DEPLOYABLES.iter().collect();
    let report = build_and_smoke(runner, &[Arch::Amd64], &all).await?;
    println!("\n{}", report.table());
    report.check()?;
    Ok(report.headline())
}

/// The deployables named (all when none).
pub fn select(names: &[String]) -> Result<Vec<&'static Deployable>> {
    if names.is_empty() {
        return Ok(DEPLOYABLES.iter().collect());
    }
    names.iter().map(|name| deployables::find(name)).collect()
}

/// One image as it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRow {
    /// `local/mockvideo/accountd:0.1.0-9abcb1e-amd64`.
    pub image: String,
    /// Its architecture.
    pub arch: Arch,
    /// Bytes, as the engine reports them (`None` when the build failed).
    pub size: Option<u64>,
    /// The `docker build` (the cargo build is per architecture, in [`Report::cargo`]).
    pub build: Duration,
    /// `Ok(what answered)` or `Err(why it failed)`.
    pub smoke: std::result::Result<String, String>,
}

/// What [`build_and_smoke`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The cargo build per architecture and how long it took.
    pub cargo: Vec<(Arch, Duration)>,
    /// The images, in build order.
    pub rows: Vec<ImageRow>,
}

impl Report {
    /// Image, platform, size, build seconds, smoke result.
    pub fn table(&self) -> Table {
        let mut table = Table::new(["image", "platform", "size MB", "build s", "smoke"]);
        for (arch, took) in &self.cargo {
            table.row([
                format!("(cargo build --target {})", arch.rust_target()),
                arch.platform().to_string(),
                String::new(),
                format!("{:.1}", took.as_secs_f64()),
                String::new(),
            ]);
        }
        for row in &self.rows {
            table.row([
                row.image.clone(),
                row.arch.platform().to_string(),
                row.size.map(megabytes).unwrap_or_default(),
                format!("{:.1}", row.build.as_secs_f64()),
                match &row.smoke {
                    Ok(what) => format!("ok: {what}"),
                    Err(why) => format!("FAILED: {}", first_line(why)),
                },
            ]);
        }
        table
    }

    /// `images: 9 built, 9 smoke-tested ok (0.9–12.3 MB)`.
    pub fn headline(&self) -> String {
        let ok = self.rows.iter().filter(|row| row.smoke.is_ok()).count();
        let sizes: Vec<u64> = self.rows.iter().filter_map(|row| row.size).collect();
        let range = match (sizes.iter().min(), sizes.iter().max()) {
            (Some(min), Some(max)) => format!(" ({}–{} MB)", megabytes(*min), megabytes(*max)),
            _ => String::new(),
        };
        format!(
            "images: {} built, {ok} smoke-tested ok{range}",
            self.rows.iter().filter(|row| row.size.is_some()).count()
        )
    }

    /// Errors naming every image whose build or smoke test failed.
    pub fn check(&self) -> Result<()> {
        let failed: Vec<String> = self
            .rows
            .iter()
            .filter_map(|row| {
                row.smoke
                    .as_ref()
                    .err()
                    .map(|why| format!("{}: {why}", row.image))
            })
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            bail!("{} image(s) failed:\n{}", failed.len(), failed.join("\n"))
        }
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1_000_000.0)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// The OCI labels of one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labels {
    /// The binary's name.
    pub title: String,
    /// The version tag, `0.1.0-9abcb1e`.
    pub version: String,
    /// The full commit.
    pub revision: String,
    /// The repository URL.
    pub source: String,
    /// RFC 3339 build time.
    pub created: String,
}

/// The Dockerfile of `deployable`'s image: the static binary alone, a non-root user, its ports.
pub fn dockerfile(deployable: &Deployable, labels: &Labels) -> String {
    let name = deployable.name;
    let mut text = format!("FROM scratch\nCOPY {name} /{name}\nUSER {IMAGE_USER}\n");
    for (_, port) in deployable.ports {
        text.push_str(&format!("EXPOSE {port}\n"));
    }
    let pairs = [
        ("title", &labels.title),
        ("version", &labels.version),
        ("revision", &labels.revision),
        ("source", &labels.source),
        ("created", &labels.created),
    ];
    text.push_str("LABEL");
    for (key, value) in pairs {
        text.push_str(&format!(
            " \\\n      org.opencontainers.image.{key}={}",
            serde_json::Value::from(value.as_str())
        ));
    }
    text.push_str(&format!("\nENTRYPOINT [\"/{name}\"]\n"));
    text
}

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

/// The `-e` arguments pointing a deployable with `prefix` at the MariaDB test image's database,
/// reached on 127.0.0.1 inside the shared network namespace.
pub fn mysql_env_args(prefix: &str) -> Vec<String> {
    let (user, password) = MARIADB_CREDENTIALS;
    [
        ("HOST", "127.0.0.1"),
        ("PORT", "3306"),
        ("NAME", "test"),
        ("USER", user),
        ("PASSWORD", password),
    ]
    .iter()
    .flat_map(|(key, value)| ["-e".to_string(), format!("{prefix}__DB__{key}={value}")])
    .collect()
}

/// `docker run -d` of `image` for the smoke test, labelled: either with its health port mapped
/// on 127.0.0.1, or (`network` = a database container) in that container's network namespace,
/// where the database container maps the port; `--version` for [`Health::Version`].
pub fn smoke_run_cmd(
    docker: &str,
    container: &str,
    image: &str,
    arch: Arch,
    deployable: &Deployable,
    network: Option<&str>,
) -> Cmd {
    let mut cmd = Cmd::new(docker).args([
        "run",
        "-d",
        "--name",
        container,
        "--label",
        CONTAINER_LABEL,
        "--platform",
        arch.platform(),
    ]);
    match (network, deployable.mysql_env_prefix) {
        (Some(network), Some(prefix)) => {
            cmd = cmd
                .arg(format!("--network=container:{network}"))
                .args(mysql_env_args(prefix));
        }
        (Some(network), None) => cmd = cmd.arg(format!("--network=container:{network}")),
        (None, _) => {
            if let Health::Http { port, .. } = deployable.health {
                cmd = cmd.args(["-p", &format!("127.0.0.1::{port}")]);
            }
        }
    }
    match deployable.health {
        Health::Http { .. } => cmd.arg(image),
        Health::Version => cmd.args([image, "--version"]),
    }
}

/// `docker run -d` of the MariaDB test image that a deployable needing MySQL shares its network
/// namespace with; it maps the deployable's `port` on 127.0.0.1.
pub fn database_run_cmd(docker: &str, container: &str, image: &str, port: u16) -> Cmd {
    Cmd::new(docker).args([
        "run",
        "-d",
        "--name",
        container,
        "--label",
        CONTAINER_LABEL,
        "-p",
        &format!("127.0.0.1::{port}"),
        image,
    ])
}

/// The host port from `docker port NAME PORT/tcp` output (`127.0.0.1:49153`).
pub fn parse_mapped_port(output: &str) -> Option<u16> {
    output
        .lines()
        .filter_map(|line| line.trim().strip_prefix("127.0.0.1:"))
        .find_map(|port| port.parse().ok())
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

/// `[workspace.package] repository` of the root `Cargo.toml` text (the OCI `source` label).
pub fn workspace_repository(manifest: &str) -> Option<String> {
    let mut in_section = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section {
            if let Some(value) = line
                .strip_prefix("repository")
                .map(str::trim_start)
                .and_then(|rest| rest.strip_prefix('='))
            {
                return Some(value.trim().trim_matches('"').to_string());
            }
        }
    }
    None
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

/// Starts `image` (labelled, a unique name), waits up to [`Arch::smoke_timeout`] for its
/// liveness check, and removes the container whatever happened. Returns what answered.
/// Deployables that need MySQL to start ([`Deployable::mysql_env_prefix`]) get a MariaDB container
/// next to them (the harness's `local/mockvideo-mariadb` image, built if missing).
pub async fn smoke(
    runner: &dyn Runner,
    docker: &str,
    arch: Arch,
    deployable: &Deployable,
    image: &str,
) -> Result<String> {
    let container = format!(
        "mockvideo-smoke-{}-{}-{}",
        deployable.name,
        arch.name(),
        std::process::id()
    );
    let database = format!("{container}-db");
    let with_database = deployable.mysql_env_prefix.is_some();
    let outcome = async {
        let network = if with_database {
            start_database(runner, docker, deployable, &database).await?;
            Some(database.as_str())
        } else {
            None
        };
        runner.read(&smoke_run_cmd(
            docker, &container, image, arch, deployable, network,
        ))?;
        let answered = wait_alive(runner, docker, arch, deployable, &container, network).await?;
        Ok(if with_database {
            format!("{answered} (next to MariaDB)")
        } else {
            answered
        })
    }
    .await;
    runner.probe(&Cmd::new(docker).args(["rm", "-f", "-v", &container]));
    if with_database {
        runner.probe(&Cmd::new(docker).args(["rm", "-f", "-v", &database]));
    }
    outcome
}

/// How long the MariaDB container may take to say it is ready.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(60);

async fn start_database(
    runner: &dyn Runner,
    docker: &str,
    deployable: &Deployable,
    container: &str,
) -> Result<()> {
    let Health::Http { port, .. } = deployable.health else {
        bail!("{} has no HTTP health port to map", deployable.name);
    };
    let image = ensure_image(&MARIADB)
        .await
        .context("the MariaDB test image (try `cargo xtask bootstrap`)")?;
    runner.read(&database_run_cmd(docker, container, &image, port))?;
    let deadline = Instant::now() + DATABASE_TIMEOUT;
    while Instant::now() < deadline {
        let log = runner
            .read(&logs_cmd(docker, container, None))
            .unwrap_or_default();
        if log.contains("ready for connections") {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!(
        "MariaDB did not say \"ready for connections\" within {} s; its log:\n{}",
        DATABASE_TIMEOUT.as_secs(),
        container_log(runner, docker, container)
    )
}

/// Polls until `container` answers its liveness check (the port is mapped on `port_owner`,
/// the database container when there is one), exits, or [`Arch::smoke_timeout`] passes.
async fn wait_alive(
    runner: &dyn Runner,
    docker: &str,
    arch: Arch,
    deployable: &Deployable,
    container: &str,
    port_owner: Option<&str>,
) -> Result<String> {
    let started = Instant::now();
    let deadline = started + arch.smoke_timeout();
    let url = match deployable.health {
        Health::Http { port, path } => {
            let mapped = runner.read(&Cmd::new(docker).args([
                "port",
                port_owner.unwrap_or(container),
                &format!("{port}/tcp"),
            ]))?;
            let host_port = parse_mapped_port(&mapped)
                .with_context(|| format!("`docker port` printed no 127.0.0.1 port: {mapped:?}"))?;
            Some(format!("http://127.0.0.1:{host_port}{path}"))
        }
        Health::Version => None,
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .context("building an HTTP client")?;
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        let state = runner.read(&Cmd::new(docker).args([
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            container,
        ]))?;
        let mut words = state.split_whitespace();
        let (status, code) = (words.next().unwrap_or_default(), words.next());
        match (&url, status) {
            (None, "exited") if code == Some("0") => {
                let printed = runner.read(&logs_cmd(docker, container, None))?;
                return Ok(format!("--version: {}", printed.trim()));
            }
            (_, "exited" | "dead") => bail!(
                "the container exited (code {}) after {:.1} s; its log:\n{}",
                code.unwrap_or("?"),
                started.elapsed().as_secs_f64(),
                container_log(runner, docker, container)
            ),
            (Some(url), _) => match client.get(url).send().await {
                Ok(response) if response.status() == reqwest::StatusCode::OK => {
                    return Ok(format!(
                        "200 from /{} in {:.1} s",
                        url.rsplit_once('/').map_or("", |(_, path)| path),
                        started.elapsed().as_secs_f64()
                    ))
                }
                Ok(response) => last = format!("HTTP {}", response.status()),
                Err(error) => last = error.to_string(),
            },
            (None, _) => last = format!("still {status}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!(
        "no liveness answer within {:.0} s (last: {last}); its log:\n{}",
        arch.smoke_timeout().as_secs_f64(),
        container_log(runner, docker, container)
    )
}

/// `docker logs [--tail N] CONTAINER` with stderr merged into stdout (services and MariaDB log
/// to stderr; [`Runner::read`] returns stdout).
pub fn logs_cmd(docker: &str, container: &str, tail: Option<u32>) -> Cmd {
    let mut cmd = Cmd::new("sh").args(["-c", "exec \"$0\" logs \"$@\" 2>&1", docker]);
    if let Some(lines) = tail {
        cmd = cmd.args(["--tail".to_string(), lines.to_string()]);
    }
    cmd.arg(container)
}

fn container_log(runner: &dyn Runner, docker: &str, container: &str) -> String {
    runner
        .read(&logs_cmd(docker, container, Some(20)))
        .unwrap_or_else(|error| format!("(no log: {error:#})"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::runner::recording::{Kind, RecordingRunner};

    fn labels() -> Labels {
        Labels {
            title: "accountd".into(),
            version: "0.1.0-9abcb1e".into(),
            revision: "9abcb1e0123".into(),
            source: "https://github.com/mockvideo/mockvideo".into(),
            created: "2026-11-22T18:00:00Z".into(),
        }
    }

    #[test]
    fn image_names_carry_the_tag_and_the_arch() {
        assert_eq!(
            image_ref("accountd", "0.1.0-9abcb1e", Arch::Armv7),
            "local/mockvideo/accountd:0.1.0-9abcb1e-armv7"
        );
        assert_eq!(ArchChoice::All.arches(), Arch::ALL);
    }

    #[test]
    fn the_dockerfile_is_scratch_non_root_labelled_and_exposes_every_port() {
        let activity = deployables::find("activity-server").unwrap();
        let text = dockerfile(activity, &labels());
        assert!(text.starts_with("FROM scratch\nCOPY activity-server /activity-server\n"));
        assert!(text.contains("USER 65532:65532\n"), "{text}");
        assert!(text.contains("EXPOSE 50051\nEXPOSE 9091\n"), "{text}");
        assert!(text.contains("org.opencontainers.image.title=\"accountd\""));
        assert!(text.contains("org.opencontainers.image.revision=\"9abcb1e0123\""));
        assert!(text.contains("org.opencontainers.image.created=\"2026-11-22T18:00:00Z\""));
        assert!(
            text.ends_with("ENTRYPOINT [\"/activity-server\"]\n"),
            "{text}"
        );
    }

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

    #[test]
    fn smoke_containers_are_labelled_and_mapped_on_loopback_only() {
        let movies = deployables::find("movies").unwrap();
        let cmd = smoke_run_cmd("docker", "c1", "img", Arch::Armv7, movies, None);
        assert_eq!(
            cmd.line(),
            "docker run -d --name c1 --label mockvideo.xtask=1 --platform linux/arm/v7 \
             -p 127.0.0.1::8080 img"
        );
        let simulator = deployables::find("event-simulator").unwrap();
        let cmd = smoke_run_cmd("docker", "c2", "img", Arch::Amd64, simulator, None);
        assert!(
            cmd.line().ends_with("linux/amd64 img --version"),
            "{}",
            cmd.line()
        );
    }

    #[test]
    fn a_deployable_needing_mysql_shares_the_databases_namespace_and_port() {
        let accountd = deployables::find("accountd").unwrap();
        assert_eq!(accountd.mysql_env_prefix, Some("ACCOUNTD"));
        assert_eq!(deployables::find("users").unwrap().mysql_env_prefix, None);
        let cmd = smoke_run_cmd("docker", "c", "img", Arch::Armv7, accountd, Some("c-db"));
        assert_eq!(
            cmd.line(),
            "docker run -d --name c --label mockvideo.xtask=1 --platform linux/arm/v7 \
             --network=container:c-db -e ACCOUNTD__DB__HOST=127.0.0.1 -e ACCOUNTD__DB__PORT=3306 \
             -e ACCOUNTD__DB__NAME=test -e ACCOUNTD__DB__USER=test -e ACCOUNTD__DB__PASSWORD=test \
             img"
        );
        assert_eq!(
            database_run_cmd("docker", "c-db", "local/mockvideo-mariadb:1", 5000).line(),
            "docker run -d --name c-db --label mockvideo.xtask=1 -p 127.0.0.1::5000 \
             local/mockvideo-mariadb:1"
        );
    }

    #[test]
    fn the_source_label_is_the_workspace_repository() {
        let manifest = "[package]\nrepository = \"no\"\n[workspace.package]\nversion = \"0.1.0\"\n\
                        repository = \"https://github.com/mockvideo/mockvideo\"\n[x]\n";
        assert_eq!(
            workspace_repository(manifest).as_deref(),
            Some("https://github.com/mockvideo/mockvideo")
        );
        assert_eq!(
            workspace_repository("[package]\nrepository = \"no\"\n"),
            None
        );
    }

    #[test]
    fn the_mapped_port_is_the_loopback_one() {
        assert_eq!(parse_mapped_port("127.0.0.1:49153\n"), Some(49153));
        assert_eq!(parse_mapped_port("0.0.0.0:1\n[::]:2\n"), None);
        assert_eq!(parse_mapped_port(""), None);
    }

    /// A runner for which container `c` has exited with `code` and `docker logs <logs_args>`
    /// prints `log`.
    fn exited_container(code: &str, logs_args: &str, log: &str) -> RecordingRunner {
        RecordingRunner::new()
            .read_answer(
                "docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' c",
                &format!("exited {code}\n"),
            )
            .read_answer(
                &format!(r#"sh -c 'exec "$0" logs "$@" 2>&1' docker {logs_args}"#),
                log,
            )
    }

    #[tokio::test]
    async fn a_container_that_exits_fails_the_smoke_test_and_is_removed() {
        let movies = deployables::find("movies").unwrap();
        let runner = exited_container("1", "--tail 20 c", "mongo.url: invalid\n")
            .read_answer("docker port c 8080/tcp", "127.0.0.1:1\n");
        let error = wait_alive(&runner, "docker", Arch::Amd64, movies, "c", None)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("exited (code 1)"), "{error}");
        assert!(error.contains("mongo.url: invalid"), "{error}");

        let runner = RecordingRunner::new();
        let _ = smoke(&runner, "docker", Arch::Amd64, movies, "img").await;
        let probes = runner.lines(Kind::Probe);
        assert_eq!(probes.len(), 1);
        assert!(probes[0].starts_with("docker rm -f -v mockvideo-smoke-movies-amd64-"));
    }

    #[tokio::test]
    async fn the_simulator_passes_when_version_exits_zero() {
        let simulator = deployables::find("event-simulator").unwrap();
        let runner = exited_container("0", "c", "event-simulator 0.1.0\n");
        let answered = wait_alive(&runner, "docker", Arch::Amd64, simulator, "c", None)
            .await
            .unwrap();
        assert_eq!(answered, "--version: event-simulator 0.1.0");
    }

    #[test]
    fn the_report_fails_naming_the_image_and_counts_the_rest() {
        let row = |image: &str, smoke: std::result::Result<String, String>| ImageRow {
            image: image.into(),
            arch: Arch::Amd64,
            size: Some(5_200_000),
            build: Duration::from_millis(300),
            smoke,
        };
        let report = Report {
            cargo: vec![(Arch::Amd64, Duration::from_secs(42))],
            rows: vec![
                row("a", Ok("200".into())),
                row("b", Err("exited\nlog".into())),
            ],
        };
        assert_eq!(
            report.headline(),
            "images: 2 built, 1 smoke-tested ok (5.2–5.2 MB)"
        );
        let error = report.check().unwrap_err().to_string();
        assert!(error.contains("b: exited"), "{error}");
        let table = report.table().to_string();
        assert!(table.contains("FAILED: exited"), "{table}");
        assert!(table.contains("42.0"), "{table}");
    }
}
