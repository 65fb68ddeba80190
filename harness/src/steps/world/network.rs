//! The network part of a scenario: which of its services reach which dependency through a
//! fault proxy ("Given accountd reaches MySQL through a fault proxy"), the links opened for them
//! when those services start ([`NetworkState::route`], the one place every service's start-up
//! asks where its dependency is), and when the last network fault began and the links last
//! healed (recovery is measured from there). The links are removed in teardown.

use std::{
    collections::BTreeSet,
    fmt,
    time::{Duration, Instant},
};

use harness::fault::{
    network::{self, Link},
    proxy::Proxies,
};

/// The network part of a scenario.
#[derive(Default)]
pub struct NetworkState {
    /// The registry of the scenario's proxies, made with its first link.
    proxies: Option<Proxies>,
    /// (service, dependency) pairs the scenario asked to go through a fault proxy.
    wanted: BTreeSet<(String, String)>,
    /// The links opened so far.
    pub(crate) links: Vec<Link>,
    /// When the last network fault was injected.
    pub(crate) faulted_at: Option<Instant>,
    /// When the links last healed (or a fault that undoes itself ended).
    pub(crate) healed_at: Option<Instant>,
}

impl fmt::Debug for NetworkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkState")
            .field("wanted", &self.wanted)
            .field("links", &self.links)
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
        if let Some(link) = self
            .links
            .iter()
            .find(|link| link.from() == service && link.to() == dependency)
        {
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

    /// Removes every link (the scenario's services are stopped already). Bounded per link;
    /// failures are printed, not raised.
    pub async fn teardown(&mut self) {
        const LIMIT: Duration = Duration::from_secs(5);
        for link in self.links.drain(..) {
            let name = format!("{} → {}", link.from(), link.to());
            match tokio::time::timeout(LIMIT, link.close()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => eprintln!("[harness] removing the link {name}: {error:#}"),
                Err(_) => eprintln!("[harness] removing the link {name} timed out"),
            }
        }
        self.proxies = None;
    }
}
