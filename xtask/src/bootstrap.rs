//! `cargo xtask bootstrap`: install and start what the tests need, idempotently.
//!
//! The work is split in three so the decisions can be unit-tested without touching the machine:
//! [`HostFacts::detect`] looks at the machine, [`plan`] turns the facts into a list of
//! [`Action`]s (pure), and [`execute`] runs them through a [`Runner`]. The images are built last,
//! in-process, by the harness (`backing::images`).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use backing::wait::{self, Attempt};

use crate::cmd::Cmd;
use crate::paths;
use crate::runner::{find_program, Runner};
use crate::stores;

/// What bootstrap needs to know about the machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// Running as root (uid 0).
    pub is_root: bool,
    /// A Debian-like system with apt (`/etc/debian_version`).
    pub is_debian: bool,
    /// A `docker` client is installed.
    pub has_docker_cli: bool,
    /// The engine `dockerd` is installed.
    pub has_dockerd: bool,
    /// `debootstrap` is installed (builds the base image).
    pub has_debootstrap: bool,
    /// `cgroupfs-mount` is installed.
    pub has_cgroupfs_mount: bool,
    /// OpenSSL's headers and `pkg-config` are installed: the Toxiproxy client crate the
    /// fault proxy's compatibility test uses links OpenSSL (`openssl-sys` builds against them).
    pub has_openssl_dev: bool,
    /// The cgroup hierarchy the engine needs is mounted (v1 `memory` or unified v2).
    pub cgroups_mounted: bool,
    /// `docker info` reaches an engine.
    pub engine_up: bool,
}

/// The probe that tells whether an engine answers.
pub fn engine_probe() -> Cmd {
    Cmd::new("docker").args(["info", "--format", "{{.ServerVersion}}"])
}

impl HostFacts {
    /// Looks at this machine (the engine check runs `docker info` through `runner`).
    pub fn detect(runner: &dyn Runner) -> Self {
        let has_docker_cli = find_program("docker").is_some();
        Self {
            is_root: std::fs::metadata("/proc/self")
                .map(|meta| meta.uid() == 0)
                .unwrap_or(false),
            is_debian: Path::new("/etc/debian_version").exists(),
            has_docker_cli,
            has_dockerd: find_program("dockerd").is_some(),
            has_debootstrap: find_program("debootstrap").is_some(),
            has_cgroupfs_mount: find_program("cgroupfs-mount").is_some(),
            has_openssl_dev: find_program("pkg-config").is_some()
                && Path::new("/usr/include/openssl/ssl.h").is_file(),
            cgroups_mounted: Path::new("/sys/fs/cgroup/memory").is_dir()
                || Path::new("/sys/fs/cgroup/cgroup.controllers").is_file(),
            engine_up: has_docker_cli && runner.probe(&engine_probe()),
        }
    }
}

/// One thing bootstrap does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run a command to completion (apt-get, cgroupfs-mount).
    Run {
        /// Why, in words.
        why: String,
        /// The command.
        cmd: Cmd,
    },
    /// Start a daemon in the background with its output in `log`, left running afterwards.
    StartDaemon {
        /// The command (`nohup dockerd`).
        cmd: Cmd,
        /// Its log file.
        log: PathBuf,
    },
    /// Probe every `interval` until it succeeds, for at most `timeout`.
    WaitFor {
        /// What is awaited, in words.
        what: String,
        /// The probe.
        probe: Cmd,
        /// How long to keep probing.
        timeout: Duration,
        /// Pause between probes.
        interval: Duration,
    },
}

/// What bootstrap will do, and what it noticed but cannot fix.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Actions in order.
    pub actions: Vec<Action>,
    /// Packages to be installed (for the message).
    pub packages: Vec<&'static str>,
    /// Things that are missing and will not be installed, with what to do.
    pub warnings: Vec<String>,
}

impl Plan {
    /// Only the command lines, in order (what the unit tests compare).
    pub fn lines(&self) -> Vec<String> {
        self.actions
            .iter()
            .map(|action| match action {
                Action::Run { cmd, .. } | Action::StartDaemon { cmd, .. } => cmd.line(),
                Action::WaitFor { probe, .. } => format!("wait for: {}", probe.line()),
            })
            .collect()
    }
}

