//! A dependency that hangs: a loopback listener that accepts connections and never answers a
//! byte, standing in for a service whose callers must time out rather than wait for ever.

use tokio::{net::TcpListener, task::JoinHandle};

/// Starts a silent listener on a free loopback port; returns its `http://127.0.0.1:PORT` URL
/// and the task that holds its connections (abort it to close them and the listener).
pub async fn listen() -> anyhow::Result<(String, JoinHandle<()>)> {
    // Bound here and served below: the port is never free between choosing and listening.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    Ok((url, task))
}
