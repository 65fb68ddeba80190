//! One proxied connection: the dial to the upstream, then one [`pump`] per direction, each
//! watching its direction's toxic list, and how the connection ends (half-closes pass through;
//! a toxic's close closes both sides; a reset sends RST both ways).

mod pump;
mod state;

use std::{sync::Arc, time::Duration};

use tokio::{io::AsyncWriteExt, net::TcpStream, sync::watch};

use crate::{Direction, Toxic};

/// How long a new connection waits for its upstream to accept before it is closed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A toxic as live connections see it: `id` changes whenever the toxic is added or changed, so a
/// connection knows to draw its toxicity again.
#[derive(Clone, Debug)]
pub(crate) struct ActiveToxic {
    pub(crate) id: u64,
    pub(crate) toxic: Toxic,
}

/// One direction's toxics, in order.
pub(crate) type ToxicList = Arc<[ActiveToxic]>;

/// The current toxic list of each direction of a proxy, which its connections watch.
pub(crate) struct Watches {
    upstream: watch::Sender<ToxicList>,
    downstream: watch::Sender<ToxicList>,
}

impl Watches {
    pub(crate) fn new() -> Self {
        Watches {
            upstream: watch::Sender::new(Arc::from(Vec::new())),
            downstream: watch::Sender::new(Arc::from(Vec::new())),
        }
    }

    fn sender(&self, stream: Direction) -> &watch::Sender<ToxicList> {
        match stream {
            Direction::Upstream => &self.upstream,
            Direction::Downstream => &self.downstream,
        }
    }

    /// Makes `toxics` the list of `stream`, for open connections and new ones.
    pub(crate) fn publish(&self, stream: Direction, toxics: Vec<ActiveToxic>) {
        self.sender(stream).send_replace(Arc::from(toxics));
    }

    fn watch(&self, stream: Direction) -> watch::Receiver<ToxicList> {
        self.sender(stream).subscribe()
    }
}

/// How one direction, or the whole connection, ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The source closed and the close was passed on (a half-close): the other direction goes on.
    Eof,
    /// The connection is to be closed both ways: an I/O error, or a toxic that closes it.
    Closed,
    /// The connection is to be reset both ways (`reset_peer`).
    Reset,
}

/// Proxies `client` to `upstream` until both directions end, or one of them ends the connection.
pub(crate) async fn run(mut client: TcpStream, upstream: Arc<str>, watches: Arc<Watches>) {
    let mut server = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&*upstream))
        .await
    {
        Ok(Ok(server)) => server,
        Ok(Err(error)) => {
            tracing::debug!(%upstream, %error, "cannot reach the upstream: closing the client");
            return;
        }
        Err(_) => {
            tracing::debug!(%upstream, "the upstream did not accept in time: closing the client");
            return;
        }
    };
    // Small writes go out at once, as through Toxiproxy (Go sets TCP_NODELAY by default).
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);

    let end = {
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        let upstream_pump = pump::run(
            client_read,
            server_write,
            watches.watch(Direction::Upstream),
        );
        let downstream_pump = pump::run(
            server_read,
            client_write,
            watches.watch(Direction::Downstream),
        );
        both(upstream_pump, downstream_pump).await
    };
    match end {
        End::Eof => {}
        End::Closed => {
            // FIN after what was written; dropping the streams then closes them.
            let _ = client.shutdown().await;
            let _ = server.shutdown().await;
        }
        End::Reset => {
            // SO_LINGER 0: the close sends RST, and the peer reads ECONNRESET.
            let _ = client.set_zero_linger();
            let _ = server.set_zero_linger();
        }
    }
}

/// Runs both directions: until both have half-closed, or until one ends the connection.
async fn both(
    upstream: impl std::future::Future<Output = End>,
    downstream: impl std::future::Future<Output = End>,
) -> End {
    tokio::pin!(upstream, downstream);
    let (mut upstream_done, mut downstream_done) = (false, false);
    loop {
        tokio::select! {
            end = &mut upstream, if !upstream_done => match end {
                End::Eof => upstream_done = true,
                other => return other,
            },
            end = &mut downstream, if !downstream_done => match end {
                End::Eof => downstream_done = true,
                other => return other,
            },
        }
        if upstream_done && downstream_done {
            return End::Eof;
        }
    }
}
