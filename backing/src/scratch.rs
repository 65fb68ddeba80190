//! Scratch directories for local server processes and image builds, named after their owner
//! (`<tmp>/mockvideo-harness/<kind>-<pid>-<start ticks>-<id>`) so that a later run can remove
//! what a killed run left behind, including the server process recorded in it.

use std::{
    io,
    path::{Path, PathBuf},
};

use super::owner::{self, Owner};

/// File in a scratch directory holding the pid of the server process started in it.
pub const SERVER_PID_FILE: &str = "server.pid";

/// The directory every scratch directory lives in.
pub fn root() -> PathBuf {
    std::env::temp_dir().join("mockvideo-harness")
}

/// Creates a fresh scratch directory for `kind` (letters and digits only) owned by this process.
pub fn create(kind: &str) -> io::Result<PathBuf> {
    let me = Owner::current();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let name = format!(
        "{kind}-{}-{}-{}",
        me.pid,
        me.start_ticks.unwrap_or(0),
        &id[..8]
    );
    let dir = root().join(name);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Owner pid and start ticks encoded in a scratch directory name, if it is one of ours.
fn parse_owner(name: &str) -> Option<(u32, Option<u64>)> {
    let mut parts = name.split('-');
    let _kind = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    let ticks: u64 = parts.next()?.parse().ok()?;
    let _id = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    Some((pid, (ticks != 0).then_some(ticks)))
}

/// Removes scratch directories whose owner process is gone, killing the server process recorded
/// in each first. Returns how many directories were removed. Best effort: problems are printed.
pub fn sweep_stale() -> usize {
    let Ok(entries) = std::fs::read_dir(root()) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((pid, ticks)) = parse_owner(&name) else {
            continue;
        };
        if owner::is_alive(pid, ticks) {
            continue;
        }
        let dir = entry.path();
        kill_recorded_server(&dir);
        match remove_dir(&dir) {
            Ok(()) => {
                eprintln!(
                    "[harness] removed stale scratch dir {} (owner pid {pid} is gone)",
                    dir.display()
                );
                removed += 1;
            }
            Err(error) => eprintln!(
                "[harness] could not remove stale scratch dir {}: {error}",
                dir.display()
            ),
        }
    }
    removed
}

/// Kills the server whose pid is recorded in `dir`, if that pid still runs a command that names
/// `dir` (so a reused pid is left alone).
pub fn kill_recorded_server(dir: &Path) {
    let Ok(text) = std::fs::read_to_string(dir.join(SERVER_PID_FILE)) else {
        return;
    };
    let Ok(pid) = text.trim().parse::<i32>() else {
        return;
    };
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return;
    };
    let cmdline = String::from_utf8_lossy(&cmdline);
    if !cmdline.contains(&*dir.to_string_lossy()) {
        return;
    }
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        // Give the kernel a moment to reap it before its files are deleted.
        for _ in 0..50 {
            if !Path::new(&format!("/proc/{}", pid.as_raw_nonzero())).exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// Deletes a scratch directory, refusing when something is mounted below it (a debootstrap
/// interrupted half-way can leave `/proc` mounted in its tree).
pub fn remove_dir(dir: &Path) -> io::Result<()> {
    if let Some(mount) = mount_below(dir) {
        return Err(io::Error::other(format!(
            "{} is mounted inside it; unmount it first (umount {})",
            mount.display(),
            mount.display()
        )));
    }
    match std::fs::remove_dir_all(dir) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// The first mount point at or below `dir`, from `/proc/self/mounts`.
fn mount_below(dir: &Path) -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1))
        .map(|field| PathBuf::from(unescape_mount_path(field)))
        .find(|mount| mount.starts_with(dir))
}

/// `/proc/self/mounts` writes space, tab, newline and backslash as three-digit octal escapes.
fn unescape_mount_path(field: &str) -> String {
    crate::unescape(field, b'\\', 3, 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_names_carry_their_owner() {
        assert_eq!(
            parse_owner("mysql-4242-987654-0a1b2c3d"),
            Some((4242, Some(987_654)))
        );
        assert_eq!(parse_owner("base-17-0-0a1b2c3d"), Some((17, None)));
        assert_eq!(parse_owner("something-else"), None);
        assert_eq!(parse_owner("mysql-x-1-0a1b2c3d"), None);
    }

    #[test]
    fn mount_paths_are_unescaped() {
        assert_eq!(unescape_mount_path(r"/tmp/a\040b"), "/tmp/a b");
        assert_eq!(unescape_mount_path("/plain"), "/plain");
        assert_eq!(unescape_mount_path(r"/end\04"), r"/end\04");
    }

    #[test]
    fn a_created_scratch_dir_is_not_swept_while_its_owner_lives() {
        let dir = create("unittest").expect("create scratch dir");
        sweep_stale();
        assert!(dir.exists());
        remove_dir(&dir).expect("remove scratch dir");
        assert!(!dir.exists());
    }
}
