//! An external command line as plain data: program, arguments, environment and working directory.
//!
//! Every command xtask runs is first built as a [`Cmd`], so it can be echoed exactly as a person
//! would type it, and so unit tests can compare the command lines a stage would run without
//! running them.

use std::fmt;
use std::path::{Path, PathBuf};

/// One environment variable set for a command. Secret values are passed on but never shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    /// Variable name.
    pub key: String,
    /// Value handed to the child process.
    pub value: String,
    /// When true the value is echoed as `***`.
    pub secret: bool,
}

/// A command line: what [`crate::runner::Runner`] runs and what it echoes before running it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmd {
    /// The program, looked up on `PATH` unless it contains a `/`.
    pub program: String,
    /// Arguments, unquoted.
    pub args: Vec<String>,
    /// Extra environment on top of the inherited one.
    pub env: Vec<EnvVar>,
    /// Working directory; `None` means the current one.
    pub dir: Option<PathBuf>,
}

impl Cmd {
    /// A command running `program` with no arguments.
    pub fn new(program: impl Into<String>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            dir: None,
        }
    }

    /// `cargo` followed by `args`: the most common command here.
    pub fn cargo<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new("cargo").args(args)
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends several arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable that is echoed with its value.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push(EnvVar {
            key: key.into(),
            value: value.into(),
            secret: false,
        });
        self
    }

    /// Sets an environment variable whose value is echoed as `***` (passwords, URLs with them).
    pub fn env_secret(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push(EnvVar {
            key: key.into(),
            value: value.into(),
            secret: true,
        });
        self
    }

    /// Runs the command in `dir`.
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Program and arguments only, shell-quoted: the key unit tests compare.
    pub fn line(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .map(quote)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for Cmd {
    /// The echoed form: `KEY=value … program args`, secrets hidden, then `(in DIR)` if set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for var in &self.env {
            let shown = if var.secret {
                "***".to_string()
            } else {
                quote(&var.value)
            };
            write!(f, "{}={} ", var.key, shown)?;
        }
        f.write_str(&self.line())?;
        if let Some(dir) = &self.dir {
            write!(f, "  (in {})", dir.display())?;
        }
        Ok(())
    }
}

/// Quotes `word` for a POSIX shell when it holds anything but plainly safe characters.
pub fn quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,{}".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_quotes_only_what_needs_quoting() {
        let cmd = Cmd::cargo(["clippy", "--", "-D", "warnings"]).arg("it's here");
        assert_eq!(cmd.line(), r"cargo clippy -- -D warnings 'it'\''s here'");
    }

    #[test]
    fn display_shows_env_hides_secrets_and_names_the_directory() {
        let cmd = Cmd::new("accountd")
            .arg("--load-test-data")
            .env("ACCOUNTD__PORT", "5000")
            .env_secret("ACCOUNTD__DB__PASSWORD", "hunter2")
            .dir("/repo");
        assert_eq!(
            cmd.to_string(),
            "ACCOUNTD__PORT=5000 ACCOUNTD__DB__PASSWORD=*** accountd --load-test-data  (in /repo)"
        );
    }

    #[test]
    fn empty_argument_is_quoted() {
        assert_eq!(quote(""), "''");
    }
}
