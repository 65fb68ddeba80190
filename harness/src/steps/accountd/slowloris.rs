//! accountd against slowloris: accountd runs as a process of its own with short connection
//! timers, many connections trickle a request header one byte at a time (or send one request
//! and then stay silent), and the steps measure when accountd closes each of them, how many
//! sockets the process holds (`/proc/<pid>/fd`), and that ordinary requests are answered
//! meanwhile.

use std::time::{Duration, Instant};

use cucumber::{given, then, when};
use harness::launch::process::ChildService;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use super::{super::world::MockVideoWorld, flood::start_process};

/// The start of a request whose header never ends.
const PARTIAL_HEADER: &[u8] = b"GET /users HTTP/1.1\r\nhost: accountd\r\nx-slow: ";

/// Longest the steps wait for accountd to close a connection (the scenarios configure timers of
/// a few seconds; this keeps a failing scenario bounded too).
const CLOSE_LIMIT: Duration = Duration::from_secs(20);

#[given(
    expr = "accountd runs as a process of its own on a fresh database with a {int} s header-read timeout and a {int} s idle timeout"
)]
async fn accountd_with_connection_timers(
    world: &mut MockVideoWorld,
    header_secs: u64,
    idle_secs: u64,
) -> anyhow::Result<()> {
    let settings = [
        (
            "ACCOUNTD__CONNECTIONS__HEADER_READ_TIMEOUT",
            format!("{header_secs}s"),
        ),
        (
            "ACCOUNTD__CONNECTIONS__IDLE_TIMEOUT",
            format!("{idle_secs}s"),
        ),
    ];
    start_process(world, "accountd_slowloris", &settings).await
}

