//! Building the local cluster's binaries once, cached by version: Kubernetes v1.20.2 from Debian
//! bookworm's `kubernetes` source package with Debian's Go 1.19 (GOPATH mode, the generated
//! OpenAPI file made with the tree's own openapi-gen, the two dockershim constants patched so
//! sandboxes start where negative `oom_score_adj` is forbidden), etcd from Debian's `etcd-server`,
//! and the pause image built from the tree's `pause.c`. The recipe is
//! `../shared/kubernetes.md` §2.1–2.3. Everything lands in `<tools>/kubernetes-1.20.2/`; nothing
//! is installed system-wide (apt runs on a private state directory).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::cmd::Cmd;
use crate::runner::Runner;
use crate::tools::{cache_dir, ensure_apt_packages};

/// The Kubernetes version built.
pub const KUBERNETES_VERSION: &str = "1.20.2";
/// The Go toolchain packages (the only Go in bookworm).
const GO_PACKAGES: [&str; 2] = ["golang-1.19-go", "golang-1.19-src"];
/// The pause image the kubelet's pod sandboxes run, built locally (no registry).
pub const PAUSE_IMAGE: &str = "local/k8s-pause:3.4.1";
/// The four control-plane and node binaries built from the tree.
pub const BINARIES: [&str; 4] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
];

/// Where the build and its inputs are cached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `<tools>/kubernetes-1.20.2/`.
    pub root: PathBuf,
}

impl Layout {
    /// The layout under the tools cache.
    pub fn new() -> Self {
        Self::under(&cache_dir())
    }

    /// The layout under `cache`.
    pub fn under(cache: &Path) -> Self {
        Self {
            root: cache.join(format!("kubernetes-{KUBERNETES_VERSION}")),
        }
    }

    /// The built binaries' directory.
    pub fn bin(&self) -> PathBuf {
        self.root.join("bin")
    }

    /// One built binary.
    pub fn binary(&self, name: &str) -> PathBuf {
        self.bin().join(name)
    }

    /// The etcd binary extracted from Debian's `etcd-server`.
    pub fn etcd(&self) -> PathBuf {
        self.root.join("etcd").join("usr").join("bin").join("etcd")
    }

    /// The private apt state directory.
    fn apt(&self) -> PathBuf {
        self.root.join("apt")
    }

    /// Where the source package is unpacked.
    fn src(&self) -> PathBuf {
        self.root.join("src")
    }

    /// The unpacked upstream tree.
    pub fn tree(&self) -> PathBuf {
        self.src().join(format!("kubernetes-{KUBERNETES_VERSION}"))
    }

    /// The extracted Go toolchain's GOROOT.
    fn goroot(&self) -> PathBuf {
        self.root.join("go/root/usr/lib/go-1.19")
    }

    /// GOPATH (the tree is symlinked at `src/k8s.io/kubernetes`).
    fn gopath(&self) -> PathBuf {
        self.root.join("gopath")
    }

    /// The tree as Go sees it in GOPATH mode.
    fn go_tree(&self) -> PathBuf {
        self.gopath().join("src/k8s.io/kubernetes")
    }

    /// Everything built already?
    pub fn built(&self) -> bool {
        BINARIES.iter().all(|name| self.binary(name).is_file())
            && self.etcd().is_file()
            && self.marker().is_file()
    }

    /// Written after a successful build with the current [`RECIPE_REVISION`].
    pub fn marker(&self) -> PathBuf {
        self.bin().join(format!(".recipe-{RECIPE_REVISION}"))
    }
}

impl Default for Layout {
    fn default() -> Self {
        Self::new()
    }
}

/// The apt options that keep apt's lists and caches in the private state directory.
pub fn apt_options(apt: &Path) -> Vec<String> {
    let show = |p: PathBuf| p.display().to_string();
    vec![
        "-o".into(),
        format!("Dir::Etc::sourcelist={}", show(apt.join("sources.list"))),
        "-o".into(),
        "Dir::Etc::sourceparts=/nonexistent".into(),
        "-o".into(),
        format!("Dir::State::Lists={}", show(apt.join("lists"))),
        "-o".into(),
        format!("Dir::Cache={}", show(apt.join("cache"))),
    ]
}

