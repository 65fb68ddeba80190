//! activity-client as a library: the binary is a thin wrapper around [`main_with`], and tests
//! run [`run`] or [`main_with`] in-process.
//!
//! Flags keep the original's names and single-dash Go style (`-add JSON`, `-deployment N`,
//! `-address HOST`, `-port N`; `--add` etc. work too). As in the original, a non-zero
//! `-deployment` is listed first, then `-add` creates its event with `timestamp.send` set to
//! now. Unlike the original, the `-add` JSON is checked before anything is sent, the output
//! goes to stdout (one line per event, or JSON with `--json`), and every failure exits
//! non-zero with a one-line reason as the last line on stderr.
//!
//! The create is retried ([`retry`]) on `UNAVAILABLE`, `RESOURCE_EXHAUSTED` and
//! `DEADLINE_EXCEEDED` with exponential backoff and jitter, at most `--retries` times and not
//! past `--retry-for`: it is safe, the server answers a repeated event (same deployment, id and
//! message) with the first call's result. Each retry is noted on stderr; the `--json` line says
//! how many there were. A run that only creates connects on its first attempt, so a server that
//! is not up yet is retried too (and, as in the original, reported as `Could not create Event`);
//! a run that lists connects first and fails at once with `Could not connect`.

mod add_json;
mod output;
pub mod retry;

use std::{ffi::OsString, io::Write, time::Duration};

use clap::{CommandFactory as _, Parser};
use platform::cli::GoFlag;
use tonic::{
    transport::{Channel, Endpoint},
    Status,
};

pub use add_json::parse_event;
pub use output::{created_line, listed_line};
pub use retry::RetryPolicy;

use crate::{
    codes,
    proto::{activity_events_client::ActivityEventsClient, Deployment, Timestamp},
    service::now_ns,
};

/// The Go-style spellings accepted (`-add`, `-deployment=3`, `-json`, …).
pub const GO_FLAGS: &[GoFlag] = &[
    GoFlag::value("add", "--add"),
    GoFlag::value("deployment", "--deployment"),
    GoFlag::value("address", "--address"),
    GoFlag::value("port", "--port"),
    GoFlag::value("timeout", "--timeout"),
    GoFlag::value("retries", "--retries"),
    GoFlag::value("retry-for", "--retry-for"),
    GoFlag::value("retry-delay", "--retry-delay"),
    GoFlag::switch("json", "--json"),
    GoFlag::switch("help", "--help"),
];

/// Creates and lists activity events on an activity-server.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "activity-client",
    version,
    after_help = "\
With -deployment, that deployment's events are listed first; then -add creates its event \
(timestamp.send is set to now). Single-dash flags (-add, -deployment, -address, -port) work as \
in the original client. Exit status: 0 on success, 1 on a failure (reason on stderr), 2 on a \
usage error.

An event is identified by its deployment_id and id. Running the same -add again is safe: the \
server answers it as the same event (stored once, the first answer's time). A create that fails \
with UNAVAILABLE, RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED is retried with exponential backoff \
and jitter (--retries, --retry-for, --retry-delay); each retry is noted on stderr.

Examples:
  activity-client -add '{\"id\":1,\"deployment_id\":1,\"message\":\"Deployment has been created successfully\"}'
  activity-client -deployment 1
  activity-client -address 10.0.0.5 -port 50051 -deployment 1 --json | jq .message"
)]
pub struct ClientArgs {
    /// Event to add, as JSON: {"id":1,"deployment_id":1,"message":"..."} (id > 0 is the event's unique key)
    #[arg(long, value_name = "JSON")]
    pub add: Option<String>,

    /// Stream the events of this deployment (listed before -add runs; 0 lists nothing)
    #[arg(
        long,
        value_name = "ID",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub deployment: i32,

    /// Address of the server
    #[arg(long, value_name = "HOST", default_value = "127.0.0.1")]
    pub address: String,

    /// Port of the server
    #[arg(long, value_name = "PORT", default_value_t = 50051)]
    pub port: u16,

    /// Print one JSON object per line instead of the original's text lines
    #[arg(long)]
    pub json: bool,

    /// Deadline to connect, for each answer, and between two listed events (10, 0.5, 500ms, 2m)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Retries of a create that failed with UNAVAILABLE, RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED (0: none)
    #[arg(long, value_name = "N", default_value_t = RetryPolicy::default().max_retries)]
    pub retries: usize,

