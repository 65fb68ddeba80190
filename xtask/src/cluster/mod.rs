//! `cargo xtask cluster up|down|status`: a Kubernetes cluster to deploy to and run chaos against.
//!
//! With `--kube-context C` that answers, `up` uses that cluster (a user's kind, k3d or cloud
//! cluster) and starts nothing. Otherwise it builds Kubernetes v1.20.2 once ([`build`]) and starts
//! a throwaway single-node cluster on 127.0.0.1 ([`config`]): etcd, kube-apiserver,
//! controller-manager, scheduler and a kubelet driving the local Docker engine, with the
//! kubeconfig at `target/cluster/kubeconfig`. Every PID and the original kernel settings go to
//! `target/cluster/state.json` ([`state`]), so `down` stops exactly those processes, removes the
//! pods' containers and restores the settings. There is no kube-proxy, CNI or cluster DNS: pods
//! are reached through `hostNetwork` on loopback ports (the workplace rule: only 127.0.0.1).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use crate::cmd::Cmd;
use crate::paths;
use crate::runner::Runner;
use crate::summary::{Status, Summary};

pub mod build;
pub mod config;
pub mod state;
pub mod suite;

use build::Layout;
use config::{Dirs, PORTS};
use state::{Process, State};

/// `cluster` options.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ClusterAction,
}

/// `cluster` actions.
#[derive(Debug, Subcommand)]
pub enum ClusterAction {
    /// Start (building first if needed) the local cluster, or check a given context.
    Up {
        /// Use this kube context (e.g. a kind or cloud cluster) instead of starting one; it must
        /// answer `kubectl --context C get ns`.
        #[arg(long, env = "MOCKVIDEO_KUBE_CONTEXT")]
        kube_context: Option<String>,
    },
    /// Stop everything `up` started, remove the pods' containers and restore kernel settings.
    Down,
    /// Show the cluster: processes, apiserver readiness, nodes and pods.
    Status,
}

/// How long a stopped process gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// How long the apiserver may take to become ready.
const APISERVER_READY: Duration = Duration::from_secs(90);
/// How long the controller-manager may take to create the default ServiceAccount.
const SERVICE_ACCOUNT_READY: Duration = Duration::from_secs(90);
/// How long the node may take to become Ready.
const NODE_READY: Duration = Duration::from_secs(120);

/// Runs a cluster action.
pub async fn run(runner: &dyn Runner, args: &ClusterArgs) -> Result<()> {
    let dirs = crate::deploy::local::cluster_dirs();
    match &args.action {
        ClusterAction::Up { kube_context } => {
            let kubectl = kubectl(runner)?;
            match kube_context {
                Some(context) => use_context(runner, &kubectl, context),
                None => up(runner, &Layout::new(), &dirs, &kubectl).await,
            }
        }
        ClusterAction::Down => down(runner, &dirs).map(|_| ()),
        ClusterAction::Status => status(runner, &dirs, &kubectl(runner)?),
    }
}

/// Starts the local cluster (building it first if needed), or confirms it is up.
pub async fn up_local(runner: &dyn Runner) -> Result<()> {
    let dirs = Dirs::new(paths::repo_target().join("cluster"));
    up(runner, &Layout::new(), &dirs, &kubectl(runner)?).await
}

/// kubectl v1.31 from the same npm layer package as helm.
pub fn kubectl(runner: &dyn Runner) -> Result<PathBuf> {
    let helm = crate::tools::helm::ensure_helm(runner)?;
    let layer = helm
        .parent()
        .and_then(Path::parent)
        .context("helm is not inside its layer directory")?;
    Ok(layer.join("kubectl").join("kubectl"))
}

/// A kubectl command against the kubeconfig.
pub fn kubectl_cmd(kubectl: &Path, kubeconfig: &Path) -> Cmd {
    Cmd::new(kubectl.display().to_string()).arg(format!("--kubeconfig={}", kubeconfig.display()))
}

fn use_context(runner: &dyn Runner, kubectl: &Path, context: &str) -> Result<()> {
    let check = Cmd::new(kubectl.display().to_string()).args(["--context", context, "get", "ns"]);
    if !runner.probe(&check) {
        bail!("the kube context `{context}` does not answer `kubectl --context {context} get ns`");
    }
    eprintln!("cluster: using the existing kube context `{context}` (nothing started)");
    Ok(())
}

/// The readiness probe of the apiserver.
fn readyz(kubectl: &Path, kubeconfig: &Path) -> Cmd {
    kubectl_cmd(kubectl, kubeconfig).args(["get", "--raw", "/readyz", "--request-timeout=5s"])
}