/// The private sources list: binary and source indexes of the machine's own mirror.
pub fn sources_list(mirror: &str) -> String {
    format!("deb {mirror} bookworm main\ndeb-src {mirror} bookworm main\n")
}

/// The mirror the machine's apt uses (first `URIs:` of `debian.sources`, else the first `deb`
/// line of `sources.list`), or Debian's default.
pub fn machine_mirror() -> String {
    let deb822 =
        std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    let classic = std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
    mirror_from(&deb822, &classic)
}

/// [`machine_mirror`] from the two files' text.
pub fn mirror_from(deb822: &str, classic: &str) -> String {
    deb822
        .lines()
        .find_map(|line| line.strip_prefix("URIs:"))
        .and_then(|uris| uris.split_whitespace().next())
        .or_else(|| {
            classic
                .lines()
                .map(str::trim)
                .find(|line| line.starts_with("deb "))
                .and_then(|line| line.split_whitespace().find(|w| w.contains("://")))
        })
        .unwrap_or("http://deb.debian.org/debian")
        .to_string()
}

/// Bumped whenever the recipe (patches, flags) changes, so cached binaries are rebuilt.
pub const RECIPE_REVISION: u32 = 3;

/// The `sed` edits of the tree: the two constants (sandbox and Guaranteed-pod OOM score) this VM
/// refuses; the Burstable floor, which is `1000 + guaranteedOOMScoreAdj` (1002 once the constant
/// is 2, which Docker refuses: every pod with a memory request failed to start) and becomes 3;
/// and the kubelet's refusal of a loopback `--node-ip` (the node must advertise 127.0.0.1 so
/// hostNetwork pods and probes stay on loopback).
pub fn source_patches() -> [(&'static str, &'static str); 4] {
    [
        (
            r"s/if nodeIP.IsLoopback() {/if false \&\& nodeIP.IsLoopback() {/",
            "pkg/kubelet/kubelet_node_status.go",
        ),
        (
            "s/defaultSandboxOOMAdj int = -998/defaultSandboxOOMAdj int = 0/",
            "pkg/kubelet/dockershim/docker_sandbox.go",
        ),
        (
            "s/guaranteedOOMScoreAdj int = -997/guaranteedOOMScoreAdj int = 2/",
            "pkg/kubelet/qos/policy.go",
        ),
        (
            "s/(1000 + guaranteedOOMScoreAdj)/3/g",
            "pkg/kubelet/qos/policy.go",
        ),
    ]
}

/// The linker flags stamping v1.20.2 so discovery and helm see the right version.
pub fn ldflags() -> String {
    let component = "k8s.io/kubernetes/vendor/k8s.io/component-base/version";
    let client = "k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version";
    let v = KUBERNETES_VERSION;
    format!(
        "-s -w -X {component}.gitVersion=v{v} -X {component}.gitMajor=1 -X {component}.gitMinor=20 \
         -X {component}.gitTreeState=clean -X {client}.gitVersion=v{v} -X {client}.gitMajor=1 \
         -X {client}.gitMinor=20"
    )
}

/// The shell pipeline listing the packages openapi-gen reads (those tagged
/// `+k8s:openapi-gen=`), as a comma-separated list of import paths.
const OPENAPI_DIRS: &str = r#"find -H . -not \( \( -path './_*' -o -path './.*' -o -path ./vendor \) -prune \) -name '*.go' -type f | xargs grep -l '^// *+k8s:openapi-gen=' | sed 's|^./staging/src|vendor|' | xargs -n1 dirname | sort -u | grep -vE '^vendor/k8s.io/(code-generator|sample-apiserver)/' | sed 's|^\./||; s|^|k8s.io/kubernetes/|' | paste -sd,"#;

impl Layout {
    /// A `go` command in GOPATH mode with the cache under the tools cache, run in the tree.
    fn go(&self) -> Cmd {
        self.with_go_env(self.goroot().join("bin/go").display().to_string())
    }

