//! `cargo xtask deploy`, `rollback`, `status`: the Helm release `mockvideo` from the charts in
//! `helm/` (a chart per deployable, the library chart `common`, the umbrella `mockvideo`).
//!
//! deploy: `helm dependency update` (file:// dependencies only, offline), `helm lint --strict`,
//! `helm template`, every rendered manifest parsed into its k8s-openapi type ([`validate`]: an
//! unknown kind or field fails with its path), then `helm upgrade --install --atomic --wait`.
//! `--dry-run` stops after the validation. [`validate_all`] is the same validation for every
//! environment, for `cargo xtask ci` (prod with a stand-in JWT Secret name, after checking that
//! prod without one fails naming it). [`args`] holds the three commands' options, [`target`]
//! which cluster they talk to.

pub mod args;
pub mod local;
pub mod target;
pub mod validate;
pub mod watch;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cmd::Cmd;
use crate::deployables::DEPLOYABLES;
use crate::runner::Runner;
use crate::tools::helm::{ensure_helm, helm_cmd};
use crate::version::Version;

pub use args::{
    DeployArgs, Env, RollbackArgs, StatusArgs, DEPLOY_LONG_ABOUT, ROLLBACK_LONG_ABOUT,
    STATUS_LONG_ABOUT,
};
pub use target::Target;

/// The release name.
pub const RELEASE: &str = "mockvideo";
/// The umbrella chart (a directory under `helm/`).
pub const UMBRELLA: &str = "mockvideo";
/// The library chart the service charts include.
pub const LIBRARY: &str = "common";

/// The charts' directory, `helm/` at the repository root.
pub fn charts_dir() -> PathBuf {
    crate::paths::repo_root().join("helm")
}

/// Every chart directory name, in build order: the library, a chart per deployable, the
/// umbrella.
pub fn chart_names() -> Vec<&'static str> {
    std::iter::once(LIBRARY)
        .chain(DEPLOYABLES.iter().map(|deployable| deployable.name))
        .chain(std::iter::once(UMBRELLA))
        .collect()
}

/// The values file of `env`.
pub fn values_file(charts: &Path, env: Env) -> PathBuf {
    charts
        .join(UMBRELLA)
        .join(format!("values-{}.yaml", env.name()))
}

/// `helm dependency update --skip-refresh` for every chart with dependencies (the service
/// charts, then the umbrella): copies the file:// charts into `charts/`, no network.
pub fn dependency_cmds(helm: &Path, charts: &Path) -> Vec<Cmd> {
    chart_names()
        .into_iter()
        .filter(|name| *name != LIBRARY)
        .map(|name| {
            helm_cmd(helm)
                .args(["dependency", "update", "--skip-refresh"])
                .arg(charts.join(name).display().to_string())
        })
        .collect()
}

/// The `--values`/`--set` arguments of `env` with `image_tag` and the caller's `sets`.
fn values_args(charts: &Path, env: Env, image_tag: &str, sets: &[String]) -> Vec<String> {
    let mut args = vec![
        "--values".to_string(),
        values_file(charts, env).display().to_string(),
        "--set".to_string(),
        format!("global.imageTag={image_tag}"),
    ];
    args.extend(set_args(sets));
    args
}

/// The value `validate_all` gives prod: a JWT Secret's name, which prod cannot render without.
pub const CI_PROD_SETS: [&str; 1] = ["global.auth.existingSecret=mockvideo-jwt"];

/// What prod's rendering must name when no JWT secret is configured.
pub const JWT_VALUE: &str = "global.auth.existingSecret";

/// `--set` for each of `sets`.
fn set_args(sets: &[String]) -> Vec<String> {
    sets.iter()
        .flat_map(|set| ["--set".to_string(), set.clone()])
        .collect()
}

/// `helm lint --strict --with-subcharts` of the umbrella chart with `env`'s values and `sets`.
pub fn lint_cmd(helm: &Path, charts: &Path, env: Env, image_tag: &str, sets: &[String]) -> Cmd {
    helm_cmd(helm)
        .args(["lint", "--strict", "--with-subcharts"])
        .arg(charts.join(UMBRELLA).display().to_string())
        .args(values_args(charts, env, image_tag, sets))
}

