//! A network link between a service under test and one of its dependencies (MySQL, Redis,
//! MongoDB, or another of our services) as a fault target: a TCP fault proxy the service is
//! pointed at instead of the dependency. Either one of the scenario's own in this process
//! ([`super::proxy`], on a free loopback port: [`Link::open`]), or one that runs elsewhere and
//! exists already, driven through its admin API ([`super::proxy_admin`]: [`Link::attach`], e.g.
//! the release's `fault-proxy` pod on the cluster, shared by every service that reaches that
//! store). Both are a [`ProxyControl`] with the same operations, so every fault is made the same
//! way on either. The network faults are operations on that proxy:
//!
//! | [`Fault`] | on the proxy | undone by |
//! |---|---|---|
//! | [`Fault::Latency`] | a `latency` toxic on the answers (downstream) | healing |
//! | [`Fault::Throttle`] | a `bandwidth` toxic each way | healing |
//! | [`Fault::Cut`] | the proxy disabled: open connections cut, new ones refused | healing |
//! | [`Fault::Blackhole`] | a `timeout` toxic of 0 each way: connections stay open, nothing passes | healing |
//! | [`Fault::Reset`] | a `reset_peer` toxic of 0 each way: a connection is reset (RST) as soon as data flows on it | healing |
//! | [`Fault::Slice`] | a `slicer` toxic on the answers | healing |
//! | [`Fault::LoseAnswers`] | a `limit_data` toxic of 0 bytes on the answers: the request passes, the connection closes as the answer starts | healing |
//!
//! [`Link::heal`] undoes everything at once (every toxic removed, the proxy enabled). Addresses
//! are `ip:port`; [`upstream_of`] and [`through`] turn a store's URL into the address the link
//! forwards to and into the same URL aimed at the link.

use std::{fmt, time::Instant};

use anyhow::Context as _;

use super::{
    proxy::{Direction, Proxies, ProxyConfig, ProxyInfo, Toxic, ToxicKind},
    proxy_admin::ProxyAdmin,
    unsupported, Applied, Fault, Target,
};

/// The `delay` (µs) between the pieces of a [`Fault::Slice`].
const SLICE_DELAY_MICROS: u64 = 100;

/// Where a link's proxy runs, and how it is driven: the same operations either way.
#[derive(Clone, Debug)]
pub enum ProxyControl {
    /// A registry in this process.
    InProcess(Proxies),
    /// A fault proxy elsewhere, through its admin API.
    Remote(ProxyAdmin),
}

impl ProxyControl {
    /// The proxy `name` as it is now.
    pub async fn get(&self, name: &str) -> anyhow::Result<ProxyInfo> {
        match self {
            ProxyControl::InProcess(proxies) => Ok(proxies.get(name).await?),
            ProxyControl::Remote(admin) => admin.get(name).await,
        }
    }

    /// Adds `toxic` to the proxy `name`.
    pub async fn add_toxic(&self, name: &str, toxic: Toxic) -> anyhow::Result<()> {
        match self {
            ProxyControl::InProcess(proxies) => proxies.add_toxic(name, toxic).await.map(drop)?,
            ProxyControl::Remote(admin) => admin.add_toxic(name, &toxic).await.map(drop)?,
        }
        Ok(())
    }

    /// Removes the toxic `toxic` from the proxy `name`.
    pub async fn remove_toxic(&self, name: &str, toxic: &str) -> anyhow::Result<()> {
        match self {
            ProxyControl::InProcess(proxies) => Ok(proxies.remove_toxic(name, toxic).await?),
            ProxyControl::Remote(admin) => admin.remove_toxic(name, toxic).await,
        }
    }

    /// Enables (heals a cut) or disables (cuts) the proxy `name`.
    pub async fn set_enabled(&self, name: &str, enabled: bool) -> anyhow::Result<()> {
        match self {
            ProxyControl::InProcess(proxies) => {
                proxies.set_enabled(name, enabled).await.map(drop)?
            }
            ProxyControl::Remote(admin) => admin.set_enabled(name, enabled).await.map(drop)?,
        }
        Ok(())
    }

    /// Removes the proxy `name`: its listener closes and its connections are cut.
    pub async fn delete(&self, name: &str) -> anyhow::Result<()> {
        match self {
            ProxyControl::InProcess(proxies) => Ok(proxies.delete(name).await?),
            ProxyControl::Remote(admin) => admin.delete(name).await,
        }
    }

    /// Where the proxy is driven from, for messages: `in this process` or the admin URL.
    fn place(&self) -> String {
        match self {
            ProxyControl::InProcess(_) => "in this process".to_owned(),
            ProxyControl::Remote(admin) => format!("at {}", admin.url()),
        }
    }
}