    /// No retry starts later than this after the first attempt
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_timeout)]
    pub retry_for: Duration,

    /// First backoff delay; it doubles on each retry up to 5 s, plus a random jitter of up to as much again
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_timeout)]
    pub retry_delay: Duration,
}

impl ClientArgs {
    /// The retry policy the flags describe.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.retries,
            first_delay: self.retry_delay,
            max_delay: RetryPolicy::default().max_delay.max(self.retry_delay),
            budget: self.retry_for,
        }
    }
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let timeout = platform::http::parse_duration(text)?;
    if timeout.is_zero() {
        return Err("the duration must be greater than zero".to_owned());
    }
    Ok(timeout)
}

/// Why the client failed. `Display` is the one line printed on stderr.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Neither `-add` nor `-deployment` was given.
    #[error(
        "nothing to do: give -add JSON to create an event and/or -deployment ID to list events"
    )]
    NothingToDo,
    /// `-add` is not an event in JSON; nothing was sent.
    #[error("Unable to parse {text} as json data: {reason}")]
    InvalidJson {
        /// The `-add` text.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server could not be reached.
    #[error("Could not connect to the server at {target}: {reason}")]
    Connect {
        /// `http://address:port`.
        target: String,
        /// Why (connection refused, timed out, …).
        reason: String,
    },
    /// `ListEvents` failed (before or during the stream).
    #[error("Error on get events: {}", codes::describe(.0))]
    List(Status),
    /// `CreateEvent` failed, after `retries` retries (see [`retry`]).
    #[error("Could not create Event: {}{}", codes::describe(status), gave_up(*retries))]
    Create {
        /// The last attempt's status.
        status: Status,
        /// How many retries were made before giving up.
        retries: usize,
    },
    /// Stdout could not be written.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

fn gave_up(retries: usize) -> String {
    match retries {
        0 => String::new(),
        1 => " (gave up after 1 retry)".to_owned(),
        n => format!(" (gave up after {n} retries)"),
    }
}

impl ClientError {
    /// The process exit status: 2 for usage errors, 1 for the rest.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::NothingToDo => 2,
            _ => 1,
        }
    }
}

/// Parses `argv` (program name first; Go-style flags accepted), runs the client, writes its
/// output to `stdout` and any failure to `stderr`, and returns the exit status: 0 on success,
/// 1 on failure (one line on `stderr`), 2 on a usage error (the usage on `stderr`).
pub async fn main_with<I, T>(argv: I, stdout: &mut impl Write, stderr: &mut impl Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let argv = platform::cli::rewrite_go_flags(argv.into_iter().map(Into::into), GO_FLAGS);
    let args = match ClientArgs::try_parse_from(argv) {
        Ok(args) => args,
        Err(error) => {
            // --help and --version go to stdout with status 0; mistakes to stderr with 2.
            let text = error.render().to_string();
            let _ = if error.use_stderr() {
                write!(stderr, "{text}")
            } else {
                write!(stdout, "{text}")
            };
            return error.exit_code();
        }
    };
    match run(args, stdout, stderr).await {
        Ok(()) => 0,
        Err(error) => {
            if matches!(error, ClientError::NothingToDo) {
                let _ = write!(stderr, "{}", ClientArgs::command().render_help());
            }
            let _ = writeln!(stderr, "{}", one_line(&error.to_string()));
            error.exit_code()
        }
    }
}

