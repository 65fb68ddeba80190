//! `cinema-token`: prints an HS256 bearer token for the cinema services' writes, signed with
//! the services' JWT secret (see [`cinema::auth`]).

use std::{path::PathBuf, time::Duration};

use anyhow::Context as _;
use clap::Parser;
use secrecy::{ExposeSecret as _, SecretString};

/// Prints a bearer token for the cinema services' writes (POST, DELETE).
#[derive(Debug, Parser)]
#[command(
    name = "cinema-token",
    version,
    after_help = "\
The token is an HS256 JWT with the claims sub, iat and exp, signed with the same secret the \
services read from the file jwt-secret in their secrets directory (or CINEMA_JWT_SECRET). It is \
printed on standard output, alone on its line; nothing else is.

Example:
  TOKEN=$(cinema-token --secret-file /run/secrets/cinema/jwt-secret --subject alice --ttl 12h)
  curl -X POST -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\
       -d '{\"data\":{\"name\":\"Ada\",\"lastname\":\"Lovelace\"}}' \"$USERS_URL/users\""
)]
struct Cli {
    /// File holding the JWT secret (at least 32 bytes; one trailing newline is ignored)
    #[arg(long, value_name = "PATH", env = "CINEMA_JWT_SECRET_FILE")]
    secret_file: PathBuf,

    /// Who the token is for (the `sub` claim)
    #[arg(long, value_name = "NAME", default_value = "operator")]
    subject: String,

    /// How long the token is valid: 90s, 15m, 12h, 7d or a number of seconds
    #[arg(long, value_name = "DURATION", default_value = "12h", value_parser = ttl)]
    ttl: Duration,
}

fn ttl(text: &str) -> Result<Duration, String> {
    cinema::auth::parse_ttl(text)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut text = std::fs::read_to_string(&cli.secret_file)
        .with_context(|| format!("reading the secret file {}", cli.secret_file.display()))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    let secret = SecretString::from(text);
    let len = secret.expose_secret().len();
    anyhow::ensure!(
        len >= cinema::auth::MIN_SECRET_BYTES,
        "the secret in {} is {len} bytes long; the services need at least {}",
        cli.secret_file.display(),
        cinema::auth::MIN_SECRET_BYTES
    );
    anyhow::ensure!(
        !cli.subject.trim().is_empty(),
        "--subject must not be empty"
    );
    println!("{}", cinema::auth::issue(&secret, &cli.subject, cli.ttl));
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn flags_parse_and_help_has_an_example() {
        let cli =
            Cli::try_parse_from(["cinema-token", "--secret-file", "s", "--ttl", "15m"]).unwrap();
        assert_eq!(cli.secret_file, PathBuf::from("s"));
        assert_eq!(cli.subject, "operator");
        assert_eq!(cli.ttl, Duration::from_secs(900));
        assert!(Cli::try_parse_from(["cinema-token", "--secret-file", "s", "--ttl", "0"]).is_err());
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Example:"), "{help}");
        Cli::command().debug_assert();
    }
}
