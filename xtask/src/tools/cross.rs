//! The cross toolchain behind `cargo xtask images` and the qemu binfmt registration that lets the
//! engine run `linux/arm/v7` containers on an x86_64 machine.
//!
//! - amd64: rustup's `x86_64-unknown-linux-musl` target (static by default); `ring`'s C code is
//!   compiled by `musl-gcc` (Debian's `musl-tools`).
//! - armv7: rustup's `armv7-unknown-linux-gnueabihf` target linked by Debian's
//!   `arm-linux-gnueabihf-gcc` with `+crt-static` (glibc's `libc.a` from
//!   `libc6-dev-armhf-cross`): a static binary for a `FROM scratch` image. rustup has no armv7
//!   musl target, so this is the stable route (`../shared/environment.md` §7).
//! - [`ensure_binfmt`]: `qemu-user-static` registered with the F flag, so the scratch image needs
//!   no interpreter inside.
//!
//! Every function is idempotent and says what it installs.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::cmd::Cmd;
use crate::images::Arch;
use crate::runner::Runner;
use crate::tools::{ensure_apt_packages, ensure_rust_target};

/// The Debian packages that compile C code and link for `arch`.
pub fn apt_packages(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::Amd64 => &["musl-tools"],
        Arch::Armv7 => &["gcc-arm-linux-gnueabihf", "libc6-dev-armhf-cross"],
    }
}

/// Installs what building static binaries for `arch` needs: the rustup target and, for armv7,
/// Debian's cross gcc and glibc. Does nothing when everything is there.
pub fn ensure_toolchain(runner: &dyn Runner, arch: Arch) -> Result<()> {
    ensure_apt_packages(
        runner,
        apt_packages(arch),
        &format!("building {} images", arch.name()),
    )?;
    ensure_rust_target(runner, arch.rust_target())?;
    Ok(())
}

/// The environment of `cargo build --target <arch's triple>`: the C compiler (for `ring`), and
/// for armv7 the linker and `+crt-static` (musl links statically by default).
pub fn cargo_env(arch: Arch) -> Vec<(&'static str, &'static str)> {
    match arch {
        Arch::Amd64 => vec![("CC_x86_64_unknown_linux_musl", "musl-gcc")],
        Arch::Armv7 => vec![
            (
                "CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER",
                "arm-linux-gnueabihf-gcc",
            ),
            (
                "CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUSTFLAGS",
                "-C target-feature=+crt-static",
            ),
            (
                "CC_armv7_unknown_linux_gnueabihf",
                "arm-linux-gnueabihf-gcc",
            ),
            ("AR_armv7_unknown_linux_gnueabihf", "arm-linux-gnueabihf-ar"),
        ],
    }
}

/// Where the kernel's binfmt_misc file system is mounted.
pub const BINFMT_DIR: &str = "/proc/sys/fs/binfmt_misc";

/// What [`ensure_binfmt`] finds on the machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BinfmtFacts {
    /// `binfmt_misc` is mounted (its `register` file exists).
    pub mounted: bool,
    /// The text of `binfmt_misc/qemu-arm`, if registered.
    pub qemu_arm: Option<String>,
}

impl BinfmtFacts {
    /// Reads the facts under `dir` (normally [`BINFMT_DIR`]).
    pub fn read(dir: &Path) -> Self {
        Self {
            mounted: dir.join("register").exists(),
            qemu_arm: std::fs::read_to_string(dir.join("qemu-arm")).ok(),
        }
    }

    /// `qemu-arm` is registered, enabled, and with the F flag (interpreter opened at
    /// registration, so it works inside a container's root file system).
    pub fn ready(&self) -> bool {
        self.qemu_arm.as_deref().is_some_and(|text| {
            text.lines().next().map(str::trim) == Some("enabled")
                && text.lines().any(|line| {
                    line.strip_prefix("flags:")
                        .is_some_and(|flags| flags.contains('F'))
                })
        })
    }
}

/// The commands that register `qemu-arm` given `facts` (after the packages are installed).
pub fn binfmt_commands(facts: &BinfmtFacts) -> Vec<Cmd> {
    if facts.ready() {
        return Vec::new();
    }
    let mut commands = Vec::new();
    if !facts.mounted {
        commands.push(Cmd::new("mount").args(["-t", "binfmt_misc", "binfmt_misc", BINFMT_DIR]));
    }
    commands.push(Cmd::new("update-binfmts").args(["--enable", "qemu-arm"]));
    commands
}

