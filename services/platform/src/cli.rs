//! Go-style command lines: the seeds' binaries used Go's `flag` package, where `-name value`,
//! `-name=value`, `--name value` and `--name=value` all work. [`rewrite_go_flags`] turns those
//! spellings into the clap long flags of our binaries before parsing, so old scripts, Helm
//! charts and READMEs keep working.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
};

/// One Go flag and the clap long flag it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoFlag {
    /// The Go flag's name without dashes, e.g. `configFile`.
    pub go: &'static str,
    /// The clap flag, e.g. `--config-file`.
    pub long: &'static str,
    /// Whether it takes a value (the next argument, unless given as `-name=value`).
    pub takes_value: bool,
}

impl GoFlag {
    /// A flag that takes a value.
    pub const fn value(go: &'static str, long: &'static str) -> Self {
        Self {
            go,
            long,
            takes_value: true,
        }
    }

    /// A boolean flag.
    pub const fn switch(go: &'static str, long: &'static str) -> Self {
        Self {
            go,
            long,
            takes_value: false,
        }
    }
}

/// The seed servers' flags naming where their settings live: `-configFile PATH` becomes
/// `--config-file PATH` and `-secretsDir PATH` becomes `--secrets-dir PATH`.
pub const SETTINGS_GO_FLAGS: &[GoFlag] = &[
    GoFlag::value("configFile", "--config-file"),
    GoFlag::value("secretsDir", "--secrets-dir"),
];

/// [`rewrite_go_flags`] for the seed servers' settings flags ([`SETTINGS_GO_FLAGS`]):
/// `-configFile`/`--configFile` becomes `--config-file` and `-secretsDir`/`--secretsDir`
/// becomes `--secrets-dir` (also in their `=value` forms); other arguments pass unchanged.
pub fn rewrite_settings_flags(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    rewrite_go_flags(args, SETTINGS_GO_FLAGS)
}

/// Rewrites `-go`/`--go` (and `-go=value`) to the matching long flag for every entry of
/// `flags`; other arguments pass unchanged. The program name, the value that follows a
/// value-taking flag (so `-add '-port'` stays a value) and everything after `--` are never
/// rewritten.
pub fn rewrite_go_flags(
    args: impl IntoIterator<Item = OsString>,
    flags: &[GoFlag],
) -> Vec<OsString> {
    let mut rewritten = Vec::new();
    let mut next_is_value = false;
    let mut verbatim = false;
    for (index, arg) in args.into_iter().enumerate() {
        if index == 0 || verbatim || next_is_value {
            next_is_value = false;
            rewritten.push(arg);
            continue;
        }
        let Some(text) = arg.to_str() else {
            rewritten.push(arg);
            continue;
        };
        if text == "--" {
            verbatim = true;
            rewritten.push(arg);
            continue;
        }
        let Some(bare) = text.strip_prefix("--").or_else(|| text.strip_prefix('-')) else {
            rewritten.push(arg);
            continue;
        };
        let (name, value) = match bare.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (bare, None),
        };
        let known = flags
            .iter()
            .find(|flag| flag.go == name || flag.long.trim_start_matches('-') == name);
        match known {
            Some(flag) => {
                next_is_value = flag.takes_value && value.is_none();
                rewritten.push(match value {
                    Some(value) => OsString::from(format!("{}={value}", flag.long)),
                    None => OsString::from(flag.long),
                });
            }
            None => rewritten.push(arg),
        }
    }
    rewritten
}

/// The path given by a flag, else `default` when it exists (e.g. a config file baked into an
/// image), else none.
pub fn flag_or_existing(flag: Option<PathBuf>, default: &str) -> Option<PathBuf> {
    flag.or_else(|| Path::new(default).exists().then(|| PathBuf::from(default)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAGS: &[GoFlag] = &[
        GoFlag::value("add", "--add"),
        GoFlag::value("configFile", "--config-file"),
        GoFlag::switch("json", "--json"),
    ];

    fn rewrite(args: &[&str]) -> Vec<String> {
        rewrite_go_flags(args.iter().map(OsString::from), FLAGS)
            .into_iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_flag_wins_over_an_existing_default() {
        let here = env!("CARGO_MANIFEST_DIR");
        assert_eq!(
            flag_or_existing(Some(PathBuf::from("/x")), here),
            Some(PathBuf::from("/x"))
        );
        assert_eq!(flag_or_existing(None, here), Some(PathBuf::from(here)));
        assert_eq!(flag_or_existing(None, "/nonexistent/config"), None);
    }

    #[test]
    fn single_and_double_dash_forms_become_long_flags() {
        assert_eq!(
            rewrite(&["bin", "-add", "{}", "--configFile=/c", "-json"]),
            ["bin", "--add", "{}", "--config-file=/c", "--json"]
        );
        assert_eq!(
            rewrite(&["bin", "-config-file", "c", "--add={}"]),
            ["bin", "--config-file", "c", "--add={}"]
        );
    }

    #[test]
    fn values_program_name_and_unknown_arguments_are_untouched() {
        assert_eq!(
            rewrite(&["-add", "-add", "-json", "-h", "-addX", "json"]),
            ["-add", "--add", "-json", "-h", "-addX", "json"]
        );
        assert_eq!(
            rewrite(&["bin", "--", "-add", "-json"]),
            ["bin", "--", "-add", "-json"]
        );
    }
}