/// `helm template` of the umbrella chart with `env`'s values and `sets`.
pub fn template_cmd(
    helm: &Path,
    charts: &Path,
    env: Env,
    image_tag: &str,
    namespace: &str,
    sets: &[String],
) -> Cmd {
    helm_cmd(helm)
        .args(["template", RELEASE])
        .arg(charts.join(UMBRELLA).display().to_string())
        .args(["--namespace", namespace])
        .args(values_args(charts, env, image_tag, sets))
}

/// `helm upgrade --install --atomic --wait` of the umbrella chart, with `extra` `--set` pairs.
pub fn upgrade_cmd(
    helm: &Path,
    charts: &Path,
    args: &DeployArgs,
    image_tag: &str,
    extra: &[String],
    target: &Target,
) -> Cmd {
    let cmd = helm_cmd(helm)
        .args(["upgrade", "--install", RELEASE])
        .arg(charts.join(UMBRELLA).display().to_string())
        .args(["--namespace", &args.namespace, "--create-namespace"])
        .args(["--atomic", "--wait", "--timeout", &args.timeout])
        .args(values_args(charts, args.env, image_tag, &args.sets))
        .args(set_args(extra));
    target.apply(cmd)
}

/// What validating one environment found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvReport {
    /// The environment.
    pub env: Env,
    /// How many manifests were rendered and parsed.
    pub manifests: usize,
    /// Per kind, e.g. `ConfigMap 12, Deployment 9, …`.
    pub kinds: String,
}

/// Lints, renders and validates the charts for `env` (with `sets`) with an installed `helm`
/// (dependencies already built): the API types, then the hardening
/// ([`validate::check_hardening`]). Errors list every problem, one per line.
pub fn validate_env(
    runner: &dyn Runner,
    helm: &Path,
    charts: &Path,
    env: Env,
    image_tag: &str,
    namespace: &str,
    sets: &[String],
) -> Result<EnvReport> {
    let rendered = runner
        .read(&template_cmd(helm, charts, env, image_tag, namespace, sets))
        .with_context(|| format!("helm template with the {} values failed", env.name()))?;
    runner
        .run(&lint_cmd(helm, charts, env, image_tag, sets))
        .with_context(|| format!("helm lint of the {} values failed (see above)", env.name()))?;
    let manifests = validate::validate_rendered(&rendered)
        .and_then(|manifests| {
            let problems = validate::check_hardening(&rendered, env == Env::Prod);
            if problems.is_empty() {
                Ok(manifests)
            } else {
                Err(problems)
            }
        })
        .map_err(|problems| {
            let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
            anyhow::anyhow!(
                "{} rendered manifest(s) of the {} values do not match the Kubernetes API:\n  {}\n\
             Fix the templates under {} (the path is the field's place in the manifest).",
                problems.len(),
                env.name(),
                lines.join("\n  "),
                charts.display()
            )
        })?;
    let report = EnvReport {
        env,
        manifests: manifests.len(),
        kinds: validate::count_kinds(&manifests),
    };
    eprintln!(
        "deploy: {}: {} manifests valid ({})",
        env.name(),
        report.manifests,
        report.kinds
    );
    Ok(report)
}

/// Installs helm if needed and builds the charts' dependencies; returns helm.
fn prepare(runner: &dyn Runner, charts: &Path) -> Result<PathBuf> {
    let helm = ensure_helm(runner)?;
    for cmd in dependency_cmds(&helm, charts) {
        runner.run(&cmd).context(
            "building the charts' file:// dependencies failed; is every chart under helm/ valid?",
        )?;
    }
    Ok(helm)
}

