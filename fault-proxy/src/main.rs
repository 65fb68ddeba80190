//! The `fault-proxy` binary: Toxiproxy's admin API on `--host:--port` (`127.0.0.1:8474`),
//! optionally populated from a `--config` file and from `--proxies` (the same JSON list in the
//! environment, `FAULT_PROXY_PROXIES`: what a Helm chart's ConfigMap can give), until SIGTERM or
//! Ctrl-C. Toxiproxy's own spelling of the flags (`-host`, `-port`, `-config`) works too.

use std::{ffi::OsString, path::PathBuf};

use anyhow::Context;
use clap::Parser;
use fault_proxy::{admin, Proxies, ProxyConfig};
use platform::cli::{rewrite_go_flags, GoFlag};

const EXAMPLE: &str = "\
Example: put a proxy between a client and Redis, slow the link down, cut it, heal it:

  fault-proxy &
  curl -s localhost:8474/proxies \\
    -d '{\"name\": \"redis\", \"listen\": \"127.0.0.1:26379\", \"upstream\": \"127.0.0.1:6379\"}'
  redis-cli -p 26379 ping                # through the proxy
  curl -s localhost:8474/proxies/redis/toxics \\
    -d '{\"type\": \"latency\", \"attributes\": {\"latency\": 800}}'
  curl -s localhost:8474/proxies/redis -d '{\"enabled\": false}'    # the link is cut
  curl -s -X POST localhost:8474/reset   # every toxic gone, every proxy enabled

Toxic types and their attributes: latency (latency, jitter: ms), bandwidth (rate: KB/s),
slow_close (delay: ms), timeout (timeout: ms, 0 holds for ever), reset_peer (timeout: ms),
slicer (average_size, size_variation: bytes; delay: µs), limit_data (bytes). Each toxic also
takes \"stream\" (\"upstream\": client to server, or \"downstream\", the default) and
\"toxicity\" (the share of connections it applies to, 0 to 1; 1 by default).

The API is Toxiproxy's: its clients and its CLI drive this proxy too.";

/// A TCP fault proxy with Toxiproxy's semantics and HTTP API: latency, bandwidth, time-outs,
/// resets and partitions between a client and its server.
#[derive(Debug, Parser)]
#[command(name = "fault-proxy", version, after_help = EXAMPLE)]
struct Cli {
    /// The address the admin API listens on.
    #[arg(long, env = "FAULT_PROXY_HOST", default_value = "127.0.0.1")]
    host: String,
    /// The admin API's port.
    #[arg(long, env = "FAULT_PROXY_PORT", default_value_t = 8474)]
    port: u16,
    /// Proxies to create at start-up: a JSON list as `POST /populate` takes it, e.g.
    /// `[{"name": "redis", "listen": "127.0.0.1:26379", "upstream": "127.0.0.1:6379"}]`.
    #[arg(long, env = "FAULT_PROXY_CONFIG")]
    config: Option<PathBuf>,
    /// Proxies to create at start-up, the same JSON list as the `--config` file's but given
    /// inline (created after the file's): a container's settings come from its environment.
    /// Blank means none.
    #[arg(long, env = PROXIES_ENV, value_name = "JSON")]
    proxies: Option<String>,
}

/// The variable of `--proxies`.
const PROXIES_ENV: &str = "FAULT_PROXY_PROXIES";

/// Toxiproxy's flags, in Go's spelling.
const TOXIPROXY_FLAGS: &[GoFlag] = &[
    GoFlag::value("host", "--host"),
    GoFlag::value("port", "--port"),
    GoFlag::value("config", "--config"),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::telemetry::init("fault-proxy");
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = Cli::parse_from(rewrite_go_flags(args, TOXIPROXY_FLAGS));
    let proxies = Proxies::new();
    if let Some(path) = &cli.config {
        let origin = format!("the config file {}", path.display());
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {origin}"))?;
        populate(&proxies, &origin, &text).await?;
    }
    if let Some(json) = cli
        .proxies
        .as_deref()
        .filter(|json| !json.trim().is_empty())
    {
        populate(&proxies, &format!("{PROXIES_ENV} (--proxies)"), json).await?;
    }
    let listener = tokio::net::TcpListener::bind((cli.host.as_str(), cli.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}:{} for the admin API",
                cli.host, cli.port
            )
        })?;
    tracing::info!(address = %listener.local_addr()?, "fault-proxy admin API listening");
    admin::serve(proxies, listener, platform::shutdown::shutdown_signal())
        .await
        .context("the admin API failed")
}

/// Creates the proxies of `json`, a JSON list of [`ProxyConfig`]s from `origin` (the config
/// file, or `--proxies`); fails naming `origin` and the proxy.
async fn populate(proxies: &Proxies, origin: &str, json: &str) -> anyhow::Result<()> {
    let configs: Vec<ProxyConfig> = serde_json::from_str(json).with_context(|| {
        format!(
            "{origin} is not a JSON list of proxies like \
             [{{\"name\": \"redis\", \"listen\": \"127.0.0.1:26379\", \"upstream\": \"127.0.0.1:6379\"}}]"
        )
    })?;
    let (done, error) = proxies.populate(configs).await;
    if let Some(error) = error {
        return Err(
            anyhow::Error::new(error).context(format!("cannot create the proxies of {origin}"))
        );
    }
    for proxy in done {
        tracing::info!(proxy = %proxy.name, listen = %proxy.listen, upstream = %proxy.upstream, "proxy created");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn proxies_from_the_environment_are_created() {
        let proxies = Proxies::new();
        let json = r#"[{"name": "redis", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:6379"}]"#;
        populate(&proxies, PROXIES_ENV, json).await.unwrap();
        let names: Vec<String> = proxies.list().await.into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["redis"]);
    }

    #[tokio::test]
    async fn a_malformed_list_fails_naming_the_variable() {
        let origin = format!("{PROXIES_ENV} (--proxies)");
        let error = populate(&Proxies::new(), &origin, r#"{"name": "redis"}"#)
            .await
            .unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.starts_with("FAULT_PROXY_PROXIES (--proxies) is not a JSON list"),
            "{message}"
        );
    }

    #[test]
    fn the_proxies_come_from_the_flag_or_the_variable() {
        let cli = Cli::parse_from(["fault-proxy", "--proxies", "[]"]);
        assert_eq!(cli.proxies.as_deref(), Some("[]"));
        assert_eq!(
            cli.host, "127.0.0.1",
            "the binary's own default stays loopback"
        );
    }
}
