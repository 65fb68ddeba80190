//! Servers to proxy to (an echo, a source of bytes), a proxy in front of them, and measurements.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use fault_proxy::{Direction, Proxies, ProxyConfig, Toxic, ToxicKind};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// The name of the proxy every test makes.
pub const PROXY: &str = "under-test";

/// The most any single step of a test waits.
pub const STEP: Duration = Duration::from_secs(5);

/// An echo server on a free loopback port: every connection gets back what it sends.
pub async fn echo() -> SocketAddr {
    serve(|mut stream| async move {
        let mut buffer = vec![0_u8; 16 * 1024];
        while let Ok(n) = stream.read(&mut buffer).await {
            if n == 0 || stream.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
    })
    .await
}

/// A server that sends `bytes` to every connection, then closes.
pub async fn source(bytes: Vec<u8>) -> SocketAddr {
    serve(move |mut stream| {
        let bytes = bytes.clone();
        async move {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
            // Reads until the peer closes, so our close is a clean FIN.
            let mut sink = [0_u8; 1024];
            let _ = tokio::time::timeout(STEP, async {
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            })
            .await;
        }
    })
    .await
}

async fn serve<F, Fut>(handle: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handle(stream));
        }
    });
    address
}

/// A registry with one enabled proxy, [`PROXY`], from a free loopback port to `upstream`.
pub async fn proxy_to(upstream: SocketAddr) -> (Proxies, SocketAddr) {
    let proxies = Proxies::new();
    let info = proxies
        .create(ProxyConfig::new(PROXY, "127.0.0.1:0", upstream.to_string()))
        .await
        .unwrap();
    (proxies, info.listen.parse().unwrap())
}

/// A connection through the proxy at `listen`.
pub async fn connect(listen: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(listen).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Adds a toxic of `kind` on `stream` with `toxicity` to [`PROXY`].
pub async fn add(proxies: &Proxies, kind: ToxicKind, stream: Direction, toxicity: f32) -> Toxic {
    let toxic = Toxic {
        toxicity,
        ..Toxic::new(kind, stream)
    };
    proxies.add_toxic(PROXY, toxic).await.unwrap()
}

/// The time a 4-byte message takes there and back through an echo.
pub async fn round_trip(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    stream.write_all(b"ping").await.unwrap();
    let mut answer = [0_u8; 4];
    tokio::time::timeout(STEP, stream.read_exact(&mut answer))
        .await
        .expect("the echo answers in time")
        .unwrap();
    assert_eq!(&answer, b"ping");
    started.elapsed()
}

/// The median of `samples`.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// `len` bytes of a recognisable pattern.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|index| (index % 251) as u8).collect()
}

/// Everything `stream` gives until it is closed (cleanly or by a reset), and how it ended.
pub async fn read_to_close(stream: &mut TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    let mut received = Vec::new();
    let mut buffer = vec![0_u8; 16 * 1024];
    let ended = tokio::time::timeout(STEP, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) => return Ok(()),
                Ok(n) => received.extend_from_slice(&buffer[..n]),
                Err(error) => return Err(error),
            }
        }
    })
    .await
    .expect("the connection closes in time");
    (received, ended)
}
