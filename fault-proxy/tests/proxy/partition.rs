//! Partitions: a disabled proxy cuts its open connections at once and refuses new ones; enabling
//! it heals the link; a reset heals every link and removes every toxic.

use std::time::{Duration, Instant};

use fault_proxy::{Direction, ToxicKind};
use tokio::{io::AsyncReadExt, net::TcpStream};

use crate::helpers::{add, connect, echo, proxy_to, read_to_close, round_trip, PROXY};

/// Whether a new connection to `listen` is refused, or closed before it carries anything.
async fn refused(listen: std::net::SocketAddr) -> bool {
    match TcpStream::connect(listen).await {
        Err(_) => true,
        Ok(mut stream) => {
            let mut buffer = [0_u8; 8];
            let read = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buffer)).await;
            matches!(read, Ok(Ok(0) | Err(_)))
        }
    }
}

#[tokio::test]
async fn disabling_cuts_open_connections_within_100_ms_and_enabling_heals() {
    let (proxies, listen) = proxy_to(echo().await).await;
    let mut open = connect(listen).await;
    round_trip(&mut open).await;

    let reader = tokio::spawn(async move {
        let _closed = read_to_close(&mut open).await;
        Instant::now()
    });
    let cut_at = Instant::now();
    let info = proxies.set_enabled(PROXY, false).await.unwrap();
    assert!(!info.enabled);
    let closed_at = reader.await.unwrap();
    let took = closed_at.saturating_duration_since(cut_at);
    println!("disable: the open connection was cut after {took:?}");
    assert!(took < Duration::from_millis(100), "cut after {took:?}");
    assert!(
        refused(listen).await,
        "a disabled proxy refuses new connections"
    );

    let info = proxies.set_enabled(PROXY, true).await.unwrap();
    assert!(info.enabled);
    assert_eq!(
        info.listen,
        listen.to_string(),
        "healed on the same address"
    );
    let mut healed = connect(listen).await;
    assert!(round_trip(&mut healed).await < Duration::from_millis(50));
}

#[tokio::test]
async fn reset_enables_every_proxy_and_removes_every_toxic() {
    let (proxies, listen) = proxy_to(echo().await).await;
    let latency = ToxicKind::Latency {
        latency: 200,
        jitter: 0,
    };
    add(&proxies, latency, Direction::Downstream, 1.0).await;
    proxies.set_enabled(PROXY, false).await.unwrap();

    proxies.reset().await;
    let info = proxies.get(PROXY).await.unwrap();
    assert!(info.enabled);
    assert!(info.toxics.is_empty());
    let mut stream = connect(listen).await;
    assert!(round_trip(&mut stream).await < Duration::from_millis(50));
}
