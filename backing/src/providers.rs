//! The provisioning chain every backing service shares: try a URL from the environment, then a
//! container, then a local server process, printing each attempt, and fail with every reason
//! and what to install. Which providers are tried comes from a variable such as
//! `MOCKVIDEO_MYSQL_PROVIDERS` or `MOCKVIDEO_REDIS_PROVIDERS` (comma list; default all three),
//! e.g. to exercise the local-process provider on a machine with Docker.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::OnceCell;

use super::{
    cleanup::Guard,
    docker, fixed_port,
    ready::{Liveness, NotReady, Probe},
    scratch,
};

/// What a provider hands back: where the server listens, how it was provided, what removes it,
/// and `extra`, what only this kind of server has (MySQL's login, Redis's URL).
pub(crate) struct Provisioned<E> {
    pub host: String,
    pub port: u16,
    pub provider: String,
    pub container_id: Option<String>,
    pub guard: Option<Guard>,
    pub extra: E,
}

impl<E> Provisioned<E> {
    /// Announces the server on stderr (`[harness] <kind>: ready via …`, timed from `started`)
    /// and splits off the [`Server`] part.
    pub(crate) fn ready(self, kind: &str, started: Instant) -> (Server, E) {
        let Provisioned {
            host,
            port,
            provider,
            container_id,
            guard,
            extra,
        } = self;
        eprintln!(
            "[harness] {kind}: ready via {provider} at {host}:{port} in {:.2} s",
            started.elapsed().as_secs_f64()
        );
        let server = Server {
            host,
            port,
            provider,
            container_id,
            guard,
        };
        (server, extra)
    }
}

/// The part every provisioned server has: where it listens, how it was provided and the guard
/// that removes the container or kills the process (on drop, at exit, or at [`Server::stop`]).
pub struct Server {
    host: String,
    port: u16,
    provider: String,
    container_id: Option<String>,
    guard: Option<Guard>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("provider", &self.provider)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("container_id", &self.container_id)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Human description of the provider used, e.g.
    /// `docker image local/mockvideo-redis:… (container mockvideo-redis-1a2b3c4d)`.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// Host the server listens on.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Id of the container, when the Docker provider was used.
    pub fn container_id(&self) -> Option<&str> {
        self.container_id.as_deref()
    }

    /// Restarts the container (`docker restart`, graceful stop within 10 s) and waits until
    /// `P` answers on `url` again. Containers only: a server from a URL is not ours to restart,
    /// and local processes are not supported.
    pub(crate) async fn restart<P: Probe>(&self, url: &str) -> anyhow::Result<()> {
        let id = self.container_id().with_context(|| {
            format!(
                "restart needs a container; this {} is {}",
                P::DISPLAY,
                self.provider()
            )
        })?;
        let started = Instant::now();
        docker::restart_container(id, Duration::from_secs(10)).await?;
        let waited = P::wait(url, fixed_port::READY_LIMIT, Liveness::Container(id))
            .await
            .map_err(NotReady::into_error)
            .with_context(|| {
                format!(
                    "{} did not answer {} after the restart",
                    P::DISPLAY,
                    P::REQUEST
                )
            })?;
        eprintln!(
            "[harness] {}: restarted {} in {:.2} s ({} {:.2} s after the restart call returned)",
            P::KIND,
            self.provider(),
            started.elapsed().as_secs_f64(),
            P::REQUEST,
            waited.as_secs_f64()
        );
        Ok(())
    }

    /// Waits (up to the container start-up limit, 60 s) until `P` answers on `url`. Returns
    /// how long it waited.
    pub(crate) async fn wait_until_ready<P: Probe>(&self, url: &str) -> anyhow::Result<Duration> {
        let liveness = match self.container_id() {
            Some(id) => Liveness::Container(id),
            None => Liveness::External,
        };
        P::wait(url, fixed_port::READY_LIMIT, liveness)
            .await
            .map_err(NotReady::into_error)
            .with_context(|| {
                format!(
                    "{} ({}) did not answer {}",
                    P::DISPLAY,
                    self.provider(),
                    P::REQUEST
                )
            })
    }

    /// Removes the container or kills the process now.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        match self.guard.take() {
            Some(guard) => guard.release().await,
            None => Ok(()),
        }
    }
}

/// One server for the whole test binary in `cell`, started by `start` on first call. Statics
/// are never dropped, so the server is removed by the process-exit hook instead. A failed start
/// is remembered, so every test fails at once with the same message rather than retrying.
pub(crate) async fn shared<T, F>(
    cell: &'static OnceCell<Result<T, String>>,
    display: &str,
    start: impl FnOnce() -> F,
) -> anyhow::Result<&'static T>
where
    F: Future<Output = anyhow::Result<T>>,
{
    let slot = cell
        .get_or_init(|| async { start().await.map_err(|error| format!("{error:#}")) })
        .await;
    slot.as_ref()
        .map_err(|reason| anyhow::anyhow!("{display} could not be provisioned: {reason}"))
}

/// How one backing service's chain is named and what to tell the user when it all fails.
pub(crate) struct Chain {
    /// Prefix of the progress lines, e.g. `mysql`.
    pub kind: &'static str,
    /// Name in the final error, e.g. `MySQL`.
    pub display: &'static str,
    /// The variable holding a server URL, e.g. `MYSQL_URL`.
    pub url_env: &'static str,
    /// The variable restricting the providers, e.g. `MOCKVIDEO_MYSQL_PROVIDERS`.
    pub providers_env: &'static str,
    /// What the local provider starts, e.g. `local mariadbd`.
    pub local_name: &'static str,
    /// The sentence that ends a total failure: what to install or set.
    pub fix: &'static str,
}

