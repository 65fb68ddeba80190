//! activity-server's command line: `activity-server [--config-file PATH] [--secrets-dir PATH]`
//! (Go-style `-configFile PATH` / `-secretsDir PATH` accepted too). Everything else is a
//! setting (see [`crate::settings`]); the original's `PORT` variable still sets the port.

use std::path::PathBuf;

use clap::Parser;

/// The config file read when it exists and no flag names another.
pub const DEFAULT_CONFIG_FILE: &str = "/opt/mockvideo/activity/config/config";
/// The secrets directory read when it exists and no flag names another.
pub const DEFAULT_SECRETS_DIR: &str = "/opt/mockvideo/activity/secrets";

/// Activity events over gRPC: stores events in MySQL, streams them per deployment.
#[derive(Debug, Parser)]
#[command(
    name = "activity-server",
    version,
    after_help = "\
Settings come from, in order: defaults, the config file (key=value lines: port, adminPort, \
logLevel, dbHost, dbPort, dbName, or dotted names such as limits.max_message_chars), PORT (the \
original's variable), ACTIVITY__* environment variables (ACTIVITY__PORT, ACTIVITY__ADMIN_PORT, \
ACTIVITY__DB__HOST, ACTIVITY__DB__PASSWORD, ACTIVITY__LIMITS__DRAIN_DEADLINE, ...), and the \
files dbuser and dbpassword in the secrets directory.

gRPC (events, health, reflection) listens on PORT (default 50051); /metrics, /livez and \
/readyz on the admin port (default 9091). SIGTERM drains in-flight calls, then exits.

Example:
  ACTIVITY__DB__HOST=127.0.0.1 ACTIVITY__DB__NAME=activity PORT=50051 activity-server
  activity-client -add '{\"id\":1,\"deployment_id\":1,\"message\":\"deployed\"}'
  activity-client -deployment 1"
)]
pub struct ServerCli {
    /// Config file of key=value lines [default: /opt/mockvideo/activity/config/config, if it exists]
    #[arg(long, value_name = "PATH", env = "ACTIVITY_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,

    /// Directory holding the secret files dbuser and dbpassword [default: /opt/mockvideo/activity/secrets, if it exists]
    #[arg(long, value_name = "PATH", env = "ACTIVITY_SECRETS_DIR")]
    pub secrets_dir: Option<PathBuf>,
}

impl ServerCli {
    /// Parses the process arguments, accepting Go-style flags.
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

/// Rewrites `-configFile` and `-secretsDir` (any dash count, `=value` too) to the long flags.
pub use platform::cli::rewrite_settings_flags as rewrite_go_flags;

/// The whole `activity-server` binary: telemetry → command line → settings → app → serve until
/// SIGTERM (also the harness's copy of the binary).
pub async fn server_main() -> anyhow::Result<()> {
    use platform::config::Load as _;
    platform::telemetry::init("activity-server");
    let cli = ServerCli::parse_args();
    let settings =
        crate::Settings::load(cli.config_file().as_deref(), cli.secrets_dir().as_deref())?;
    crate::App::build(settings)
        .await?
        .run_until_stopped(platform::shutdown::shutdown_signal())
        .await
}

#[cfg(test)]
mod tests {
    use std::{ffi::OsString, path::Path};

    use clap::CommandFactory;

    use super::*;

    #[test]
    fn go_style_and_long_flags_parse() {
        let args = ["activity-server", "-configFile", "/c", "--secretsDir=/s"]
            .iter()
            .map(OsString::from);
        let cli = ServerCli::try_parse_from(rewrite_go_flags(args)).unwrap();
        assert_eq!(cli.config_file.as_deref(), Some(Path::new("/c")));
        assert_eq!(cli.secrets_dir.as_deref(), Some(Path::new("/s")));
        assert_eq!(cli.config_file(), Some(PathBuf::from("/c")));
    }

    #[test]
    fn help_has_an_example() {
        ServerCli::command().debug_assert();
        let help = ServerCli::command().render_long_help().to_string();
        assert!(help.contains("Example:"), "{help}");
        assert!(help.contains("PORT"), "{help}");
    }
}
