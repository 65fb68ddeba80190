//! Our binaries as child processes: the one launcher behind `cargo xtask up` and `bench` (a
//! service with its configuration in the environment, a fresh log, ready once it answers) and the
//! harness's process faults (an event consumer SIGKILLed and started again, appending to its log).
//!
//! A [`Launch`] says what to run and where its output goes; [`Launch::spawn`] starts it as a
//! [`Launched`] process, which waits until the process is ready ([`Launched::wait_ready`], through
//! [`crate::wait::wait_until`], ending at once with the exit status and the end of the log when
//! the process exits first), stops it (SIGTERM, then SIGKILL after a grace period:
//! [`Launched::stop`]) and, when asked, kills it on drop.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use backing::{launch::Launch, wait::Attempt};
//! let mut server = Launch::new("/usr/bin/my-server", "/tmp/my-server.log")
//!     .env("PORT", "8080")
//!     .kill_on_drop(true)
//!     .spawn()?;
//! server
//!     .wait_ready("a listener on 8080", Duration::from_secs(10), Duration::from_millis(100), || async {
//!         Attempt::from(std::net::TcpStream::connect("127.0.0.1:8080"))
//!     })
//!     .await?;
//! server.stop(Duration::from_secs(5)).await?;
//! # Ok(()) }
//! ```

use std::{
    ffi::{OsStr, OsString},
    fs::File,
    future::Future,
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use anyhow::Context as _;
use rustix::process::{kill_process, Pid, Signal};

use crate::wait::{self, Attempt, WaitError};

/// How many lines of the log an error quotes.
pub const TAIL_LINES: usize = 30;

/// How long a SIGKILLed process may take to be reaped.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// How often an exit is looked for while waiting for one.
const EXIT_POLL: Duration = Duration::from_millis(20);

/// What happens to an existing log when the process starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogMode {
    /// Keep it and append (a restarted process continues its log).
    #[default]
    Append,
    /// Empty it first, so what a failure quotes is this start's output.
    Fresh,
}

/// What to run and how: program, arguments, environment (on top of this process's), working
/// directory, the log its stdout and stderr go to (stdin is closed), and how it is kept.
#[derive(Debug, Clone)]
pub struct Launch {
    name: String,
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    env_remove: Vec<OsString>,
    dir: Option<PathBuf>,
    log: PathBuf,
    log_mode: LogMode,
    own_process_group: bool,
    kill_on_drop: bool,
}

impl Launch {
    /// Runs `program` (looked up on `PATH` unless it holds a `/`) with its output appended to
    /// `log`; named after the program's file name in messages.
    pub fn new(program: impl Into<PathBuf>, log: impl Into<PathBuf>) -> Self {
        let program = program.into();
        let name = program
            .file_name()
            .unwrap_or(program.as_os_str())
            .to_string_lossy()
            .into_owned();
        Self {
            name,
            program,
            args: Vec::new(),
            env: Vec::new(),
            env_remove: Vec::new(),
            dir: None,
            log: log.into(),
            log_mode: LogMode::Append,
            own_process_group: false,
            kill_on_drop: false,
        }
    }

    /// Its name in messages.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Appends several arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|arg| arg.as_ref().to_owned()));
        self
    }

    /// Sets one environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Leaves `key` out of the inherited environment (unless [`Launch::env`] sets it).
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env_remove.push(key.as_ref().to_owned());
        self
    }

    /// Runs it in `dir`.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// What happens to an existing log ([`LogMode::Append`] unless set).
    pub fn log_mode(mut self, mode: LogMode) -> Self {
        self.log_mode = mode;
        self
    }

    /// Starts it in a process group of its own, so a Ctrl-C in the terminal does not reach it.
    pub fn own_process_group(mut self, own: bool) -> Self {
        self.own_process_group = own;
        self
    }

    /// SIGKILLs it when the [`Launched`] is dropped (a failing test leaves no process behind).
    pub fn kill_on_drop(mut self, kill: bool) -> Self {
        self.kill_on_drop = kill;
        self
    }

    /// The log its output goes to.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Starts the process (creating the log's directory, emptying the log first for
    /// [`LogMode::Fresh`]). Can be called again for a restart with the same command.
    pub fn spawn(&self) -> anyhow::Result<Launched> {
        let log = &self.log;
        if let Some(dir) = log.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        if self.log_mode == LogMode::Fresh {
            File::create(log).with_context(|| format!("emptying {}", log.display()))?;
        }
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening the log {}", log.display()))?;
        let err = out
            .try_clone()
            .with_context(|| format!("opening the log {}", log.display()))?;
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for key in &self.env_remove {
            command.env_remove(key);
        }
        command.envs(self.env.iter().map(|(key, value)| (key, value)));
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        if self.own_process_group {
            command.process_group(0);
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {} ({})", self.name, self.program.display()))?;
        Ok(Launched {
            name: self.name.clone(),
            log: log.clone(),
            pid: child.id(),
            child: Some(child),
            status: None,
            kill_on_drop: self.kill_on_drop,
        })
    }
}

