//! The architectures the images are built for: their platform, Rust target and smoke-test time,
//! and the `--arch` choice.

use std::time::Duration;

use clap::ValueEnum;

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
