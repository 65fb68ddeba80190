//! The JWT secret of `cargo xtask up` and the development tokens minted with it: one secret for
//! accountd, event-producer and the four cinema services, so auth is always on there.
//!
//! The secret is 48 random bytes in `target/up/secrets/jwt-secret` (mode 0600), the file the
//! services read from `--secrets-dir`; the tokens are minted by the built `mockvideo-token` (xtask
//! never links the services) and published as [`TOKENS`]: `ACCOUNTD_TOKEN`,
//! `EVENT_PRODUCER_TOKEN` and `CINEMA_TOKEN` (the four cinema audiences). The secrets directory
//! is removed when `up` stops.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};

use super::endpoints::Endpoint;
use super::{BoxFuture, Component, Stack};
use crate::paths;
use crate::runner::Runner;
use crate::service;

/// The file in the secrets directory the services read the JWT secret from.
pub const JWT_SECRET_FILE: &str = "jwt-secret";

/// Length of the generated JWT secret in bytes (the services need at least 32).
pub const SECRET_BYTES: usize = 48;

/// The development tokens' subject and lifetime (within the services' 24 h maximum).
pub const TOKEN_SUBJECT: &str = "up-dev";
/// See [`TOKEN_SUBJECT`].
pub const TOKEN_TTL: &str = "12h";

/// The tokens `up` publishes: the variable and the audiences (services) each opens.
pub const TOKENS: [(&str, &[&str]); 3] = [
    ("ACCOUNTD_TOKEN", &["accountd"]),
    ("EVENT_PRODUCER_TOKEN", &["event-producer"]),
    (
        "CINEMA_TOKEN",
        &["movies", "showtimes", "bookings", "users"],
    ),
];

/// Where `up` keeps the secrets: `target/up/secrets`.
pub fn secrets_dir() -> PathBuf {
    paths::up_dir().join("secrets")
}

/// A random secret of [`SECRET_BYTES`] printable bytes (6 random bits each, from
/// `/dev/urandom`): the services read the file as text.
pub fn generate_secret() -> Result<String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut random = [0u8; SECRET_BYTES];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut random))
        .context("reading random bytes from /dev/urandom")?;
    Ok(random
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(byte & 63)]))
        .collect())
}

/// Writes a fresh secret into `dir/jwt-secret` (directory 0700, file 0600); returns the file.
pub fn write_secret(dir: &Path) -> Result<PathBuf> {
    let file = dir.join(JWT_SECRET_FILE);
    paths::write_private(&file, generate_secret()?.as_bytes())?;
    Ok(file)
}

/// The token `mockvideo-token` printed: one line, no spaces.
pub fn parse_token(output: &str) -> Result<String> {
    let token = output.trim();
    ensure!(
        !token.is_empty() && !token.contains(char::is_whitespace),
        "mockvideo-token printed no token (got {:?})",
        output
    );
    Ok(token.to_string())
}

/// The JWT secret in [`secrets_dir`] and the development tokens minted with it; publishes
/// [`TOKENS`]. Stopping removes the directory.
pub struct Auth {
    dir: PathBuf,
    created: bool,
}

impl Auth {
    /// The secret and tokens, kept in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            created: false,
        }
    }
}

impl Default for Auth {
    fn default() -> Self {
        Self::new(secrets_dir())
    }
}

