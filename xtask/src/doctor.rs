//! `cargo xtask doctor`: what is present or missing on this machine, and what to do next.
//!
//! Read-only: it runs only version and status commands. The checks are gathered into a table; the
//! verdict says whether the tests can run and, if not, which command fixes it.

use anyhow::{bail, Result};

use crate::bootstrap::engine_probe;
use crate::cmd::Cmd;
use crate::runner::{find_program, Runner};
use crate::summary::Table;

/// One line of the doctor's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Whether it is there.
    pub present: bool,
    /// Version or location when present, or what is wrong.
    pub detail: String,
    /// What to do when it is missing.
    pub fix: String,
    /// Nice to have; its absence is not a problem by itself.
    pub optional: bool,
}

impl Check {
    fn new(name: &'static str, present: bool, detail: impl Into<String>, fix: &str) -> Self {
        Self {
            name,
            present,
            detail: detail.into(),
            fix: if present { String::new() } else { fix.into() },
            optional: fix.starts_with("optional"),
        }
    }

    /// The status column: `ok`, `missing`, or `absent` for optional things.
    pub fn status(&self) -> &'static str {
        match (self.present, self.optional) {
            (true, _) => "ok",
            (false, false) => "missing",
            (false, true) => "absent",
        }
    }
}

/// First line of a command's output, or `None` if it fails.
fn version(runner: &dyn Runner, cmd: Cmd) -> Option<String> {
    runner
        .read(&cmd)
        .ok()
        .map(|out| out.lines().next().unwrap_or_default().trim().to_string())
}

/// The check of tool `name`: present when `cmd` prints a version (shown), else `fix`.
fn tool_check(runner: &dyn Runner, name: &'static str, cmd: Cmd, fix: &str) -> Check {
    let found = version(runner, cmd);
    Check::new(
        name,
        found.is_some(),
        found.unwrap_or_else(|| "not found".into()),
        fix,
    )
}

/// Runs every check.
pub fn checks(runner: &dyn Runner) -> Vec<Check> {
    let mut checks = Vec::new();
    checks.push(tool_check(
        runner,
        "cargo",
        Cmd::cargo(["--version"]),
        "install Rust with rustup (https://rustup.rs)",
    ));
    checks.push(tool_check(
        runner,
        "rustfmt",
        Cmd::cargo(["fmt", "--version"]),
        "rustup component add rustfmt",
    ));
    checks.push(tool_check(
        runner,
        "clippy",
        Cmd::cargo(["clippy", "--version"]),
        "rustup component add clippy",
    ));
    let docker_cli = find_program("docker");
    let cli_version = docker_cli.as_ref().and_then(|_| {
        version(
            runner,
            Cmd::new("docker").args(["version", "--format", "{{.Client.Version}}"]),
        )
    });
    checks.push(Check::new(
        "docker CLI",
        docker_cli.is_some(),
        match (&docker_cli, &cli_version) {
            (Some(path), Some(v)) => format!("{v} ({})", path.display()),
            (Some(path), None) => path.display().to_string(),
            _ => "not found".into(),
        },
        "cargo xtask bootstrap (installs docker.io)",
    ));
    let engine = docker_cli
        .as_ref()
        .and_then(|_| version(runner, engine_probe()));
    checks.push(Check::new(
        "engine reachable",
        engine.is_some(),
        engine
            .as_ref()
            .map(|v| format!("server {v}"))
            .unwrap_or_else(|| "`docker info` fails".into()),
        "cargo xtask bootstrap (starts dockerd)",
    ));
    let debootstrap = find_program("debootstrap");
    checks.push(Check::new(
        "debootstrap",
        debootstrap.is_some(),
        debootstrap
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "not found".into()),
        "cargo xtask bootstrap (apt-get install debootstrap)",
    ));
    for (name, reference) in crate::stores::image_references() {
        let present = engine.is_some()
            && runner.probe(&Cmd::new("docker").args(["image", "inspect", reference.as_str()]));
        checks.push(Check::new(
            name,
            present,
            if present {
                reference
            } else {
                format!("{reference} not built")
            },
            "cargo xtask bootstrap (builds it; needs the engine)",
        ));
    }
    let mariadbd = find_program("mariadbd").or_else(|| find_program("mysqld"));
    checks.push(Check::new(
        "mariadbd on PATH",
        mariadbd.is_some(),
        mariadbd
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "not found (optional: used when no engine)".into()),
        "optional: apt-get install mariadb-server",
    ));
    let mysql_url = std::env::var("MYSQL_URL").ok().filter(|v| !v.is_empty());
    checks.push(Check::new(
        "MYSQL_URL set",
        mysql_url.is_some(),
        mysql_url
            .map(|url| redact(&url))
            .unwrap_or_else(|| "unset (optional: tests then provision MySQL)".into()),
        "optional: export MYSQL_URL=mysql://user:pass@127.0.0.1:3306",
    ));
    checks
}

