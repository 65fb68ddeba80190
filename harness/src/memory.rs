//! A process's resident memory from `/proc/<pid>/status`, as the kernel counts it: one reading
//! ([`read`]), the kernel's peak reset ([`reset_peak`]) and a background sampler ([`Sampler`])
//! that records the highest `VmRSS` seen while something runs. Used by the benchmarks and by the
//! robustness features that prove a process stays within its memory bound under a flood.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Longest a sampler runs, whatever happens, so it can never outlive a stuck benchmark.
const MAX_SAMPLING: Duration = Duration::from_secs(3600);

/// Resident memory of a process at one instant, in KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`: resident set size now.
    pub rss_kib: u64,
    /// `VmHWM`: peak resident set size since start (or since the last [`reset_peak`]).
    pub hwm_kib: u64,
}

fn status_path(pid: u32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/status"))
}

/// Reads `VmRSS` and `VmHWM` of `pid`.
pub fn read(pid: u32) -> Result<Memory> {
    let path = status_path(pid);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (is the process running?)", path.display()))?;
    parse(&text).with_context(|| format!("no VmRSS/VmHWM in {}", path.display()))
}

/// `VmRSS` and `VmHWM` from the text of a `/proc/<pid>/status` file.
pub fn parse(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
    };
    Some(Memory {
        rss_kib: field("VmRSS")?,
        hwm_kib: field("VmHWM")?,
    })
}

/// Resets `VmHWM` of `pid` to its current RSS (`echo 5 > /proc/<pid>/clear_refs`, Linux ≥ 4.0;
/// needs the right to ptrace it, e.g. the same user). Returns whether it worked.
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// What a [`Sampler`] saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Samples {
    /// Readings taken.
    pub count: u64,
    /// Highest `VmRSS` read, in KiB.
    pub max_rss_kib: u64,
    /// Last `VmRSS` read, in KiB.
    pub last_rss_kib: u64,
}

impl Samples {
    fn add(&mut self, rss_kib: u64) {
        self.count += 1;
        self.max_rss_kib = self.max_rss_kib.max(rss_kib);
        self.last_rss_kib = rss_kib;
    }
}

/// Reads `VmRSS` of a process every `interval` on its own thread (so a busy async runtime does
/// not delay it) until [`Sampler::finish`], the process is gone, or an hour has passed.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Samples>,
}

impl Sampler {
    /// Starts sampling `pid` (the first reading is taken at once).
    pub fn start(pid: u32, interval: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut samples = Samples::default();
            let deadline = Instant::now() + MAX_SAMPLING;
            while Instant::now() < deadline {
                match read(pid) {
                    Ok(memory) => samples.add(memory.rss_kib),
                    Err(_) => break,
                }
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(interval);
            }
            samples
        });
        Self { stop, thread }
    }

    /// Stops sampling (after one last reading) and returns what was seen.
    pub fn finish(self) -> Samples {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// KiB as MiB with one decimal, for tables.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tactivity-server\nVmPeak:\t  812345 kB\nVmHWM:\t   20480 kB\n\
                          VmRSS:\t   18432 kB\nThreads:\t3\n";

    #[test]
    fn parses_rss_and_peak() {
        assert_eq!(
            parse(STATUS),
            Some(Memory {
                rss_kib: 18432,
                hwm_kib: 20480
            })
        );
        assert_eq!(parse("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn reads_and_samples_this_process() {
        let pid = std::process::id();
        let now = read(pid).unwrap();
        assert!(now.rss_kib > 0 && now.hwm_kib >= now.rss_kib, "{now:?}");
        let sampler = Sampler::start(pid, Duration::from_millis(5));
        std::thread::sleep(Duration::from_millis(50));
        let samples = sampler.finish();
        assert!(samples.count >= 2, "{samples:?}");
        assert!(samples.max_rss_kib >= samples.last_rss_kib && samples.last_rss_kib > 0);
        assert!(read(u32::MAX).is_err());
    }

    #[test]
    fn sampler_stops_when_the_process_is_gone() {
        let samples = Sampler::start(u32::MAX, Duration::from_millis(5)).finish();
        assert_eq!(samples.count, 0);
    }

    #[test]
    fn mib_has_one_decimal() {
        assert_eq!(mib(18432), "18.0 MiB");
        assert_eq!(mib(1536), "1.5 MiB");
    }
}
