//! `cargo xtask push`: sends this commit's images to a registry, both architectures under one
//! multi-arch manifest list per deployable (`docker manifest`), then packages every application
//! chart under `helm/` and pushes it as an OCI artifact to `oci://<registry>/charts`.
//! Credentials come from the Docker config, or from `MOCKVIDEO_REGISTRY_USER` and
//! `MOCKVIDEO_REGISTRY_PASSWORD` (a login whose password is never echoed).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::BuiltImage;
use crate::cmd::Cmd;
use crate::images::Arch;
use crate::paths;
use crate::runner::Runner;
use crate::summary::{Status, Summary};
use crate::version::Version;

/// Environment variables with the registry login (both or neither).
pub const USER_VAR: &str = "MOCKVIDEO_REGISTRY_USER";
/// See [`USER_VAR`].
pub const PASSWORD_VAR: &str = "MOCKVIDEO_REGISTRY_PASSWORD";

/// The long help of `cargo xtask push` (the `Command` variant needs
/// `#[command(long_about = crate::release::push::LONG_ABOUT)]`: its doc comment resets it).
pub const LONG_ABOUT: &str = "Push this commit's images and the packaged Helm charts to a registry. \
Every local/mockvideo/<name>:<version>-<arch> image (run `cargo xtask images`, then \
`cargo xtask tag`) is tagged <registry>/<name>:<version>-<arch> and pushed; then a manifest list \
<registry>/<name>:<version> over both architectures is created and pushed (`docker manifest`, \
so `docker pull` picks the machine's platform). Then each application chart under helm/ is \
packaged (`helm package --dependency-update`, appVersion = the version) into target/charts/ and \
pushed to oci://<registry>/charts. The default registry is [workspace.metadata.mockvideo] \
registry in Cargo.toml, overridden by MOCKVIDEO_REGISTRY or --registry. Credentials: the Docker config (`docker login`), or \
MOCKVIDEO_REGISTRY_USER and MOCKVIDEO_REGISTRY_PASSWORD in the environment (logged in with \
--password-stdin, never printed). A registry on 127.0.0.1 or localhost is spoken to over plain \
HTTP. `cargo xtask bootstrap` can start one on 127.0.0.1:5000.

Examples:
  cargo xtask push --registry 127.0.0.1:5000
  cargo xtask push --dry-run          print the commands for the default registry
  MOCKVIDEO_REGISTRY_USER=me MOCKVIDEO_REGISTRY_PASSWORD=... cargo xtask push";

/// `push` options.
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT)]
pub struct PushArgs {
    /// Registry and namespace, e.g. `127.0.0.1:5000` or `docker.io/mockvideo`
    /// [default: the workspace metadata].
    #[arg(long, value_name = "REGISTRY", env = "MOCKVIDEO_REGISTRY")]
    pub registry: Option<String>,

    /// Print the commands, push nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// A registry and namespace as given: `host[:port][/namespace…]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registry(String);

impl Registry {
    /// Checks the form: no scheme, no tag, no empty parts.
    pub fn parse(text: &str) -> Result<Registry> {
        let trimmed = text.trim().trim_end_matches('/');
        if trimmed.is_empty()
            || trimmed.contains("://")
            || trimmed.contains('@')
            || trimmed.split('/').any(str::is_empty)
        {
            bail!(
                "`{text}` is not a registry; give host[:port][/namespace], e.g. 127.0.0.1:5000 \
                 or docker.io/mockvideo"
            );
        }
        Ok(Registry(trimmed.to_string()))
    }

    /// The host (with its port): what `docker login` takes.
    pub fn host(&self) -> &str {
        self.0.split('/').next().unwrap_or(&self.0)
    }

    /// A loopback registry, spoken to over plain HTTP.
    pub fn is_local(&self) -> bool {
        let host = self.host();
        let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
        matches!(name, "127.0.0.1" | "localhost" | "[::1]")
    }

