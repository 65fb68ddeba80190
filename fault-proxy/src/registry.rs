//! [`Proxies`]: the registry of proxies and their toxics, and every change to them. A refused
//! change changes nothing: addresses are bound before anything is torn down where they can be.

use std::{collections::BTreeMap, fmt, net::SocketAddr, sync::Arc};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::{
    link::ActiveToxic,
    proxy::{self, Proxy},
    toxic::ToxicPatch,
    ProxyError, Toxic,
};

/// What a proxy is: its name, the address it listens on (`127.0.0.1:0` picks a free port), the
/// upstream it forwards to, and whether it starts enabled (the default). Toxiproxy's JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProxyConfig {
    /// Unique in the registry.
    #[serde(default)]
    pub name: String,
    /// `host:port` to listen on; empty means `127.0.0.1:0`, `:port` means every interface.
    #[serde(default)]
    pub listen: String,
    /// `host:port` to forward to, resolved at every connection.
    #[serde(default)]
    pub upstream: String,
    /// Whether it listens from the start.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl ProxyConfig {
    /// An enabled proxy `name` from `listen` to `upstream`.
    pub fn new(
        name: impl Into<String>,
        listen: impl Into<String>,
        upstream: impl Into<String>,
    ) -> Self {
        ProxyConfig {
            name: name.into(),
            listen: listen.into(),
            upstream: upstream.into(),
            enabled: true,
        }
    }
}

/// A change to a proxy, as Toxiproxy's `POST /proxies/{name}` takes it: absent fields stay.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProxyPatch {
    /// A new address to listen on.
    pub listen: Option<String>,
    /// A new upstream.
    pub upstream: Option<String>,
    /// Enabled (listening, connections pass) or disabled (connections cut and refused).
    pub enabled: Option<bool>,
}

/// A proxy as it is now. Toxiproxy's JSON (read back by admin clients too).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProxyInfo {
    /// Its name.
    pub name: String,
    /// The address it listens on, as `ip:port` (the bound port when `0` was asked).
    pub listen: String,
    /// The upstream it forwards to.
    pub upstream: String,
    /// Whether it is listening.
    pub enabled: bool,
    /// Its toxics, in the order they were added.
    #[serde(default)]
    pub toxics: Vec<Toxic>,
}

/// The registry of proxies. Cheap to clone: clones share it. Dropping the last clone stops every
/// proxy.
#[derive(Clone, Default)]
pub struct Proxies {
    inner: Arc<Mutex<Registry>>,
}

#[derive(Default)]
struct Registry {
    proxies: BTreeMap<String, Proxy>,
    /// Every toxic added or changed gets a fresh id, so live connections notice the change.
    next_toxic_id: u64,
}

impl Registry {
    fn proxy(&mut self, name: &str) -> Result<&mut Proxy, ProxyError> {
        self.proxies
            .get_mut(name)
            .ok_or_else(|| ProxyError::no_proxy(name))
    }

    fn activate(&mut self, toxic: Toxic) -> ActiveToxic {
        self.next_toxic_id += 1;
        ActiveToxic {
            id: self.next_toxic_id,
            toxic,
        }
    }
}

impl fmt::Debug for Proxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxies").finish_non_exhaustive()
    }
}

impl Proxies {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a proxy and, if `config.enabled`, binds its listen address at once.
    pub async fn create(&self, config: ProxyConfig) -> Result<ProxyInfo, ProxyError> {
        check_config(&config)?;
        let listen = resolve_listen(&config.listen).await?;
        let mut registry = self.inner.lock().await;
        if registry.proxies.contains_key(&config.name) {
            return Err(ProxyError::AlreadyExists(format!(
                "proxy {:?}",
                config.name
            )));
        }
        let mut proxy = Proxy::new(config.name.clone(), listen, config.upstream);
        if config.enabled {
            proxy.start()?;
        }
        let info = proxy.info();
        registry.proxies.insert(config.name, proxy);
        Ok(info)
    }

    /// Creates or replaces proxies, in order, as Toxiproxy's `POST /populate`: a proxy of the same
    /// name and addresses is kept as it is (toxics and all), one that differs is replaced. Stops
    /// at the first failure; answers the proxies done so far, and the failure.
    pub async fn populate(
        &self,
        configs: Vec<ProxyConfig>,
    ) -> (Vec<ProxyInfo>, Option<ProxyError>) {
        // Like Toxiproxy, checks every entry before creating any.
        for (index, config) in configs.iter().enumerate() {
            if let Err(error) = check_config(config) {
                return (
                    Vec::new(),
                    Some(ProxyError::Invalid(format!(
                        "{error} at proxy {}",
                        index + 1
                    ))),
                );
            }
        }
        let mut done = Vec::with_capacity(configs.len());
        for config in configs {
            match self.replace(config).await {
                Ok(info) => done.push(info),
                Err(error) => return (done, Some(error)),
            }
        }
        (done, None)
    }

