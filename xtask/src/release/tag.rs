//! `cargo xtask tag`: gives the release version (`0.1.0-<short commit>`) to the images of this
//! commit and to the commit itself (an annotated git tag `v0.1.0-<short commit>`), as the seed's
//! Jenkins job did. Refuses a tree with uncommitted changes unless `--allow-dirty`.

use anyhow::{bail, Result};
use clap::Args;

use crate::cmd::Cmd;
use crate::deployables::DEPLOYABLES;
use crate::images::{image_ref, Arch};
use crate::runner::Runner;
use crate::summary::Table;
use crate::version::Version;

/// The long help of `cargo xtask tag` (the `Command` variant needs
/// `#[command(long_about = crate::release::tag::LONG_ABOUT)]`: its doc comment resets it).
pub const LONG_ABOUT: &str = "Tag this commit's images and the commit with the release version \
(workspace version + short commit, e.g. 0.1.0-9abcb1e). Each deployable's image per \
architecture gets local/mockvideo/<name>:<version>-<arch>: already there when `cargo xtask images` \
built this commit, otherwise the latest-<arch> image is tagged if its \
org.opencontainers.image.revision label is this commit (stale images are left out and listed). \
Then the annotated git tag v<version> is created (left alone if it already names this commit; \
an error if it names another). Refuses uncommitted changes to tracked files unless --allow-dirty. \
Nothing is pushed: `cargo xtask push` sends the images and `git push origin v<version>` the tag.

Examples:
  cargo xtask tag --dry-run          print the version and every command it would run
  cargo xtask tag
  cargo xtask tag --allow-dirty      tag although tracked files have changes";

/// `tag` options.
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT)]
pub struct TagArgs {
    /// Print the version and the commands, change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Tag even when tracked files have uncommitted changes.
    #[arg(long)]
    pub allow_dirty: bool,
}

/// What happens to one deployable's image for one architecture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageState {
    /// Already carries the release tag.
    Tagged,
    /// `latest-<arch>` of this commit gets the release tag.
    ToTag,
    /// `latest-<arch>` was built from another commit (its label names it): left out.
    Stale(String),
    /// No image.
    Missing,
}

/// The plan: image states, then the commands to run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Release version.
    pub tag: String,
    /// `(deployable, arch, state)` for every pair.
    pub images: Vec<(&'static str, Arch, ImageState)>,
    /// `docker tag …` and `git tag …` in order.
    pub commands: Vec<Cmd>,
}

impl Plan {
    /// Whether any image carries, or gets, the release tag.
    pub fn has_images(&self) -> bool {
        self.images
            .iter()
            .any(|(_, _, state)| matches!(state, ImageState::Tagged | ImageState::ToTag))
    }
}

/// The annotated git tag's name: `v<version>`.
pub fn git_tag_name(tag: &str) -> String {
    format!("v{tag}")
}

/// The command reading an image's revision label.
pub fn revision_cmd(image: &str) -> Cmd {
    Cmd::new("docker").args([
        "image",
        "inspect",
        "--format",
        "{{index .Config.Labels \"org.opencontainers.image.revision\"}}",
        image,
    ])
}

/// Works out what `tag` would do; reads only.
pub fn plan(runner: &dyn Runner, version: &Version, allow_dirty: bool) -> Result<Plan> {
    if version.dirty && !allow_dirty {
        bail!("{}", dirty_refusal(version));
    }
    let plan = plan_anyway(runner, version)?;
    if !plan.has_images() {
        bail!("{}", no_images(version));
    }
    Ok(plan)
}

/// What to do when no image of this commit is here.
fn no_images(version: &Version) -> String {
    format!(
        "no image of commit {} is here; run `cargo xtask images` first",
        version.short_commit()
    )
}

/// Why a dirty tree is refused, and what to do.
fn dirty_refusal(version: &Version) -> String {
    format!(
        "tracked files have uncommitted changes (`git status`); commit them first, or pass \
         --allow-dirty to tag {} anyway (the images would not match the commit)",
        version.short_commit()
    )
}

/// [`plan`] without its refusals (dirty tree, no image): what a dry run shows.
fn plan_anyway(runner: &dyn Runner, version: &Version) -> Result<Plan> {
    let tag = version.tag();
    let present = super::local_images(runner)?;
    let mut images = Vec::new();
    let mut commands = Vec::new();
    for deployable in DEPLOYABLES {
        for arch in Arch::ALL {
            let versioned = image_ref(deployable.name, &tag, arch);
            let latest = image_ref(deployable.name, "latest", arch);
            let state = if present.contains(&versioned) {
                ImageState::Tagged
            } else if present.contains(&latest) {
                let revision = runner.read(&revision_cmd(&latest))?.trim().to_string();
                if revision == version.commit {
                    commands.push(Cmd::new("docker").args(["tag", &latest, &versioned]));
                    ImageState::ToTag
                } else {
                    ImageState::Stale(revision)
                }
            } else {
                ImageState::Missing
            };
            images.push((deployable.name, arch, state));
        }
    }
    let name = git_tag_name(&tag);
    let existing = runner
        .read(&Cmd::new("git").args([
            "rev-parse",
            "-q",
            "--verify",
            &format!("refs/tags/{name}^{{commit}}"),
        ]))
        .ok()
        .map(|commit| commit.trim().to_string());
    match existing {
        Some(commit) if commit == version.commit => {}
        Some(commit) => bail!(
            "the git tag {name} already names commit {commit}, not {}; delete it \
             (`git tag -d {name}`) if it is wrong",
            version.commit
        ),
        None => commands.push(Cmd::new("git").args([
            "tag",
            "-a",
            &name,
            "-m",
            &format!("mockvideo {tag}"),
            &version.commit,
        ])),
    }
    Ok(Plan {
        tag,
        images,
        commands,
    })
}

