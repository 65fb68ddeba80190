//! `cargo xtask cluster up` of the local cluster: the build, the credentials, then etcd, the
//! control plane and the kubelet started one after the other (each waited for, failing early with
//! the end of its log when it exits), recorded in the state file and left running.

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use backing::wait::Attempt;

use super::build::{self, Layout};
use super::config::{self, Dirs, PORTS};
use super::state::{self, Process, State};
use super::{down, kubectl_cmd, print_export, readyz, show_sysctls};
use crate::cmd::Cmd;
use crate::probe;
use crate::runner::{Runner, Spawned};
use crate::summary::{Status, Summary};

/// How long the apiserver may take to become ready.
const APISERVER_READY: Duration = Duration::from_secs(90);
/// How long the controller-manager may take to create the default ServiceAccount.
const SERVICE_ACCOUNT_READY: Duration = Duration::from_secs(90);
/// How long the node may take to become Ready.
const NODE_READY: Duration = Duration::from_secs(120);

/// Starts the local cluster (building it first if needed), or confirms it is up.
pub async fn up(runner: &dyn Runner, layout: &Layout, dirs: &Dirs, kubectl: &Path) -> Result<()> {
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
    // Kept (and watched while waiting) until everything is up, then left running.
    let mut spawned: Vec<(&str, Spawned)> = Vec::new();
    for (name, cmd) in config::start_cmds(layout, dirs, &PORTS) {
        let log = dirs.log(name);
        // A fresh log per start, so what a failure prints is this start's output.
        let mut process = runner.spawn_fresh(&cmd, &log)?;
        let pid = process.pid();
        state.processes.push(Process {
            name: name.to_string(),
            pid,
            log,
        });
        state.save(&dirs.state())?;
        let row = match name {
            "etcd" => {
                let health = format!("http://127.0.0.1:{}/health", PORTS.etcd_client);
                let client = probe::client()?;
                wait_for(
                    &mut process,
                    "etcd healthy",
                    Duration::from_secs(30),
                    || {
                        probe::get(&client, &health, |_, body| {
                            if body.contains("true") {
                                Ok(())
                            } else {
                                Err(format!("health: {}", body.trim()))
                            }
                        })
                    },
                )
                .await?;
                "etcd healthy".to_string()
            }
            "kube-apiserver" => {
                let check = readyz(kubectl, &kubeconfig);
                wait_for(
                    &mut process,
                    "kube-apiserver /readyz",
                    APISERVER_READY,
                    || std::future::ready(answers(runner, &check)),
                )
                .await?;
                "kube-apiserver ready".to_string()
            }
            _ => format!("{name} started"),
        };
        summary.push(
            row,
            Status::Ok,
            lap(&mut last),
            format!("pid {pid}, {}", after(start)),
        );
        spawned.push((name, process));
    }
    let check = kubectl_cmd(kubectl, &kubeconfig).args([
        "get",
        "serviceaccount",
        "default",
        "-n",
        "default",
    ]);
    let kcm = started(&mut spawned, "kube-controller-manager")?;
    wait_for(
        kcm,
        "the default ServiceAccount",
        SERVICE_ACCOUNT_READY,
        || std::future::ready(answers(runner, &check)),
    )
    .await?;
    summary.push(
        "default ServiceAccount",
        Status::Ok,
        lap(&mut last),
        after(start),
    );
    let check = kubectl_cmd(kubectl, &kubeconfig).args([
        "get",
        "node",
        "localhost",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
    ]);
    let kubelet = started(&mut spawned, "kubelet")?;
    wait_for(kubelet, "node localhost Ready", NODE_READY, || {
        std::future::ready(match runner.read(&check) {
            Ok(status) if status.trim() == "True" => Attempt::Ready(()),
            Ok(status) => Attempt::Pending(format!("Ready={}", status.trim())),
            Err(error) => Attempt::Pending(format!("{error:#}")),
        })
    })
    .await?;
    summary.push(
        "node localhost Ready",
        Status::Ok,
        lap(&mut last),
        after(start),
    );
    eprintln!(
        "cluster: kernel settings with the kubelet running: {}",
        show_sysctls(&state::read_sysctls(&state::KUBELET_SYSCTLS))
    );
    for (_, process) in spawned {
        process.detach();
    }
    Ok(())
}

/// The process started as `name`.
fn started<'a>(spawned: &'a mut [(&str, Spawned)], name: &str) -> Result<&'a mut Spawned> {
    spawned
        .iter_mut()
        .find(|(started, _)| *started == name)
        .map(|(_, process)| process)
        .with_context(|| format!("{name} was not started"))
}

/// Whether `check` succeeds, as an attempt.
fn answers(runner: &dyn Runner, check: &Cmd) -> Attempt<()> {
    if runner.probe(check) {
        Attempt::Ready(())
    } else {
        Attempt::Pending(format!("`{}` failed", check.line()))
    }
}

/// Runs `check` every second until it is ready, up to `timeout`, saying so before and after;
/// fails early, with the end of its log, when `process` exits ([`Spawned::wait_ready`]).
async fn wait_for<F, Fut>(
    process: &mut Spawned,
    what: &str,
    timeout: Duration,
    check: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Attempt<()>>,
{
    let started = Instant::now();
    eprintln!(
        "cluster: waiting for {what} (up to {} s)",
        timeout.as_secs()
    );
    process
        .wait_ready(what, timeout, Duration::from_secs(1), check)
        .await?;
    eprintln!(
        "cluster: {what} after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `<seconds> s after the start`: when a step ended, for the summary's notes.
fn after(start: Instant) -> String {
    format!("{:.1} s after the start", start.elapsed().as_secs_f64())
}

/// The time since `last`, which moves to now.
fn lap(last: &mut Instant) -> Duration {
    let now = Instant::now();
    let took = now - *last;
    *last = now;
    took
}
