//! The command-runner seam: every external command goes through a [`Runner`].
//!
//! [`SystemRunner`] echoes each command line (`$ cargo fmt --all -- --check`) and runs it; tests use
//! [`recording::RecordingRunner`], which records the command lines and answers from a script, so
//! the commands `ci` and `bootstrap` would run can be asserted without running them.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use backing::launch::{Launch, Launched, LogMode, Stopped};
use backing::wait::Attempt;

use crate::cmd::Cmd;
use crate::progress::{self, Progress};

/// Runs external commands. Implementations must echo a command before running it.
pub trait Runner {
    /// Runs `cmd` to completion with its output shown to the user (streamed, or behind a spinner
    /// on a terminal and printed in full if it fails). Errors if it cannot start or exits non-zero.
    fn run(&self, cmd: &Cmd) -> Result<()>;

    /// Like [`Runner::run`] but always streams the output, even on a terminal (for commands whose
    /// output is the result, such as a benchmark table).
    fn run_visible(&self, cmd: &Cmd) -> Result<()>;

    /// Runs `cmd` quietly and tells whether it exited successfully (for checks like `docker info`).
    fn probe(&self, cmd: &Cmd) -> bool;

    /// Runs `cmd` quietly and returns its standard output; errors (with its stderr) if it fails.
    fn read(&self, cmd: &Cmd) -> Result<String>;

    /// Starts `cmd` in the background ([`backing::launch`]) in its own process group (so Ctrl-C
    /// in the terminal does not reach it), stdin closed, stdout and stderr appended to `log`,
    /// which [`LogMode::Fresh`] empties first.
    fn spawn_logged(&self, cmd: &Cmd, log: &Path, mode: LogMode) -> Result<Spawned>;

    /// [`Runner::spawn_logged`], appending to `log`.
    fn spawn(&self, cmd: &Cmd, log: &Path) -> Result<Spawned> {
        self.spawn_logged(cmd, log, LogMode::Append)
    }

    /// [`Runner::spawn_logged`] into a fresh `log`, so what a failure quotes is this start's.
    fn spawn_fresh(&self, cmd: &Cmd, log: &Path) -> Result<Spawned> {
        self.spawn_logged(cmd, log, LogMode::Fresh)
    }
}

/// A background process started by [`Runner::spawn`]: a [`Launched`] process (none for the
/// recording runner of the unit tests).
#[derive(Debug)]
pub struct Spawned {
    pid: u32,
    process: Option<Launched>,
    /// Where its output goes.
    pub log: PathBuf,
}

impl Spawned {
    /// Process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Errors, with its exit status and the end of its log, if it has exited.
    pub fn check(&mut self) -> Result<()> {
        match &mut self.process {
            Some(process) => process.check_running(),
            None => Ok(()),
        }
    }

    /// Runs `probe` every `interval` until it is ready (its value is returned), the process
    /// exits or `timeout` passes ([`Launched::wait_ready`]); the errors quote the end of the log.
    pub async fn wait_ready<T, F, Fut>(
        &mut self,
        what: &str,
        timeout: Duration,
        interval: Duration,
        probe: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        match &mut self.process {
            Some(process) => process.wait_ready(what, timeout, interval, probe).await,
            None => Ok(backing::wait::wait_until(what, timeout, interval, probe).await?),
        }
    }

    /// Sends SIGTERM, waits up to `grace` for it to exit, then kills it. Returns a sentence
    /// saying how it ended.
    pub async fn terminate(&mut self, grace: Duration) -> Result<String> {
        let pid = self.pid;
        let Some(process) = &mut self.process else {
            return Ok(format!("pid {pid} was never started"));
        };
        Ok(match process.stop(grace).await? {
            Stopped::AlreadyExited(status) => format!("pid {pid} had already exited ({status})"),
            Stopped::OnSigterm(status) => format!("pid {pid} stopped on SIGTERM ({status})"),
            Stopped::Killed(status) => format!(
                "pid {pid} ignored SIGTERM for {:.0} s and was killed ({status})",
                grace.as_secs_f64()
            ),
        })
    }

    /// Leaves the process running after xtask exits (a daemon such as `dockerd`).
    pub fn detach(self) -> u32 {
        if let Some(process) = self.process {
            process.detach();
        }
        self.pid
    }
}

/// Prints the command line the way it is about to run.
pub fn echo(cmd: &Cmd) {
    eprintln!("$ {cmd}");
}

/// The real runner.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemRunner {
    /// Stream output even on a terminal instead of showing a spinner.
    pub verbose: bool,
}

impl SystemRunner {
    fn expression(cmd: &Cmd) -> duct::Expression {
        let mut expression = duct::cmd(&cmd.program, &cmd.args);
        for var in &cmd.env {
            expression = expression.env(&var.key, &var.value);
        }
        if let Some(dir) = &cmd.dir {
            expression = expression.dir(dir);
        }
        expression.unchecked()
    }