async fn up(runner: &dyn Runner, layout: &Layout, dirs: &Dirs, kubectl: &Path) -> Result<()> {
    let started = Instant::now();
    if let Some(state) = State::load(&dirs.state())? {
        let dead: Vec<&str> = state
            .processes
            .iter()
            .filter(|p| !state::alive(p.pid, &p.name))
            .map(|p| p.name.as_str())
            .collect();
        if dead.is_empty() && runner.probe(&readyz(kubectl, &state.kubeconfig)) {
            eprintln!(
                "cluster: already up ({} processes alive, apiserver ready; checked in {:.1} s)",
                state.processes.len(),
                started.elapsed().as_secs_f64()
            );
            print_export(&state.kubeconfig);
            return Ok(());
        }
        eprintln!(
            "cluster: a previous cluster is half up ({}); cleaning it first",
            if dead.is_empty() {
                "apiserver not ready".to_string()
            } else {
                format!("{} gone", dead.join(", "))
            }
        );
        down(runner, dirs)?;
    }
    let mut summary = Summary::default();
    let step = Instant::now();
    let built = build::ensure_built(runner, layout)?;
    summary.push(
        "build Kubernetes v1.20.2 + etcd",
        if built { Status::Ok } else { Status::Skipped },
        step.elapsed(),
        if built { "cold build" } else { "cached" },
    );
    let step = Instant::now();
    let pause = build::ensure_pause_image(runner, layout)?;
    summary.push(
        "pause image",
        if pause { Status::Ok } else { Status::Skipped },
        step.elapsed(),
        if pause { "built" } else { "present" },
    );
    check_ports_free()?;
    let step = Instant::now();
    let made = write_credentials(runner, dirs)?;
    summary.push(
        "credentials + kubeconfig",
        if made { Status::Ok } else { Status::Skipped },
        step.elapsed(),
        if made { "created" } else { "kept" },
    );
    let start = Instant::now();
    match start_processes(runner, layout, dirs, kubectl, &mut summary, start).await {
        Ok(()) => {}
        Err(error) => {
            eprintln!(
                "cluster: start failed: {error:#}; logs are in {}",
                dirs.logs().display()
            );
            eprintln!("cluster: cleaning up what was started");
            if let Err(cleanup) = down(runner, dirs) {
                eprintln!("cluster: clean-up failed too: {cleanup:#}");
            }
            return Err(error);
        }
    }
    println!("{summary}");
    println!(
        "cluster: up ({} start) in {:.1} s, of which start {:.1} s",
        if built { "cold" } else { "warm" },
        started.elapsed().as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    print_export(&dirs.kubeconfig());
    Ok(())
}

fn print_export(kubeconfig: &Path) {
    println!("export KUBECONFIG={}", kubeconfig.display());
}

/// Fails naming the first cluster port something on 127.0.0.1 already holds.
fn check_ports_free() -> Result<()> {
    for (what, port) in PORTS.all() {
        if TcpListener::bind(("127.0.0.1", port)).is_err() {
            bail!(
                "127.0.0.1:{port} ({what}) is taken; stop what holds it (`ss -ltnp | grep {port}`)"
            );
        }
    }
    Ok(())
}

/// Creates the CA, certificates, keys, token and kubeconfig unless they exist; returns whether it
/// created them.
fn write_credentials(runner: &dyn Runner, dirs: &Dirs) -> Result<bool> {
    let pki = dirs.pki();
    let needed = [
        "ca.crt",
        "apiserver.crt",
        "kubelet-client.crt",
        "sa.pub",
        "tokens.csv",
    ];
    let kubelet_config = config::kubelet_config(&dirs.pki_file("ca.crt"), &PORTS);
    std::fs::create_dir_all(&dirs.root)
        .with_context(|| format!("creating {}", dirs.root.display()))?;
    std::fs::write(dirs.kubelet_config(), kubelet_config).context("writing the kubelet config")?;
    if needed.iter().all(|name| pki.join(name).is_file()) && dirs.kubeconfig().is_file() {
        return Ok(false);
    }
    std::fs::create_dir_all(&pki).with_context(|| format!("creating {}", pki.display()))?;
    std::fs::write(pki.join("apiserver.ext"), config::APISERVER_SAN)
        .context("writing apiserver.ext")?;
    std::fs::write(pki.join("client.ext"), config::CLIENT_EXT).context("writing client.ext")?;
    for cmd in config::openssl_cmds(&pki) {
        runner.run(&cmd)?;
    }
    let token = random_token()?;
    std::fs::write(pki.join("tokens.csv"), config::tokens_csv(&token))
        .context("writing tokens.csv")?;
    std::fs::write(
        dirs.kubeconfig(),
        config::kubeconfig(&dirs.pki_file("ca.crt"), PORTS.apiserver, &token),
    )
    .context("writing the kubeconfig")?;
    Ok(true)
}

/// 32 hex characters from the kernel's random source.
fn random_token() -> Result<String> {
    use std::io::Read as _;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

async fn start_processes(
    runner: &dyn Runner,
    layout: &Layout,
    dirs: &Dirs,
    kubectl: &Path,
    summary: &mut Summary,
    start: Instant,
) -> Result<()> {
    // Each row's seconds are its own step; the note says when, from the first spawn.
    let mut last = start;
    let run = dirs.run();
    for dir in [run.join("varlog"), run.join("kubelet"), dirs.logs()] {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut state = State {
        processes: Vec::new(),
        sysctls: state::read_sysctls(&state::KUBELET_SYSCTLS),
        kubeconfig: dirs.kubeconfig(),
    };
    eprintln!(
        "cluster: kernel settings before the kubelet: {}",
        show_sysctls(&state.sysctls)
    );
    state.save(&dirs.state())?;
    let kubeconfig = dirs.kubeconfig();
    for (name, cmd) in config::start_cmds(layout, dirs, &PORTS) {
        let log = dirs.log(name);
        // A fresh log per start, so what a failure prints is this start's output.
        std::fs::write(&log, "").with_context(|| format!("truncating {}", log.display()))?;
        let spawned = runner.spawn(&cmd, &log)?;
        let pid = spawned.detach();
        state.processes.push(Process {
            name: name.to_string(),
            pid,
            log: log.clone(),
        });
        state.save(&dirs.state())?;
        match name {
            "etcd" => {
                let health = format!("http://127.0.0.1:{}/health", PORTS.etcd_client);
                wait_for(
                    "etcd healthy",
                    Duration::from_secs(30),
                    pid,
                    name,
                    &log,
                    || async { etcd_healthy(&health).await },
                )
                .await?;
                summary.push(
                    "etcd healthy",
                    Status::Ok,
                    lap(&mut last),
                    format!(
                        "pid {pid}, {:.1} s after the start",
                        start.elapsed().as_secs_f64()
                    ),
                );
            }
            "kube-apiserver" => {
                let check = readyz(kubectl, &kubeconfig);
                wait_for(
                    "kube-apiserver /readyz",
                    APISERVER_READY,
                    pid,
                    name,
                    &log,
                    || async { runner.probe(&check) },
                )
                .await?;
                summary.push(
                    "kube-apiserver ready",
                    Status::Ok,
                    lap(&mut last),
                    format!(
                        "pid {pid}, {:.1} s after the start",
                        start.elapsed().as_secs_f64()
                    ),
                );
            }
            _ => {
                summary.push(
                    format!("{name} started"),
                    Status::Ok,
                    lap(&mut last),
                    format!(
                        "pid {pid}, {:.1} s after the start",
                        start.elapsed().as_secs_f64()
                    ),
                );
            }
        }
    }
    let by_name = |name: &str| state.processes.iter().find(|p| p.name == name).cloned();
    let kcm =
        by_name("kube-controller-manager").context("the controller-manager was not started")?;
    let check = kubectl_cmd(kubectl, &kubeconfig).args([
        "get",
        "serviceaccount",
        "default",
        "-n",
        "default",
    ]);
    wait_for(
        "the default ServiceAccount",
        SERVICE_ACCOUNT_READY,
        kcm.pid,
        &kcm.name,
        &kcm.log,
        || async { runner.probe(&check) },
    )
    .await?;
    summary.push(
        "default ServiceAccount",
        Status::Ok,
        lap(&mut last),
        format!("{:.1} s after the start", start.elapsed().as_secs_f64()),
    );
    let kubelet = by_name("kubelet").context("the kubelet was not started")?;
    let check = kubectl_cmd(kubectl, &kubeconfig).args([
        "get",
        "node",
        "localhost",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
    ]);
    wait_for(
        "node localhost Ready",
        NODE_READY,
        kubelet.pid,
        &kubelet.name,
        &kubelet.log,
        || async {
            runner
                .read(&check)
                .is_ok_and(|status| status.trim() == "True")
        },
    )
    .await?;
    summary.push(
        "node localhost Ready",
        Status::Ok,
        lap(&mut last),
        format!("{:.1} s after the start", start.elapsed().as_secs_f64()),
    );
    eprintln!(
        "cluster: kernel settings with the kubelet running: {}",
        show_sysctls(&state::read_sysctls(&state::KUBELET_SYSCTLS))
    );
    Ok(())
}

/// The time since `last`, which moves to now.
fn lap(last: &mut Instant) -> Duration {
    let now = Instant::now();
    let took = now - *last;
    *last = now;
    took
}

fn show_sysctls(values: &std::collections::BTreeMap<String, String>) -> String {
    values
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn etcd_healthy(url: &str) -> bool {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build();
    match client {
        Ok(client) => match client.get(url).send().await {
            Ok(response) => response
                .text()
                .await
                .is_ok_and(|body| body.contains("true")),
            Err(_) => false,
        },
        Err(_) => false,
    }
}

/// Polls `check` every second until it holds, up to `timeout`; fails early, with the end of the
/// log, when the process `pid` has died.
async fn wait_for<F, Fut>(
    what: &str,
    timeout: Duration,
    pid: u32,
    name: &str,
    log: &Path,
    check: F,
) -> Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    eprintln!(
        "cluster: waiting for {what} (up to {} s)",
        timeout.as_secs()
    );
    loop {
        if check().await {
            eprintln!(
                "cluster: {what} after {:.1} s",
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if !state::running(pid) {
            bail!(
                "{name} (pid {pid}) exited while waiting for {what}; its log ends:\n{}",
                log_tail(log)
            );
        }
        if started.elapsed() > timeout {
            bail!(
                "no {what} within {} s; {name}'s log ends:\n{}",
                timeout.as_secs(),
                log_tail(log)
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// What `down` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Processes stopped, with how.
    pub stopped: Vec<String>,
    /// Containers removed.
    pub containers: usize,
    /// Sysctls restored.
    pub restored: Vec<String>,
}

/// Stops the recorded processes (kubelet first), removes the pods' containers, restores the
/// kernel settings and removes the run data and the state file. Safe to run twice.
pub fn down(runner: &dyn Runner, dirs: &Dirs) -> Result<Cleaned> {
    let started = Instant::now();
    let mut cleaned = Cleaned::default();
    let state = State::load(&dirs.state())?;
    match &state {
        None => eprintln!(
            "cluster: no {} (no local cluster recorded)",
            dirs.state().display()
        ),
        Some(state) => {
            for process in state.processes.iter().rev() {
                cleaned.stopped.push(stop(runner, process)?);
            }
        }
    }
    let ids = runner.read(&Cmd::new("docker").args([
        "ps",
        "-aq",
        "--filter",
        "label=io.kubernetes.docker.type",
    ]))?;
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        runner.run(
            &Cmd::new("docker")
                .args(["rm", "-f"])
                .args(ids.iter().copied()),
        )?;
    }
    cleaned.containers = ids.len();
    if let Some(state) = &state {
        let current = state::read_sysctls(&state::KUBELET_SYSCTLS);
        for change in state::sysctl_changes(&state.sysctls, &current) {
            runner.run(
                &Cmd::new("sysctl").args(["-w", &format!("{}={}", change.key, change.original)]),
            )?;
            cleaned.restored.push(format!(
                "{} {} → {}",
                change.key, change.now, change.original
            ));
        }
        eprintln!(
            "cluster: kernel settings now: {}",
            show_sysctls(&state::read_sysctls(&state::KUBELET_SYSCTLS))
        );
    }
    for dir in [dirs.run(), dirs.data()] {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
    }
    if state.is_some() {
        std::fs::remove_file(dirs.state())
            .with_context(|| format!("removing {}", dirs.state().display()))?;
    }
    for line in &cleaned.stopped {
        eprintln!("cluster: {line}");
    }
    eprintln!(
        "cluster: down in {:.1} s: {} processes handled, {} pod containers removed, {} kernel settings restored{}",
        started.elapsed().as_secs_f64(),
        cleaned.stopped.len(),
        cleaned.containers,
        cleaned.restored.len(),
        if cleaned.restored.is_empty() { String::new() } else { format!(" ({})", cleaned.restored.join(", ")) }
    );
    Ok(cleaned)
}

/// SIGTERM, a bounded wait, then SIGKILL; only if the PID is still the recorded process.
fn stop(runner: &dyn Runner, process: &Process) -> Result<String> {
    let Process { name, pid, .. } = process;
    if !state::alive(*pid, name) {
        return Ok(format!("{name} (pid {pid}) was already gone"));
    }
    runner.probe(&Cmd::new("kill").args(["-TERM".to_string(), pid.to_string()]));
    let deadline = Instant::now() + STOP_GRACE;
    let since = Instant::now();
    while Instant::now() < deadline {
        if !state::alive(*pid, name) {
            return Ok(format!(
                "{name} (pid {pid}) stopped on SIGTERM in {:.1} s",
                since.elapsed().as_secs_f64()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    runner.probe(&Cmd::new("kill").args(["-KILL".to_string(), pid.to_string()]));
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if !state::alive(*pid, name) {
            return Ok(format!(
                "{name} (pid {pid}) ignored SIGTERM for {} s and was killed",
                STOP_GRACE.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{name} (pid {pid}) survived SIGKILL")
}

fn status(runner: &dyn Runner, dirs: &Dirs, kubectl: &Path) -> Result<()> {
    let Some(state) = State::load(&dirs.state())? else {
        println!(
            "cluster: no local cluster recorded ({} absent)",
            dirs.state().display()
        );
        return Ok(());
    };
    let mut table = crate::summary::Table::new(["process", "pid", "alive", "log"]);
    for p in &state.processes {
        table.row([
            p.name.clone(),
            p.pid.to_string(),
            if state::alive(p.pid, &p.name) {
                "yes"
            } else {
                "NO"
            }
            .to_string(),
            p.log.display().to_string(),
        ]);
    }
    println!("{table}");
    let ready = runner.probe(&readyz(kubectl, &state.kubeconfig));
    println!("apiserver ready: {}", if ready { "yes" } else { "NO" });
    if ready {
        runner.run_visible(
            &kubectl_cmd(kubectl, &state.kubeconfig).args(["get", "nodes", "-o", "wide"]),
        )?;
        runner.run_visible(
            &kubectl_cmd(kubectl, &state.kubeconfig).args(["get", "pods", "-A", "-o", "wide"]),
        )?;
    }
    print_export(&state.kubeconfig);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::runner::recording::{Kind, RecordingRunner};

    #[test]
    fn down_without_state_only_clears_pod_containers() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = Dirs::new(dir.path().join("cluster"));
        let runner = RecordingRunner::new().read_answer(
            "docker ps -aq --filter label=io.kubernetes.docker.type",
            "abc\ndef\n",
        );
        let cleaned = down(&runner, &dirs).unwrap();
        assert_eq!(cleaned.containers, 2);
        assert!(cleaned.stopped.is_empty());
        assert_eq!(runner.lines(Kind::Run), ["docker rm -f abc def"]);
        // Twice is fine.
        let again = RecordingRunner::new()
            .read_answer("docker ps -aq --filter label=io.kubernetes.docker.type", "");
        assert_eq!(down(&again, &dirs).unwrap(), Cleaned::default());
        assert!(again.lines(Kind::Run).is_empty());
    }

    #[test]
    fn down_skips_dead_pids_restores_changed_sysctls_and_forgets_the_state() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = Dirs::new(dir.path().join("cluster"));
        let mut originals = state::read_sysctls(&["kernel.panic"]);
        let now = originals.get("kernel.panic").cloned().unwrap();
        originals.insert("kernel.panic".into(), format!("{now}9"));
        State {
            processes: vec![Process {
                name: "etcd".into(),
                pid: u32::MAX - 1,
                log: PathBuf::from("/x"),
            }],
            sysctls: originals,
            kubeconfig: dirs.kubeconfig(),
        }
        .save(&dirs.state())
        .unwrap();
        std::fs::create_dir_all(dirs.run().join("etcd")).unwrap();
        let runner = RecordingRunner::new()
            .read_answer("docker ps -aq --filter label=io.kubernetes.docker.type", "");
        let cleaned = down(&runner, &dirs).unwrap();
        assert_eq!(
            cleaned.stopped,
            [format!("etcd (pid {}) was already gone", u32::MAX - 1)]
        );
        assert_eq!(
            runner.lines(Kind::Run),
            [format!("sysctl -w kernel.panic={now}9")]
        );
        assert!(
            runner.lines(Kind::Probe).is_empty(),
            "no kill of a dead pid"
        );
        assert!(!dirs.state().exists());
        assert!(!dirs.run().exists());
    }

    #[test]
    fn a_given_context_must_answer() {
        let ok = RecordingRunner::new().probe_answers("/k --context kind-x get ns", &[true]);
        use_context(&ok, Path::new("/k"), "kind-x").unwrap();
        let silent = RecordingRunner::new();
        let error = use_context(&silent, Path::new("/k"), "kind-x").unwrap_err();
        assert!(error.to_string().contains("does not answer"), "{error}");
    }

    #[test]
    fn readiness_goes_through_the_kubeconfig() {
        let cmd = readyz(Path::new("/k"), Path::new("/t/kubeconfig"));
        assert_eq!(
            cmd.line(),
            "/k --kubeconfig=/t/kubeconfig get --raw /readyz --request-timeout=5s"
        );
    }
}