/// Hides the password in a URL: `mysql://user:***@host:port/db`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// How MySQL would be provisioned for the tests, given the checks; `None` if it cannot be.
pub fn mysql_provider(checks: &[Check]) -> Option<&'static str> {
    let present = |name: &str| checks.iter().any(|c| c.name == name && c.present);
    if present("MYSQL_URL set") {
        Some("MYSQL_URL")
    } else if present("engine reachable") && (present("image mariadb") || present("debootstrap")) {
        Some("a container on the Docker engine")
    } else if present("mariadbd on PATH") {
        Some("a local mariadbd process")
    } else {
        None
    }
}

/// The table and the verdict, as printed.
pub fn report(checks: &[Check]) -> (String, Vec<String>, bool) {
    let mut table = Table::new(["check", "status", "detail", "next step"]);
    for check in checks {
        table.row([
            check.name.to_string(),
            check.status().to_string(),
            check.detail.clone(),
            check.fix.clone(),
        ]);
    }
    let mut verdict = Vec::new();
    let mut ok = true;
    for required in ["cargo", "rustfmt", "clippy"] {
        if checks.iter().any(|c| c.name == required && !c.present) {
            ok = false;
            verdict.push(format!("{required} is required for every stage"));
        }
    }
    match mysql_provider(checks) {
        Some(provider) => verdict.push(format!("MySQL for the tests: {provider}")),
        None => {
            ok = false;
            verdict.push(
                "MySQL cannot be provisioned: run `cargo xtask bootstrap` \
                 (or set MYSQL_URL, or apt-get install mariadb-server)"
                    .into(),
            );
        }
    }
    if ok {
        verdict.push(
            "ready: `cargo xtask ci` runs everything, `cargo xtask up` starts the stack".into(),
        );
    }
    (table.to_string(), verdict, ok)
}

/// `cargo xtask doctor`. Errors (exit 1) when the tests cannot run here.
pub fn doctor(runner: &dyn Runner) -> Result<()> {
    let checks = checks(runner);
    let (table, verdict, ok) = report(&checks);
    println!("\n{table}");
    for line in &verdict {
        println!("{line}");
    }
    if !ok {
        bail!("this machine is not ready; see the next steps above");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &'static str, present: bool) -> Check {
        Check::new(name, present, "", "fix it")
    }

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("mysql://test:secret@127.0.0.1:13306/db"),
            "mysql://test:***@127.0.0.1:13306/db"
        );
        assert_eq!(redact("mysql://127.0.0.1:3306"), "mysql://127.0.0.1:3306");
    }

    #[test]
    fn provider_prefers_mysql_url_then_engine_then_local_process() {
        let mut checks = vec![
            check("engine reachable", true),
            check("image mariadb", false),
            check("debootstrap", true),
            check("mariadbd on PATH", true),
            check("MYSQL_URL set", false),
        ];
        assert_eq!(
            mysql_provider(&checks),
            Some("a container on the Docker engine")
        );
        checks[4].present = true;
        assert_eq!(mysql_provider(&checks), Some("MYSQL_URL"));
        checks[4].present = false;
        checks[0].present = false;
        assert_eq!(mysql_provider(&checks), Some("a local mariadbd process"));
        checks[3].present = false;
        assert_eq!(mysql_provider(&checks), None);
    }

    #[test]
    fn report_says_what_to_do_when_nothing_provides_mysql() {
        let checks = vec![
            check("cargo", true),
            check("rustfmt", true),
            check("clippy", false),
            check("engine reachable", false),
        ];
        let (table, verdict, ok) = report(&checks);
        assert!(!ok);
        assert!(table.contains("clippy"));
        assert!(table.contains("missing"));
        assert!(table.contains("fix it"));
        assert!(verdict.iter().any(|l| l.contains("cargo xtask bootstrap")));
        assert!(verdict.iter().any(|l| l.starts_with("clippy is required")));
    }

    #[test]
    fn missing_check_carries_its_fix_and_present_one_does_not() {
        assert_eq!(check("x", false).fix, "fix it");
        assert_eq!(check("x", true).fix, "");
        assert_eq!(check("x", false).status(), "missing");
        let optional = Check::new("y", false, "", "optional: install y");
        assert_eq!(optional.status(), "absent");
    }
}
