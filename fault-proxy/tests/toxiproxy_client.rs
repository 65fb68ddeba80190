//! A Toxiproxy client from crates.io, not written here (`toxiproxy_rust`, blocking, over
//! reqwest), drives `fault-proxy`'s admin API: populates a proxy, adds a `latency` toxic, sees it
//! on a live connection, removes it, cuts and heals the link.
// Test code unwraps: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used)]

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use fault_proxy::{admin, Proxies};
use toxiproxy_rust::{client::Client, proxy::ProxyPack};

/// Starts an echo server and the admin API on free loopback ports, on a runtime of their own
/// (the client blocks); answers their addresses and the runtime that keeps them alive.
fn start() -> (tokio::runtime::Runtime, SocketAddr, SocketAddr) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (admin_address, echo_address) = runtime.block_on(async {
        let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let echo_address = echo.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let (mut reader, mut writer) = stream.split();
                    let _ = tokio::io::copy(&mut reader, &mut writer).await;
                });
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin_address = listener.local_addr().unwrap();
        tokio::spawn(admin::serve(
            Proxies::new(),
            listener,
            std::future::pending(),
        ));
        (admin_address, echo_address)
    });
    (runtime, admin_address, echo_address)
}

/// The time a 4-byte message takes there and back.
fn round_trip(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    stream.write_all(b"ping").unwrap();
    let mut answer = [0_u8; 4];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"ping");
    started.elapsed()
}

#[test]
fn a_published_toxiproxy_client_adds_and_removes_latency() {
    let (_runtime, admin_address, echo_address) = start();
    let client = Client::new(admin_address);
    assert!(client.is_running());
    assert!(client.version().unwrap().contains("version"));

    let populated = client
        .populate(vec![ProxyPack::new(
            "echo".into(),
            "127.0.0.1:0".into(),
            echo_address.to_string(),
        )])
        .unwrap();
    assert_eq!(populated.len(), 1);
    let listen = populated[0].proxy_pack.listen.clone();
    let mut stream = TcpStream::connect(&listen).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.set_nodelay(true).unwrap();
    assert!(round_trip(&mut stream) < Duration::from_millis(50));

    let proxy = client.find_proxy("echo").unwrap();
    proxy.with_latency("downstream".into(), 200, 0, 1.0);
    let toxics = proxy.toxics().unwrap();
    assert_eq!(toxics.len(), 1);
    assert_eq!(
        (toxics[0].name.as_str(), toxics[0].r#type.as_str()),
        ("latency_downstream", "latency")
    );
    assert_eq!(toxics[0].attributes.get("latency"), Some(&200));
    let slowed = round_trip(&mut stream);
    println!("toxiproxy_rust: latency 200 ms asked, round trip {slowed:?}");
    assert!(slowed >= Duration::from_millis(190), "{slowed:?}");

    proxy.delete_all_toxics().unwrap();
    assert!(proxy.toxics().unwrap().is_empty());
    assert!(round_trip(&mut stream) < Duration::from_millis(50));

    proxy.disable().unwrap();
    assert!(!client.find_proxy("echo").unwrap().proxy_pack.enabled);
    proxy.enable().unwrap();
    let mut healed = TcpStream::connect(&listen).unwrap();
    healed
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert!(round_trip(&mut healed) < Duration::from_millis(50));
    client.reset().unwrap();
    assert_eq!(client.all().unwrap().len(), 1);
}