fn address(world: &MockVideoWorld) -> String {
    world
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

fn pid(world: &MockVideoWorld) -> u32 {
    world
        .accountd
        .process
        .as_ref()
        .and_then(ChildService::pid)
        .expect("accountd runs as a process of this scenario")
}

/// Sockets the process holds now (listener, database pool and client connections).
fn open_sockets(pid: u32) -> usize {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_link(entry.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

/// Opens a connection, sends `first`, then one more byte every `drip` (none when `None`), and
/// returns how long after connecting accountd closed it (`None`: still open after `limit`).
async fn hold_open(
    address: String,
    first: &'static [u8],
    drip: Option<Duration>,
    limit: Duration,
) -> Option<Duration> {
    let mut stream = TcpStream::connect(&address)
        .await
        .unwrap_or_else(|error| panic!("connecting to accountd at {address}: {error}"));
    let opened = Instant::now();
    stream
        .write_all(first)
        .await
        .unwrap_or_else(|error| panic!("sending to accountd at {address}: {error}"));
    let (mut reader, mut writer) = stream.into_split();
    let closed = async {
        let mut buffer = [0_u8; 4096];
        // Whatever accountd answers is read and dropped; the end of the stream (or a reset)
        // means it closed the connection.
        while let Ok(read) = reader.read(&mut buffer).await {
            if read == 0 {
                break;
            }
        }
    };
    let drip = async {
        let Some(every) = drip else {
            return std::future::pending::<()>().await;
        };
        loop {
            tokio::time::sleep(every).await;
            if writer.write_all(b"a").await.is_err() {
                // Writing fails once accountd has closed: the reader sees it too.
                return std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = closed => Some(opened.elapsed()),
        () = drip => None,
        () = tokio::time::sleep(limit) => None,
    }
}

#[when(
    expr = "{int} connections send a partial request header, one more byte every {int} ms, while ordinary requests are sent"
)]
async fn slowloris(world: &mut MockVideoWorld, connections: usize, drip_ms: u64) {
    let address = address(world);
    let pid = pid(world);
    let before = open_sockets(pid);
    let slow: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(hold_open(
                address.clone(),
                PARTIAL_HEADER,
                Some(Duration::from_millis(drip_ms)),
                CLOSE_LIMIT,
            ))
        })
        .collect();
    // Ordinary requests while the slow connections are open: one every 100 ms for a second.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = open_sockets(pid);
    let url = format!("{}/users", world.base_url());
    let mut answered = Vec::new();
    for _ in 0..10 {
        let status = match world.http.get(&url).send().await {
            Ok(answer) => answer.status().as_u16(),
            Err(error) => panic!("GET /users during the slowloris: {error}"),
        };
        answered.push(status);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut closed = Vec::with_capacity(connections);
    for task in slow {
        closed.push(task.await.expect("a slow connection's task"));
    }
    let after = open_sockets(pid);
    println!(
        "[accountd] sockets held: {before} before, {during} with {connections} slow connections open, {after} after they were reaped"
    );
    world.accountd.slow_connections = closed;
    world.accountd.answered_meanwhile = answered;
}

#[then(expr = "accountd answered every ordinary request with {int}")]
fn answered_meanwhile(world: &mut MockVideoWorld, status: u16) {
    let answered = &world.accountd.answered_meanwhile;
    assert!(!answered.is_empty(), "no ordinary request was sent");
    assert!(
        answered.iter().all(|answer| *answer == status),
        "answers while the slow connections were open: {answered:?}"
    );
}

#[then(
    expr = "accountd closed all {int} slow connections between {int} s and {int} s after they opened"
)]
fn all_reaped(
    world: &mut MockVideoWorld,
    connections: usize,
    earliest_secs: u64,
    latest_secs: u64,
) {
    let closed = &world.accountd.slow_connections;
    let mut times: Vec<Duration> = closed.iter().flatten().copied().collect();
    times.sort();
    let still_open = closed.len() - times.len();
    let (first, median, last) = match (times.first(), times.get(times.len() / 2), times.last()) {
        (Some(first), Some(median), Some(last)) => (*first, *median, *last),
        _ => (Duration::ZERO, Duration::ZERO, Duration::ZERO),
    };
    println!(
        "[accountd] slowloris: {} of {} connections reaped (first after {:.2} s, median {:.2} s, last {:.2} s), {still_open} still open",
        times.len(),
        closed.len(),
        first.as_secs_f64(),
        median.as_secs_f64(),
        last.as_secs_f64()
    );
    assert_eq!(closed.len(), connections, "connections opened");
    assert_eq!(still_open, 0, "slow connections accountd did not close");
    assert!(
        first >= Duration::from_secs(earliest_secs),
        "a slow connection was closed after {first:?}, before {earliest_secs} s"
    );
    assert!(
        last <= Duration::from_secs(latest_secs),
        "a slow connection was closed only after {last:?}"
    );
}

#[when("a client sends one complete request on a kept-alive connection and then stays silent")]
async fn idle_after_a_response(world: &mut MockVideoWorld) {
    let address = address(world);
    let closed = hold_open(
        address,
        b"GET /users HTTP/1.1\r\nhost: accountd\r\n\r\n",
        None,
        CLOSE_LIMIT,
    )
    .await;
    world.accountd.slow_connections = vec![closed];
}

#[then(expr = "accountd closed that connection between {int} s and {int} s after it opened")]
fn idle_closed(world: &mut MockVideoWorld, earliest_secs: u64, latest_secs: u64) {
    let closed = world
        .accountd
        .slow_connections
        .first()
        .copied()
        .flatten()
        .expect("accountd closed the idle connection");
    println!(
        "[accountd] idle kept-alive connection closed {:.2} s after it opened",
        closed.as_secs_f64()
    );
    assert!(
        closed >= Duration::from_secs(earliest_secs) && closed <= Duration::from_secs(latest_secs),
        "closed after {closed:?}"
    );
}

#[then(expr = "accountd still answers GET \\/users with {int}")]
async fn still_answers(world: &mut MockVideoWorld, status: u16) {
    let url = format!("{}/users", world.base_url());
    let answer = world
        .http
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|error| panic!("GET /users: {error}"));
    assert_eq!(answer.status().as_u16(), status);
}