/// Checks that prod does not render without a JWT secret and that the failure names the value
/// to set ([`JWT_VALUE`]).
pub fn check_prod_needs_jwt(
    runner: &dyn Runner,
    helm: &Path,
    charts: &Path,
    image_tag: &str,
) -> Result<()> {
    match runner.read(&template_cmd(
        helm,
        charts,
        Env::Prod,
        image_tag,
        "mockvideo",
        &[],
    )) {
        Ok(_) => bail!(
            "the prod values rendered without a JWT secret; they must fail naming {JWT_VALUE} \
             (global.auth.required in values-prod.yaml, common.requireJwt)"
        ),
        Err(error) if format!("{error:#}").contains(JWT_VALUE) => Ok(()),
        Err(error) => Err(error.context(format!(
            "the prod values without a JWT secret failed without naming {JWT_VALUE}"
        ))),
    }
}

/// What `validate_all` adds to a second rendering of dev: the fault proxy, which only `local`
/// enables, rendered off the node's network too (its Service, its NetworkPolicies, the stores').
pub const CI_DEV_FAULT_PROXY_SETS: [&str; 1] = ["fault-proxy.enabled=true"];

/// For `cargo xtask ci`: lints and validates every chart for every environment (prod with
/// [`CI_PROD_SETS`], after [`check_prod_needs_jwt`]), then dev once more with
/// [`CI_DEV_FAULT_PROXY_SETS`]; returns one report per environment (the lead's summary row can
/// show `report.manifests` and `report.kinds`).
pub fn validate_all(runner: &dyn Runner) -> Result<Vec<EnvReport>> {
    let charts = charts_dir();
    let helm = prepare(runner, &charts)?;
    let tag = Version::detect(runner)?.tag();
    check_prod_needs_jwt(runner, &helm, &charts, &tag)?;
    let reports = Env::ALL
        .iter()
        .map(|env| {
            let sets: Vec<String> = match env {
                Env::Prod => CI_PROD_SETS.iter().map(ToString::to_string).collect(),
                Env::Dev | Env::Local => Vec::new(),
            };
            validate_env(runner, &helm, &charts, *env, &tag, "mockvideo", &sets)
        })
        .collect::<Result<Vec<_>>>()?;
    let sets: Vec<String> = CI_DEV_FAULT_PROXY_SETS
        .iter()
        .map(ToString::to_string)
        .collect();
    validate_env(runner, &helm, &charts, Env::Dev, &tag, "mockvideo", &sets)
        .context("the dev values with the fault proxy enabled")?;
    Ok(reports)
}

