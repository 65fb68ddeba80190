//! The command line: `accountd [--config-file PATH] [--secrets-dir PATH] [--load-test-data]`.
//!
//! The seed's Go-style flags (`-configFile PATH`, `-secretsDir=PATH`, also with two dashes) are
//! rewritten to these before parsing, so old scripts and Helm charts keep working.

use std::path::PathBuf;

use clap::Parser;

/// The seed's default config file, used only when it exists.
pub const DEFAULT_CONFIG_FILE: &str = "/opt/mockvideo/accountd/config/config";
/// The seed's default secrets directory, used only when it exists.
pub const DEFAULT_SECRETS_DIR: &str = "/opt/mockvideo/accountd/secrets";

/// MockVideo's account service: users CRUD over MySQL, with bulk requests.
#[derive(Debug, Parser)]
#[command(
    name = "accountd",
    version,
    after_help = "\
Settings come from, in order: defaults, the config file (the seed's key=value format: port, \
logLevel, dbHost, dbPort, dbName, maxConcurrentBulkOperations), ACCOUNTD__* environment \
variables (ACCOUNTD__DB__HOST, ACCOUNTD__DB__PASSWORD, ...), and the files dbuser and \
dbpassword in the secrets directory.

Example:
  ACCOUNTD__DB__HOST=127.0.0.1 ACCOUNTD__DB__PORT=3306 ACCOUNTD__DB__NAME=mockvideo \\
    accountd --secrets-dir ./secrets --load-test-data
  curl http://127.0.0.1:5000/users

The seed's flags -configFile PATH and -secretsDir PATH are accepted too."
)]
pub struct Cli {
    /// Config file in the seed's key=value format [default: /opt/mockvideo/accountd/config/config, if it exists]
    #[arg(long, value_name = "PATH", env = "ACCOUNTD_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,

    /// Directory holding the secret files dbuser and dbpassword [default: /opt/mockvideo/accountd/secrets, if it exists]
    #[arg(long, value_name = "PATH", env = "ACCOUNTD_SECRETS_DIR")]
    pub secrets_dir: Option<PathBuf>,

    /// Insert the seed's five test users (and accounts, products, bundles) when the user table is empty
    #[arg(long, env = "ACCOUNTD_LOAD_TEST_DATA")]
    pub load_test_data: bool,
}

impl Cli {
    /// Parses the process arguments, accepting the seed's Go-style flags.
    pub fn parse_args() -> Self {
        Self::parse_from(rewrite_go_flags(std::env::args_os()))
    }

    /// The config file to read: the flag's, else the default when it exists.
    pub fn config_file(&self) -> Option<PathBuf> {
        platform::cli::flag_or_existing(self.config_file.clone(), DEFAULT_CONFIG_FILE)
    }

    /// The secrets directory to read: the flag's, else the default when it exists.
    pub fn secrets_dir(&self) -> Option<PathBuf> {
        platform::cli::flag_or_existing(self.secrets_dir.clone(), DEFAULT_SECRETS_DIR)
    }
}

/// Rewrites the seed's `-configFile` and `-secretsDir` to the long flags.
pub use platform::cli::rewrite_settings_flags as rewrite_go_flags;

#[cfg(test)]
mod tests {
    use std::{ffi::OsString, path::Path};

    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(rewrite_go_flags(args.iter().map(OsString::from))).unwrap()
    }

    #[test]
    fn go_style_flags_are_accepted() {
        let cli = parse(&[
            "accountd",
            "-configFile",
            "testdata/config/config",
            "-secretsDir=testdata/secrets",
        ]);
        assert_eq!(
            cli.config_file.as_deref(),
            Some(Path::new("testdata/config/config"))
        );
        assert_eq!(
            cli.secrets_dir.as_deref(),
            Some(Path::new("testdata/secrets"))
        );
        let cli = parse(&["accountd", "--configFile=c", "--load-test-data"]);
        assert_eq!(cli.config_file.as_deref(), Some(Path::new("c")));
        assert!(cli.load_test_data);
    }

    #[test]
    fn modern_flags_and_other_arguments_are_untouched() {
        let cli = parse(&["accountd", "--config-file=/etc/c", "--secrets-dir", "/s"]);
        assert_eq!(cli.config_file.as_deref(), Some(Path::new("/etc/c")));
        assert_eq!(cli.secrets_dir.as_deref(), Some(Path::new("/s")));
        let args: Vec<OsString> = ["-h", "-configFileX", "configFile", "--load-test-data"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(rewrite_go_flags(args.clone()), args);
    }

    #[test]
    fn help_has_an_example() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Example:"), "{help}");
        assert!(help.contains("--load-test-data"), "{help}");
        Cli::command().debug_assert();
    }
}