    /// `program` with the Go environment (GOPATH mode: openapi-gen loads packages through
    /// go/build, which otherwise tries module mode and silently finds nothing).
    fn with_go_env(&self, program: String) -> Cmd {
        let path = format!(
            "{}:{}",
            self.goroot().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Cmd::new(program)
            .env("GOROOT", self.goroot().display().to_string())
            .env("PATH", path)
            .env("GOPATH", self.gopath().display().to_string())
            .env("GOCACHE", self.root.join("gocache").display().to_string())
            .env("GO111MODULE", "off")
            .env("CGO_ENABLED", "0")
            .env("GOPROXY", "off")
            .env("GOFLAGS", "")
            // GOPATH mode finds `vendor/` only when the working directory, as Go reads it from
            // `PWD`, is inside GOPATH (the tree is a symlink there).
            .env("PWD", self.go_tree().display().to_string())
            .dir(self.go_tree())
    }

    /// The `go build` of the four binaries.
    pub fn go_build_cmd(&self) -> Cmd {
        self.go()
            .args(["build", "-tags", "providerless", "-p", "2", "-ldflags"])
            .arg(ldflags())
            .arg("-o")
            .arg(format!("{}/", self.bin().display()))
            .args(BINARIES.iter().map(|name| format!("./cmd/{name}")))
    }

    /// The openapi-gen run producing `pkg/generated/openapi/zz_generated.openapi.go`.
    fn openapi_gen_cmd(&self, dirs: &str) -> Cmd {
        self.with_go_env(self.binary("openapi-gen").display().to_string())
            .args(["-i", dirs, "-p", "k8s.io/kubernetes/pkg/generated/openapi"])
            .args(["-O", "zz_generated.openapi"])
            .args(["-h", "hack/boilerplate/boilerplate.generatego.txt", "-r"])
            .arg(self.root.join("openapi-report.txt").display().to_string())
    }
}

/// Builds what is missing (sources, Go, etcd, the four binaries); returns whether it built.
pub fn ensure_built(runner: &dyn Runner, layout: &Layout) -> Result<bool> {
    if layout.built() {
        eprintln!(
            "cluster: Kubernetes v{KUBERNETES_VERSION} binaries cached in {}",
            layout.bin().display()
        );
        return Ok(false);
    }
    let started = Instant::now();
    eprintln!(
        "cluster: building Kubernetes v{KUBERNETES_VERSION} into {} (once; ≈ 3 min on 2 cores, ≈ 3 GB)",
        layout.root.display()
    );
    fetch(runner, layout)?;
    generate_and_patch(runner, layout)?;
    let go_build = Instant::now();
    std::fs::create_dir_all(layout.bin()).context("creating the binaries directory")?;
    runner.run(&layout.go_build_cmd())?;
    eprintln!(
        "cluster: built {} in {:.0} s (go build {:.0} s)",
        BINARIES.join(", "),
        started.elapsed().as_secs_f64(),
        go_build.elapsed().as_secs_f64()
    );
    std::fs::write(layout.marker(), "").context("marking the build done")?;
    if !layout.built() {
        bail!(
            "the build finished but {} lacks a binary",
            layout.bin().display()
        );
    }
    Ok(true)
}

/// Downloads the source package, Go and etcd-server through the private apt state and unpacks
/// them (each step skipped when its result is there).
fn fetch(runner: &dyn Runner, layout: &Layout) -> Result<()> {
    let apt = layout.apt();
    for dir in [
        apt.join("lists/partial"),
        apt.join("cache/archives/partial"),
        layout.src(),
        layout.root.join("debs"),
    ] {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(apt.join("sources.list"), sources_list(&machine_mirror()))
        .context("writing the private apt sources list")?;
    let options = apt_options(&apt);
    let needs_go = !layout.goroot().join("bin/go").is_file();
    let needs_etcd = !layout.etcd().is_file();
    let needs_src = !layout.tree().join("cmd/kubelet").is_dir();
    if needs_go || needs_etcd || needs_src {
        runner.run(
            &Cmd::new("apt-get")
                .args(options.iter())
                .args(["update", "-q"]),
        )?;
    }
    if needs_src {
        runner.run(
            &Cmd::new("apt-get")
                .args(options.iter())
                .args(["source", "--download-only", "kubernetes"])
                .dir(layout.src()),
        )?;
        let tarball = find_file(&layout.src(), |name| {
            name.starts_with("kubernetes_") && name.ends_with(".orig.tar.gz")
        })?;
        runner.run(&Cmd::new("tar").args(["xzf", &tarball]).dir(layout.src()))?;
    }
    let debs = layout.root.join("debs");
    let mut wanted: Vec<(&str, PathBuf)> = Vec::new();
    if needs_go {
        wanted.extend(
            GO_PACKAGES
                .iter()
                .map(|p| (*p, layout.root.join("go/root"))),
        );
    }
    if needs_etcd {
        wanted.push(("etcd-server", layout.root.join("etcd")));
    }
    for (package, into) in wanted {
        std::fs::create_dir_all(&into).with_context(|| format!("creating {}", into.display()))?;
        runner.run(
            &Cmd::new("apt-get")
                .args(options.iter())
                .args(["download", package])
                .dir(&debs),
        )?;
        let deb = find_file(&debs, |name| {
            name.starts_with(&format!("{package}_")) && name.ends_with(".deb")
        })?;
        runner.run(
            &Cmd::new("dpkg-deb")
                .args(["-x", &debs.join(deb).display().to_string()])
                .arg(into.display().to_string()),
        )?;
    }
    Ok(())
}

/// The name of the first file in `dir` whose name satisfies `matches`.
fn find_file(dir: &Path, matches: impl Fn(&str) -> bool) -> Result<String> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    for entry in entries {
        let name = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if matches(&name) {
            return Ok(name);
        }
    }
    bail!("no expected file was downloaded into {}", dir.display())
}

/// GOPATH symlink, openapi-gen and the generated file, and the two OOM-score patches.
fn generate_and_patch(runner: &dyn Runner, layout: &Layout) -> Result<()> {
    let link = layout.go_tree();
    if let Some(parent) = link.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    if std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink(layout.tree(), &link)
            .with_context(|| format!("linking {}", link.display()))?;
    }
    let generated = layout
        .tree()
        .join("pkg/generated/openapi/zz_generated.openapi.go");
    if !generated.is_file() {
        std::fs::create_dir_all(layout.bin()).context("creating the binaries directory")?;
        runner.run(
            &layout
                .go()
                .args(["build", "-o"])
                .arg(layout.binary("openapi-gen").display().to_string())
                .arg("./vendor/k8s.io/kube-openapi/cmd/openapi-gen"),
        )?;
        let dirs = runner.read(
            &Cmd::new("sh")
                .args(["-c", OPENAPI_DIRS])
                .dir(layout.go_tree()),
        )?;
        runner.run(&layout.openapi_gen_cmd(dirs.trim()))?;
    }
    // An openapi-gen that found no packages writes a 30-line file that compiles, and the
    // apiserver then dies with "unable to get openapi models": catch that here.
    let lines = std::fs::read_to_string(&generated)
        .with_context(|| format!("reading {}", generated.display()))?
        .lines()
        .count();
    if lines < 10_000 {
        std::fs::remove_file(&generated)
            .with_context(|| format!("removing {}", generated.display()))?;
        bail!(
            "openapi-gen produced only {lines} lines in {}; removed it",
            generated.display()
        );
    }
    for (expression, file) in source_patches() {
        runner.run(
            &Cmd::new("sed")
                .args(["-i", expression, file])
                .dir(layout.tree()),
        )?;
    }
    Ok(())
}

