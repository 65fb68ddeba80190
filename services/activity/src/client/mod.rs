//! activity-client as a library: the binary is a thin wrapper around [`main_with`], and tests
//! run [`run`] or [`main_with`] in-process.
//!
//! Flags keep the original's names and single-dash Go style (`-add JSON`, `-deployment N`,
//! `-address HOST`, `-port N`; `--add` etc. work too). As in the original, a non-zero
//! `-deployment` is listed first, then `-add` creates its event with `timestamp.send` set to
//! now. Unlike the original, the `-add` JSON is checked before anything is sent, the output
//! goes to stdout (one line per event, or JSON with `--json`), and every failure exits
//! non-zero with a one-line reason on stderr.

mod add_json;
mod output;

use std::{ffi::OsString, io::Write, time::Duration};

use clap::{CommandFactory as _, Parser};
use platform::cli::GoFlag;
use tonic::{
    transport::{Channel, Endpoint},
    Status,
};

pub use add_json::parse_event;
pub use output::{created_line, listed_line};

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
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let timeout = platform::http::parse_duration(text)?;
    if timeout.is_zero() {
        return Err("the timeout must be greater than zero".to_owned());
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
    /// `CreateEvent` failed.
    #[error("Could not create Event: {}", codes::describe(.0))]
    Create(Status),
    /// Stdout could not be written.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
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
    match run(args, stdout).await {
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
/// (when given), writing one line per result to `out`.
pub async fn run(args: ClientArgs, out: &mut impl Write) -> Result<(), ClientError> {
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
    let mut client = connect(&args).await?;
    if args.deployment != 0 {
        list(&mut client, &args, out).await?;
    }
    if let Some(mut event) = event {
        event.timestamp = Some(Timestamp {
            send: now_ns(),
            receive: 0,
        });
        let deployment_id = event.deployment_id;
        let response = client
            .create_event(event)
            .await
            .map_err(ClientError::Create)?
            .into_inner();
        writeln!(out, "{}", created_line(&response, deployment_id, args.json))?;
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

async fn connect(args: &ClientArgs) -> Result<ActivityEventsClient<Channel>, ClientError> {
    let target = server_url(&args.address, args.port);
    let failed = |reason: String| ClientError::Connect {
        target: target.clone(),
        reason,
    };
    let endpoint = Endpoint::from_shared(target.clone())
        .map_err(|error| failed(error_chain(&error)))?
        .connect_timeout(args.timeout)
        .timeout(args.timeout);
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
    }

    #[test]
    fn urls_bracket_ipv6() {
        assert_eq!(server_url("127.0.0.1", 1), "http://127.0.0.1:1");
        assert_eq!(server_url("::1", 2), "http://[::1]:2");
        assert_eq!(server_url("[::1]", 3), "http://[::1]:3");
    }

    #[test]
    fn errors_are_one_line_with_the_grpc_code() {
        let error = ClientError::Create(Status::already_exists("event 8\nalready exists"));
        assert_eq!(
            one_line(&error.to_string()),
            "Could not create Event: rpc error: code = AlreadyExists desc = event 8 already exists"
        );
        assert_eq!(error.exit_code(), 1);
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