    /// Output streamed straight to the terminal or log.
    fn run_streamed(cmd: &Cmd) -> Result<ExitStatus> {
        let started = Instant::now();
        let output = Self::expression(cmd)
            .stdin_null()
            .run()
            .with_context(|| format!("could not start `{}`", cmd.line()))?;
        let ok = output.status.success();
        eprintln!(
            "==> {}: {} in {:.1} s",
            cmd.line(),
            if ok { "ok" } else { "FAILED" },
            started.elapsed().as_secs_f64()
        );
        Ok(output.status)
    }

    /// Output captured behind a spinner that shows the latest line; printed in full on failure.
    fn run_with_spinner(cmd: &Cmd) -> Result<ExitStatus> {
        let reader = Self::expression(cmd)
            .stdin_null()
            .stderr_to_stdout()
            .reader()
            .with_context(|| format!("could not start `{}`", cmd.line()))?;
        let progress = Progress::start(cmd.line());
        let mut transcript = Vec::new();
        let mut lines = BufReader::new(&reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = lines
                .read_until(b'\n', &mut line)
                .with_context(|| format!("reading the output of `{}`", cmd.line()))?;
            if read == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            progress.message(&text);
            transcript.push(text);
        }
        let status = match reader.try_wait() {
            Ok(Some(output)) => output.status,
            _ => bail!("`{}` closed its output but did not exit", cmd.line()),
        };
        if !status.success() {
            progress.println(&transcript.concat());
        }
        progress.finish(status.success());
        Ok(status)
    }
}

impl Runner for SystemRunner {
    fn run(&self, cmd: &Cmd) -> Result<()> {
        echo(cmd);
        let status = if progress::interactive() && !self.verbose {
            Self::run_with_spinner(cmd)?
        } else {
            Self::run_streamed(cmd)?
        };
        if status.success() {
            Ok(())
        } else {
            bail!("`{}` failed ({status})", cmd.line())
        }
    }

    fn run_visible(&self, cmd: &Cmd) -> Result<()> {
        echo(cmd);
        let status = Self::run_streamed(cmd)?;
        if status.success() {
            Ok(())
        } else {
            bail!("`{}` failed ({status})", cmd.line())
        }
    }

    fn probe(&self, cmd: &Cmd) -> bool {
        echo(cmd);
        Self::expression(cmd)
            .stdin_null()
            .stdout_null()
            .stderr_null()
            .run()
            .map(|output| output.status.success())
            .unwrap_or(false)
    }

    fn read(&self, cmd: &Cmd) -> Result<String> {
        echo(cmd);
        let output = Self::expression(cmd)
            .stdin_null()
            .stdout_capture()
            .stderr_capture()
            .run()
            .with_context(|| format!("could not start `{}`", cmd.line()))?;
        if !output.status.success() {
            bail!(
                "`{}` failed ({}): {}",
                cmd.line(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        String::from_utf8(output.stdout)
            .with_context(|| format!("`{}` printed something that is not UTF-8", cmd.line()))
    }

    fn spawn_logged(&self, cmd: &Cmd, log: &Path, mode: LogMode) -> Result<Spawned> {
        eprintln!("$ {cmd} >>{} 2>&1 &", log.display());
        let mut launch = Launch::new(&cmd.program, log)
            .args(&cmd.args)
            .log_mode(mode)
            .own_process_group(true);
        for var in &cmd.env {
            launch = launch.env(&var.key, &var.value);
        }
        if let Some(dir) = &cmd.dir {
            launch = launch.current_dir(dir);
        }
        let process = launch
            .spawn()
            .with_context(|| format!("could not start `{}`", cmd.line()))?;
        Ok(Spawned {
            pid: process.pid(),
            process: Some(process),
            log: log.to_path_buf(),
        })
    }
}

/// Looks `program` up on `PATH` and the sbin directories: backing's one lookup.
pub use backing::launch::find_program;

#[cfg(test)]
pub mod recording {
    //! A [`Runner`] for unit tests: records command lines, runs nothing, answers from a script.

    use std::collections::{HashMap, HashSet, VecDeque};
    use std::path::Path;
    use std::sync::Mutex;

    use anyhow::{bail, Result};
    use backing::launch::LogMode;

    use super::{Runner, Spawned};
    use crate::cmd::Cmd;

    /// Which runner method saw a command.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Kind {
        Run,
        Probe,
        Read,
        Spawn,
    }

    /// Records every command; `run` fails for lines in `failing`; `probe` answers from a queue per
    /// line (then `probe_default`); `read` answers from `reads`.
    #[derive(Default)]
    pub struct RecordingRunner {
        seen: Mutex<Vec<(Kind, Cmd)>>,
        failing: HashSet<String>,
        probes: Mutex<HashMap<String, VecDeque<bool>>>,
        probe_default: bool,
        reads: HashMap<String, String>,
    }

    impl RecordingRunner {
        pub fn new() -> Self {
            Self::default()
        }

        /// `run` of this exact line fails.
        pub fn failing(mut self, line: &str) -> Self {
            self.failing.insert(line.to_string());
            self
        }

        /// Successive `probe` answers for this exact line.
        pub fn probe_answers(self, line: &str, answers: &[bool]) -> Self {
            if let Ok(mut probes) = self.probes.lock() {
                probes.insert(line.to_string(), answers.iter().copied().collect());
            }
            self
        }

        /// What `read` of this exact line returns.
        pub fn read_answer(mut self, line: &str, output: &str) -> Self {
            self.reads.insert(line.to_string(), output.to_string());
            self
        }

        /// Every command seen, in order.
        pub fn seen(&self) -> Vec<(Kind, Cmd)> {
            self.seen
                .lock()
                .map(|seen| seen.clone())
                .unwrap_or_default()
        }

        /// The lines of the commands seen by one method.
        pub fn lines(&self, kind: Kind) -> Vec<String> {
            self.seen()
                .into_iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, cmd)| cmd.line())
                .collect()
        }

        fn record(&self, kind: Kind, cmd: &Cmd) {
            if let Ok(mut seen) = self.seen.lock() {
                seen.push((kind, cmd.clone()));
            }
        }
    }

