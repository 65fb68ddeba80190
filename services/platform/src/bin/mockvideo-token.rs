//! `mockvideo-token`: the operators' tool minting HS256 bearer tokens for the MockVideo
//! services (accountd, event-producer, the cinema services), signed with their JWT secret (see
//! [`platform::auth`]).

use std::{path::PathBuf, time::Duration};

use anyhow::Context as _;
use clap::Parser;
use platform::auth::{self, Audience, Claims};
use secrecy::{ExposeSecret as _, SecretString};

/// Prints a bearer token for the MockVideo services.
#[derive(Debug, Parser)]
#[command(
    name = "mockvideo-token",
    version,
    after_help = "\
The token is an HS256 JWT with the claims sub, aud, iss, iat and exp, signed with the secret the \
services read from the file jwt-secret in their secrets directory. A service accepts it only when \
aud names it (give --audience once per service the token should open), iss is the service's \
auth.issuer (default mockvideo) and the lifetime is at most its auth.max_lifetime (default 24h). \
It is printed on standard output, alone on its line; nothing else is.

Audiences: accountd, event-producer, movies, showtimes, bookings, users.

Examples:
  ACCOUNTD_TOKEN=$(mockvideo-token --secret-file /run/secrets/jwt-secret --audience accountd)
  curl -H \"Authorization: Bearer $ACCOUNTD_TOKEN\" \"$ACCOUNTD_URL/users\"

  CINEMA_TOKEN=$(mockvideo-token --secret-file /run/secrets/jwt-secret --subject alice --ttl 12h \\
                 --audience movies --audience showtimes --audience bookings --audience users)"
)]
struct Cli {
    /// File holding the JWT secret (at least 32 bytes; one trailing newline is ignored)
    #[arg(long, value_name = "PATH", env = "MOCKVIDEO_JWT_SECRET_FILE")]
    secret_file: PathBuf,

    /// Who the token is for (the `sub` claim)
    #[arg(long, value_name = "NAME", default_value = "operator")]
    subject: String,

    /// A service the token opens (the `aud` claim); repeat for several
    #[arg(long = "audience", value_name = "SERVICE", required = true)]
    audiences: Vec<Audience>,

    /// Who issues the token (the `iss` claim): the services' auth.issuer
    #[arg(long, value_name = "NAME", default_value = auth::DEFAULT_ISSUER)]
    issuer: String,

    /// How long the token is valid: 90s, 15m, 12h, 7d or a number of seconds (at most the
    /// services' auth.max_lifetime, 24h by default)
    #[arg(long, value_name = "DURATION", default_value = "12h", value_parser = auth::parse_ttl)]
    ttl: Duration,
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
        len >= auth::MIN_SECRET_BYTES,
        "the secret in {} is {len} bytes long; the services need at least {}",
        cli.secret_file.display(),
        auth::MIN_SECRET_BYTES
    );
    anyhow::ensure!(
        !cli.subject.trim().is_empty(),
        "--subject must not be empty"
    );
    anyhow::ensure!(!cli.issuer.trim().is_empty(), "--issuer must not be empty");
    let claims = Claims::new(&cli.subject, &cli.audiences, &cli.issuer, cli.ttl);
    println!("{}", auth::issue(&secret, &claims));
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn flags_parse_and_help_has_an_example() {
        let cli = Cli::try_parse_from([
            "mockvideo-token",
            "--secret-file",
            "s",
            "--ttl",
            "15m",
            "--audience",
            "movies",
            "--audience",
            "users",
        ])
        .unwrap();
        assert_eq!(cli.secret_file, PathBuf::from("s"));
        assert_eq!(cli.subject, "operator");
        assert_eq!(cli.issuer, "mockvideo");
        assert_eq!(cli.audiences, [Audience::Movies, Audience::Users]);
        assert_eq!(cli.ttl, Duration::from_secs(900));
        for bad in [
            &["--secret-file", "s", "--audience", "movies", "--ttl", "0"][..],
            &["--secret-file", "s"],
            &["--secret-file", "s", "--audience", "cinema"],
        ] {
            let args = std::iter::once("mockvideo-token").chain(bad.iter().copied());
            assert!(Cli::try_parse_from(args).is_err(), "{bad:?}");
        }
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Examples:"), "{help}");
        assert!(help.contains("event-producer"), "{help}");
        Cli::command().debug_assert();
    }
}