/// Some services' link to one dependency, through a fault proxy: one of its own in this process
/// ([`Link::open`], one service), or an existing one that every service reaching that
/// dependency shares ([`Link::attach`]).
#[derive(Clone)]
pub struct Link {
    control: ProxyControl,
    name: String,
    from: Vec<String>,
    to: String,
    listen: String,
    upstream: String,
    /// Opened by this link, so removed when it closes; an attached proxy is left as it is.
    owned: bool,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("name", &self.name)
            .field("from", &self.from)
            .field("listen", &self.listen)
            .field("upstream", &self.upstream)
            .field("owned", &self.owned)
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
            control: ProxyControl::InProcess(proxies.clone()),
            name,
            from: vec![from.to_owned()],
            to: to.to_owned(),
            listen: info.listen,
            upstream: upstream.to_owned(),
            owned: true,
        })
    }

    /// The link from the services `from` to `to` through the proxy `name` that exists already
    /// (its addresses are read from it); [`Link::close`] leaves that proxy in place.
    pub async fn attach(
        control: ProxyControl,
        name: &str,
        from: &[&str],
        to: &str,
    ) -> anyhow::Result<Link> {
        let info = control.get(name).await.with_context(|| {
            format!(
                "attaching the link from {} to {to} to the fault proxy {name:?} {}",
                from.join(" and "),
                control.place()
            )
        })?;
        Ok(Link {
            control,
            name: name.to_owned(),
            from: from.iter().map(|service| (*service).to_owned()).collect(),
            to: to.to_owned(),
            listen: info.listen,
            upstream: info.upstream,
            owned: false,
        })
    }

    /// The service end's name, e.g. `accountd` (`event-producer and event-consumer` for a link
    /// several share).
    pub fn from(&self) -> String {
        self.from.join(" and ")
    }

    /// True when `service` reaches the dependency through this link.
    pub fn serves(&self, service: &str) -> bool {
        self.from.iter().any(|from| from == service)
    }

    /// The dependency's name, e.g. `MySQL`.
    pub fn to(&self) -> &str {
        &self.to
    }

    /// The proxy's name, e.g. `accountd-to-mysql` or the cluster's `mysql`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the service connects instead of the dependency (`127.0.0.1:PORT`).
    pub fn listen(&self) -> &str {
        &self.listen
    }

    /// Where the link forwards to (`ip:port` of the dependency).
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// True when `other` goes through the same proxy (faulting one faults both).
    pub fn same_proxy(&self, other: &Link) -> bool {
        self.name == other.name
            && match (&self.control, &other.control) {
                (ProxyControl::InProcess(_), ProxyControl::InProcess(_)) => true,
                (ProxyControl::Remote(a), ProxyControl::Remote(b)) => a.url() == b.url(),
                _ => false,
            }
    }

    /// Undoes every fault on the link at once: every toxic removed, the proxy enabled.
    pub async fn heal(&mut self) -> anyhow::Result<Applied> {
        let at = Instant::now();
        let info = self
            .control
            .get(&self.name)
            .await
            .with_context(|| format!("reading {}", self.describe()))?;
        for toxic in &info.toxics {
            self.remove(&toxic.name).await?;
        }
        self.enable(true).await?;
        Ok(Applied::since(at, format!("{} healed", self.describe())))
    }

    /// Removes the proxy this link opened: its listener closes and its connections are cut. An
    /// attached proxy stays (its owner resets it).
    pub async fn close(self) -> anyhow::Result<()> {
        if !self.owned {
            return Ok(());
        }
        self.control
            .delete(&self.name)
            .await
            .with_context(|| format!("removing the fault proxy of {}", self.describe()))
    }

    /// Adds `toxic`, replacing one of the same name (a second latency replaces the first).
    async fn add(&self, toxic: Toxic) -> anyhow::Result<()> {
        let info = self
            .control
            .get(&self.name)
            .await
            .with_context(|| format!("reading {}", self.describe()))?;
        if info.toxics.iter().any(|present| present.name == toxic.name) {
            self.remove(&toxic.name).await?;
        }
        let name = toxic.name.clone();
        self.control
            .add_toxic(&self.name, toxic)
            .await
            .with_context(|| format!("adding the toxic {name} to {}", self.describe()))
    }

    async fn remove(&self, toxic: &str) -> anyhow::Result<()> {
        self.control
            .remove_toxic(&self.name, toxic)
            .await
            .with_context(|| format!("removing the toxic {toxic} from {}", self.describe()))
    }

    async fn enable(&self, enabled: bool) -> anyhow::Result<()> {
        self.control
            .set_enabled(&self.name, enabled)
            .await
            .with_context(|| format!("setting {} enabled={enabled}", self.describe()))
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
        Fault::LoseAnswers => vec![Toxic::new(
            ToxicKind::LimitData { bytes: 0 },
            Direction::Downstream,
        )],
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
        let shared = match &self.control {
            ProxyControl::InProcess(_) => String::new(),
            ProxyControl::Remote(admin) => {
                format!(", fault proxy {:?} at {}", self.name, admin.url())
            }
        };
        format!(
            "the link from {} to {} ({} → {}{shared})",
            self.from(),
            self.to,
            self.listen,
            self.upstream
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

    /// A registry in this process with its admin API served on a free loopback port, and the
    /// proxy `mysql` in it: one proxy, reachable both ways.
    async fn served_mysql() -> anyhow::Result<(Proxies, ProxyAdmin)> {
        let proxies = Proxies::new();
        add_mysql(&proxies).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(super::super::proxy::admin::serve(
            proxies.clone(),
            listener,
            std::future::pending(),
        ));
        Ok((proxies, ProxyAdmin::new(&format!("http://{address}"))?))
    }

    /// The proxy `mysql`, created disabled, so that healing a cut binds a fresh port: the one a
    /// cut released may be another test's by then.
    async fn add_mysql(proxies: &Proxies) -> anyhow::Result<()> {
        let config = ProxyConfig {
            enabled: false,
            ..ProxyConfig::new("mysql", "127.0.0.1:0", "127.0.0.1:9")
        };
        proxies.create(config).await?;
        Ok(())
    }

    #[tokio::test]
    async fn an_attached_link_makes_each_fault_as_an_opened_one_does() -> anyhow::Result<()> {
        let (proxies, admin) = served_mysql().await?;
        let local = ProxyControl::InProcess(proxies.clone());
        let remote = ProxyControl::Remote(admin);
        for control in [local, remote] {
            let mut link =
                Link::attach(control, "mysql", &["accountd", "activity-server"], "MySQL").await?;
            assert_eq!(link.from(), "accountd and activity-server");
            assert!(link.serves("activity-server") && !link.serves("movies"));
            assert_eq!(link.upstream(), "127.0.0.1:9");
            link.inject(Fault::Latency { millis: 800 }).await?;
            // A second latency replaces the first.
            link.inject(Fault::Latency { millis: 900 }).await?;
            link.inject(Fault::Reset).await?;
            link.inject(Fault::Cut).await?;
            let faulted = proxies.get("mysql").await?;
            assert!(!faulted.enabled);
            let names: Vec<&str> = faulted.toxics.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(
                names,
                [
                    "latency_downstream",
                    "reset_peer_upstream",
                    "reset_peer_downstream"
                ]
            );
            link.undo(Fault::Reset).await?;
            assert_eq!(proxies.toxics("mysql").await?.len(), 1);
            let healed = link.heal().await?;
            assert!(healed.what.ends_with("healed"), "{}", healed.what);
            let now = proxies.get("mysql").await?;
            assert!(now.enabled && now.toxics.is_empty(), "{now:?}");
            // Attached, not owned: closing leaves the proxy to its owner.
            link.close().await?;
            assert_eq!(proxies.list().await.len(), 1);
            // A fresh one for the next control (see `add_mysql`).
            proxies.delete("mysql").await?;
            add_mysql(&proxies).await?;
        }
        Ok(())
    }

    #[tokio::test]
    async fn an_attached_link_names_the_remote_proxy() -> anyhow::Result<()> {
        let (_proxies, admin) = served_mysql().await?;
        let url = admin.url().to_owned();
        let link = Link::attach(
            ProxyControl::Remote(admin.clone()),
            "mysql",
            &["accountd"],
            "MySQL",
        )
        .await?;
        assert!(
            link.describe()
                .ends_with(&format!("fault proxy \"mysql\" at {url})")),
            "{}",
            link.describe()
        );
        let other = Link::attach(
            ProxyControl::Remote(admin.clone()),
            "mysql",
            &["activity-server"],
            "MySQL",
        )
        .await?;
        assert!(link.same_proxy(&other));
        let missing = Link::attach(
            ProxyControl::Remote(admin),
            "redis",
            &["event-producer"],
            "Redis",
        )
        .await
        .unwrap_err();
        let message = format!("{missing:#}");
        assert!(message.contains("fault proxy \"redis\""), "{message}");
        assert!(message.contains("not found"), "{message}");
        Ok(())
    }

    #[tokio::test]
    async fn an_opened_link_is_removed_when_it_closes() -> anyhow::Result<()> {
        let proxies = Proxies::new();
        let link = Link::open(&proxies, "accountd", "MySQL", "127.0.0.1:9").await?;
        assert_eq!(link.name(), "accountd-to-mysql");
        assert!(link.serves("accountd"));
        link.close().await?;
        assert!(proxies.list().await.is_empty());
        Ok(())
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