/// How [`Launched::stop`] ended the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It had exited before the stop.
    AlreadyExited(ExitStatus),
    /// It exited on SIGTERM within the grace period.
    OnSigterm(ExitStatus),
    /// It ignored SIGTERM for the grace period and was SIGKILLed.
    Killed(ExitStatus),
}

impl Stopped {
    /// Its exit status.
    pub fn status(self) -> ExitStatus {
        match self {
            Stopped::AlreadyExited(status)
            | Stopped::OnSigterm(status)
            | Stopped::Killed(status) => status,
        }
    }
}

/// A process started by [`Launch::spawn`].
#[derive(Debug)]
pub struct Launched {
    name: String,
    log: PathBuf,
    pid: u32,
    /// `None` once detached.
    child: Option<Child>,
    /// The exit status, once seen (the process is reaped then).
    status: Option<ExitStatus>,
    kill_on_drop: bool,
}

impl Launched {
    /// Its name in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id it was started with.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Where its output goes.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    /// The exit status once [`Launched::try_wait`] (or a wait) has seen it; `None` while it runs.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.status
    }

    /// The exit status if it has exited (reaping it), without blocking.
    pub fn try_wait(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            if let Some(child) = self.child.as_mut() {
                self.status = child
                    .try_wait()
                    .with_context(|| format!("checking on {}", self.name))?;
            }
        }
        Ok(self.status)
    }

    /// True while it has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.try_wait(), Ok(None))
    }

    /// Errors, with the exit status and the end of the log, if it has exited.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        match self.exited("") {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// `Some(error)` naming the exit status and quoting the log when it has exited (`context`
    /// follows the status in the message).
    fn exited(&mut self, context: &str) -> Option<anyhow::Error> {
        match self.try_wait() {
            Ok(None) => None,
            Ok(Some(status)) => Some(anyhow::anyhow!(
                "{} exited ({status}){context}; last lines of {}:\n{}",
                self.name,
                self.log.display(),
                self.log_tail(TAIL_LINES)
            )),
            Err(error) => Some(error),
        }
    }

    /// Runs `probe` every `interval` until it is ready (its value is returned), gives up, the
    /// process exits (an error with its status and the end of its log) or `timeout` passes (an
    /// error naming `what`, the last reason and the end of the log).
    pub async fn wait_ready<T, F, Fut>(
        &mut self,
        what: &str,
        timeout: Duration,
        interval: Duration,
        mut probe: F,
    ) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        let context = format!(" while waiting for {what}");
        let waited = wait::wait_until(what, timeout, interval, || {
            let exited = self.exited(&context);
            let attempt = probe();
            async move {
                match exited {
                    Some(error) => Attempt::Failed(error),
                    None => attempt.await,
                }
            }
        })
        .await;
        waited.map_err(|error| match error {
            WaitError::Failed(error) => error,
            timed_out @ WaitError::TimedOut { .. } => anyhow::anyhow!(
                "{timed_out}; last lines of {}:\n{}",
                self.log.display(),
                self.log_tail(TAIL_LINES)
            ),
        })
    }

    /// Waits up to `limit` for it to exit (reaping it).
    pub async fn wait(&mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        let what = format!("exit of {}", self.name);
        let waited = wait::wait_until(&what, limit, EXIT_POLL, || {
            let attempt = match self.try_wait() {
                Ok(Some(status)) => Attempt::Ready(status),
                Ok(None) => Attempt::Pending("still running".to_owned()),
                Err(error) => Attempt::Failed(error),
            };
            std::future::ready(attempt)
        })
        .await;
        waited.map_err(anyhow::Error::from)
    }

    /// SIGKILLs it (unless it has exited) and reaps it.
    pub async fn kill(&mut self) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        self.send(Signal::KILL, "SIGKILL")?;
        self.wait(KILL_WAIT).await
    }

    /// SIGTERMs it and waits up to `grace` for it to exit; SIGKILLs it after that.
    pub async fn stop(&mut self, grace: Duration) -> anyhow::Result<Stopped> {
        if let Some(status) = self.try_wait()? {
            return Ok(Stopped::AlreadyExited(status));
        }
        self.send(Signal::TERM, "SIGTERM")?;
        match self.wait(grace).await {
            Ok(status) => Ok(Stopped::OnSigterm(status)),
            Err(_) => self.kill().await.map(Stopped::Killed),
        }
    }

    /// Leaves it running after this process exits (a daemon); returns its pid.
    pub fn detach(mut self) -> u32 {
        self.child = None;
        self.pid
    }

    /// Sends `signal` (called `name` in messages); only to a process not yet reaped, whose pid
    /// cannot have been reused.
    fn send(&self, signal: Signal, name: &str) -> anyhow::Result<()> {
        let pid = i32::try_from(self.pid)
            .ok()
            .and_then(Pid::from_raw)
            .with_context(|| format!("{} is not a single process id", self.pid))?;
        kill_process(pid, signal)
            .with_context(|| format!("sending {name} to {} (pid {})", self.name, self.pid))
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        if !self.kill_on_drop || self.status.is_some() {
            return;
        }
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The last `lines` lines of a log file (empty if it cannot be read).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Looks `program` up on `PATH` and in the sbin directories (absent from a non-root `PATH`);
/// only an executable file counts.
pub fn find_program(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_log(name: &str) -> (PathBuf, PathBuf) {
        let dir = crate::scratch::create("launchtest").expect("scratch dir");
        let log = dir.join(format!("{name}.log"));
        (dir, log)
    }

    /// Waits until the log holds `text` `times` times.
    async fn log_says(process: &mut Launched, text: &str, times: usize) -> anyhow::Result<()> {
        let log = process.log().to_path_buf();
        process
            .wait_ready(
                &format!("{text:?} in the log"),
                Duration::from_secs(5),
                Duration::from_millis(20),
                || {
                    let seen = tail(&log, 5);
                    std::future::ready(if seen.matches(text).count() >= times {
                        Attempt::Ready(())
                    } else {
                        Attempt::Pending(format!("log: {seen:?}"))
                    })
                },
            )
            .await
    }

    #[tokio::test]
    async fn a_process_gets_its_environment_and_stops_on_sigterm() -> anyhow::Result<()> {
        let (dir, log) = scratch_log("sleeper");
        std::env::set_var("LAUNCH_TEST_DROPPED", "inherited");
        let launch = Launch::new("/bin/sh", &log)
            .args([
                "-c",
                "echo started $MARK ${LAUNCH_TEST_DROPPED:-none}; exec sleep 30",
            ])
            .env("MARK", "yes")
            .env_remove("LAUNCH_TEST_DROPPED")
            .name("sleeper");
        let mut process = launch.spawn()?;
        log_says(&mut process, "started yes none", 1).await?;
        assert!(process.is_running());
        let stopped = process.stop(Duration::from_secs(5)).await?;
        assert!(matches!(stopped, Stopped::OnSigterm(_)), "{stopped:?}");
        assert!(!stopped.status().success());
        assert!(process.exit_status().is_some());
        assert!(matches!(
            process.stop(Duration::from_secs(5)).await?,
            Stopped::AlreadyExited(_)
        ));
        // A restart appends; a fresh start empties the log first.
        let mut again = launch.spawn()?;
        log_says(&mut again, "started", 2).await?;
        again.kill().await?;
        assert_eq!(tail(&log, 10).matches("started").count(), 2);
        let mut fresh = launch.clone().log_mode(LogMode::Fresh).spawn()?;
        log_says(&mut fresh, "started", 1).await?;
        fresh.kill().await?;
        assert_eq!(tail(&log, 10).matches("started").count(), 1);
        crate::scratch::remove_dir(&dir)?;
        Ok(())
    }

    #[tokio::test]
    async fn a_process_that_exits_while_awaited_fails_the_wait_with_its_log() -> anyhow::Result<()>
    {
        let (dir, log) = scratch_log("failing");
        let mut process = Launch::new("/bin/sh", &log)
            .args(["-c", "echo config is wrong >&2; exit 3"])
            .spawn()?;
        let error = process
            .wait_ready(
                "an answer",
                Duration::from_secs(10),
                Duration::from_millis(20),
                || std::future::ready(Attempt::<()>::Pending("refused".to_owned())),
            )
            .await
            .expect_err("the process exited");
        let text = format!("{error:#}");
        assert!(
            text.starts_with("sh exited (exit status: 3) while waiting for an answer"),
            "{text}"
        );
        assert!(text.contains("config is wrong"), "{text}");
        assert!(process.check_running().is_err());
        crate::scratch::remove_dir(&dir)?;
        Ok(())
    }

    #[tokio::test]
    async fn a_time_out_names_what_and_quotes_the_log() -> anyhow::Result<()> {
        let (dir, log) = scratch_log("silent");
        let mut process = Launch::new("/bin/sh", &log)
            .args(["-c", "echo booting; exec sleep 30"])
            .kill_on_drop(true)
            .spawn()?;
        log_says(&mut process, "booting", 1).await?;
        let error = process
            .wait_ready(
                "an answer",
                Duration::from_millis(100),
                Duration::from_millis(20),
                || std::future::ready(Attempt::<()>::Pending("refused".to_owned())),
            )
            .await
            .expect_err("nothing answers");
        let text = error.to_string();
        assert!(text.starts_with("no an answer within"), "{text}");
        assert!(text.contains("last error: refused"), "{text}");
        assert!(text.ends_with("booting"), "{text}");
        let pid = process.pid();
        drop(process);
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "killed on drop"
        );
        crate::scratch::remove_dir(&dir)?;
        Ok(())
    }

    #[tokio::test]
    async fn a_process_ignoring_sigterm_is_killed_after_the_grace() -> anyhow::Result<()> {
        let (dir, log) = scratch_log("stubborn");
        let mut process = Launch::new("/bin/sh", &log)
            .args([
                "-c",
                "trap '' TERM; echo trapped; while :; do sleep 1; done",
            ])
            .spawn()?;
        log_says(&mut process, "trapped", 1).await?;
        let stopped = process.stop(Duration::from_millis(200)).await?;
        assert!(matches!(stopped, Stopped::Killed(_)), "{stopped:?}");
        crate::scratch::remove_dir(&dir)?;
        Ok(())
    }
}
