//! The network part of a scenario: which of its services reach which dependency through a
//! fault proxy ("Given accountd reaches MySQL through a fault proxy"), the links opened for them
//! when those services start ([`NetworkState::route`], the one place every service's start-up
//! asks where its dependency is), or the links of the cluster's fault proxy attached to
//! ([`NetworkState::attach`]: the deployed services reach their stores through it), which links
//! a step names ([`NetworkState::select`], the one lookup every network step uses), and when
//! the last network fault began and the links last healed (recovery is measured from there).
//! In teardown the links of the scenario's own are removed, and the cluster's fault proxy is
//! reset (every toxic removed, every proxy enabled), whether the scenario passed or failed.

use std::{
    collections::BTreeSet,
    fmt,
    time::{Duration, Instant},
};

use harness::fault::{
    network::{self, Link},
    proxy::Proxies,
    proxy_admin::ProxyAdmin,
};

/// Longest one teardown call (removing a link, resetting a remote proxy) may take.
const TEARDOWN_LIMIT: Duration = Duration::from_secs(5);

/// The network part of a scenario.
#[derive(Default)]
pub struct NetworkState {
    /// The registry of the scenario's proxies, made with its first link.
    proxies: Option<Proxies>,
    /// The fault proxy elsewhere the scenario's links were attached to (the cluster's), reset in
    /// teardown.
    remote: Option<ProxyAdmin>,
    /// (service, dependency) pairs the scenario asked to go through a fault proxy.
    wanted: BTreeSet<(String, String)>,
    /// The links opened so far.
    pub(crate) links: Vec<Link>,
    /// When the last network fault was injected.
    pub(crate) faulted_at: Option<Instant>,
    /// When the links last healed (or a fault that undoes itself ended).
    pub(crate) healed_at: Option<Instant>,
    /// The last network fault and the links it went into, as recovery lines name it.
    pub(crate) fault: Option<String>,
    /// Whether the write sent while the links were faulted was acknowledged (a matrix cell
    /// checks afterwards that the store holds it whole or not at all).
    pub(crate) acknowledged: Option<bool>,
}

impl fmt::Debug for NetworkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkState")
            .field("wanted", &self.wanted)
            .field("links", &self.links)
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

impl NetworkState {
    /// Asks that `service` reach `dependency` through a fault proxy once it starts.
    pub fn want(&mut self, service: &str, dependency: &str) {
        self.wanted
            .insert((service.to_owned(), dependency.to_owned()));
    }

    /// True when the scenario asked that `service` reach `dependency` through a fault proxy.
    fn wants(&self, service: &str, dependency: &str) -> bool {
        self.wanted
            .contains(&(service.to_owned(), dependency.to_owned()))
    }

    /// The address (`ip:port`) `service` must use to reach `dependency` at `upstream`: the
    /// link's when the scenario asked for one (opened on first use and shared by every later
    /// instance of the service), else `upstream` itself.
    pub async fn route(
        &mut self,
        service: &str,
        dependency: &str,
        upstream: &str,
    ) -> anyhow::Result<String> {
        if !self.wants(service, dependency) {
            return Ok(upstream.to_owned());
        }
        if let Some(&index) = self.matching(Some(&[service]), Some(dependency)).first() {
            let link = &self.links[index];
            anyhow::ensure!(
                link.upstream() == upstream,
                "{service} already reaches {dependency} at {} through a fault proxy; now it \
                 asks for {upstream}",
                link.upstream()
            );
            return Ok(link.listen().to_owned());
        }
        let proxies = self.proxies.get_or_insert_with(Proxies::new);
        let link = Link::open(proxies, service, dependency, upstream).await?;
        println!(
            "[network] {service} reaches {dependency} through a fault proxy: {} → {upstream}",
            link.listen()
        );
        let listen = link.listen().to_owned();
        self.links.push(link);
        Ok(listen)
    }

    /// The indices of the links from one of `from` (any when `None`) to `to` (any when `None`),
    /// one per proxy: links that share a proxy are faulted once.
    fn matching(&self, from: Option<&[&str]>, to: Option<&str>) -> Vec<usize> {
        let mut chosen: Vec<usize> = Vec::new();
        for (index, link) in self.links.iter().enumerate() {
            let wanted = from.is_none_or(|from| from.iter().any(|service| link.serves(service)))
                && to.is_none_or(|to| link.to() == to);
            if wanted
                && !chosen
                    .iter()
                    .any(|&other| self.links[other].same_proxy(link))
            {
                chosen.push(index);
            }
        }
        chosen
    }