/// Runs the client: lists `-deployment`'s events (when ≠ 0), then creates `-add`'s event
/// (when given, retried as [`ClientArgs::retry_policy`] says), writing one line per result to
/// `out` and one note per retry to `notes`.
pub async fn run(
    args: ClientArgs,
    out: &mut impl Write,
    notes: &mut impl Write,
) -> Result<(), ClientError> {
    let add = args.add.as_deref().filter(|text| !text.is_empty());
    if add.is_none() && args.deployment == 0 {
        return Err(ClientError::NothingToDo);
    }
    // Checked before connecting: bad JSON sends nothing, even with -deployment.
    let event = add
        .map(|text| {
            parse_event(text).map_err(|reason| ClientError::InvalidJson {
                text: text.to_owned(),
                reason,
            })
        })
        .transpose()?;
    // A list needs the server now. A create alone connects on its first attempt, so a server
    // that is not up yet (a restart) is one more UNAVAILABLE to retry.
    let mut client = if args.deployment != 0 {
        connect(&args).await?
    } else {
        connect_lazily(&args)?
    };
    if args.deployment != 0 {
        list(&mut client, &args, out).await?;
    }
    if let Some(mut event) = event {
        // One send time for every attempt: the retries are the same request.
        event.timestamp = Some(Timestamp {
            send: now_ns(),
            receive: 0,
        });
        let deployment_id = event.deployment_id;
        let policy = args.retry_policy();
        let retried = retry::retry(
            &policy,
            || {
                let mut client = client.clone();
                let event = event.clone();
                async move {
                    client
                        .create_event(event)
                        .await
                        .map(tonic::Response::into_inner)
                }
            },
            |status, retry, delay| {
                // A note that cannot be written must not stop the create.
                let _ = writeln!(
                    notes,
                    "{}",
                    one_line(&format!(
                        "CreateEvent failed ({}); retry {retry} of {} in {} ms",
                        codes::describe(status),
                        policy.max_retries,
                        delay.as_millis()
                    ))
                );
            },
        )
        .await;
        let retries = retried.retries;
        let response = retried
            .result
            .map_err(|status| ClientError::Create { status, retries })?;
        writeln!(
            out,
            "{}",
            created_line(&response, deployment_id, retries, args.json)
        )?;
        if retries > 0 && !args.json {
            let _ = writeln!(
                notes,
                "The event was created after {retries} {}",
                if retries == 1 { "retry" } else { "retries" }
            );
        }
    }
    out.flush()?;
    Ok(())
}

/// `http://address:port` (IPv6 addresses in brackets).
pub fn server_url(address: &str, port: u16) -> String {
    if address.contains(':') && !address.starts_with('[') {
        format!("http://[{address}]:{port}")
    } else {
        format!("http://{address}:{port}")
    }
}

fn endpoint(args: &ClientArgs) -> Result<Endpoint, ClientError> {
    let target = server_url(&args.address, args.port);
    let endpoint = Endpoint::from_shared(target.clone()).map_err(|error| ClientError::Connect {
        target,
        reason: error_chain(&error),
    })?;
    Ok(endpoint.connect_timeout(args.timeout).timeout(args.timeout))
}

/// A client whose connection is made by its first call (and remade by tonic after a failure);
/// connection failures come back as `UNAVAILABLE` from the call.
fn connect_lazily(args: &ClientArgs) -> Result<ActivityEventsClient<Channel>, ClientError> {
    Ok(ActivityEventsClient::new(endpoint(args)?.connect_lazy()))
}

async fn connect(args: &ClientArgs) -> Result<ActivityEventsClient<Channel>, ClientError> {
    let target = server_url(&args.address, args.port);
    let failed = |reason: String| ClientError::Connect {
        target: target.clone(),
        reason,
    };
    let endpoint = endpoint(args)?;
    let channel = match tokio::time::timeout(args.timeout, endpoint.connect()).await {
        Ok(Ok(channel)) => channel,
        Ok(Err(error)) => return Err(failed(error_chain(&error))),
        Err(_) => return Err(failed(format!("no answer within {:?}", args.timeout))),
    };
    Ok(ActivityEventsClient::new(channel))
}

async fn list(
    client: &mut ActivityEventsClient<Channel>,
    args: &ClientArgs,
    out: &mut impl Write,
) -> Result<(), ClientError> {
    let mut stream = client
        .list_events(Deployment {
            id: args.deployment,
        })
        .await
        .map_err(ClientError::List)?
        .into_inner();
    loop {
        let next = tokio::time::timeout(args.timeout, stream.message())
            .await
            .map_err(|_| {
                ClientError::List(Status::deadline_exceeded(format!(
                    "no event within {:?}",
                    args.timeout
                )))
            })?;
        match next.map_err(ClientError::List)? {
            Some(event) => writeln!(out, "{}", listed_line(&event, args.json))?,
            None => return Ok(()),
        }
    }
}

