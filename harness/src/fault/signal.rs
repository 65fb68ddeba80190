//! Signals to processes, by pid: SIGKILL (a crash) and SIGTERM (an orderly stop).

use rustix::process::{kill_process, Pid, Signal};

/// Why a signal could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    /// Zero, negative or out-of-range pids would signal process groups or everyone.
    #[error("{0} is not a single process id")]
    InvalidPid(u32),
    /// The kernel refused (`ESRCH`: no such process, `EPERM`: not ours).
    #[error("sending {signal} to pid {pid}: {source}")]
    Send {
        signal: &'static str,
        pid: u32,
        #[source]
        source: std::io::Error,
    },
}

fn send(pid: u32, signal: Signal, name: &'static str) -> Result<(), SignalError> {
    let raw = i32::try_from(pid).map_err(|_| SignalError::InvalidPid(pid))?;
    // Pid::from_raw refuses 0; negative values cannot come out of a u32 that fits an i32.
    let target = Pid::from_raw(raw).ok_or(SignalError::InvalidPid(pid))?;
    kill_process(target, signal).map_err(|errno| SignalError::Send {
        signal: name,
        pid,
        source: errno.into(),
    })
}

/// SIGKILL: the process dies at once, without running any of its code.
pub fn sigkill(pid: u32) -> Result<(), SignalError> {
    send(pid, Signal::KILL, "SIGKILL")
}

/// SIGTERM: asks the process to stop cleanly.
pub fn sigterm(pid: u32) -> Result<(), SignalError> {
    send(pid, Signal::TERM, "SIGTERM")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_zero_is_refused_rather_than_signalling_the_group() {
        assert!(matches!(sigkill(0), Err(SignalError::InvalidPid(0))));
        assert!(matches!(
            sigterm(u32::MAX),
            Err(SignalError::InvalidPid(u32::MAX))
        ));
    }
}
