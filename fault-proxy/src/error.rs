//! The one error type of the proxy registry; the admin API maps it to Toxiproxy's statuses.

/// What a change to the registry was refused for. Nothing changes when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No such proxy or toxic; the payload names it, e.g. `proxy "redis"`.
    #[error("{0} not found")]
    NotFound(String),
    /// A proxy or toxic of that name exists already; the payload names it.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The request itself is wrong: a missing field, an unknown toxic type, a negative value…
    #[error("{0}")]
    Invalid(String),
    /// The listen address cannot be bound (taken, or not an address of this host).
    #[error("cannot listen on {0}: {1}")]
    Bind(String, #[source] std::io::Error),
}

impl ProxyError {
    /// `proxy "name"` not found.
    pub(crate) fn no_proxy(name: &str) -> Self {
        ProxyError::NotFound(format!("proxy {name:?}"))
    }

    /// `toxic "name" on proxy "proxy"` not found.
    pub(crate) fn no_toxic(proxy: &str, name: &str) -> Self {
        ProxyError::NotFound(format!("toxic {name:?} on proxy {proxy:?}"))
    }
}
