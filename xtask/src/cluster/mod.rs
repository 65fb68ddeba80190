//! `cargo xtask cluster up|down|status`: a Kubernetes cluster to deploy to and run chaos against.
//!
//! With `--kube-context C` that answers, `up` uses that cluster (a user's kind, k3d or cloud
//! cluster) and starts nothing. Otherwise it builds Kubernetes v1.20.2 once ([`build`]) and starts
//! a throwaway single-node cluster on 127.0.0.1 ([`config`]): etcd, kube-apiserver,
//! controller-manager, scheduler and a kubelet driving the local Docker engine, with the
//! kubeconfig at `target/cluster/kubeconfig`. Every PID and the original kernel settings go to
//! `target/cluster/state.json` ([`state`]), so `down` ([`down`]) stops exactly those processes,
//! removes the pods' containers and restores the settings ([`start`] is the way up). There is no
//! kube-proxy, CNI or cluster DNS: pods are reached through `hostNetwork` on loopback ports (the
//! workplace rule: only 127.0.0.1).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use crate::cmd::Cmd;
use crate::paths;
use crate::runner::Runner;

pub mod build;
pub mod config;
pub mod down;
pub mod start;
pub mod state;
pub mod suite;

use build::Layout;
use config::Dirs;
use state::State;

pub use down::down;

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

/// Runs a cluster action.
pub async fn run(runner: &dyn Runner, args: &ClusterArgs) -> Result<()> {
    let dirs = crate::deploy::local::cluster_dirs();
    match &args.action {
        ClusterAction::Up { kube_context } => {
            let kubectl = kubectl(runner)?;
            match kube_context {
                Some(context) => use_context(runner, &kubectl, context),
                None => start::up(runner, &Layout::new(), &dirs, &kubectl).await,
            }
        }
        ClusterAction::Down => down(runner, &dirs).map(|_| ()),
        ClusterAction::Status => status(runner, &dirs, &kubectl(runner)?),
    }
}

/// Starts the local cluster (building it first if needed), or confirms it is up.
pub async fn up_local(runner: &dyn Runner) -> Result<()> {
    let dirs = Dirs::new(paths::repo_target().join("cluster"));
    start::up(runner, &Layout::new(), &dirs, &kubectl(runner)?).await
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

fn print_export(kubeconfig: &Path) {
    println!("export KUBECONFIG={}", kubeconfig.display());
}

fn show_sysctls(values: &std::collections::BTreeMap<String, String>) -> String {
    values
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
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
mod tests {
    use super::*;
    use crate::runner::recording::RecordingRunner;

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
