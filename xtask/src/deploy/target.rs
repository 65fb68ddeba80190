//! Which cluster helm and kubectl talk to: `--kube-context`, else the local cluster of `cargo
//! xtask cluster up` when it is up, else the current context.

use std::path::PathBuf;

use super::local;
use crate::cmd::Cmd;

/// Which cluster helm talks to: `--kube-context` when given, else the local cluster's
/// kubeconfig when it is up, else helm's current context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A context of the user's kubeconfig.
    Context(String),
    /// The kubeconfig of `cargo xtask cluster up`.
    Kubeconfig(PathBuf),
    /// Whatever helm's current context is.
    Current,
}

impl Target {
    /// The target for a command given `kube_context`.
    pub fn pick(kube_context: Option<&str>) -> Self {
        match (kube_context, local::local_kubeconfig()) {
            (Some(context), _) => Target::Context(context.to_string()),
            (None, Some(kubeconfig)) => Target::Kubeconfig(kubeconfig),
            (None, None) => Target::Current,
        }
    }

    /// `cmd` aimed at the target.
    pub fn apply(&self, cmd: Cmd) -> Cmd {
        match self {
            Target::Context(context) => cmd.args(["--kube-context", context]),
            Target::Kubeconfig(path) => cmd.args(["--kubeconfig", &path.display().to_string()]),
            Target::Current => cmd,
        }
    }

    /// The same target as kubectl flags (kubectl spells the context flag `--context`).
    pub fn kubectl_args(&self) -> Vec<String> {
        match self {
            Target::Context(context) => vec![format!("--context={context}")],
            Target::Kubeconfig(path) => vec![format!("--kubeconfig={}", path.display())],
            Target::Current => Vec::new(),
        }
    }

    /// For messages.
    pub fn describe(&self) -> String {
        match self {
            Target::Context(context) => format!("kube context {context}"),
            Target::Kubeconfig(path) => format!("the local cluster ({})", path.display()),
            Target::Current => "helm's current kube context".to_string(),
        }
    }
}