    impl Runner for RecordingRunner {
        fn run(&self, cmd: &Cmd) -> Result<()> {
            self.record(Kind::Run, cmd);
            if self.failing.contains(&cmd.line()) {
                bail!("`{}` failed (scripted)", cmd.line());
            }
            Ok(())
        }

        fn run_visible(&self, cmd: &Cmd) -> Result<()> {
            self.run(cmd)
        }

        fn probe(&self, cmd: &Cmd) -> bool {
            self.record(Kind::Probe, cmd);
            self.probes
                .lock()
                .ok()
                .and_then(|mut probes| probes.get_mut(&cmd.line()).and_then(VecDeque::pop_front))
                .unwrap_or(self.probe_default)
        }

        fn read(&self, cmd: &Cmd) -> Result<String> {
            self.record(Kind::Read, cmd);
            match self.reads.get(&cmd.line()) {
                Some(output) => Ok(output.clone()),
                None => bail!("`{}` has no scripted output", cmd.line()),
            }
        }

        fn spawn_logged(&self, cmd: &Cmd, log: &Path, _mode: LogMode) -> Result<Spawned> {
            self.record(Kind::Spawn, cmd);
            Ok(Spawned {
                pid: 4242,
                process: None,
                log: log.to_path_buf(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_runner_reads_and_probes() {
        let runner = SystemRunner::default();
        assert!(runner.probe(&Cmd::new("true")));
        assert!(!runner.probe(&Cmd::new("false")));
        assert!(!runner.probe(&Cmd::new("/definitely/not/a/program")));
        let out = runner
            .read(
                &Cmd::new("sh")
                    .args(["-c", "echo \"$GREETING\""])
                    .env("GREETING", "hi"),
            )
            .unwrap();
        assert_eq!(out, "hi\n");
        let err = runner
            .read(&Cmd::new("sh").args(["-c", "echo oops >&2; exit 3"]))
            .unwrap_err();
        assert!(err.to_string().contains("oops"), "{err}");
    }

    #[test]
    fn system_runner_run_reports_failure() {
        let runner = SystemRunner { verbose: true };
        runner.run(&Cmd::new("true")).unwrap();
        assert!(runner.run(&Cmd::new("false")).is_err());
    }

    #[tokio::test]
    async fn spawned_process_is_terminated_with_sigterm() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sleep.log");
        std::fs::write(&log, "an earlier run\n").unwrap();
        let runner = SystemRunner::default();
        let mut child = runner
            .spawn_fresh(
                &Cmd::new("sh").args(["-c", "echo started; exec sleep 30"]),
                &log,
            )
            .unwrap();
        child
            .wait_ready(
                "output in the log",
                Duration::from_secs(5),
                Duration::from_millis(20),
                || {
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    std::future::ready(if text.contains("started") {
                        Attempt::Ready(text)
                    } else {
                        Attempt::Pending(format!("log: {text:?}"))
                    })
                },
            )
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "started\n");
        child.check().unwrap();
        let how = child.terminate(Duration::from_secs(5)).await.unwrap();
        assert!(how.contains("stopped on SIGTERM"), "{how}");
    }

    #[test]
    fn find_program_looks_in_path_and_sbin() {
        assert!(find_program("sh").is_some());
        assert!(find_program("no-such-program-mockvideo").is_none());
    }
}