impl Component for Auth {
    fn name(&self) -> &'static str {
        "auth"
    }

    fn start<'a>(
        &'a mut self,
        stack: &'a mut Stack,
        runner: &'a dyn Runner,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            // Noted first, so stop removes whatever part of it was written.
            self.created = true;
            let secret_file = write_secret(&self.dir)?;
            let binary = stack.debug_binary(runner, "mockvideo-token")?;
            let mut endpoints = Vec::new();
            for (key, audiences) in TOKENS {
                let cmd = service::mockvideo_token_cmd(
                    &binary,
                    &secret_file,
                    TOKEN_SUBJECT,
                    audiences,
                    TOKEN_TTL,
                );
                let token =
                    parse_token(&runner.read(&cmd)?).with_context(|| format!("minting {key}"))?;
                endpoints.push(Endpoint::new(key, token));
            }
            stack.secrets_dir = Some(self.dir.clone());
            stack.publish(
                endpoints,
                format!(
                    "auth: JWT secret in {} for accountd, event-producer and the cinema services; \
                     ACCOUNTD_TOKEN, EVENT_PRODUCER_TOKEN, CINEMA_TOKEN (subject {TOKEN_SUBJECT}, \
                     valid {TOKEN_TTL})",
                    secret_file.display()
                ),
                [],
            );
            Ok(())
        })
    }

    fn stop<'a>(&'a mut self, _runner: &'a dyn Runner) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move {
            if !std::mem::take(&mut self.created) {
                return Ok(None);
            }
            match std::fs::remove_dir_all(&self.dir) {
                Ok(()) => Ok(Some(format!("removed {}", self.dir.display()))),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(error) => {
                    Err(error).with_context(|| format!("removing {}", self.dir.display()))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;
    use crate::runner::recording::{Kind, RecordingRunner};

    #[test]
    fn secrets_are_48_printable_random_bytes() {
        let first = generate_secret().unwrap();
        let second = generate_secret().unwrap();
        assert_eq!(first.len(), SECRET_BYTES);
        assert!(first
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(first, second);
    }

    #[test]
    fn the_secret_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("up/secrets");
        let file = write_secret(&secrets).unwrap();
        assert_eq!(file, secrets.join("jwt-secret"));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read(&file).unwrap().len(), SECRET_BYTES);
        // A second run replaces it.
        let before = std::fs::read_to_string(&file).unwrap();
        write_secret(&secrets).unwrap();
        assert_ne!(std::fs::read_to_string(&file).unwrap(), before);
    }

    #[test]
    fn the_token_is_the_one_line_mockvideo_token_prints() {
        assert_eq!(parse_token("eyJ.a.b\n").unwrap(), "eyJ.a.b");
        assert!(parse_token("\n").is_err());
        assert!(parse_token("two words").is_err());
    }

    #[test]
    fn the_cinema_token_opens_the_four_cinema_services() {
        let cinema: Vec<&str> = crate::deployables::CinemaService::ALL
            .iter()
            .map(|kind| kind.name())
            .collect();
        assert_eq!(TOKENS[2].1, cinema.as_slice());
    }

    #[tokio::test]
    async fn auth_writes_the_secret_mints_three_tokens_and_stop_removes_the_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        let file = secrets.join("jwt-secret");
        let line = |audiences: &str| {
            format!(
                "/t/debug/mockvideo-token --secret-file {} --subject up-dev {audiences} --ttl 12h",
                file.display()
            )
        };
        let lines = [
            line("--audience accountd"),
            line("--audience event-producer"),
            line("--audience movies --audience showtimes --audience bookings --audience users"),
        ];
        let runner = RecordingRunner::new()
            .read_answer(&lines[0], "eyJ.accountd.sig\n")
            .read_answer(&lines[1], "eyJ.producer.sig\n")
            .read_answer(&lines[2], "eyJ.cinema.sig\n");
        let mut stack = Stack::new(PathBuf::from("/t"));
        let mut auth = Auth::new(secrets.clone());
        auth.start(&mut stack, &runner).await.unwrap();

        assert_eq!(
            runner.lines(Kind::Run),
            [crate::up::components::build_cmd().line()]
        );
        assert_eq!(runner.lines(Kind::Read), lines);
        assert_eq!(
            stack.endpoints,
            [
                Endpoint::new("ACCOUNTD_TOKEN", "eyJ.accountd.sig"),
                Endpoint::new("EVENT_PRODUCER_TOKEN", "eyJ.producer.sig"),
                Endpoint::new("CINEMA_TOKEN", "eyJ.cinema.sig"),
            ]
        );
        assert_eq!(stack.secrets_dir.as_deref(), Some(secrets.as_path()));
        assert!(file.is_file());

        let cleaned = auth.stop(&runner).await.unwrap();
        assert_eq!(cleaned, Some(format!("removed {}", secrets.display())));
        assert!(!secrets.exists());
        assert_eq!(auth.stop(&runner).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_failed_mint_still_removes_the_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        let runner = RecordingRunner::new(); // no scripted token: `read` fails
        let mut stack = Stack::new(PathBuf::from("/t"));
        let mut auth = Auth::new(secrets.clone());
        assert!(auth.start(&mut stack, &runner).await.is_err());
        assert!(stack.endpoints.is_empty());
        auth.stop(&runner).await.unwrap();
        assert!(!secrets.exists());
    }

    #[test]
    fn the_secrets_live_under_target_up() {
        assert_eq!(secrets_dir(), paths::up_dir().join("secrets"));
    }
}