    /// The pushed image of `name` at `tag`.
    pub fn image(&self, name: &str, tag: &str) -> String {
        format!("{}/{name}:{tag}", self.0)
    }

    /// Where charts go: `oci://<registry>/charts`; Docker Hub has no nested repositories, so
    /// there the charts sit beside the images (`oci://registry-1.docker.io/<namespace>`).
    pub fn charts(&self) -> String {
        match self.0.split_once('/') {
            Some(("docker.io", namespace)) => format!("oci://registry-1.docker.io/{namespace}"),
            _ => format!("oci://{}/charts", self.0),
        }
    }
}

/// A chart to package: its directory, name and version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chart {
    /// `helm/<name>`.
    pub dir: PathBuf,
    /// `name` of its `Chart.yaml`.
    pub name: String,
    /// `version` of its `Chart.yaml`.
    pub version: String,
}

/// The application charts under `helm_dir` (library charts travel inside them), by name with
/// the umbrella last: packaging it copies the service charts, which must have their own
/// dependencies in place by then.
pub fn application_charts(helm_dir: &Path) -> Result<Vec<Chart>> {
    let mut charts = Vec::new();
    let Ok(entries) = std::fs::read_dir(helm_dir) else {
        return Ok(charts);
    };
    for entry in entries {
        let dir = entry
            .with_context(|| format!("reading {}", helm_dir.display()))?
            .path();
        let manifest = dir.join("Chart.yaml");
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        let yaml: serde_yaml::Value = serde_yaml::from_str(&text)
            .with_context(|| format!("parsing {}", manifest.display()))?;
        if yaml["type"].as_str() == Some("library") {
            continue;
        }
        let field = |key: &str| {
            yaml[key]
                .as_str()
                .map(String::from)
                .with_context(|| format!("{} has no `{key}`", manifest.display()))
        };
        charts.push(Chart {
            name: field("name")?,
            version: field("version")?,
            dir,
        });
    }
    charts.sort_by_key(|chart| (chart.name == crate::deploy::UMBRELLA, chart.name.clone()));
    Ok(charts)
}

/// One step of the push, for the plan and the summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What it is about, e.g. `accountd amd64` or `chart accountd`.
    pub what: String,
    /// Its commands, run in order.
    pub commands: Vec<Cmd>,
}

/// The login commands when both credential variables are given (`login` holds their values).
pub fn login_steps(
    registry: &Registry,
    login: Option<(&str, &str)>,
    helm: Option<&Cmd>,
) -> Vec<Step> {
    let Some((user, password)) = login else {
        return Vec::new();
    };
    // The password goes through the environment into --password-stdin: never on a command line.
    let with_login = |cmd: Cmd| {
        Cmd::new("sh")
            .args([
                "-c",
                "printf '%s' \"$MOCKVIDEO_REGISTRY_PASSWORD\" | \"$@\" --password-stdin",
                "login",
            ])
            .args(std::iter::once(cmd.program.clone()).chain(cmd.args.clone()))
            .env(USER_VAR, user)
            .env_secret(PASSWORD_VAR, password)
    };
    let mut commands = vec![with_login(Cmd::new("docker").args([
        "login",
        "--username",
        user,
        registry.host(),
    ]))];
    if let Some(helm) = helm {
        let mut cmd = with_login(helm.clone().args([
            "registry",
            "login",
            "--username",
            user,
            registry.host(),
        ]));
        cmd.env.extend(helm.env.iter().cloned());
        commands.push(cmd);
    }
    vec![Step {
        what: format!("login {}", registry.host()),
        commands,
    }]
}