impl Chain {
    /// Runs the providers in order like [`Chain::provision`] and announces the winner (timed
    /// from now) as `[harness] <kind>: ready via …`.
    pub(crate) async fn start<E, UrlFut, DockerFut, LocalFut>(
        &self,
        from_url: impl FnOnce(String) -> UrlFut,
        docker: impl FnOnce() -> DockerFut,
        local: impl FnOnce() -> LocalFut,
    ) -> anyhow::Result<(Server, E)>
    where
        UrlFut: Future<Output = anyhow::Result<Provisioned<E>>>,
        DockerFut: Future<Output = anyhow::Result<Provisioned<E>>>,
        LocalFut: Future<Output = anyhow::Result<Provisioned<E>>>,
    {
        let started = Instant::now();
        let provisioned = self.provision(from_url, docker, local).await?;
        Ok(provisioned.ready(self.kind, started))
    }

    /// Runs the providers in order and returns what the first that works hands back.
    pub(crate) async fn provision<P, UrlFut, DockerFut, LocalFut>(
        &self,
        from_url: impl FnOnce(String) -> UrlFut,
        docker: impl FnOnce() -> DockerFut,
        local: impl FnOnce() -> LocalFut,
    ) -> anyhow::Result<P>
    where
        UrlFut: Future<Output = anyhow::Result<P>>,
        DockerFut: Future<Output = anyhow::Result<P>>,
        LocalFut: Future<Output = anyhow::Result<P>>,
    {
        let kind = self.kind;
        let wanted = Providers::from_env(self.providers_env)?;
        let swept = tokio::task::spawn_blocking(scratch::sweep_stale)
            .await
            .unwrap_or(0);
        if swept > 0 {
            eprintln!("[harness] removed {swept} stale scratch dir(s) of earlier runs");
        }
        let mut failures: Vec<(&str, String)> = Vec::new();
        if wanted.url {
            match std::env::var(self.url_env)
                .ok()
                .filter(|url| !url.trim().is_empty())
            {
                None => {
                    eprintln!("[harness] {kind}: {} not set, skipping", self.url_env);
                    failures.push((self.url_env, "not set".to_owned()));
                }
                Some(url) => {
                    eprintln!(
                        "[harness] {kind}: trying {} ({}) …",
                        self.url_env,
                        redact_url(&url)
                    );
                    match from_url(url).await {
                        Ok(provisioned) => return Ok(provisioned),
                        Err(error) => {
                            eprintln!("[harness] {kind}: {} failed: {error:#}", self.url_env);
                            failures.push((self.url_env, format!("{error:#}")));
                        }
                    }
                }
            }
        }
        if wanted.docker {
            match docker().await {
                Ok(provisioned) => return Ok(provisioned),
                Err(error) => {
                    eprintln!("[harness] {kind}: docker failed: {error:#}");
                    failures.push(("docker", format!("{error:#}")));
                }
            }
        }
        if wanted.local {
            eprintln!("[harness] {kind}: trying {} …", self.local_name);
            match local().await {
                Ok(provisioned) => return Ok(provisioned),
                Err(error) => {
                    eprintln!("[harness] {kind}: {} failed: {error:#}", self.local_name);
                    failures.push((self.local_name, format!("{error:#}")));
                }
            }
        }
        let mut message = format!("no {} server could be provisioned:\n", self.display);
        for (provider, reason) in &failures {
            message.push_str(&format!("  - {provider}: {reason}\n"));
        }
        message.push_str(self.fix);
        anyhow::bail!(message)
    }
}

/// The providers a service may try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Providers {
    /// A URL from the environment.
    pub url: bool,
    /// A container on the Docker engine.
    pub docker: bool,
    /// A server process from this machine.
    pub local: bool,
}

impl Providers {
    /// Reads `variable`; unset means all three.
    pub(crate) fn from_env(variable: &str) -> anyhow::Result<Providers> {
        match std::env::var(variable) {
            Ok(list) => Providers::parse(variable, &list),
            Err(_) => Ok(Providers {
                url: true,
                docker: true,
                local: true,
            }),
        }
    }

    fn parse(variable: &str, list: &str) -> anyhow::Result<Providers> {
        let mut wanted = Providers {
            url: false,
            docker: false,
            local: false,
        };
        for item in list
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            match item {
                "url" => wanted.url = true,
                "docker" => wanted.docker = true,
                "local" => wanted.local = true,
                other => {
                    anyhow::bail!("{variable}: unknown provider {other:?} (use url, docker, local)")
                }
            }
        }
        Ok(wanted)
    }
}

/// Parses a server URL given in `variable`: one of `schemes`, with a host, and the port or
/// `default_port`.
pub(crate) fn parse_server_url(
    variable: &str,
    text: &str,
    schemes: &[&str],
    default_port: u16,
) -> anyhow::Result<(url::Url, String, u16)> {
    let url = url::Url::parse(text)
        .map_err(|error| anyhow::anyhow!("{variable} is not a URL: {error}"))?;
    anyhow::ensure!(
        schemes.contains(&url.scheme()),
        "{variable} must start with {}:// (got {}://)",
        schemes[0],
        url.scheme()
    );
    let host = url
        .host_str()
        .ok_or_else(|| anyhow::anyhow!("{variable} has no host"))?
        .to_owned();
    let port = url.port().unwrap_or(default_port);
    Ok((url, host, port))
}

/// The URL with its password replaced by `***`, for messages.
pub(crate) fn redact_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "unparsable URL".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_select_providers_and_unknown_names_are_refused() {
        let only_local = Providers::parse("X", " local ,").expect("valid list");
        assert!(only_local.local && !only_local.docker && !only_local.url);
        let error = Providers::parse("X", "url,podman").expect_err("unknown provider");
        assert!(error.to_string().contains("podman"));
    }
}
