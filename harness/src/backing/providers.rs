//! Which providers a backing service may try (`url`, `docker`, `local`), from an environment
//! variable such as `MOCKVIDEO_MYSQL_PROVIDERS` or `MOCKVIDEO_REDIS_PROVIDERS` (comma list;
//! default all three), e.g. to exercise the local-process provider on a machine with Docker.

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

/// A port that was free a moment ago on 127.0.0.1 (for local servers and fixed host ports).
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|error| anyhow::anyhow!("finding a free port: {error}"))?;
    Ok(listener.local_addr()?.port())
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
