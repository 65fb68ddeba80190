//! A network link between a service under test and one of its dependencies (MySQL, Redis,
//! MongoDB, or another of our services) as a fault target: a TCP fault proxy of its own
//! ([`super::proxy`]) on a free loopback port, which the service is pointed at instead of the
//! dependency. The network faults are operations on that proxy:
//!
//! | [`Fault`] | on the proxy | undone by |
//! |---|---|---|
//! | [`Fault::Latency`] | a `latency` toxic on the answers (downstream) | healing |
//! | [`Fault::Throttle`] | a `bandwidth` toxic each way | healing |
//! | [`Fault::Cut`] | the proxy disabled: open connections cut, new ones refused | healing |
//! | [`Fault::Blackhole`] | a `timeout` toxic of 0 each way: connections stay open, nothing passes | healing |
//! | [`Fault::Reset`] | a `reset_peer` toxic of 0 each way: a connection is reset (RST) as soon as data flows on it | healing |
//! | [`Fault::Slice`] | a `slicer` toxic on the answers | healing |
//!
//! [`Link::heal`] undoes everything at once (every toxic removed, the proxy enabled). Addresses
//! are `ip:port`; [`upstream_of`] and [`through`] turn a store's URL into the address the link
//! forwards to and into the same URL aimed at the link.

use std::{fmt, time::Instant};

use anyhow::Context as _;

use super::{
    proxy::{Direction, Proxies, ProxyConfig, Toxic, ToxicKind},
    unsupported, Applied, Fault, Target,
};

/// The `delay` (µs) between the pieces of a [`Fault::Slice`].
const SLICE_DELAY_MICROS: u64 = 100;

/// One service's link to one dependency, through a fault proxy of its own.
#[derive(Clone)]
pub struct Link {
    proxies: Proxies,
    name: String,
    from: String,
    to: String,
    listen: String,
    upstream: String,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("name", &self.name)
            .field("listen", &self.listen)
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// Opens the link from `from` to `to` (names for messages, e.g. `accountd` and `MySQL`):
    /// a proxy in `proxies` on a free loopback port, forwarding to `upstream` (`ip:port`).
    pub async fn open(
        proxies: &Proxies,
        from: &str,
        to: &str,
        upstream: &str,
    ) -> anyhow::Result<Link> {
        let name = proxy_name(from, to);
        let info = proxies
            .create(ProxyConfig {
                name: name.clone(),
                listen: "127.0.0.1:0".to_owned(),
                upstream: upstream.to_owned(),
                enabled: true,
            })
            .await
            .with_context(|| format!("opening a fault proxy from {from} to {to} ({upstream})"))?;
        Ok(Link {
            proxies: proxies.clone(),
            name,
            from: from.to_owned(),
            to: to.to_owned(),
            listen: info.listen,
            upstream: upstream.to_owned(),
        })
    }

    /// The service end's name, e.g. `accountd`.
    pub fn from(&self) -> &str {
        &self.from
    }

    /// The dependency's name, e.g. `MySQL`.
    pub fn to(&self) -> &str {
        &self.to
    }

    /// Where the service connects instead of the dependency (`127.0.0.1:PORT`).
    pub fn listen(&self) -> &str {
        &self.listen
    }

    /// Where the link forwards to (`ip:port` of the dependency).
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// Undoes every fault on the link at once: every toxic removed, the proxy enabled.
    pub async fn heal(&mut self) -> anyhow::Result<Applied> {
        let at = Instant::now();
        let info = self
            .proxies
            .get(&self.name)
            .await
            .with_context(|| format!("reading {}", self.describe()))?;
        for toxic in &info.toxics {
            self.remove(&toxic.name).await?;
        }
        self.enable(true).await?;
        Ok(Applied::since(at, format!("{} healed", self.describe())))
    }

    /// Removes the proxy: its listener closes and its connections are cut.
    pub async fn close(self) -> anyhow::Result<()> {
        self.proxies
            .delete(&self.name)
            .await
            .with_context(|| format!("removing the fault proxy of {}", self.describe()))
    }