/// Turns facts into actions. Errors, naming what to install, when the engine cannot be made
/// reachable from here (not root, or not Debian).
pub fn plan(facts: &HostFacts, dockerd_log: &Path) -> Result<Plan> {
    let mut packages = Vec::new();
    if !facts.has_docker_cli || (!facts.engine_up && !facts.has_dockerd) {
        packages.push("docker.io");
    }
    let mut warnings = Vec::new();
    if !facts.has_debootstrap {
        packages.push("debootstrap");
    }
    if !facts.has_openssl_dev {
        packages.extend(["libssl-dev", "pkg-config"]);
    }
    let needs_cgroup_mount = !facts.engine_up && !facts.cgroups_mounted;
    if needs_cgroup_mount && !facts.has_cgroupfs_mount {
        packages.push("cgroupfs-mount");
    }

    let can_install = facts.is_root && facts.is_debian;
    if !can_install && !packages.is_empty() {
        let engine_missing =
            packages.contains(&"docker.io") || packages.contains(&"cgroupfs-mount");
        let how = if facts.is_debian {
            format!(
                "run as root: `sudo cargo xtask bootstrap`, or `sudo apt-get install -y {}`",
                packages.join(" ")
            )
        } else {
            format!(
                "install with your package manager: {} (a Docker engine, debootstrap{})",
                packages.join(", "),
                if needs_cgroup_mount {
                    ", cgroupfs-mount"
                } else {
                    ""
                }
            )
        };
        if engine_missing {
            bail!(
                "the Docker engine is missing and cannot be installed here ({}); {how}",
                why_not(facts)
            );
        }
        // Only build helpers are missing: the images may already exist, so warn and go on.
        warnings.push(format!(
            "{} missing (debootstrap builds the base image; libssl-dev and pkg-config build \
             the fault proxy's Toxiproxy-client test); {how}",
            packages.join(", ")
        ));
        packages.clear();
    }
    if !facts.engine_up && !facts.is_root {
        bail!(
            "the Docker engine is installed but not running, and only root can start it; \
             run `sudo cargo xtask bootstrap` or `sudo nohup dockerd >dockerd.log 2>&1 &`"
        );
    }

    let mut actions = Vec::new();
    if !packages.is_empty() {
        actions.push(Action::Run {
            why: format!("installing {} (missing)", packages.join(", ")),
            cmd: Cmd::new("apt-get")
                .args(["update", "-q"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        });
        actions.push(Action::Run {
            why: String::new(),
            cmd: Cmd::new("apt-get")
                .args(["install", "-y", "-q"])
                .args(packages.iter().copied())
                .env("DEBIAN_FRONTEND", "noninteractive"),
        });
    }
    if needs_cgroup_mount {
        actions.push(Action::Run {
            why: "mounting the cgroup hierarchies the engine needs".into(),
            cmd: Cmd::new("cgroupfs-mount"),
        });
    }
    if !facts.engine_up {
        actions.push(Action::StartDaemon {
            cmd: Cmd::new("nohup").arg("dockerd"),
            log: dockerd_log.to_path_buf(),
        });
        actions.push(Action::WaitFor {
            what: "the Docker engine".into(),
            probe: engine_probe(),
            timeout: Duration::from_secs(30),
            interval: Duration::from_millis(200),
        });
    }
    Ok(Plan {
        actions,
        packages,
        warnings,
    })
}

fn why_not(facts: &HostFacts) -> &'static str {
    match (facts.is_root, facts.is_debian) {
        (false, true) => "not running as root",
        (true, false) => "not a Debian system",
        _ => "not root and not Debian",
    }
}

/// Runs the plan's actions. Returns one line per thing done (for the final report).
pub fn execute(plan: &Plan, runner: &dyn Runner) -> Result<Vec<String>> {
    let mut done = Vec::new();
    for warning in &plan.warnings {
        eprintln!("bootstrap: warning: {warning}");
    }
    for action in &plan.actions {
        match action {
            Action::Run { why, cmd } => {
                if !why.is_empty() {
                    eprintln!("bootstrap: {why}");
                }
                runner.run(cmd)?;
                done.push(format!("ran `{}`", cmd.line()));
            }
            Action::StartDaemon { cmd, log } => {
                eprintln!("bootstrap: the Docker engine is not running; starting it");
                let pid = runner.spawn(cmd, log)?.detach();
                done.push(format!(
                    "started dockerd (pid {pid}, log {})",
                    log.display()
                ));
            }
            Action::WaitFor {
                what,
                probe,
                timeout,
                interval,
            } => {
                let answered = wait::wait_until_blocking(
                    &format!("answer to `{}`", probe.line()),
                    *timeout,
                    *interval,
                    || {
                        if runner.probe(probe) {
                            Attempt::Ready(())
                        } else {
                            Attempt::Pending("it failed".to_owned())
                        }
                    },
                );
                if let Err(error) = answered {
                    bail!(
                        "{what} did not answer ({error}); see the log under {}",
                        paths::repo_target().join("xtask").display()
                    );
                }
                done.push(format!("{what} is up"));
            }
        }
    }
    Ok(done)
}

/// Where `dockerd`'s output goes when bootstrap starts it.
pub fn dockerd_log() -> PathBuf {
    paths::repo_target().join("xtask").join("dockerd.log")
}

/// `cargo xtask bootstrap [--dry-run]`.
pub async fn bootstrap(runner: &dyn Runner, dry_run: bool) -> Result<()> {
    let facts = HostFacts::detect(runner);
    let plan = plan(&facts, &dockerd_log())?;
    if dry_run {
        if plan.actions.is_empty() {
            println!("bootstrap: nothing to install; the Docker engine is running");
        } else {
            println!("bootstrap would run:");
        }
        for line in plan.lines() {
            println!("  {line}");
        }
        for warning in &plan.warnings {
            println!("  warning: {warning}");
        }
        println!("  then build every harness image if missing (backing::images::RECIPES)");
        println!("  then register qemu-arm with binfmt_misc if missing (armv7 containers)");
        return Ok(());
    }
    let mut done = execute(&plan, runner)?;
    done.extend(
        stores::ensure_images()
            .await
            .context("building the container images")?,
    );
    // armv7 images run here through qemu; without it only `images --arch armv7` suffers.
    match crate::tools::cross::ensure_binfmt(runner) {
        Ok(true) => done.push("registered qemu-arm with binfmt_misc (armv7 containers)".into()),
        Ok(false) => {}
        Err(error) => {
            eprintln!("bootstrap: warning: armv7 containers will not run here: {error:#}")
        }
    }
    if plan.actions.is_empty() {
        eprintln!("bootstrap: nothing to install; the Docker engine is running");
    }
    for line in &done {
        eprintln!("bootstrap: {line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::recording::{Kind, RecordingRunner};

    /// Debian CI machine as root with only the docker CLI.
    fn bare_ci_machine() -> HostFacts {
        HostFacts {
            is_root: true,
            is_debian: true,
            has_docker_cli: true,
            ..HostFacts::default()
        }
    }

    fn ready_machine() -> HostFacts {
        HostFacts {
            is_root: true,
            is_debian: true,
            has_docker_cli: true,
            has_dockerd: true,
            has_debootstrap: true,
            has_cgroupfs_mount: true,
            has_openssl_dev: true,
            cgroups_mounted: true,
            engine_up: true,
        }
    }

    fn log() -> PathBuf {
        PathBuf::from("/repo/target/xtask/dockerd.log")
    }

    #[test]
    fn bare_machine_installs_everything_and_starts_the_engine() {
        let plan = plan(&bare_ci_machine(), &log()).unwrap();
        assert_eq!(
            plan.lines(),
            [
                "apt-get update -q",
                "apt-get install -y -q docker.io debootstrap libssl-dev pkg-config cgroupfs-mount",
                "cgroupfs-mount",
                "nohup dockerd",
                "wait for: docker info --format {{.ServerVersion}}",
            ]
        );
        let Action::Run { cmd, .. } = &plan.actions[1] else {
            panic!("expected apt-get install")
        };
        assert_eq!(
            cmd.to_string().split(' ').next(),
            Some("DEBIAN_FRONTEND=noninteractive")
        );
    }

    #[test]
    fn ready_machine_needs_nothing() {
        let plan = plan(&ready_machine(), &log()).unwrap();
        assert!(plan.actions.is_empty());
        assert!(plan.warnings.is_empty());
    }

    #[test]
    fn installed_but_stopped_engine_is_only_started() {
        let facts = HostFacts {
            engine_up: false,
            ..ready_machine()
        };
        assert_eq!(
            plan(&facts, &log()).unwrap().lines(),
            [
                "nohup dockerd",
                "wait for: docker info --format {{.ServerVersion}}"
            ]
        );
    }

    #[test]
    fn cgroups_are_mounted_only_when_missing_and_engine_down() {
        let facts = HostFacts {
            engine_up: false,
            cgroups_mounted: false,
            ..ready_machine()
        };
        assert_eq!(plan(&facts, &log()).unwrap().lines()[0], "cgroupfs-mount");
        let running = HostFacts {
            cgroups_mounted: false,
            ..ready_machine()
        };
        assert!(plan(&running, &log()).unwrap().actions.is_empty());
    }

    #[test]
    fn only_debootstrap_missing_updates_once_and_installs_it() {
        let facts = HostFacts {
            has_debootstrap: false,
            ..ready_machine()
        };
        assert_eq!(
            plan(&facts, &log()).unwrap().lines(),
            ["apt-get update -q", "apt-get install -y -q debootstrap"]
        );
    }

    #[test]
    fn not_root_without_engine_names_what_to_install() {
        let facts = HostFacts {
            is_root: false,
            ..bare_ci_machine()
        };
        let err = plan(&facts, &log()).unwrap_err().to_string();
        assert!(err.contains("not running as root"), "{err}");
        assert!(err.contains("docker.io"), "{err}");
        assert!(err.contains("sudo cargo xtask bootstrap"), "{err}");
    }

    #[test]
    fn not_debian_names_the_packages() {
        let facts = HostFacts {
            is_debian: false,
            ..bare_ci_machine()
        };
        let err = plan(&facts, &log()).unwrap_err().to_string();
        assert!(err.contains("not a Debian system"), "{err}");
        assert!(err.contains("package manager"), "{err}");
        assert!(err.contains("debootstrap"), "{err}");
    }

    #[test]
    fn not_root_with_engine_running_only_warns_about_debootstrap() {
        let facts = HostFacts {
            is_root: false,
            has_debootstrap: false,
            ..ready_machine()
        };
        let plan = plan(&facts, &log()).unwrap();
        assert!(plan.actions.is_empty());
        assert_eq!(plan.warnings.len(), 1);
        assert!(plan.warnings[0].contains("debootstrap"));
    }

    #[test]
    fn not_root_with_engine_stopped_says_how_to_start_it() {
        let facts = HostFacts {
            is_root: false,
            engine_up: false,
            ..ready_machine()
        };
        let err = plan(&facts, &log()).unwrap_err().to_string();
        assert!(err.contains("not running"), "{err}");
        assert!(err.contains("dockerd"), "{err}");
    }

    #[test]
    fn execute_runs_the_plan_and_waits_for_the_engine() {
        let plan = plan(&bare_ci_machine(), &log()).unwrap();
        let runner = RecordingRunner::new().probe_answers(
            "docker info --format {{.ServerVersion}}",
            &[false, false, true],
        );
        let done = execute(&plan, &runner).unwrap();
        assert_eq!(
            runner.lines(Kind::Run),
            [
                "apt-get update -q",
                "apt-get install -y -q docker.io debootstrap libssl-dev pkg-config cgroupfs-mount",
                "cgroupfs-mount"
            ]
        );
        assert_eq!(runner.lines(Kind::Spawn), ["nohup dockerd"]);
        assert_eq!(runner.lines(Kind::Probe).len(), 3);
        assert!(done.iter().any(|line| line.starts_with("started dockerd")));
        assert_eq!(
            done.last().map(String::as_str),
            Some("the Docker engine is up")
        );
    }

    #[test]
    fn execute_gives_up_when_the_engine_never_answers() {
        let mut plan = plan(&bare_ci_machine(), &log()).unwrap();
        for action in &mut plan.actions {
            if let Action::WaitFor {
                timeout, interval, ..
            } = action
            {
                *timeout = Duration::from_millis(3);
                *interval = Duration::from_millis(1);
            }
        }
        let runner = RecordingRunner::new();
        let err = execute(&plan, &runner).unwrap_err().to_string();
        assert!(err.contains("did not answer"), "{err}");
        assert!(runner.lines(Kind::Probe).len() >= 2);
    }

    #[test]
    fn execute_stops_when_apt_fails() {
        let plan = plan(&bare_ci_machine(), &log()).unwrap();
        let runner = RecordingRunner::new().failing("apt-get update -q");
        assert!(execute(&plan, &runner).is_err());
        assert_eq!(runner.lines(Kind::Run), ["apt-get update -q"]);
        assert!(runner.lines(Kind::Spawn).is_empty());
    }

    #[test]
    fn detect_reads_this_machine_without_failing() {
        let runner = RecordingRunner::new();
        let facts = HostFacts::detect(&runner);
        // The recording runner answers `docker info` with false.
        assert!(!facts.engine_up);
    }
}
