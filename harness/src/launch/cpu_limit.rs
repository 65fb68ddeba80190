//! A child process held to a CPU limit, as a pod's `resources.limits.cpu` holds its container:
//! a cgroup of its own with a CFS quota (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us` under
//! the `cpu` controller's mount), the process moved into it. Needs root and a writable cgroup
//! file system; [`CpuLimit::apply`] says so when there is none. Dropping the limit moves the
//! process (if it still runs) back to the parent cgroup and removes the group.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The CFS period the quota is a share of, in µs: 2 ms. Kubernetes' default is 100 ms (the
/// kubelet's `--cpu-cfs-quota-period` changes it); the share is the same, but a throttled
/// process stalls for at most a millisecond instead of tens, so the limit behaves like a slower
/// core rather than one that stops and starts, and the stalls of a saturated process do not
/// swamp the latencies a cell measures.
const PERIOD_MICROS: u64 = 2_000;
/// The smallest quota the kernel accepts, in µs.
const MIN_QUOTA_MICROS: u64 = 1_000;

/// A cgroup holding one process to a share of a CPU.
#[derive(Debug)]
pub struct CpuLimit {
    /// The group's directory.
    dir: PathBuf,
    /// The parent group's process list, where the process goes back on drop.
    parent_procs: PathBuf,
    /// The process.
    pid: u32,
}

/// Which cgroup file system holds the `cpu` controller, and where.
enum Hierarchy {
    /// cgroup v2: `<root>/cgroup.controllers` lists `cpu`.
    V2(PathBuf),
    /// cgroup v1: the `cpu` controller's own mount.
    V1(PathBuf),
}

fn hierarchy() -> anyhow::Result<Hierarchy> {
    let root = Path::new("/sys/fs/cgroup");
    let controllers = std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
    if controllers.split_whitespace().any(|c| c == "cpu") {
        return Ok(Hierarchy::V2(root.to_path_buf()));
    }
    for v1 in ["cpu", "cpu,cpuacct"] {
        let dir = root.join(v1);
        if dir.join("cpu.cfs_quota_us").is_file() {
            return Ok(Hierarchy::V1(dir));
        }
    }
    anyhow::bail!(
        "no cgroup CPU controller under /sys/fs/cgroup (neither cgroup v2 with `cpu` nor v1's \
         cpu mount): a CPU limit needs one, writable by this user (root)"
    )
}

impl CpuLimit {
    /// Holds `pid` to `millicores` thousandths of a CPU (`500` = half a core), in a group named
    /// after `name` and the process.
    pub fn apply(pid: u32, millicores: u32, name: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            millicores > 0,
            "a CPU limit of 0 millicores stops the process"
        );
        // The kernel takes no quota under 1 ms: a small limit gets a longer period.
        let period = PERIOD_MICROS.max((MIN_QUOTA_MICROS * 1000).div_ceil(u64::from(millicores)));
        let quota = period * u64::from(millicores) / 1000;
        let group = format!("mockvideo-{name}-{pid}");
        let (root, v2) = match hierarchy()? {
            Hierarchy::V2(root) => (root, true),
            Hierarchy::V1(root) => (root, false),
        };
        let dir = root.join(&group);
        create(&dir)?;
        // From here on a failure removes the group again (Drop).
        let limit = Self {
            dir,
            parent_procs: root.join("cgroup.procs"),
            pid,
        };
        if v2 {
            write(&limit.dir.join("cpu.max"), &format!("{quota} {period}"))?;
        } else {
            write(&limit.dir.join("cpu.cfs_period_us"), &period.to_string())?;
            write(&limit.dir.join("cpu.cfs_quota_us"), &quota.to_string())?;
        }
        // Every thread of the process moves with it (`cgroup.procs`, not `tasks`).
        write(&limit.dir.join("cgroup.procs"), &pid.to_string())?;
        Ok(limit)
    }

    /// Time the group was throttled so far (from `cpu.stat`), when the kernel says.
    pub fn throttled(&self) -> Option<std::time::Duration> {
        let stat = std::fs::read_to_string(self.dir.join("cpu.stat")).ok()?;
        stat.lines().find_map(|line| {
            let (key, value) = line.split_once(' ')?;
            let value: u64 = value.trim().parse().ok()?;
            match key {
                // v1: nanoseconds; v2: microseconds.
                "throttled_time" => Some(std::time::Duration::from_nanos(value)),
                "throttled_usec" => Some(std::time::Duration::from_micros(value)),
                _ => None,
            }
        })
    }
}

impl Drop for CpuLimit {
    fn drop(&mut self) {
        // A process that still runs goes back to the parent first: a group with members
        // cannot be removed. One that has exited leaves the group on its own.
        let _ = std::fs::write(&self.parent_procs, self.pid.to_string());
        if let Err(error) = std::fs::remove_dir(&self.dir) {
            eprintln!(
                "[harness] removing the cgroup {} failed: {error}",
                self.dir.display()
            );
        }
    }
}

fn create(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir(dir).with_context(|| {
        format!(
            "creating the cgroup {} (a CPU limit needs root and a writable cgroup file system)",
            dir.display()
        )
    })
}

fn write(path: &Path, value: &str) -> anyhow::Result<()> {
    std::fs::write(path, value).with_context(|| format!("writing {value:?} to {}", path.display()))
}

/// A Kubernetes CPU quantity (`500m`, `1`, `1.5`, `2000m`) in millicores.
pub fn millicores(quantity: &str) -> anyhow::Result<u32> {
    let quantity = quantity.trim().trim_matches('"').trim_matches('\'');
    let millis = match quantity.strip_suffix('m') {
        Some(millis) => millis.parse::<u32>().ok(),
        None => quantity
            .parse::<f64>()
            .ok()
            .filter(|cores| cores.is_finite() && *cores > 0.0)
            .map(|cores| (cores * 1000.0).round() as u32),
    };
    millis
        .filter(|millis| *millis > 0)
        .with_context(|| format!("{quantity:?} is not a CPU quantity (`500m`, `1`, `1.5`)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities_are_read_as_kubernetes_writes_them() {
        assert_eq!(millicores("500m").unwrap(), 500);
        assert_eq!(millicores("\"2\"").unwrap(), 2000);
        assert_eq!(millicores("1.5").unwrap(), 1500);
        assert!(millicores("0").is_err());
        assert!(millicores("half").is_err());
    }

    #[test]
    fn a_process_is_held_to_its_quota_and_let_go() {
        if hierarchy().is_err() || !nix_is_root() {
            eprintln!("no writable cgroup CPU controller here: skipping");
            return;
        }
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let limit = CpuLimit::apply(child.id(), 250, "test").unwrap();
        let dir = limit.dir.clone();
        let members = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap();
        assert!(members.contains(&child.id().to_string()), "{members}");
        drop(limit);
        assert!(!dir.exists(), "the group is removed");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    fn nix_is_root() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .map(|status| {
                status.lines().any(|line| {
                    line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0")
                })
            })
            .unwrap_or(false)
    }
}