/// Validates the charts and installs or upgrades the release.
pub async fn deploy(runner: &dyn Runner, args: &DeployArgs) -> Result<()> {
    let started = Instant::now();
    let charts = args.charts.clone().unwrap_or_else(charts_dir);
    let helm = prepare(runner, &charts)?;
    let tag = match &args.image_tag {
        Some(tag) => tag.clone(),
        None => Version::detect(runner)?.tag(),
    };
    let report = validate_env(
        runner,
        &helm,
        &charts,
        args.env,
        &tag,
        &args.namespace,
        &args.sets,
    )?;
    let target = Target::pick(args.kube_context.as_deref());
    if args.dry_run {
        eprintln!(
            "deploy: dry run: {} charts linted, {} manifests validated for {} (image tag {tag}) \
             in {:.1} s; nothing installed",
            chart_names().len(),
            report.manifests,
            args.env.name(),
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let extra = match args.env {
        Env::Local => {
            if target == Target::Current {
                bail!(
                    "--env local needs the local cluster (`cargo xtask cluster up`) or \
                     --kube-context; no target/cluster/kubeconfig of a running cluster found"
                );
            }
            local::prepare(runner, &tag, args.image_tag.is_some()).await?
        }
        Env::Dev | Env::Prod => Vec::new(),
    };
    eprintln!(
        "deploy: helm upgrade --install {RELEASE} on {} (waits up to {} for every pod to be ready)",
        target.describe(),
        args.timeout
    );
    let watcher = watch::Watcher::start(
        crate::cluster::kubectl(runner)?,
        &target,
        &args.namespace,
        Duration::from_secs(3600),
    );
    let upgraded = runner.run(&upgrade_cmd(&helm, &charts, args, &tag, &extra, &target));
    watcher.stop();
    upgraded.context(
        "helm upgrade failed and --atomic rolled it back; the `deploy: … waiting for` lines \
             above name the pods that were not ready and why; `cargo xtask status` shows the \
             release",
    )?;
    eprintln!(
        "deploy: release {RELEASE} ({}, image tag {tag}) deployed in {:.1} s",
        args.env.name(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `helm rollback` of the release.
pub fn rollback_cmd(helm: &Path, args: &RollbackArgs, target: &Target) -> Cmd {
    let mut cmd = helm_cmd(helm).args(["rollback", RELEASE]);
    if let Some(revision) = args.revision {
        cmd = cmd.arg(revision.to_string());
    }
    target.apply(cmd.args(["--namespace", &args.namespace, "--wait"]))
}

/// Rolls the release back.
pub async fn rollback(runner: &dyn Runner, args: &RollbackArgs) -> Result<()> {
    if args.revision == Some(0) {
        bail!("revisions start at 1; `cargo xtask status` lists them");
    }
    let helm = ensure_helm(runner)?;
    let started = Instant::now();
    let target = Target::pick(args.kube_context.as_deref());
    let watcher = watch::Watcher::start(
        crate::cluster::kubectl(runner)?,
        &target,
        &args.namespace,
        Duration::from_secs(3600),
    );
    let rolled_back = runner.run(&rollback_cmd(&helm, args, &target));
    watcher.stop();
    rolled_back.context("helm rollback failed; `cargo xtask status` lists the revisions")?;
    eprintln!(
        "rollback: release {RELEASE} on {} rolled back in {:.1} s",
        target.describe(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `helm status` and `helm history` of the release.
pub fn status_cmds(helm: &Path, args: &StatusArgs, target: &Target) -> Vec<Cmd> {
    [
        helm_cmd(helm).args(["status", RELEASE, "--show-resources"]),
        helm_cmd(helm).args(["history", RELEASE, "--max", "10"]),
    ]
    .into_iter()
    .map(|cmd| target.apply(cmd.args(["--namespace", &args.namespace])))
    .collect()
}

/// Shows the release.
pub async fn status(runner: &dyn Runner, args: &StatusArgs) -> Result<()> {
    let helm = ensure_helm(runner)?;
    for cmd in status_cmds(&helm, args, &Target::pick(args.kube_context.as_deref())) {
        runner.run_visible(&cmd).context(
            "helm could not show the release; is it installed (`cargo xtask deploy`) and the \
             kube context right?",
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::recording::{Kind, RecordingRunner};

    fn deploy_args(dry_run: bool) -> DeployArgs {
        DeployArgs {
            env: Env::Prod,
            kube_context: Some("kind-dev".to_string()),
            namespace: "mv".to_string(),
            image_tag: None,
            dry_run,
            timeout: "5m".to_string(),
            charts: None,
            sets: vec!["global.auth.existingSecret=jwt".to_string()],
        }
    }

    #[test]
    fn command_lines() {
        let helm = Path::new("/t/helm");
        let charts = Path::new("/r/helm");
        assert_eq!(
            lint_cmd(helm, charts, Env::Dev, "0.1.0-abc", &[]).line(),
            "/t/helm lint --strict --with-subcharts /r/helm/mockvideo \
             --values /r/helm/mockvideo/values-dev.yaml --set global.imageTag=0.1.0-abc"
        );
        assert_eq!(
            template_cmd(helm, charts, Env::Prod, "t", "mv", &["a.b=c".to_string()]).line(),
            "/t/helm template mockvideo /r/helm/mockvideo --namespace mv \
             --values /r/helm/mockvideo/values-prod.yaml --set global.imageTag=t --set a.b=c"
        );
        assert_eq!(
            upgrade_cmd(
                helm,
                charts,
                &deploy_args(false),
                "t",
                &["backing.hostPath=/d".to_string()],
                &Target::Context("kind-dev".to_string())
            )
            .line(),
            "/t/helm upgrade --install mockvideo /r/helm/mockvideo --namespace mv \
             --create-namespace --atomic --wait --timeout 5m \
             --values /r/helm/mockvideo/values-prod.yaml --set global.imageTag=t \
             --set global.auth.existingSecret=jwt --set backing.hostPath=/d \
             --kube-context kind-dev"
        );
        assert_eq!(
            Target::Kubeconfig(PathBuf::from("/r/target/cluster/kubeconfig"))
                .apply(Cmd::new("helm"))
                .line(),
            "helm --kubeconfig /r/target/cluster/kubeconfig"
        );
        let deps: Vec<String> = dependency_cmds(helm, charts)
            .iter()
            .map(Cmd::line)
            .collect();
        assert_eq!(deps.len(), DEPLOYABLES.len() + 1);
        assert_eq!(
            deps[0],
            "/t/helm dependency update --skip-refresh /r/helm/accountd"
        );
        assert!(deps[DEPLOYABLES.len()].ends_with("/r/helm/mockvideo"));
    }

    #[test]
    fn rollback_and_status_lines() {
        let helm = Path::new("/t/helm");
        let args = RollbackArgs {
            revision: Some(3),
            kube_context: None,
            namespace: "mv".to_string(),
        };
        assert_eq!(
            rollback_cmd(helm, &args, &Target::Current).line(),
            "/t/helm rollback mockvideo 3 --namespace mv --wait"
        );
        let status = StatusArgs {
            kube_context: Some("c".to_string()),
            namespace: "mv".to_string(),
        };
        let lines: Vec<String> = status_cmds(helm, &status, &Target::Context("c".to_string()))
            .iter()
            .map(Cmd::line)
            .collect();
        assert_eq!(
            lines,
            [
                "/t/helm status mockvideo --show-resources --namespace mv --kube-context c",
                "/t/helm history mockvideo --max 10 --namespace mv --kube-context c",
            ]
        );
    }

    #[test]
    fn validation_reports_the_misspelt_field_from_helm_template() {
        let helm = Path::new("/t/helm");
        let charts = Path::new("/r/helm");
        let rendered = "---\n# Source: mockvideo/charts/accountd/templates/service.yaml\n\
                        apiVersion: v1\nkind: Service\nmetadata:\n  name: accountd\n\
                        spec:\n  ports:\n    - name: http\n      port: 5000\n      targetPort: http\n      protocoll: TCP\n";
        let runner = RecordingRunner::new().read_answer(
            &template_cmd(helm, charts, Env::Dev, "t", "mv", &[]).line(),
            rendered,
        );
        let error = validate_env(&runner, helm, charts, Env::Dev, "t", "mv", &[])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(
                "mockvideo/charts/accountd/templates/service.yaml: spec.ports[0].protocoll: \
                 unknown field"
            ),
            "{error}"
        );
        assert_eq!(
            runner.lines(Kind::Run).len(),
            1,
            "lint ran after the template"
        );
        let fixed = rendered.replace("protocoll", "protocol");
        let runner = RecordingRunner::new().read_answer(
            &template_cmd(helm, charts, Env::Dev, "t", "mv", &[]).line(),
            &fixed,
        );
        let report = validate_env(&runner, helm, charts, Env::Dev, "t", "mv", &[]).unwrap();
        assert_eq!((report.manifests, report.kinds.as_str()), (1, "Service 1"));
    }

    #[test]
    fn every_deployable_has_a_chart_with_its_health_paths() {
        for deployable in DEPLOYABLES {
            let values = charts_dir().join(deployable.name).join("values.yaml");
            let text = std::fs::read_to_string(&values).unwrap();
            if let crate::deployables::Health::Http { path, .. } = deployable.health {
                assert!(
                    text.contains(&format!("path: {path}")),
                    "{}",
                    values.display()
                );
            }
            for (name, port) in deployable.ports {
                assert!(
                    text.contains(&format!("- name: {name}\n    port: {port}")),
                    "{}: port {name} {port}",
                    values.display()
                );
            }
            assert_eq!(
                shared_schema(deployable.name),
                shared_schema(DEPLOYABLES[0].name),
                "{}: the service charts share one values schema",
                deployable.name
            );
            let umbrella =
                std::fs::read_to_string(charts_dir().join(UMBRELLA).join("Chart.yaml")).unwrap();
            assert!(umbrella.contains(&format!("file://../{}", deployable.name)));
        }
    }

    /// The contract of the local values that the cluster's network-fault features rely on: the
    /// fault proxy's admin API on 31474, a proxy per store on 323xx/32017 to the store's own
    /// port, and the services using the proxies while the stores keep their ports.
    #[test]
    fn the_local_values_put_the_fault_proxy_between_the_services_and_the_stores() {
        let path = values_file(&charts_dir(), Env::Local);
        let values: serde_json::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let proxy = &values["fault-proxy"];
        assert_eq!(proxy["enabled"], true);
        assert_eq!(
            proxy["ports"],
            serde_json::json!([{"name": "admin", "port": 31474}])
        );
        assert_eq!(
            proxy["proxies"],
            serde_json::json!([
                {"name": "mysql", "listenPort": 32306, "upstream": "127.0.0.1:31306"},
                {"name": "redis", "listenPort": 32379, "upstream": "127.0.0.1:31379"},
                {"name": "mongodb", "listenPort": 32017, "upstream": "127.0.0.1:31017"},
            ])
        );
        for (store, port) in [("mysql", 31306), ("redis", 31379), ("mongodb", 31017)] {
            assert_eq!(values["backing"][store]["port"], port, "{store}");
        }
        let setting = |chart: &str, key: &str| values[chart]["settings"][key].clone();
        assert_eq!(setting("accountd", "ACCOUNTD__DB__PORT"), "32306");
        assert_eq!(setting("activity-server", "ACTIVITY__DB__PORT"), "32306");
        assert_eq!(
            setting("event-producer", "EVENT_PRODUCER__REDIS__PORT"),
            "32379"
        );
        assert_eq!(
            setting("event-consumer", "EVENT_CONSUMER__REDIS__PORT"),
            "32379"
        );
        for cinema in ["movies", "showtimes", "bookings", "users"] {
            let url = values[cinema]["secrets"]["mongodb-url"].as_str().unwrap();
            assert!(url.contains("@127.0.0.1:32017/"), "{cinema}: {url}");
            assert!(url.contains("directConnection=true"), "{cinema}: {url}");
        }
    }

    /// The values schema of chart `name` without its own additions: the fault proxy's adds
    /// `proxies` (and says so in its title).
    fn shared_schema(name: &str) -> serde_json::Value {
        let path = charts_dir().join(name).join("values.schema.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut schema: serde_json::Value = serde_json::from_str(&text).unwrap();
        if name == "fault-proxy" {
            let properties = schema["properties"].as_object_mut().unwrap();
            assert!(properties.remove("proxies").is_some(), "{}", path.display());
            let required = schema["required"].as_array_mut().unwrap();
            required.retain(|key| key != "proxies");
        }
        schema.as_object_mut().unwrap().remove("title");
        schema
    }

    #[test]
    fn prod_without_a_jwt_secret_must_fail_naming_it() {
        let helm = Path::new("/t/helm");
        let charts = Path::new("/r/helm");
        let line = template_cmd(helm, charts, Env::Prod, "t", "mockvideo", &[]).line();
        let renders = RecordingRunner::new().read_answer(&line, "");
        let error = check_prod_needs_jwt(&renders, helm, charts, "t")
            .unwrap_err()
            .to_string();
        assert!(error.contains("rendered without a JWT secret"), "{error}");
        let fails_otherwise = RecordingRunner::new();
        let error = format!(
            "{:#}",
            check_prod_needs_jwt(&fails_otherwise, helm, charts, "t").unwrap_err()
        );
        assert!(
            error.contains(&format!("without naming {JWT_VALUE}")),
            "{error}"
        );
        assert_eq!(
            CI_PROD_SETS[0].split('=').next(),
            Some(JWT_VALUE),
            "ci validates prod with the value the failure names"
        );
    }
}
