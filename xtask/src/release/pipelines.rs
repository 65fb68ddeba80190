//! The stage test: parses `jenkins/Jenkinsfile` and `.github/workflows/ci.yml` and proves that
//! every command they run is one `cargo xtask …` naming an existing subcommand with valid
//! arguments (parsed by the real [`Cli`]), that every Jenkins stage is exactly one such command,
//! and that both pipelines run the same stages in the same order.

use anyhow::{bail, Context, Result};
use clap::Parser;

use crate::cli::Cli;

/// One `cargo xtask …` found in a pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The Jenkins stage or the GitHub step it belongs to.
    pub stage: String,
    /// The arguments after `cargo xtask`.
    pub args: Vec<String>,
}

/// The arguments after `cargo xtask` on `line`, if it has it. The command ends at the end of the
/// line or at a closing quote (Groovy `sh '…'`); variables are refused, as they cannot be checked.
fn xtask_args(line: &str) -> Result<Option<Vec<String>>> {
    let Some((_, rest)) = line.split_once("cargo xtask") else {
        return Ok(None);
    };
    let rest = rest.split(['\'', '"']).next().unwrap_or_default();
    if rest.contains('$') {
        bail!(
            "`cargo xtask{rest}` uses a variable; write the arguments out so they can be checked"
        );
    }
    Ok(Some(rest.split_whitespace().map(String::from).collect()))
}

/// The `cargo xtask` commands of a declarative Jenkinsfile, with their stages. Errors on a stage
/// that does not run exactly one.
pub fn jenkins_invocations(text: &str) -> Result<Vec<Invocation>> {
    let mut found = Vec::new();
    let mut stages: Vec<(String, usize)> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("//") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("stage(") {
            let name = rest
                .trim_start_matches(['\'', '"'])
                .split(['\'', '"'])
                .next()
                .unwrap_or_default()
                .to_string();
            stages.push((name, 0));
        }
        if let Some(args) = xtask_args(line)? {
            let Some((stage, count)) = stages.last_mut() else {
                bail!("`{line}` runs outside any stage");
            };
            *count += 1;
            found.push(Invocation {
                stage: stage.clone(),
                args,
            });
        } else if ["sh '", "sh \"", "sh(", "bat "]
            .iter()
            .any(|s| line.contains(s))
        {
            bail!("`{line}` is not a `cargo xtask` command: pipeline logic belongs in xtask");
        }
    }
    if let Some((stage, count)) = stages.iter().find(|(_, count)| *count != 1) {
        bail!("Jenkins stage `{stage}` runs {count} `cargo xtask` commands; each stage runs one");
    }
    Ok(found)
}

/// The `cargo xtask` commands of a GitHub workflow, with their step names. Errors on a `run:`
/// step that is not exactly one `cargo xtask` command.
pub fn workflow_invocations(text: &str) -> Result<Vec<Invocation>> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).context("parsing the workflow")?;
    let jobs = yaml["jobs"]
        .as_mapping()
        .context("the workflow has no jobs")?;
    let mut found = Vec::new();
    for (job, body) in jobs {
        let job = job.as_str().unwrap_or("?");
        for step in body["steps"].as_sequence().into_iter().flatten() {
            let Some(run) = step["run"].as_str() else {
                continue;
            };
            let stage = step["name"].as_str().unwrap_or(run).to_string();
            let mut commands = Vec::new();
            for line in run.lines() {
                if let Some(args) = xtask_args(line)? {
                    commands.push(args);
                }
            }
            let [args] = commands.as_slice() else {
                bail!(
                    "step `{stage}` of job `{job}` runs {} `cargo xtask` commands; each step runs one",
                    commands.len()
                );
            };
            found.push(Invocation {
                stage,
                args: args.clone(),
            });
        }
    }
    Ok(found)
}

/// Checks each invocation against the real command line; names the first that does not parse.
pub fn check(invocations: &[Invocation]) -> Result<()> {
    for invocation in invocations {
        let argv = std::iter::once("cargo xtask".to_string()).chain(invocation.args.clone());
        if let Err(error) = Cli::try_parse_from(argv) {
            bail!(
                "stage `{}` runs `cargo xtask {}`, which xtask rejects: {}",
                invocation.stage,
                invocation.args.join(" "),
                error.render()
            );
        }
    }
    Ok(())
}

/// The stage names in first-seen order, repeats dropped.
pub fn stage_order(invocations: &[Invocation]) -> Vec<&str> {
    let mut order: Vec<&str> = Vec::new();
    for invocation in invocations {
        if !order.contains(&invocation.stage.as_str()) {
            order.push(&invocation.stage);
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths;

    fn read(path: &str) -> String {
        std::fs::read_to_string(paths::repo_root().join(path)).unwrap()
    }

    #[test]
    fn every_pipeline_stage_is_an_existing_xtask_subcommand() {
        let jenkins = jenkins_invocations(&read("jenkins/Jenkinsfile")).unwrap();
        let github = workflow_invocations(&read(".github/workflows/ci.yml")).unwrap();
        check(&jenkins).unwrap();
        check(&github).unwrap();
        let stages = [
            "bootstrap",
            "lint",
            "test",
            "features",
            "cluster up",
            "deploy local",
            "smoke",
            "chaos",
            "cluster down",
            "images",
            "tag",
            "push",
            "deploy",
        ];
        assert_eq!(stage_order(&jenkins), stages);
        assert_eq!(stage_order(&github), stages);
    }

    #[test]
    fn jenkins_collects_the_cucumber_and_fuzzing_junit_reports() {
        let text = read("jenkins/Jenkinsfile");
        assert!(
            text.contains("junit allowEmptyResults: true, testResults: 'target/cucumber/*.xml'")
        );
        assert!(text.contains("junit allowEmptyResults: true, testResults: 'target/fuzz/*.xml'"));
    }

    #[test]
    fn a_stage_naming_a_missing_subcommand_fails() {
        let jenkinsfile = "pipeline {\n  stages {\n    stage('soak') {\n      steps { sh 'cargo xtask soak' }\n    }\n  }\n}\n";
        let invocations = jenkins_invocations(jenkinsfile).unwrap();
        assert_eq!(invocations[0].args, ["soak"]);
        let err = check(&invocations).unwrap_err().to_string();
        assert!(
            err.contains("stage `soak`") && err.contains("soak"),
            "{err}"
        );
    }

    #[test]
    fn invalid_arguments_fail() {
        let workflow = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - name: lint\n        run: cargo xtask ci --only nope\n";
        let err = check(&workflow_invocations(workflow).unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("step") || err.contains("stage `lint`"),
            "{err}"
        );
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn steps_that_are_not_one_xtask_command_fail() {
        let workflow = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - name: raw\n        run: cargo test\n";
        assert!(workflow_invocations(workflow).is_err());
        let two = "pipeline {\n stages {\n  stage('x') {\n   steps {\n    sh 'cargo xtask tag'\n    sh 'cargo xtask push'\n   }\n  }\n }\n}\n";
        let err = jenkins_invocations(two).unwrap_err().to_string();
        assert!(err.contains("runs 2"), "{err}");
        let shell =
            "pipeline {\n stages {\n  stage('x') {\n   steps { sh 'make deploy' }\n  }\n }\n}\n";
        assert!(jenkins_invocations(shell).is_err());
        assert!(xtask_args("sh 'cargo xtask push --registry $R'").is_err());
    }
}
