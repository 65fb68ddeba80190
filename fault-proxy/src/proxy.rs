//! One proxy: its listen address, its toxics, and while it is enabled the task that accepts its
//! connections and owns them, so that disabling it (aborting that task) closes the listener and
//! cuts every open connection at once.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    net::{TcpListener, TcpSocket},
    task::{JoinHandle, JoinSet},
};

use crate::{
    link::{self, ActiveToxic, Watches},
    Direction, ProxyError, ProxyInfo, Toxic,
};

/// How long the accept loop rests after a failed accept (say, out of file descriptors), so it
/// does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The backlog of a proxy's listener.
const BACKLOG: u32 = 1024;

/// One proxy of the registry.
pub(crate) struct Proxy {
    pub(crate) name: String,
    /// The bound address while enabled; the address to bind when it is enabled next.
    pub(crate) listen: SocketAddr,
    pub(crate) upstream: String,
    /// In the order they were added; each direction's connections see their own.
    toxics: Vec<ActiveToxic>,
    watches: Arc<Watches>,
    /// The accept loop, while enabled.
    serving: Option<JoinHandle<()>>,
}

impl Proxy {
    /// A disabled proxy; [`Proxy::start`] or [`Proxy::serve`] enables it.
    pub(crate) fn new(name: String, listen: SocketAddr, upstream: String) -> Self {
        Proxy {
            name,
            listen,
            upstream,
            toxics: Vec::new(),
            watches: Arc::new(Watches::new()),
            serving: None,
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.serving.is_some()
    }

    /// Binds the listen address and serves it; nothing changes if it cannot be bound.
    pub(crate) fn start(&mut self) -> Result<(), ProxyError> {
        if !self.enabled() {
            let listener = bind(self.listen)?;
            self.serve(listener);
        }
        Ok(())
    }

    /// Serves `listener` (bound by the caller), whose address becomes this proxy's.
    pub(crate) fn serve(&mut self, listener: TcpListener) {
        if let Ok(address) = listener.local_addr() {
            self.listen = address;
        }
        let upstream: Arc<str> = Arc::from(self.upstream.as_str());
        let task = tokio::spawn(accept_loop(listener, upstream, Arc::clone(&self.watches)));
        self.serving = Some(task);
        tracing::info!(proxy = %self.name, listen = %self.listen, upstream = %self.upstream, "proxy enabled");
    }

    /// Closes the listener and cuts every open connection; returns once the listener is closed.
    pub(crate) async fn stop(&mut self) {
        if let Some(task) = self.serving.take() {
            task.abort();
            // Cancelled, as asked: the listener and the connection set are dropped by now.
            let _ = task.await;
            tracing::info!(proxy = %self.name, "proxy disabled: listener closed, connections cut");
        }
    }

    pub(crate) fn info(&self) -> ProxyInfo {
        ProxyInfo {
            name: self.name.clone(),
            listen: self.listen.to_string(),
            upstream: self.upstream.clone(),
            enabled: self.enabled(),
            toxics: self.toxics().collect(),
        }
    }

    pub(crate) fn toxics(&self) -> impl Iterator<Item = Toxic> + '_ {
        self.toxics.iter().map(|active| active.toxic.clone())
    }

    pub(crate) fn toxic(&self, name: &str) -> Option<&Toxic> {
        self.toxics
            .iter()
            .map(|active| &active.toxic)
            .find(|toxic| toxic.name == name)
    }

    /// Adds a toxic, or replaces the one of the same name in place; live connections see it.
    pub(crate) fn put_toxic(&mut self, toxic: ActiveToxic) {
        let stream = toxic.toxic.stream;
        match self
            .toxics
            .iter_mut()
            .find(|active| active.toxic.name == toxic.toxic.name)
        {
            Some(existing) => *existing = toxic,
            None => self.toxics.push(toxic),
        }
        self.publish(stream);
    }

    /// Removes the toxic `name`; false if there is none.
    pub(crate) fn remove_toxic(&mut self, name: &str) -> bool {
        let Some(index) = self
            .toxics
            .iter()
            .position(|active| active.toxic.name == name)
        else {
            return false;
        };
        let removed = self.toxics.remove(index);
        self.publish(removed.toxic.stream);
        true
    }

    /// Removes every toxic.
    pub(crate) fn clear_toxics(&mut self) {
        self.toxics.clear();
        self.publish(Direction::Upstream);
        self.publish(Direction::Downstream);
    }

    fn publish(&self, stream: Direction) {
        let list: Vec<ActiveToxic> = self
            .toxics
            .iter()
            .filter(|active| active.toxic.stream == stream)
            .cloned()
            .collect();
        self.watches.publish(stream, list);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(task) = self.serving.take() {
            task.abort();
        }
    }
}

/// A listener on `address`, with `SO_REUSEADDR` so that a proxy disabled and enabled again gets
/// its port back while the connections it cut linger in `TIME_WAIT`.
pub(crate) fn bind(address: SocketAddr) -> Result<TcpListener, ProxyError> {
    fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
        let socket = if address.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(address)?;
        socket.listen(BACKLOG)
    }
    listen(address).map_err(|error| ProxyError::Bind(address.to_string(), error))
}

/// Accepts connections and proxies each in a task of its own; the connections live in the set,
/// so aborting this loop drops them all.
async fn accept_loop(listener: TcpListener, upstream: Arc<str>, watches: Arc<Watches>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, peer)) => {
                    tracing::debug!(%peer, %upstream, "accepted a connection");
                    connections.spawn(link::run(client, Arc::clone(&upstream), Arc::clone(&watches)));
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            // Reaps finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