/// An error and its sources, `: `-separated (tonic's own `Display` is just "transport error").
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> ClientArgs {
        let argv = platform::cli::rewrite_go_flags(args.iter().map(OsString::from), GO_FLAGS);
        ClientArgs::try_parse_from(argv).unwrap()
    }

    #[test]
    fn the_originals_flags_parse() {
        let args = parse(&[
            "activity-client",
            "-add",
            r#"{"id":1}"#,
            "-deployment",
            "-3",
            "-address",
            "10.0.0.5",
            "-port=6000",
        ]);
        assert_eq!(args.add.as_deref(), Some(r#"{"id":1}"#));
        assert_eq!(args.deployment, -3);
        assert_eq!((args.address.as_str(), args.port), ("10.0.0.5", 6000));
        assert!(!args.json);
        assert_eq!(args.timeout, Duration::from_secs(30));
        assert_eq!(args.retry_policy(), RetryPolicy::default());
    }

    #[test]
    fn retry_flags_parse_in_both_styles() {
        let args = parse(&[
            "activity-client",
            "-retries",
            "2",
            "-retry-for=3s",
            "--retry-delay",
            "50ms",
        ]);
        assert_eq!(
            args.retry_policy(),
            RetryPolicy {
                max_retries: 2,
                first_delay: Duration::from_millis(50),
                max_delay: Duration::from_secs(5),
                budget: Duration::from_secs(3),
            }
        );
        assert_eq!(parse(&["activity-client", "--retries", "0"]).retries, 0);
        let argv = ["activity-client", "--retry-for", "0"].map(OsString::from);
        assert!(ClientArgs::try_parse_from(argv).is_err());
    }

    #[test]
    fn long_flags_and_defaults() {
        let args = parse(&[
            "activity-client",
            "--deployment",
            "2",
            "--json",
            "--timeout",
            "500ms",
        ]);
        assert_eq!(args.deployment, 2);
        assert_eq!((args.address.as_str(), args.port), ("127.0.0.1", 50051));
        assert!(args.json);
        assert_eq!(args.timeout, Duration::from_millis(500));
        let argv = ["activity-client", "--timeout", "0"].map(OsString::from);
        assert!(ClientArgs::try_parse_from(argv).is_err());
    }

    #[test]
    fn help_has_examples() {
        ClientArgs::command().debug_assert();
        let help = ClientArgs::command().render_long_help().to_string();
        assert!(help.contains("Examples:"), "{help}");
        assert!(help.contains("-deployment 1"), "{help}");
        for retry in ["--retries", "--retry-for", "--retry-delay", "[default: 5]"] {
            assert!(help.contains(retry), "{retry} in {help}");
        }
    }

    #[test]
    fn urls_bracket_ipv6() {
        assert_eq!(server_url("127.0.0.1", 1), "http://127.0.0.1:1");
        assert_eq!(server_url("::1", 2), "http://[::1]:2");
        assert_eq!(server_url("[::1]", 3), "http://[::1]:3");
    }

    #[test]
    fn errors_are_one_line_with_the_grpc_code() {
        let error = ClientError::Create {
            status: Status::already_exists("event 8\nalready exists"),
            retries: 0,
        };
        assert_eq!(
            one_line(&error.to_string()),
            "Could not create Event: rpc error: code = AlreadyExists desc = event 8 already exists"
        );
        assert_eq!(error.exit_code(), 1);
        let error = ClientError::Create {
            status: Status::unavailable("down"),
            retries: 3,
        };
        assert_eq!(
            error.to_string(),
            "Could not create Event: rpc error: code = Unavailable desc = down \
             (gave up after 3 retries)"
        );
        assert_eq!(ClientError::NothingToDo.exit_code(), 2);
    }

    #[tokio::test]
    async fn usage_errors_exit_2_and_help_exits_0() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(main_with(["activity-client"], &mut out, &mut err).await, 2);
        let text = String::from_utf8(err).unwrap();
        assert!(text.contains("Usage:"), "{text}");
        assert!(text.contains("nothing to do"), "{text}");

        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            main_with(["activity-client", "-help"], &mut out, &mut err).await,
            0
        );
        assert!(String::from_utf8(out).unwrap().contains("Examples:"));

        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            main_with(["activity-client", "-port", "x"], &mut out, &mut err).await,
            2
        );
        assert!(!err.is_empty());
    }

    #[tokio::test]
    async fn bad_json_fails_before_connecting() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        // Port 1: nothing listens; the JSON is refused before any connection is tried.
        let code = main_with(
            ["activity-client", "-port", "1", "-add", "{not json"],
            &mut out,
            &mut err,
        )
        .await;
        assert_eq!(code, 1);
        let text = String::from_utf8(err).unwrap();
        assert!(
            text.starts_with("Unable to parse {not json as json data"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1);
    }

    #[tokio::test]
    async fn connection_refused_is_one_line() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = main_with(
            [
                "activity-client",
                "-port",
                "1",
                "-deployment",
                "1",
                "--timeout",
                "5s",
            ],
            &mut out,
            &mut err,
        )
        .await;
        assert_eq!(code, 1);
        let text = String::from_utf8(err).unwrap();
        assert!(
            text.starts_with("Could not connect to the server at http://127.0.0.1:1"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(out.is_empty());
    }
}