/// The image steps: tag and push each image, then one manifest list per deployable.
pub fn image_steps(registry: &Registry, tag: &str, images: &[BuiltImage]) -> Vec<Step> {
    let docker = || Cmd::new("docker");
    let manifest = || {
        docker()
            .env("DOCKER_CLI_EXPERIMENTAL", "enabled")
            .arg("manifest")
    };
    let insecure: &[&str] = if registry.is_local() {
        &["--insecure"]
    } else {
        &[]
    };
    let mut steps = Vec::new();
    for image in images {
        let remote = registry.image(image.name, &format!("{tag}-{}", image.arch.name()));
        steps.push(Step {
            what: format!("{} {}", image.name, image.arch.name()),
            commands: vec![
                docker().args(["tag", &image.local, &remote]),
                docker().args(["push", &remote]),
            ],
        });
    }
    let mut names: Vec<&str> = images.iter().map(|image| image.name).collect();
    names.dedup();
    for name in names {
        let list = registry.image(name, tag);
        let members: Vec<(Arch, String)> = images
            .iter()
            .filter(|image| image.name == name)
            .map(|image| {
                (
                    image.arch,
                    registry.image(name, &format!("{tag}-{}", image.arch.name())),
                )
            })
            .collect();
        let mut commands = vec![manifest()
            .args(["create", "--amend"])
            .args(insecure.iter().copied())
            .arg(&list)
            .args(members.iter().map(|(_, member)| member.clone()))];
        for (arch, member) in &members {
            let (os, architecture, variant) = match arch {
                Arch::Amd64 => ("linux", "amd64", None),
                Arch::Armv7 => ("linux", "arm", Some("v7")),
            };
            let mut annotate = manifest().args([
                "annotate",
                &list,
                member,
                "--os",
                os,
                "--arch",
                architecture,
            ]);
            if let Some(variant) = variant {
                annotate = annotate.args(["--variant", variant]);
            }
            commands.push(annotate);
        }
        commands.push(
            manifest()
                .args(["push", "--purge"])
                .args(insecure.iter().copied())
                .arg(&list),
        );
        steps.push(Step {
            what: format!("{name} manifest list"),
            commands,
        });
    }
    steps
}

/// The chart steps: package (dependencies built, appVersion = `tag`) into `out`, then push.
pub fn chart_steps(
    helm: &Cmd,
    registry: &Registry,
    tag: &str,
    charts: &[Chart],
    out: &Path,
) -> Vec<Step> {
    charts
        .iter()
        .map(|chart| {
            let package = out.join(format!("{}-{}.tgz", chart.name, chart.version));
            Step {
                what: format!("chart {}", chart.name),
                commands: vec![
                    helm.clone().args([
                        "package".to_string(),
                        chart.dir.display().to_string(),
                        "--dependency-update".to_string(),
                        "--app-version".to_string(),
                        tag.to_string(),
                        "--destination".to_string(),
                        out.display().to_string(),
                    ]),
                    helm.clone().args([
                        "push".to_string(),
                        package.display().to_string(),
                        registry.charts(),
                    ]),
                ],
            }
        })
        .collect()
}

/// Both credential variables, if set and not empty.
fn login_from_env() -> Result<Option<(String, String)>> {
    let get = |key| {
        std::env::var(key)
            .ok()
            .filter(|value: &String| !value.is_empty())
    };
    match (get(USER_VAR), get(PASSWORD_VAR)) {
        (Some(user), Some(password)) => Ok(Some((user, password))),
        (None, None) => Ok(None),
        _ => bail!("set both {USER_VAR} and {PASSWORD_VAR}, or neither (to use the Docker config)"),
    }
}