    async fn replace(&self, config: ProxyConfig) -> Result<ProxyInfo, ProxyError> {
        let listen = resolve_listen(&config.listen).await?;
        let mut registry = self.inner.lock().await;
        if let Some(existing) = registry.proxies.get_mut(&config.name) {
            if existing.listen == listen && existing.upstream == config.upstream {
                return Ok(existing.info());
            }
            // Bind first where the address is a new one, so a refusal leaves the old proxy be.
            let listener = if config.enabled && existing.listen != listen {
                Some(proxy::bind(listen)?)
            } else {
                None
            };
            existing.stop().await;
            let mut replacement = Proxy::new(config.name.clone(), listen, config.upstream);
            match listener {
                Some(listener) => replacement.serve(listener),
                None if config.enabled => replacement.start()?,
                None => {}
            }
            let info = replacement.info();
            registry.proxies.insert(config.name, replacement);
            return Ok(info);
        }
        drop(registry);
        self.create(config).await
    }

    /// The proxy `name`.
    pub async fn get(&self, name: &str) -> Result<ProxyInfo, ProxyError> {
        Ok(self.inner.lock().await.proxy(name)?.info())
    }

    /// Every proxy, by name.
    pub async fn list(&self) -> Vec<ProxyInfo> {
        self.inner
            .lock()
            .await
            .proxies
            .values()
            .map(Proxy::info)
            .collect()
    }

    /// Enables (listens again: heals a partition) or disables (closes the listener and cuts every
    /// open connection: a partition) the proxy `name`.
    pub async fn set_enabled(&self, name: &str, enabled: bool) -> Result<ProxyInfo, ProxyError> {
        self.update(
            name,
            ProxyPatch {
                enabled: Some(enabled),
                ..ProxyPatch::default()
            },
        )
        .await
    }

    /// Changes a proxy's listen address, upstream or enabled state, as Toxiproxy does: a new
    /// address or upstream restarts it (cutting its connections); a new listen address is bound
    /// before anything else, so a refusal changes nothing.
    pub async fn update(&self, name: &str, patch: ProxyPatch) -> Result<ProxyInfo, ProxyError> {
        let listen = match &patch.listen {
            Some(listen) => Some(resolve_listen(listen).await?),
            None => None,
        };
        if patch.upstream.as_deref() == Some("") {
            return Err(ProxyError::Invalid(
                "missing required field: upstream".to_owned(),
            ));
        }
        let mut registry = self.inner.lock().await;
        let proxy = registry.proxy(name)?;
        let enabled = patch.enabled.unwrap_or(proxy.enabled());
        let new_listen = listen.filter(|listen| *listen != proxy.listen);
        let new_upstream = patch
            .upstream
            .filter(|upstream| *upstream != proxy.upstream);
        if new_listen.is_none() && new_upstream.is_none() {
            if enabled {
                proxy.start()?;
            } else {
                proxy.stop().await;
            }
            return Ok(proxy.info());
        }
        let listener = match new_listen {
            Some(listen) if enabled => Some(proxy::bind(listen)?),
            _ => None,
        };
        proxy.stop().await;
        if let Some(upstream) = new_upstream {
            proxy.upstream = upstream;
        }
        if let Some(listen) = new_listen {
            proxy.listen = listen;
        }
        match listener {
            Some(listener) => proxy.serve(listener),
            None if enabled => proxy.start()?,
            None => {}
        }
        Ok(proxy.info())
    }

    /// Stops and removes the proxy `name`, cutting its connections.
    pub async fn delete(&self, name: &str) -> Result<(), ProxyError> {
        let mut registry = self.inner.lock().await;
        let mut proxy = registry
            .proxies
            .remove(name)
            .ok_or_else(|| ProxyError::no_proxy(name))?;
        proxy.stop().await;
        Ok(())
    }

    /// The toxics of the proxy `proxy`.
    pub async fn toxics(&self, proxy: &str) -> Result<Vec<Toxic>, ProxyError> {
        Ok(self.inner.lock().await.proxy(proxy)?.toxics().collect())
    }

    /// The toxic `name` of the proxy `proxy`.
    pub async fn toxic(&self, proxy: &str, name: &str) -> Result<Toxic, ProxyError> {
        self.inner
            .lock()
            .await
            .proxy(proxy)?
            .toxic(name)
            .cloned()
            .ok_or_else(|| ProxyError::no_toxic(proxy, name))
    }

