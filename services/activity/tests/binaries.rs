//! The real binaries: `activity-server` against MySQL, driven by `activity-client` as a user
//! would, then stopped with SIGTERM.
#![allow(clippy::unwrap_used)]

mod support;

use std::{process::Stdio, time::Duration};

use support::TestDb;
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::{Child, Command},
};

const SERVER: &str = env!("CARGO_BIN_EXE_activity-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_activity-client");

struct ServerProcess {
    child: Child,
    port: u16,
    log: tokio::task::JoinHandle<Vec<String>>,
}

/// Starts activity-server on free ports and waits for "Server has been started on <port>".
async fn start_server(db: &TestDb) -> ServerProcess {
    let parts = &db.parts;
    let mut child = Command::new(SERVER)
        .env_remove("PORT")
        .env_remove("RUST_LOG")
        .env("LOG_FORMAT", "json")
        .env("ACTIVITY__PORT", "0")
        .env("ACTIVITY__ADMIN_PORT", "0")
        .env("ACTIVITY__DB__HOST", &parts.host)
        .env("ACTIVITY__DB__PORT", parts.port.to_string())
        .env("ACTIVITY__DB__NAME", &parts.name)
        .env("ACTIVITY__DB__USER", &parts.user)
        .env("ACTIVITY__DB__PASSWORD", &parts.password)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("starting activity-server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (port_tx, port_rx) = tokio::sync::oneshot::channel::<u16>();
    let log = tokio::spawn(async move {
        let mut port_tx = Some(port_tx);
        let mut seen = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split("Server has been started on ").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                if let (Some(tx), Ok(port)) = (port_tx.take(), digits.parse()) {
                    let _ = tx.send(port);
                }
            }
            seen.push(line);
        }
        seen
    });
    let port = tokio::time::timeout(Duration::from_secs(30), port_rx)
        .await
        .expect("activity-server starts within 30 s")
        .expect("activity-server logged its port");
    ServerProcess { child, port, log }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn client(args: &[&str]) -> Run {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(CLIENT).args(args).kill_on_drop(true).output(),
    )
    .await
    .expect("activity-client finishes within 60 s")
    .expect("running activity-client");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test]
async fn the_client_adds_and_lists_through_the_real_server_which_stops_on_sigterm() {
    let db = TestDb::create().await;
    let mut server = start_server(&db).await;
    let port = server.port.to_string();

    let run = client(&[
        "-port",
        &port,
        "-add",
        r#"{"id":1, "deployment_id": 1, "message":"Deployment has beed created successfully"}"#,
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("An event created with id [1] for deployment_id [1] in "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.trim_end().ends_with(" ms"), "{}", run.stdout);

    // Listed first, then added, in one run (the original's order).
    let run = client(&[
        "--port",
        &port,
        "-deployment",
        "1",
        "--add",
        r#"{"id":2,"deployment_id":1,"message":"second"}"#,
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert!(
        lines[0].starts_with(
            "Event: id:1 message:\"Deployment has beed created successfully\" timestamp:<send:"
        ),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(" receive:"), "{}", lines[0]);
    assert!(lines[0].ends_with("> deployment_id:1"), "{}", lines[0]);
    assert!(
        lines[1].starts_with("An event created with id [2]"),
        "{}",
        lines[1]
    );

    let run = client(&["-port", &port, "-deployment", "1", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listed: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], 1);
    assert_eq!(listed[1]["message"], "second");
    assert!(listed[1]["timestamp"]["receive"].as_i64().unwrap() > 0);

    // Failures: one line on stderr, non-zero status.
    let run = client(&["-port", &port, "-add", "{not json"]).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("Unable to parse {not json as json data"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    let run = client(&[
        "-port",
        &port,
        "-add",
        r#"{"id":0,"deployment_id":1,"message":"bad id"}"#,
    ])
    .await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(
            "Could not create Event: rpc error: code = InvalidArgument desc = id must be"
        ),
        "{}",
        run.stderr
    );
    let run = client(&[
        "-port",
        &port,
        "-add",
        r#"{"id":1,"deployment_id":1,"message":"impostor"}"#,
    ])
    .await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("code = AlreadyExists"),
        "{}",
        run.stderr
    );
    let run = client(&["-port", &port, "-deployment", "-1"]).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("Error on get events: rpc error: code = InvalidArgument"),
        "{}",
        run.stderr
    );

    // SIGTERM: a clean exit, with the drain logged.
    let pid = server.child.id().expect("the server is running");
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), server.child.wait())
        .await
        .expect("activity-server exits within 30 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let log = server.log.await.unwrap().join("\n");
    assert!(log.contains("received SIGTERM"), "{log}");
    assert!(log.contains("activity-server stopped"), "{log}");

    // Nothing listens any more: the client says so on one line.
    let run = client(&["-port", &port, "-deployment", "1", "--timeout", "5s"]).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(&format!(
            "Could not connect to the server at http://127.0.0.1:{port}"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
}

#[tokio::test]
async fn running_the_same_add_again_succeeds_with_the_first_answer() {
    let db = TestDb::create().await;
    let mut server = start_server(&db).await;
    let port = server.port.to_string();
    let add = r#"{"id":1,"deployment_id":1,"message":"Deployment has beed created successfully"}"#;
    let first = client(&["-port", &port, "-add", add]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    tokio::time::sleep(Duration::from_millis(30)).await;
    // A new send time, the same event: the same line (the first call's time), stored once.
    let again = client(&["-port", &port, "-add", add]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout, first.stdout);
    // Another deployment numbers its events from 1 too.
    let other = client(&[
        "-port",
        &port,
        "-add",
        r#"{"id":1,"deployment_id":2,"message":"another deployment"}"#,
    ])
    .await;
    assert_eq!(other.code, 0, "{}", other.stderr);
    assert!(
        other
            .stdout
            .starts_with("An event created with id [1] for deployment_id [2] in "),
        "{}",
        other.stdout
    );
    let listed = client(&["-port", &port, "-deployment", "1"]).await;
    assert_eq!(listed.stdout.lines().count(), 1, "{}", listed.stdout);
    let _ = server.child.start_kill();
    let _ = server.child.wait().await;
}

#[tokio::test]
async fn the_client_explains_itself_without_a_server() {
    let run = client(&["--help"]).await;
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("Examples:"), "{}", run.stdout);
    assert!(run.stdout.contains("-deployment 1"), "{}", run.stdout);
    for flag in [
        "--add",
        "--deployment",
        "--address",
        "--port",
        "--json",
        "--timeout",
        "--retries",
        "--retry-for",
        "--retry-delay",
    ] {
        assert!(run.stdout.contains(flag), "{flag} in {}", run.stdout);
    }

    let run = client(&[]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("Usage:"), "{}", run.stderr);
    assert!(run.stdout.is_empty());

    let run = client(&["-deployment", "many"]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("invalid value"), "{}", run.stderr);

    let server_help = Command::new(SERVER).arg("--help").output().await.unwrap();
    assert!(server_help.status.success());
    let text = String::from_utf8_lossy(&server_help.stdout);
    assert!(
        text.contains("Example:") && text.contains("ACTIVITY__"),
        "{text}"
    );
}