/// The commands building the pause image from the tree's `pause.c` in `dir`.
pub fn pause_image_cmds(layout: &Layout, dir: &Path) -> Vec<Cmd> {
    let source = layout.tree().join("build/pause/linux/pause.c");
    vec![
        Cmd::new("gcc")
            .args(["-Os", "-static", "-DVERSION=v3.4.1", "-o", "pause"])
            .arg(source.display().to_string())
            .dir(dir),
        Cmd::new("strip").arg("pause").dir(dir),
        Cmd::new(docker_for_build())
            .args(["build", "-q", "-t", PAUSE_IMAGE, "."])
            .env("DOCKER_BUILDKIT", "0")
            .dir(dir),
    ]
}

/// The pause image's Dockerfile.
pub const PAUSE_DOCKERFILE: &str =
    "FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT [\"/pause\"]\n";

/// Debian's docker client for legacy builds (a newer client first on PATH may lack buildx).
fn docker_for_build() -> String {
    if Path::new("/usr/bin/docker").is_file() {
        "/usr/bin/docker".into()
    } else {
        "docker".into()
    }
}

/// Builds the pause image unless the engine has it; returns whether it built.
pub fn ensure_pause_image(runner: &dyn Runner, layout: &Layout) -> Result<bool> {
    if runner.probe(&Cmd::new("docker").args(["image", "inspect", PAUSE_IMAGE])) {
        return Ok(false);
    }
    ensure_apt_packages(
        runner,
        &["gcc", "libc6-dev", "binutils"],
        "building the pause image",
    )?;
    let dir = layout.root.join("pause");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("Dockerfile"), PAUSE_DOCKERFILE)
        .context("writing the pause Dockerfile")?;
    for cmd in pause_image_cmds(layout, &dir) {
        runner.run(&cmd)?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_comes_from_deb822_then_classic_then_default() {
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n";
        assert_eq!(mirror_from(deb822, ""), "http://mirror.example/debian");
        assert_eq!(
            mirror_from(
                "",
                "# c\ndeb [arch=amd64] http://m2.example/debian bookworm main\n"
            ),
            "http://m2.example/debian"
        );
        assert_eq!(mirror_from("", ""), "http://deb.debian.org/debian");
        assert_eq!(
            sources_list("http://m"),
            "deb http://m bookworm main\ndeb-src http://m bookworm main\n"
        );
    }

    #[test]
    fn apt_state_is_private() {
        let options = apt_options(Path::new("/c/apt")).join(" ");
        assert!(
            options.contains("Dir::State::Lists=/c/apt/lists"),
            "{options}"
        );
        assert!(
            options.contains("Dir::Etc::sourceparts=/nonexistent"),
            "{options}"
        );
        assert!(options.contains("Dir::Cache=/c/apt/cache"), "{options}");
    }

    #[test]
    fn go_build_is_gopath_mode_providerless_and_version_stamped() {
        let layout = Layout::under(Path::new("/tools"));
        let cmd = layout.go_build_cmd();
        let line = cmd.line();
        assert!(
            line.starts_with(
                "/tools/kubernetes-1.20.2/go/root/usr/lib/go-1.19/bin/go build -tags providerless"
            ),
            "{line}"
        );
        assert!(line.contains("gitVersion=v1.20.2"), "{line}");
        assert!(line.ends_with("./cmd/kube-apiserver ./cmd/kube-controller-manager ./cmd/kube-scheduler ./cmd/kubelet"), "{line}");
        let shown = cmd.to_string();
        assert!(shown.contains("GO111MODULE=off"), "{shown}");
        assert!(
            shown.contains("GOCACHE=/tools/kubernetes-1.20.2/gocache"),
            "{shown}"
        );
        assert_eq!(
            cmd.dir,
            Some(PathBuf::from(
                "/tools/kubernetes-1.20.2/gopath/src/k8s.io/kubernetes"
            ))
        );
    }

    #[test]
    fn cached_build_runs_nothing() {
        let cache = tempfile::tempdir().unwrap();
        let layout = Layout::under(cache.path());
        std::fs::create_dir_all(layout.bin()).unwrap();
        for name in BINARIES {
            std::fs::write(layout.binary(name), "").unwrap();
        }
        std::fs::create_dir_all(layout.etcd().parent().unwrap()).unwrap();
        std::fs::write(layout.etcd(), "").unwrap();
        std::fs::write(layout.marker(), "").unwrap();
        let runner = crate::runner::recording::RecordingRunner::new();
        assert!(!ensure_built(&runner, &layout).unwrap());
        assert!(runner.seen().is_empty());
    }

    #[test]
    fn patches_target_the_oom_constants_and_the_loopback_check() {
        let patches = source_patches();
        assert!(patches[0].0.contains("IsLoopback"));
        assert!(patches[1].0.contains("-998"));
        assert!(patches[2].0.contains("-997"));
        assert!(patches[3].0.contains("1000 + guaranteedOOMScoreAdj"));
        assert_eq!(patches[3].1, patches[2].1);
    }
}