    /// Adds a toxic to the proxy `proxy`; it takes effect on open connections too.
    pub async fn add_toxic(&self, proxy: &str, toxic: Toxic) -> Result<Toxic, ProxyError> {
        toxic.validate()?;
        let mut registry = self.inner.lock().await;
        if registry.proxy(proxy)?.toxic(&toxic.name).is_some() {
            return Err(ProxyError::AlreadyExists(format!(
                "toxic {:?} on proxy {proxy:?}",
                toxic.name
            )));
        }
        let active = registry.activate(toxic.clone());
        registry.proxy(proxy)?.put_toxic(active);
        Ok(toxic)
    }

    /// Changes the toxic `name` of the proxy `proxy` to the attributes and toxicity of `toxic`
    /// (its type must be the same; its name and stream stay, as in Toxiproxy). Connections draw
    /// again whether it applies to them.
    pub async fn update_toxic(
        &self,
        proxy: &str,
        name: &str,
        toxic: Toxic,
    ) -> Result<Toxic, ProxyError> {
        toxic.validate()?;
        let mut registry = self.inner.lock().await;
        let existing = registry
            .proxy(proxy)?
            .toxic(name)
            .ok_or_else(|| ProxyError::no_toxic(proxy, name))?;
        if existing.kind.type_name() != toxic.kind.type_name() {
            return Err(ProxyError::Invalid(format!(
                "toxic {name:?} is a {} toxic and cannot become a {} one",
                existing.kind.type_name(),
                toxic.kind.type_name()
            )));
        }
        let updated = Toxic {
            toxicity: toxic.toxicity,
            kind: toxic.kind,
            ..existing.clone()
        };
        let active = registry.activate(updated.clone());
        registry.proxy(proxy)?.put_toxic(active);
        Ok(updated)
    }

    /// [`Proxies::update_toxic`] from Toxiproxy's partial JSON: the given attributes over the
    /// current ones, the toxicity if given.
    pub(crate) async fn patch_toxic(
        &self,
        proxy: &str,
        name: &str,
        patch: ToxicPatch,
    ) -> Result<Toxic, ProxyError> {
        let current = self.toxic(proxy, name).await?;
        let patched = current.patched(patch)?;
        self.update_toxic(proxy, name, patched).await
    }

    /// Removes the toxic `name` from the proxy `proxy`; open connections see it go.
    pub async fn remove_toxic(&self, proxy: &str, name: &str) -> Result<(), ProxyError> {
        if self.inner.lock().await.proxy(proxy)?.remove_toxic(name) {
            Ok(())
        } else {
            Err(ProxyError::no_toxic(proxy, name))
        }
    }

    /// Removes every toxic and enables every proxy (one whose address cannot be bound again
    /// stays disabled, with a warning).
    pub async fn reset(&self) {
        let mut registry = self.inner.lock().await;
        for proxy in registry.proxies.values_mut() {
            proxy.clear_toxics();
            if let Err(error) = proxy.start() {
                tracing::warn!(proxy = %proxy.name, %error, "reset cannot enable the proxy");
            }
        }
    }
}

fn check_config(config: &ProxyConfig) -> Result<(), ProxyError> {
    if config.name.is_empty() {
        return Err(ProxyError::Invalid(
            "missing required field: name".to_owned(),
        ));
    }
    if config.upstream.is_empty() {
        return Err(ProxyError::Invalid(
            "missing required field: upstream".to_owned(),
        ));
    }
    Ok(())
}

/// The address to listen on for `listen`: `ip:port`, `host:port` (an IPv4 address preferred),
/// `:port` (every interface) or empty (`127.0.0.1:0`, a free loopback port).
async fn resolve_listen(listen: &str) -> Result<SocketAddr, ProxyError> {
    let listen = match listen {
        "" => "127.0.0.1:0".to_owned(),
        port if port.starts_with(':') => format!("0.0.0.0{port}"),
        other => other.to_owned(),
    };
    if let Ok(address) = listen.parse::<SocketAddr>() {
        return Ok(address);
    }
    let invalid = |reason: String| {
        ProxyError::Invalid(format!(
            "listen address {listen:?} is not a host:port: {reason}"
        ))
    };
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host(listen.as_str())
        .await
        .map_err(|error| invalid(error.to_string()))?
        .collect();
    addresses
        .iter()
        .find(|address| address.is_ipv4())
        .or_else(|| addresses.first())
        .copied()
        .ok_or_else(|| invalid("it resolves to no address".to_owned()))
}