    /// Adds `toxic`, replacing one of the same name (a second latency replaces the first).
    async fn add(&self, toxic: Toxic) -> anyhow::Result<()> {
        let info = self
            .proxies
            .get(&self.name)
            .await
            .with_context(|| format!("reading {}", self.describe()))?;
        if info.toxics.iter().any(|present| present.name == toxic.name) {
            self.remove(&toxic.name).await?;
        }
        let name = toxic.name.clone();
        self.proxies
            .add_toxic(&self.name, toxic)
            .await
            .with_context(|| format!("adding the toxic {name} to {}", self.describe()))?;
        Ok(())
    }

    async fn remove(&self, toxic: &str) -> anyhow::Result<()> {
        self.proxies
            .remove_toxic(&self.name, toxic)
            .await
            .with_context(|| format!("removing the toxic {toxic} from {}", self.describe()))
    }

    async fn enable(&self, enabled: bool) -> anyhow::Result<()> {
        self.proxies
            .set_enabled(&self.name, enabled)
            .await
            .with_context(|| format!("setting {} enabled={enabled}", self.describe()))?;
        Ok(())
    }
}

/// The toxics that make `fault` on a link; `None` for a fault that is not made of toxics.
fn toxics_for(fault: Fault) -> Option<Vec<Toxic>> {
    let both = |kind: &dyn Fn() -> ToxicKind| {
        vec![
            Toxic::new(kind(), Direction::Upstream),
            Toxic::new(kind(), Direction::Downstream),
        ]
    };
    Some(match fault {
        Fault::Latency { millis } => vec![Toxic::new(
            ToxicKind::Latency {
                latency: millis,
                jitter: 0,
            },
            Direction::Downstream,
        )],
        Fault::Throttle {
            kilobytes_per_second,
        } => both(&|| ToxicKind::Bandwidth {
            rate: kilobytes_per_second,
        }),
        Fault::Blackhole => both(&|| ToxicKind::Timeout { timeout: 0 }),
        Fault::Reset => both(&|| ToxicKind::ResetPeer { timeout: 0 }),
        Fault::Slice { bytes } => vec![Toxic::new(
            ToxicKind::Slicer {
                average_size: bytes,
                size_variation: bytes / 2,
                delay: SLICE_DELAY_MICROS,
            },
            Direction::Downstream,
        )],
        _ => return None,
    })
}

impl Target for Link {
    fn describe(&self) -> String {
        format!(
            "the link from {} to {} ({} → {})",
            self.from, self.to, self.listen, self.upstream
        )
    }

    /// The network faults (see the module docs).
    async fn inject(&mut self, fault: Fault) -> anyhow::Result<Applied> {
        let at = Instant::now();
        if fault == Fault::Cut {
            self.enable(false).await?;
        } else {
            let toxics = toxics_for(fault).ok_or_else(|| unsupported(self, "inject", fault))?;
            for toxic in toxics {
                self.add(toxic).await?;
            }
        }
        Ok(Applied::since(
            at,
            format!("{} {}", self.describe(), fault.done()),
        ))
    }

    /// Removes what [`Target::inject`] added (enables the proxy again after a cut).
    async fn undo(&mut self, fault: Fault) -> anyhow::Result<Applied> {
        let at = Instant::now();
        match (fault, toxics_for(fault)) {
            (Fault::Cut, _) => self.enable(true).await?,
            (_, None) => return Err(unsupported(self, "undo", fault)),
            (_, Some(toxics)) => {
                for toxic in toxics {
                    self.remove(&toxic.name).await?;
                }
            }
        }
        let how = fault.undone().unwrap_or_default();
        Ok(Applied::since(at, format!("{} {how}", self.describe())))
    }
}

/// The proxy's name for the link from `from` to `to`: `accountd-to-mysql`.
fn proxy_name(from: &str, to: &str) -> String {
    let slug = |name: &str| -> String {
        name.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect()
    };
    format!("{}-to-{}", slug(from), slug(to))
}

/// The default port of a URL scheme the services use, for URLs that give none.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mongodb" => Some(27017),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// The `host:port` a URL of one server points at (`mysql://u:p@127.0.0.1:3306/db` →
/// `127.0.0.1:3306`), for the link's upstream. An error for a URL that names several hosts or
/// no port the scheme implies.
pub fn upstream_of(url: &str) -> anyhow::Result<String> {
    let parsed = url::Url::parse(url).with_context(|| format!("{url:?} is not a URL"))?;
    let host = parsed
        .host_str()
        .with_context(|| format!("{url:?} names no host"))?;
    let port = parsed
        .port()
        .or_else(|| default_port(parsed.scheme()))
        .with_context(|| format!("{url:?} names no port"))?;
    Ok(format!("{host}:{port}"))
}