/// Pushes the images and charts.
pub async fn run(runner: &dyn Runner, args: &PushArgs) -> Result<()> {
    let registry = match &args.registry {
        Some(registry) => Registry::parse(registry)?,
        None => Registry::parse(&super::default_registry(runner)?)?,
    };
    let version = Version::detect(runner)?;
    let tag = version.tag();
    if version.dirty {
        eprintln!("push: warning: tracked files have uncommitted changes; pushing {tag} anyway");
    }
    let images = super::built_images(&super::local_images(runner)?, &tag);
    if images.is_empty() {
        bail!("no local image carries {tag}; run `cargo xtask images`, then `cargo xtask tag`");
    }
    let charts = application_charts(&paths::repo_root().join("helm"))?;
    let helm = if charts.is_empty() {
        None
    } else {
        Some(crate::tools::helm::helm_cmd(
            &crate::tools::helm::ensure_helm(runner)?,
        ))
    };
    let login = login_from_env()?;
    let mut steps = login_steps(
        &registry,
        login.as_ref().map(|(u, p)| (u.as_str(), p.as_str())),
        helm.as_ref(),
    );
    steps.extend(image_steps(&registry, &tag, &images));
    if let Some(helm) = &helm {
        let out = paths::repo_target().join("charts");
        steps.extend(chart_steps(helm, &registry, &tag, &charts, &out));
    }
    if args.dry_run {
        let commands: Vec<Cmd> = steps.iter().flat_map(|s| s.commands.clone()).collect();
        super::print_plan(
            &format!("push {tag} to {} (dry run), would run:", registry.0),
            &commands,
        );
        return Ok(());
    }
    if helm.is_some() {
        let out = paths::repo_target().join("charts");
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    }
    let mut summary = Summary::default();
    let mut failure = None;
    for step in &steps {
        if failure.is_some() {
            summary.push(
                &step.what,
                Status::Skipped,
                Default::default(),
                "after a failure",
            );
            continue;
        }
        let started = Instant::now();
        match step.commands.iter().try_for_each(|cmd| runner.run(cmd)) {
            Ok(()) => summary.push(&step.what, Status::Ok, started.elapsed(), ""),
            Err(error) => {
                summary.push(
                    &step.what,
                    Status::Failed,
                    started.elapsed(),
                    format!("{error:#}"),
                );
                failure = Some(error);
            }
        }
    }
    println!("{summary}");
    if let Some(error) = failure {
        return Err(error.context(format!("pushing to {} failed", registry.0)));
    }
    println!(
        "pushed {} images, {} manifest lists and {} charts to {}",
        images.len(),
        steps
            .iter()
            .filter(|s| s.what.ends_with("manifest list"))
            .count(),
        charts.len(),
        registry.0
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .flat_map(|s| s.commands.iter().map(ToString::to_string))
            .collect()
    }

    #[test]
    fn registries_are_checked_and_split() {
        let local = Registry::parse("127.0.0.1:5000/").unwrap();
        assert_eq!(local.host(), "127.0.0.1:5000");
        assert!(local.is_local());
        assert_eq!(local.charts(), "oci://127.0.0.1:5000/charts");
        let hub = Registry::parse("docker.io/mockvideo").unwrap();
        assert_eq!(hub.host(), "docker.io");
        assert!(!hub.is_local());
        assert_eq!(hub.image("accountd", "1"), "docker.io/mockvideo/accountd:1");
        assert_eq!(hub.charts(), "oci://registry-1.docker.io/mockvideo");
        assert!(Registry::parse("http://127.0.0.1:5000").is_err());
        assert!(Registry::parse("a//b").is_err());
        assert!(Registry::parse("").is_err());
    }

    #[test]
    fn images_are_pushed_then_joined_in_a_multi_arch_list() {
        let registry = Registry::parse("127.0.0.1:5000").unwrap();
        let images = [
            BuiltImage {
                name: "accountd",
                arch: Arch::Amd64,
                local: "local/mockvideo/accountd:0.1.0-abc-amd64".into(),
            },
            BuiltImage {
                name: "accountd",
                arch: Arch::Armv7,
                local: "local/mockvideo/accountd:0.1.0-abc-armv7".into(),
            },
        ];
        let steps = image_steps(&registry, "0.1.0-abc", &images);
        let r = "127.0.0.1:5000/accountd";
        let m = "DOCKER_CLI_EXPERIMENTAL=enabled docker manifest";
        assert_eq!(
            lines(&steps),
            [
                format!("docker tag local/mockvideo/accountd:0.1.0-abc-amd64 {r}:0.1.0-abc-amd64"),
                format!("docker push {r}:0.1.0-abc-amd64"),
                format!("docker tag local/mockvideo/accountd:0.1.0-abc-armv7 {r}:0.1.0-abc-armv7"),
                format!("docker push {r}:0.1.0-abc-armv7"),
                format!("{m} create --amend --insecure {r}:0.1.0-abc {r}:0.1.0-abc-amd64 {r}:0.1.0-abc-armv7"),
                format!("{m} annotate {r}:0.1.0-abc {r}:0.1.0-abc-amd64 --os linux --arch amd64"),
                format!("{m} annotate {r}:0.1.0-abc {r}:0.1.0-abc-armv7 --os linux --arch arm --variant v7"),
                format!("{m} push --purge --insecure {r}:0.1.0-abc"),
            ]
        );
        let hub = Registry::parse("docker.io/mockvideo").unwrap();
        let remote = lines(&image_steps(&hub, "t", &images[..1]));
        assert!(
            remote.iter().all(|line| !line.contains("--insecure")),
            "{remote:?}"
        );
    }

    #[test]
    fn charts_are_packaged_with_the_app_version_and_pushed_as_oci() {
        let registry = Registry::parse("127.0.0.1:5000").unwrap();
        let chart = Chart {
            dir: PathBuf::from("/repo/helm/accountd"),
            name: "accountd".into(),
            version: "0.1.0".into(),
        };
        let steps = chart_steps(
            &Cmd::new("helm"),
            &registry,
            "0.1.0-abc",
            &[chart],
            Path::new("/out"),
        );
        assert_eq!(
            lines(&steps),
            [
                "helm package /repo/helm/accountd --dependency-update --app-version 0.1.0-abc --destination /out",
                "helm push /out/accountd-0.1.0.tgz oci://127.0.0.1:5000/charts",
            ]
        );
    }

    #[test]
    fn the_password_is_never_echoed() {
        let registry = Registry::parse("docker.io/mockvideo").unwrap();
        let steps = login_steps(&registry, Some(("me", "hunter2")), Some(&Cmd::new("helm")));
        let shown = lines(&steps).join("\n");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("MOCKVIDEO_REGISTRY_PASSWORD=***"), "{shown}");
        assert!(
            shown.contains("docker login --username me docker.io"),
            "{shown}"
        );
        assert!(
            shown.contains("helm registry login --username me docker.io"),
            "{shown}"
        );
        let cmd = &steps[0].commands[0];
        assert!(cmd
            .env
            .iter()
            .any(|v| v.key == PASSWORD_VAR && v.value == "hunter2" && v.secret));
        assert!(login_steps(&registry, None, None).is_empty());
    }

    #[test]
    fn the_repository_charts_are_found_and_library_charts_left_out() {
        let dir = tempfile::tempdir().unwrap();
        for (name, kind) in [
            ("mockvideo", "application"),
            ("zapp", "application"),
            ("app", "application"),
            ("common", "library"),
        ] {
            std::fs::create_dir_all(dir.path().join(name)).unwrap();
            std::fs::write(
                dir.path().join(name).join("Chart.yaml"),
                format!("apiVersion: v2\nname: {name}\nversion: 0.2.0\ntype: {kind}\n"),
            )
            .unwrap();
        }
        std::fs::create_dir_all(dir.path().join("not-a-chart")).unwrap();
        let charts = application_charts(dir.path()).unwrap();
        let names: Vec<&str> = charts.iter().map(|chart| chart.name.as_str()).collect();
        assert_eq!(names, ["app", "zapp", "mockvideo"], "the umbrella last");
        assert_eq!(charts[0].version, "0.2.0");
        assert!(application_charts(&dir.path().join("missing"))
            .unwrap()
            .is_empty());
    }
}