/// Makes the kernel run ARM binaries through `qemu-arm-static`: installs `qemu-user-static` and
/// `binfmt-support`, mounts binfmt_misc if needed (once per boot) and enables `qemu-arm`.
/// Returns whether it changed anything. Needs root the first time after a boot.
pub fn ensure_binfmt(runner: &dyn Runner) -> Result<bool> {
    ensure_binfmt_in(runner, Path::new(BINFMT_DIR))
}

/// [`ensure_binfmt`] with binfmt_misc at `dir`.
pub fn ensure_binfmt_in(runner: &dyn Runner, dir: &Path) -> Result<bool> {
    if BinfmtFacts::read(dir).ready() {
        return Ok(false);
    }
    ensure_apt_packages(
        runner,
        &["qemu-user-static", "binfmt-support"],
        "running armv7 images under qemu",
    )?;
    let commands = binfmt_commands(&BinfmtFacts::read(dir));
    if commands.is_empty() {
        return Ok(true);
    }
    eprintln!("tools: registering qemu-arm with binfmt_misc (armv7 containers on this machine)");
    for cmd in &commands {
        runner.run(cmd).with_context(|| {
            format!("registering qemu-arm failed; as root, run `{}`", cmd.line())
        })?;
    }
    let facts = BinfmtFacts::read(dir);
    if !facts.ready() {
        bail!(
            "qemu-arm is still not registered with the F flag in {}: {:?}; run \
             `update-binfmts --display qemu-arm` to see why",
            dir.display(),
            facts.qemu_arm.unwrap_or_default()
        );
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENABLED: &str = "enabled\ninterpreter /usr/libexec/qemu-binfmt/arm-binfmt-P\n\
                           flags: PF\noffset 0\nmagic 7f454c46\n";

    #[test]
    fn armv7_links_statically_with_debians_cross_gcc() {
        let env = cargo_env(Arch::Armv7);
        assert!(env.contains(&(
            "CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUSTFLAGS",
            "-C target-feature=+crt-static"
        )));
        assert!(env.contains(&(
            "CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER",
            "arm-linux-gnueabihf-gcc"
        )));
        assert_eq!(
            cargo_env(Arch::Amd64),
            [("CC_x86_64_unknown_linux_musl", "musl-gcc")]
        );
        assert_eq!(
            apt_packages(Arch::Armv7),
            ["gcc-arm-linux-gnueabihf", "libc6-dev-armhf-cross"]
        );
    }

    #[test]
    fn an_enabled_entry_with_the_f_flag_needs_nothing() {
        let facts = BinfmtFacts {
            mounted: true,
            qemu_arm: Some(ENABLED.to_string()),
        };
        assert!(facts.ready());
        assert!(binfmt_commands(&facts).is_empty());
    }

    #[test]
    fn an_unmounted_binfmt_misc_is_mounted_then_enabled() {
        let lines: Vec<String> = binfmt_commands(&BinfmtFacts::default())
            .iter()
            .map(Cmd::line)
            .collect();
        assert_eq!(
            lines,
            [
                "mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc",
                "update-binfmts --enable qemu-arm"
            ]
        );
    }

    #[test]
    fn a_disabled_entry_or_one_without_f_is_enabled_again() {
        for text in [
            ENABLED.replacen("enabled", "disabled", 1),
            ENABLED.replace("flags: PF", "flags: P"),
        ] {
            let facts = BinfmtFacts {
                mounted: true,
                qemu_arm: Some(text),
            };
            assert!(!facts.ready());
            let lines: Vec<String> = binfmt_commands(&facts).iter().map(Cmd::line).collect();
            assert_eq!(lines, ["update-binfmts --enable qemu-arm"]);
        }
    }

    #[test]
    fn a_ready_machine_runs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("register"), "").unwrap();
        std::fs::write(dir.path().join("qemu-arm"), ENABLED).unwrap();
        let runner = crate::runner::recording::RecordingRunner::new();
        assert!(!ensure_binfmt_in(&runner, dir.path()).unwrap());
        assert!(runner.seen().is_empty());
    }
}
