//! Progress while helm waits: every few seconds, the pods of the namespace that are not ready
//! yet and why (`ContainerCreating`, `CreateContainerError`, `Pending`, …), so a rollout that
//! will time out says what it is stuck on before helm's `--atomic` removes the evidence.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Target;

/// How often the pods are listed.
const EVERY: Duration = Duration::from_secs(5);
/// How often an unchanged listing is shown again.
const REPEAT: Duration = Duration::from_secs(60);

/// A running watcher; [`Watcher::stop`] ends it.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Starts listing the pods of `namespace` with `kubectl` for at most `limit`.
    pub fn start(kubectl: PathBuf, target: &Target, namespace: &str, limit: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let mut args = target.kubectl_args();
        args.extend(["get", "pods", "--no-headers", "-n", namespace].map(String::from));
        let handle = std::thread::spawn(move || {
            let started = Instant::now();
            let mut shown = (String::new(), Instant::now());
            while started.elapsed() < limit {
                let slice = Instant::now();
                while slice.elapsed() < EVERY {
                    if flag.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                let Ok(output) = std::process::Command::new(&kubectl).args(&args).output() else {
                    continue;
                };
                let line = not_ready(&String::from_utf8_lossy(&output.stdout));
                // A line when something changed, else one a minute.
                if line != shown.0 || shown.1.elapsed() >= REPEAT {
                    eprintln!("deploy: {:>3.0} s: {line}", started.elapsed().as_secs_f64());
                    shown = (line, Instant::now());
                }
            }
        });
        Self {
            stop,
            handle: Some(handle),
        }
    }

    /// Ends the watcher and waits for it.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// One line from `kubectl get pods --no-headers`: the pods not `n/n Running` with their status,
/// or how many are ready.
pub fn not_ready(listing: &str) -> String {
    let mut total = 0;
    let mut waiting = Vec::new();
    for line in listing.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, ready, status, ..] = fields[..] else {
            continue;
        };
        total += 1;
        let all_ready = ready
            .split_once('/')
            .is_some_and(|(have, want)| have == want);
        if !(all_ready && status == "Running") {
            waiting.push(format!("{name} {ready} {status}"));
        }
    }
    if waiting.is_empty() {
        format!("{total} pods ready")
    } else {
        format!(
            "{} of {total} pods ready; waiting for {}",
            total - waiting.len(),
            waiting.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_only_the_pods_not_ready() {
        let listing = "accountd-1   1/1   Running   0   10s\n\
                       movies-2     0/1   CreateContainerError   0   10s\n\
                       mysql-0      0/1   Init:0/1   0   10s\n";
        assert_eq!(
            not_ready(listing),
            "1 of 3 pods ready; waiting for movies-2 0/1 CreateContainerError, mysql-0 0/1 Init:0/1"
        );
        assert_eq!(not_ready("a 1/1 Running 0 1s\n"), "1 pods ready");
    }
}