/// The images table printed at the end.
pub fn table(plan: &Plan) -> Table {
    let mut table = Table::new(["image", "arch", "state"]);
    for (name, arch, state) in &plan.images {
        let state = match state {
            ImageState::Tagged => "tagged".to_string(),
            ImageState::ToTag => format!("from latest-{} (this commit)", arch.name()),
            ImageState::Stale(revision) => format!(
                "left out: latest is of commit {}",
                revision.get(..7).unwrap_or(revision)
            ),
            ImageState::Missing => "not built".to_string(),
        };
        table.row([
            image_ref(name, &plan.tag, *arch),
            arch.name().to_string(),
            state,
        ]);
    }
    table
}

/// Tags the images and the commit.
pub async fn run(runner: &dyn Runner, args: &TagArgs) -> Result<()> {
    let version = Version::detect(runner)?;
    if args.dry_run {
        // A dry run shows the plan whatever the state, and says what the real run would refuse.
        let plan = plan_anyway(runner, &version)?;
        if version.dirty && !args.allow_dirty {
            eprintln!("tag: warning: {}", dirty_refusal(&version));
        }
        if !plan.has_images() {
            eprintln!("tag: warning: {}", no_images(&version));
        }
        println!("{}", table(&plan));
        super::print_plan(
            &format!("tag {} (dry run), would run:", plan.tag),
            &plan.commands,
        );
        return Ok(());
    }
    let plan = plan(runner, &version, args.allow_dirty)?;
    for cmd in &plan.commands {
        runner.run(cmd)?;
    }
    println!("{}", table(&plan));
    println!(
        "tagged {}: git tag {} (push it with `git push origin {}`)",
        plan.tag,
        git_tag_name(&plan.tag),
        git_tag_name(&plan.tag)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::list_images_cmd;
    use crate::runner::recording::{Kind, RecordingRunner};

    const COMMIT: &str = "abc1234def0000000000000000000000000000ff";

    fn version(dirty: bool) -> Version {
        Version {
            workspace: "0.1.0".into(),
            commit: COMMIT.into(),
            dirty,
        }
    }

    fn runner_with(images: &str) -> RecordingRunner {
        RecordingRunner::new().read_answer(&list_images_cmd().line(), images)
    }

    #[test]
    fn a_dirty_tree_is_refused_unless_allowed() {
        let runner = runner_with("local/mockvideo/accountd:0.1.0-abc1234-amd64\n");
        let err = plan(&runner, &version(true), false).unwrap_err();
        assert!(err.to_string().contains("--allow-dirty"), "{err}");
        assert!(plan(&runner, &version(true), true).is_ok());
    }

    #[test]
    fn tags_latest_images_of_this_commit_and_creates_the_annotated_tag() {
        let runner = runner_with(
            "local/mockvideo/accountd:0.1.0-abc1234-amd64\n\
             local/mockvideo/accountd:latest-armv7\n\
             local/mockvideo/movies:latest-amd64\n",
        )
        .read_answer(
            &revision_cmd("local/mockvideo/accountd:latest-armv7").line(),
            &format!("{COMMIT}\n"),
        )
        .read_answer(
            &revision_cmd("local/mockvideo/movies:latest-amd64").line(),
            "0000000111\n",
        );
        let plan = plan(&runner, &version(false), false).unwrap();
        let lines: Vec<String> = plan.commands.iter().map(Cmd::line).collect();
        assert_eq!(
            lines,
            [
                "docker tag local/mockvideo/accountd:latest-armv7 local/mockvideo/accountd:0.1.0-abc1234-armv7".to_string(),
                format!("git tag -a v0.1.0-abc1234 -m 'mockvideo 0.1.0-abc1234' {COMMIT}"),
            ]
        );
        let movies = plan
            .images
            .iter()
            .find(|(name, arch, _)| *name == "movies" && *arch == Arch::Amd64)
            .unwrap();
        assert_eq!(movies.2, ImageState::Stale("0000000111".into()));
        let shown = table(&plan).to_string();
        assert!(
            shown.contains("left out: latest is of commit 0000000"),
            "{shown}"
        );
        // Reads only: nothing was run while planning.
        assert!(runner.lines(Kind::Run).is_empty());
    }

    #[test]
    fn an_existing_tag_on_this_commit_is_kept_and_on_another_is_an_error() {
        let images = "local/mockvideo/accountd:0.1.0-abc1234-amd64\n";
        let verify = "git rev-parse -q --verify 'refs/tags/v0.1.0-abc1234^{commit}'";
        let same = runner_with(images).read_answer(verify, &format!("{COMMIT}\n"));
        assert!(plan(&same, &version(false), false)
            .unwrap()
            .commands
            .is_empty());
        let other = runner_with(images).read_answer(verify, "ffff\n");
        let err = plan(&other, &version(false), false).unwrap_err();
        assert!(
            err.to_string().contains("git tag -d v0.1.0-abc1234"),
            "{err}"
        );
    }

    #[test]
    fn no_image_of_this_commit_says_to_build_them() {
        let err = plan(&runner_with(""), &version(false), false).unwrap_err();
        assert!(err.to_string().contains("cargo xtask images"), "{err}");
    }
}

#[cfg(test)]
mod help {
    use clap::{Args, Command};

    #[test]
    fn the_long_help_teaches_with_examples() {
        for mut command in [
            super::TagArgs::augment_args(Command::new("tag")),
            crate::release::push::PushArgs::augment_args(Command::new("push")),
        ] {
            let help = command.render_long_help().to_string();
            assert!(help.contains("Examples:"), "{help}");
            assert!(help.contains("--dry-run"), "{help}");
        }
    }
}
