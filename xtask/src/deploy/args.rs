//! The command lines of `cargo xtask deploy`, `rollback` and `status`: their long help, their
//! options and the environments a release can be deployed to.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// A target environment: its values file is `helm/mockvideo/values-<env>.yaml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Env {
    /// A dev cluster: local images, in-cluster MySQL/Redis/MongoDB.
    Dev,
    /// Production: docker.io/mockvideo images, external stores, replicas, HPA, Ingress.
    Prod,
    /// The cluster of `cargo xtask cluster up`: hostNetwork pods on 127.0.0.1 ports, images
    /// straight from the engine, stores' data under target/cluster/data.
    Local,
}

impl Env {
    /// Every environment, in order.
    pub const ALL: [Env; 3] = [Env::Dev, Env::Prod, Env::Local];

    /// `dev`, `prod` or `local`.
    pub fn name(self) -> &'static str {
        match self {
            Env::Dev => "dev",
            Env::Prod => "prod",
            Env::Local => "local",
        }
    }
}

/// The long help of `cargo xtask deploy` (the `Deploy` variant in `cli.rs` needs
/// `#[command(long_about = crate::deploy::DEPLOY_LONG_ABOUT)]`: its doc comment resets it).
pub const DEPLOY_LONG_ABOUT: &str =
    "Validate the Helm charts and install or upgrade the release `mockvideo`.

Steps: helm (from the tools cache, installed on first use) builds the charts' file://
dependencies, `helm lint --strict` lints the umbrella chart and its subcharts with the
environment's values, `helm template` renders them, and every manifest is parsed into its
Kubernetes API type (k8s-openapi, v1.30): an unknown kind or a misspelt field fails, naming the
template and the field's path. Then `helm upgrade --install --atomic --wait` (rolled back by helm
if it does not become ready). The image tag is the version (0.1.0-<commit>).

--env local targets the cluster of `cargo xtask cluster up` (its kubeconfig under
target/cluster/ unless --kube-context is given): every pod on the node's network with a fixed
127.0.0.1 port (listed in helm/mockvideo/values-local.yaml), the service images of this commit
taken from the Docker engine (built first when missing, never pulled), MariaDB, Redis and the
MongoDB-wire server in the cluster with their data in target/cluster/data. An upgrade to another
tag is `--image-tag`; `cargo xtask rollback` goes back.

Without --kube-context, deploy, rollback and status use the local cluster when it is up, else
helm's current context.

Besides the API types, the rendering is checked for the hardening every environment must keep
(validate::check_hardening): seccomp RuntimeDefault on every pod, a sizeLimit on every emptyDir,
non-root containers, a NetworkPolicy for every workload and a default-deny one, Ingresses with
only API paths (TLS in prod), no MySQL `GRANT ALL` or `WITH GRANT OPTION`.

--env prod needs a JWT secret (its services run with MOCKVIDEO_ENV=prod and refuse to start
without one): `--set global.auth.existingSecret=<Secret with the key jwt-secret>` (or
global.auth.jwtSecret); without it the rendering fails, naming that value.

Examples:
  cargo xtask cluster up && cargo xtask deploy --env local
  cargo xtask deploy --env dev --dry-run      validate only; no cluster needed
  cargo xtask deploy --env dev --kube-context kind-dev
  cargo xtask deploy --env prod --dry-run --set global.auth.existingSecret=mockvideo-jwt
  cargo xtask deploy --env prod --namespace mockvideo --set global.auth.existingSecret=mockvideo-jwt";

/// The long help of `cargo xtask rollback` (the `Rollback` variant in `cli.rs` needs
/// `#[command(long_about = crate::deploy::ROLLBACK_LONG_ABOUT)]`: its doc comment resets it).
pub const ROLLBACK_LONG_ABOUT: &str =
    "Roll the release `mockvideo` back with `helm rollback --wait`.

Without --revision helm goes back to the previous revision. `cargo xtask status` lists them.

Examples:
  cargo xtask rollback
  cargo xtask rollback --revision 3 --kube-context kind-dev";

/// The long help of `cargo xtask status` (the `Status` variant in `cli.rs` needs
/// `#[command(long_about = crate::deploy::STATUS_LONG_ABOUT)]`: its doc comment resets it).
pub const STATUS_LONG_ABOUT: &str =
    "Show the release `mockvideo`: `helm status` (with its resources) and the last revisions
from `helm history`.

Examples:
  cargo xtask status
  cargo xtask status --kube-context kind-dev --namespace mockvideo";

/// `deploy` options.
#[derive(Debug, Args)]
#[command(long_about = DEPLOY_LONG_ABOUT)]
pub struct DeployArgs {
    /// Which values file: helm/mockvideo/values-<env>.yaml.
    #[arg(long, value_enum, default_value = "dev")]
    pub env: Env,
    /// The kubeconfig context (default: the current one).
    #[arg(long, value_name = "CONTEXT")]
    pub kube_context: Option<String>,
    /// The namespace (created if missing).
    #[arg(long, default_value = "mockvideo")]
    pub namespace: String,
    /// The image tag (default: the version, 0.1.0-<short commit>).
    #[arg(long, value_name = "TAG")]
    pub image_tag: Option<String>,
    /// Stop after linting and validating; talk to no cluster.
    #[arg(long)]
    pub dry_run: bool,
    /// How long helm waits for the release to become ready.
    #[arg(long, default_value = "5m")]
    pub timeout: String,
    /// The charts' directory (default: helm/ in the repository).
    #[arg(long, value_name = "DIR")]
    pub charts: Option<PathBuf>,
    /// A chart value, as helm's `--set` (repeatable), e.g. the JWT secret prod requires:
    /// `--set global.auth.existingSecret=mockvideo-jwt`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

/// `rollback` options.
#[derive(Debug, Args)]
#[command(long_about = ROLLBACK_LONG_ABOUT)]
pub struct RollbackArgs {
    /// The revision to return to (default: the previous one).
    #[arg(long, value_name = "N")]
    pub revision: Option<u32>,
    /// The kubeconfig context (default: the current one).
    #[arg(long, value_name = "CONTEXT")]
    pub kube_context: Option<String>,
    /// The namespace.
    #[arg(long, default_value = "mockvideo")]
    pub namespace: String,
}

/// `status` options.
#[derive(Debug, Args)]
#[command(long_about = STATUS_LONG_ABOUT)]
pub struct StatusArgs {
    /// The kubeconfig context (default: the current one).
    #[arg(long, value_name = "CONTEXT")]
    pub kube_context: Option<String>,
    /// The namespace.
    #[arg(long, default_value = "mockvideo")]
    pub namespace: String,
}