/// `url` aimed at `listen` (`ip:port`, the link's address) instead of its own host and port;
/// everything else (credentials, path, query) is kept.
pub fn through(url: &str, listen: &str) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).with_context(|| format!("{url:?} is not a URL"))?;
    let (host, port) = split_address(listen)?;
    parsed
        .set_host(Some(host))
        .map_err(|error| anyhow::anyhow!("setting host {host} in {url:?}: {error}"))?;
    parsed
        .set_port(Some(port))
        .map_err(|()| anyhow::anyhow!("setting port {port} in {url:?}"))?;
    let mut routed: String = parsed.into();
    // The URL parser writes an empty path as `/`; a base URL the service appends paths to
    // must keep its shape (`http://h:p` + `/movies`).
    if !url.ends_with('/') && routed.ends_with('/') {
        routed.pop();
    }
    Ok(routed)
}

/// `ip:port` as its host and port.
pub fn split_address(address: &str) -> anyhow::Result<(&str, u16)> {
    let (host, port) = address
        .rsplit_once(':')
        .with_context(|| format!("{address:?} is not host:port"))?;
    let port = port
        .parse()
        .with_context(|| format!("{address:?} has no numeric port"))?;
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upstream_of_a_store_url_is_its_host_and_port() -> anyhow::Result<()> {
        assert_eq!(
            upstream_of("mysql://user:p%40ss@127.0.0.1:13306/accountd_1")?,
            "127.0.0.1:13306"
        );
        assert_eq!(upstream_of("redis://127.0.0.1")?, "127.0.0.1:6379");
        assert_eq!(
            upstream_of("mongodb://127.0.0.1:27018/?directConnection=true")?,
            "127.0.0.1:27018"
        );
        assert_eq!(upstream_of("http://127.0.0.1:40123")?, "127.0.0.1:40123");
        assert!(upstream_of("mongodb://a:1,b:2/").is_err());
        Ok(())
    }

    #[test]
    fn a_url_through_a_link_keeps_everything_but_host_and_port() -> anyhow::Result<()> {
        assert_eq!(
            through(
                "mongodb://127.0.0.1:27018/?directConnection=true",
                "127.0.0.1:41000"
            )?,
            "mongodb://127.0.0.1:41000/?directConnection=true"
        );
        assert_eq!(
            through("redis://:pw@127.0.0.1:6379/0", "127.0.0.1:41001")?,
            "redis://:pw@127.0.0.1:41001/0"
        );
        assert_eq!(
            through("http://127.0.0.1:40123", "127.0.0.1:41002")?,
            "http://127.0.0.1:41002"
        );
        Ok(())
    }

    #[test]
    fn proxy_names_are_slugs_of_both_ends() {
        assert_eq!(proxy_name("accountd", "MySQL"), "accountd-to-mysql");
        assert_eq!(
            proxy_name("event-producer", "Redis"),
            "event-producer-to-redis"
        );
    }

    #[test]
    fn each_network_fault_is_its_toxics() {
        let names = |fault| -> Vec<String> {
            toxics_for(fault)
                .unwrap_or_default()
                .into_iter()
                .map(|toxic| toxic.name)
                .collect()
        };
        assert_eq!(
            names(Fault::Latency { millis: 800 }),
            ["latency_downstream"]
        );
        assert_eq!(
            names(Fault::Blackhole),
            ["timeout_upstream", "timeout_downstream"]
        );
        assert_eq!(
            names(Fault::Throttle {
                kilobytes_per_second: 1
            }),
            ["bandwidth_upstream", "bandwidth_downstream"]
        );
        assert_eq!(
            names(Fault::Reset),
            ["reset_peer_upstream", "reset_peer_downstream"]
        );
        assert!(toxics_for(Fault::Cut).is_none());
        assert!(toxics_for(Fault::Kill).is_none());
    }
}
