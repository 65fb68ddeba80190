//! Who owns a container or a scratch directory: this process's id, its start time and the host
//! name, so that a later run can tell whether the owner is gone (and a reused pid is not mistaken
//! for the original owner).

use std::path::Path;

/// The identity of one process on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Process id.
    pub pid: u32,
    /// Start time of the process in clock ticks since boot (`/proc/<pid>/stat` field 22), when
    /// known. Guards against pid reuse.
    pub start_ticks: Option<u64>,
    /// Host name (`/proc/sys/kernel/hostname`).
    pub host: String,
}

impl Owner {
    /// The current process.
    pub fn current() -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            start_ticks: start_ticks(pid),
            host: hostname(),
        }
    }
}

/// This machine's host name, or `unknown`.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .filter(|name| !name.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Start time of `pid` in clock ticks since boot, from `/proc/<pid>/stat`.
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_ticks(&stat)
}

/// Field 22 of a `/proc/<pid>/stat` line. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted from the last `)`.
fn parse_start_ticks(stat: &str) -> Option<u64> {
    let (_, after_comm) = stat.rsplit_once(')')?;
    // after_comm starts at field 3 (state); field 22 is 19 further on.
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the process `pid` (started at `start_ticks`, when given) still runs on this host.
pub fn is_alive(pid: u32, expected_start: Option<u64>) -> bool {
    if pid == 0 {
        return false;
    }
    if Path::new("/proc/self").exists() {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return false;
        }
        return match (expected_start, start_ticks(pid)) {
            (Some(expected), Some(actual)) => expected == actual,
            // Unknown start time: trust the pid.
            _ => true,
        };
    }
    // No procfs: signal 0 says whether the pid exists (EPERM means it does, owned by another user).
    let Some(raw) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(raw) {
        Ok(()) => true,
        Err(error) => error == rustix::io::Errno::PERM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_ticks_are_read_after_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    987654 1000 200 18446744073709551615";
        assert_eq!(parse_start_ticks(stat), Some(987_654));
    }

    #[test]
    fn the_current_process_is_alive_and_a_changed_start_time_is_not() {
        let me = Owner::current();
        assert!(is_alive(me.pid, me.start_ticks));
        if let Some(ticks) = me.start_ticks {
            assert!(!is_alive(me.pid, Some(ticks + 1)));
        }
    }

    #[test]
    fn a_pid_that_does_not_exist_is_dead() {
        // Above the kernel's pid_max (4194304 at most).
        assert!(!is_alive(999_999_999, None));
    }
}
