//! What each toxic does to a real connection, measured against what was asked.

use std::{
    io::ErrorKind,
    time::{Duration, Instant},
};

use fault_proxy::{Direction, ToxicKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{
    add, connect, echo, median, pattern, proxy_to, read_to_close, round_trip, source, PROXY, STEP,
};

#[tokio::test]
async fn latency_delays_each_answer_by_what_was_asked_at_the_median() {
    let (proxies, listen) = proxy_to(echo().await).await;
    let latency = ToxicKind::Latency {
        latency: 100,
        jitter: 0,
    };
    add(&proxies, latency, Direction::Downstream, 1.0).await;
    let mut stream = connect(listen).await;
    let mut samples = Vec::new();
    for _ in 0..9 {
        samples.push(round_trip(&mut stream).await);
    }
    let p50 = median(samples);
    println!("latency 100 ms asked: p50 {p50:?}");
    assert!(
        (Duration::from_millis(90)..=Duration::from_millis(110)).contains(&p50),
        "p50 {p50:?} is not within 10% of 100 ms"
    );
}

#[tokio::test]
async fn a_toxic_added_to_an_open_connection_takes_effect_on_it_and_leaves_with_its_removal() {
    let (proxies, listen) = proxy_to(echo().await).await;
    let mut stream = connect(listen).await;
    assert!(round_trip(&mut stream).await < Duration::from_millis(50));

    let latency = ToxicKind::Latency {
        latency: 150,
        jitter: 0,
    };
    let toxic = add(&proxies, latency, Direction::Upstream, 1.0).await;
    let slowed = round_trip(&mut stream).await;
    assert!(slowed >= Duration::from_millis(140), "{slowed:?}");

    proxies.remove_toxic(PROXY, &toxic.name).await.unwrap();
    let healed = round_trip(&mut stream).await;
    assert!(healed < Duration::from_millis(50), "{healed:?}");
}

#[tokio::test]
async fn bandwidth_caps_the_throughput_at_the_rate_asked() {
    const BYTES: usize = 200_000;
    let (proxies, listen) = proxy_to(source(pattern(BYTES)).await).await;
    add(
        &proxies,
        ToxicKind::Bandwidth { rate: 100 },
        Direction::Downstream,
        1.0,
    )
    .await;
    let started = Instant::now();
    let mut stream = connect(listen).await;
    let (received, ended) = read_to_close(&mut stream).await;
    let elapsed = started.elapsed();
    ended.unwrap();
    assert_eq!(received, pattern(BYTES), "the bytes arrive intact");
    let rate = BYTES as f64 / elapsed.as_secs_f64() / 1000.0;
    println!("bandwidth 100 KB/s asked: {rate:.1} KB/s ({BYTES} bytes in {elapsed:?})");
    assert!(
        (85.0..=115.0).contains(&rate),
        "{rate:.1} KB/s is not within 15% of 100 KB/s"
    );
}

#[tokio::test]
async fn timeout_passes_no_data_then_closes_after_the_time_asked() {
    let (proxies, listen) = proxy_to(echo().await).await;
    add(
        &proxies,
        ToxicKind::Timeout { timeout: 300 },
        Direction::Downstream,
        1.0,
    )
    .await;
    let mut stream = connect(listen).await;
    let started = Instant::now();
    stream.write_all(b"hello").await.unwrap();
    let (received, _) = read_to_close(&mut stream).await;
    let held = started.elapsed();
    println!("timeout 300 ms asked: closed after {held:?}");
    assert!(received.is_empty(), "no data passes: got {received:?}");
    assert!(
        (Duration::from_millis(280)..=Duration::from_millis(400)).contains(&held),
        "closed after {held:?}, not 300 ms"
    );
}

#[tokio::test]
async fn timeout_zero_holds_the_connection_until_the_toxic_goes() {
    let (proxies, listen) = proxy_to(echo().await).await;
    let toxic = add(
        &proxies,
        ToxicKind::Timeout { timeout: 0 },
        Direction::Downstream,
        1.0,
    )
    .await;
    let mut stream = connect(listen).await;
    stream.write_all(b"hello").await.unwrap();
    let mut buffer = [0_u8; 16];
    let read = tokio::time::timeout(Duration::from_millis(400), stream.read(&mut buffer)).await;
    assert!(read.is_err(), "held open, silent: got {read:?}");

    // The data it swallowed is lost, so removing it closes the connection (as in Toxiproxy).
    proxies.remove_toxic(PROXY, &toxic.name).await.unwrap();
    let (received, _) = read_to_close(&mut stream).await;
    assert!(received.is_empty());
    let mut fresh = connect(listen).await;
    assert!(round_trip(&mut fresh).await < Duration::from_millis(50));
}

#[tokio::test]
async fn reset_peer_gives_the_client_econnreset_after_the_time_asked() {
    let (proxies, listen) = proxy_to(echo().await).await;
    add(
        &proxies,
        ToxicKind::ResetPeer { timeout: 200 },
        Direction::Downstream,
        1.0,
    )
    .await;
    let mut stream = connect(listen).await;
    let started = Instant::now();
    stream.write_all(b"hello").await.unwrap();
    let (received, ended) = read_to_close(&mut stream).await;
    let after = started.elapsed();
    println!("reset_peer 200 ms asked: reset after {after:?}");
    assert!(received.is_empty());
    assert_eq!(
        ended.map_err(|error| error.kind()),
        Err(ErrorKind::ConnectionReset)
    );
    assert!(after >= Duration::from_millis(190), "reset after {after:?}");
}

#[tokio::test]
async fn slicer_delivers_the_bytes_intact_in_several_reads() {
    let (proxies, listen) = proxy_to(echo().await).await;
    let slicer = ToxicKind::Slicer {
        average_size: 10,
        size_variation: 5,
        delay: 2000,
    };
    add(&proxies, slicer, Direction::Downstream, 1.0).await;
    let mut stream = connect(listen).await;
    let message = pattern(300);
    stream.write_all(&message).await.unwrap();
    let mut received = Vec::new();
    let mut reads = 0;
    let mut buffer = [0_u8; 1024];
    tokio::time::timeout(STEP, async {
        while received.len() < message.len() {
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(n > 0, "closed early");
            received.extend_from_slice(&buffer[..n]);
            reads += 1;
        }
    })
    .await
    .unwrap();
    println!("slicer 10±5 bytes asked: 300 bytes in {reads} reads");
    assert_eq!(received, message);
    assert!(reads >= 5, "only {reads} reads");
}

#[tokio::test]
async fn limit_data_closes_after_exactly_the_bytes_asked() {
    let (proxies, listen) = proxy_to(source(pattern(10_000)).await).await;
    add(
        &proxies,
        ToxicKind::LimitData { bytes: 1000 },
        Direction::Downstream,
        1.0,
    )
    .await;
    let mut stream = connect(listen).await;
    let (received, _) = read_to_close(&mut stream).await;
    assert_eq!(received.len(), 1000);
    assert_eq!(received, pattern(10_000)[..1000]);
}

#[tokio::test]
async fn slow_close_delays_the_close_by_the_time_asked() {
    let (proxies, listen) = proxy_to(source(b"bye".to_vec()).await).await;
    add(
        &proxies,
        ToxicKind::SlowClose { delay: 300 },
        Direction::Downstream,
        1.0,
    )
    .await;
    let started = Instant::now();
    let mut stream = connect(listen).await;
    let (received, ended) = read_to_close(&mut stream).await;
    let closed = started.elapsed();
    ended.unwrap();
    assert_eq!(received, b"bye");
    assert!(
        closed >= Duration::from_millis(290),
        "closed after {closed:?}"
    );
}

#[tokio::test]
async fn toxicity_zero_never_applies() {
    let (proxies, listen) = proxy_to(echo().await).await;
    let latency = ToxicKind::Latency {
        latency: 300,
        jitter: 0,
    };
    add(&proxies, latency, Direction::Downstream, 0.0).await;
    for _ in 0..10 {
        let mut stream = connect(listen).await;
        let took = round_trip(&mut stream).await;
        assert!(took < Duration::from_millis(100), "{took:?}");
    }
}