    /// The indices of the links a step names (see [`matching`](Self::matching)); an error naming
    /// the links there are when none matches.
    pub(crate) fn select(
        &self,
        from: Option<&[&str]>,
        to: Option<&str>,
    ) -> anyhow::Result<Vec<usize>> {
        let chosen = self.matching(from, to);
        anyhow::ensure!(
            !chosen.is_empty(),
            "no link from {} to {} in this scenario (links: {:?}); say \"Given SERVICE reaches \
             DEPENDENCY through a fault proxy\" before the service starts, or on the cluster \
             \"Given the deployed services reach their stores through the cluster's fault proxy\"",
            from.map_or("any service".to_owned(), |from| from.join(" or ")),
            to.unwrap_or("any dependency"),
            self.links
                .iter()
                .map(|link| format!("{} → {}", link.from(), link.to()))
                .collect::<Vec<_>>()
        );
        Ok(chosen)
    }

    /// Attaches the links of a fault proxy elsewhere (`admin`) that exist already:
    /// `(proxy, dependency, services)` each. The proxy is reset first, so the scenario starts
    /// with nothing faulted, and again in teardown.
    pub async fn attach(
        &mut self,
        admin: ProxyAdmin,
        links: &[(&str, &str, &[&str])],
    ) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.remote.is_none() && self.links.is_empty(),
            "this scenario has its links already: attach to the cluster's fault proxy once, \
             instead of \"… through a fault proxy\" of the scenario's own"
        );
        admin.reset().await?;
        // From here on teardown resets it, whatever happens next.
        self.remote = Some(admin.clone());
        for (proxy, dependency, services) in links {
            let control = network::ProxyControl::Remote(admin.clone());
            let link = Link::attach(control, proxy, services, dependency).await?;
            println!(
                "[network] {} reach {dependency} through the fault proxy {proxy:?} at {}: {} → {}",
                link.from(),
                admin.url(),
                link.listen(),
                link.upstream()
            );
            self.links.push(link);
        }
        Ok(())
    }

    /// Resets the fault proxy elsewhere the scenario attached to (every toxic removed, every
    /// proxy enabled), once, if any: first thing in teardown, so that the cleanup after it
    /// reaches the stores. Bounded; a failure is printed, not raised.
    pub async fn reset_remote(&mut self) {
        let Some(admin) = self.remote.take() else {
            return;
        };
        match tokio::time::timeout(TEARDOWN_LIMIT, admin.reset()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("[harness] resetting the fault proxy: {error:#}"),
            Err(_) => eprintln!(
                "[harness] resetting the fault proxy at {} timed out",
                admin.url()
            ),
        }
    }

    /// [`route`](Self::route) for a URL (`mysql://…`, `redis://…`, `mongodb://…`, `http://…`):
    /// the same URL, aimed at the link when there is one.
    pub async fn route_url(
        &mut self,
        service: &str,
        dependency: &str,
        url: &str,
    ) -> anyhow::Result<String> {
        // Not parsed unless routed: a URL the harness was given may name several hosts.
        if !self.wants(service, dependency) {
            return Ok(url.to_owned());
        }
        let upstream = network::upstream_of(url)?;
        let routed = self.route(service, dependency, &upstream).await?;
        network::through(url, &routed)
    }

    /// [`route`](Self::route) for a host and a port (MySQL settings).
    pub async fn route_host_port(
        &mut self,
        service: &str,
        dependency: &str,
        host: &str,
        port: u16,
    ) -> anyhow::Result<(String, u16)> {
        let routed = self
            .route(service, dependency, &format!("{host}:{port}"))
            .await?;
        let (host, port) = network::split_address(&routed)?;
        Ok((host.to_owned(), port))
    }

    /// Removes every link of the scenario's own (its services are stopped already) and resets
    /// the fault proxy elsewhere it attached to. Bounded per call; failures are printed, not
    /// raised.
    pub async fn teardown(&mut self) {
        self.reset_remote().await;
        for link in self.links.drain(..) {
            let name = format!("{} → {}", link.from(), link.to());
            match tokio::time::timeout(TEARDOWN_LIMIT, link.close()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => eprintln!("[harness] removing the link {name}: {error:#}"),
                Err(_) => eprintln!("[harness] removing the link {name} timed out"),
            }
        }
        self.proxies = None;
    }
}
