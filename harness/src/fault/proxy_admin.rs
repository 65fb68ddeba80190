//! A client of a fault proxy's HTTP admin API (Toxiproxy 2.x, served by the `fault-proxy` binary
//! or by Toxiproxy itself), for a proxy that runs elsewhere: the release's `fault-proxy` pod on
//! the cluster (`cargo xtask deploy --env local`). It speaks in the [`super::proxy`] crate's own
//! types ([`Toxic`], [`ProxyConfig`], [`ProxyPatch`], [`ProxyInfo`]), so a [`super::network::Link`]
//! drives a remote proxy with the same operations as one in this process.
//!
//! | call | route |
//! |---|---|
//! | [`ProxyAdmin::list`] | `GET /proxies` |
//! | [`ProxyAdmin::create`] | `POST /proxies` |
//! | [`ProxyAdmin::get`], [`ProxyAdmin::update`], [`ProxyAdmin::delete`] | `GET`, `POST`, `DELETE /proxies/{name}` |
//! | [`ProxyAdmin::toxics`], [`ProxyAdmin::add_toxic`] | `GET`, `POST /proxies/{name}/toxics` |
//! | [`ProxyAdmin::toxic`], [`ProxyAdmin::remove_toxic`] | `GET`, `DELETE /proxies/{name}/toxics/{toxic}` |
//! | [`ProxyAdmin::reset`] | `POST /reset`: every toxic removed, every proxy enabled |
//!
//! Every call is bounded ([`REQUEST_TIMEOUT`], connecting [`CONNECT_TIMEOUT`]); an error names the
//! call, the proxy and the admin URL, and says what to check (the pod, the proxy's name).

use std::{collections::BTreeMap, fmt, time::Duration};

use anyhow::Context as _;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::proxy::{ProxyConfig, ProxyInfo, ProxyPatch, Toxic};

/// Longest one admin call may take: the proxy answers from memory, in milliseconds.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest connecting to the admin API may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// What to do when the admin API does not answer at all.
const UNREACHABLE_HINT: &str = "is the fault-proxy pod running and Ready? `cargo xtask status` \
                                shows it; deploy with --env local (fault-proxy enabled)";

/// A fault proxy's admin API at one base URL (`http://127.0.0.1:31474`). Cheap to clone.
#[derive(Clone)]
pub struct ProxyAdmin {
    base: String,
    http: reqwest::Client,
}

impl fmt::Debug for ProxyAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyAdmin")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl ProxyAdmin {
    /// The admin API at `base` (`http://host:port`, a trailing `/` is dropped).
    pub fn new(base: &str) -> anyhow::Result<ProxyAdmin> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the fault proxy's admin client")?;
        Ok(ProxyAdmin {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:31474`.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Every proxy, by name.
    pub async fn list(&self) -> anyhow::Result<BTreeMap<String, ProxyInfo>> {
        self.call(Call::get("/proxies"), "listing the proxies")
            .await
    }

    /// The proxy `name`.
    pub async fn get(&self, name: &str) -> anyhow::Result<ProxyInfo> {
        self.call(
            Call::get(&proxy_path(name)),
            &format!("reading proxy {name:?}"),
        )
        .await
    }

    /// Creates a proxy (`config.listen` on the proxy's host).
    pub async fn create(&self, config: &ProxyConfig) -> anyhow::Result<ProxyInfo> {
        let body = serde_json::to_value(config).context("writing a proxy's JSON")?;
        self.call(
            Call::post("/proxies", body),
            &format!("creating proxy {:?}", config.name),
        )
        .await
    }

    /// Changes the proxy `name` (`enabled`, `listen`, `upstream`; absent fields stay).
    pub async fn update(&self, name: &str, patch: &ProxyPatch) -> anyhow::Result<ProxyInfo> {
        let body = serde_json::to_value(patch).context("writing a proxy change's JSON")?;
        self.call(
            Call::post(&proxy_path(name), body),
            &format!("updating proxy {name:?}"),
        )
        .await
    }

    /// Enables (heals a cut) or disables (cuts: open connections closed, new ones refused) the
    /// proxy `name`.
    pub async fn set_enabled(&self, name: &str, enabled: bool) -> anyhow::Result<ProxyInfo> {
        let patch = ProxyPatch {
            enabled: Some(enabled),
            ..ProxyPatch::default()
        };
        self.update(name, &patch).await
    }

    /// Removes the proxy `name`.
    pub async fn delete(&self, name: &str) -> anyhow::Result<()> {
        self.call_empty(
            Call::delete(&proxy_path(name)),
            &format!("deleting proxy {name:?}"),
        )
        .await
    }

    /// The toxics of the proxy `name`.
    pub async fn toxics(&self, name: &str) -> anyhow::Result<Vec<Toxic>> {
        self.call(
            Call::get(&format!("{}/toxics", proxy_path(name))),
            &format!("listing the toxics of proxy {name:?}"),
        )
        .await
    }

    /// The toxic `toxic` of the proxy `name`.
    pub async fn toxic(&self, name: &str, toxic: &str) -> anyhow::Result<Toxic> {
        self.call(
            Call::get(&toxic_path(name, toxic)),
            &format!("reading toxic {toxic:?} of proxy {name:?}"),
        )
        .await
    }

    /// Adds `toxic` to the proxy `name` (an error when one of that name is there already).
    pub async fn add_toxic(&self, name: &str, toxic: &Toxic) -> anyhow::Result<Toxic> {
        let body = serde_json::to_value(toxic).context("writing a toxic's JSON")?;
        self.call(
            Call::post(&format!("{}/toxics", proxy_path(name)), body),
            &format!("adding toxic {:?} to proxy {name:?}", toxic.name),
        )
        .await
    }

    /// Removes the toxic `toxic` from the proxy `name`.
    pub async fn remove_toxic(&self, name: &str, toxic: &str) -> anyhow::Result<()> {
        self.call_empty(
            Call::delete(&toxic_path(name, toxic)),
            &format!("removing toxic {toxic:?} from proxy {name:?}"),
        )
        .await
    }

    /// Removes every toxic of every proxy and enables every proxy.
    pub async fn reset(&self) -> anyhow::Result<()> {
        self.call_empty(Call::post("/reset", Value::Null), "resetting every proxy")
            .await
    }

    /// Sends `call` and parses its JSON answer as `T`; `what` names it in errors.
    async fn call<T: DeserializeOwned>(&self, call: Call, what: &str) -> anyhow::Result<T> {
        let body = self.send(call, what).await?;
        serde_json::from_slice(&body).with_context(|| {
            format!(
                "{what} on the fault proxy at {}: the answer is not the JSON expected: {:?}",
                self.base,
                String::from_utf8_lossy(&body)
            )
        })
    }

    /// Sends `call`, whose answer has no body to read.
    async fn call_empty(&self, call: Call, what: &str) -> anyhow::Result<()> {
        self.send(call, what).await.map(drop)
    }

    /// Sends `call`; a 2xx answer's body, else an error with the proxy's own message.
    async fn send(&self, call: Call, what: &str) -> anyhow::Result<Vec<u8>> {
        let url = format!("{}{}", self.base, call.path);
        let mut request = self.http.request(call.method.clone(), &url);
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let answer = request.send().await.map_err(|error| {
            let why = if error.is_timeout() {
                format!("no answer within {REQUEST_TIMEOUT:?}")
            } else {
                error_chain(&error)
            };
            anyhow::anyhow!(
                "{what}: the fault proxy's admin API at {} did not answer ({why}); \
                 {UNREACHABLE_HINT}",
                self.base
            )
        })?;
        let status = answer.status();
        let body = answer
            .bytes()
            .await
            .with_context(|| format!("{what}: reading the answer of {} {url}", call.method))?
            .to_vec();
        if status.is_success() {
            return Ok(body);
        }
        Err(anyhow::anyhow!(
            "{what}: {} {url} answered {status}: {}{}",
            call.method,
            refusal(&body),
            hint_for(status.as_u16())
        ))
    }
}

/// One request to the admin API.
struct Call {
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
}

impl Call {
    fn get(path: &str) -> Call {
        Call {
            method: reqwest::Method::GET,
            path: path.to_owned(),
            body: None,
        }
    }

    fn post(path: &str, body: Value) -> Call {
        Call {
            method: reqwest::Method::POST,
            path: path.to_owned(),
            body: (!body.is_null()).then_some(body),
        }
    }

    fn delete(path: &str) -> Call {
        Call {
            method: reqwest::Method::DELETE,
            path: path.to_owned(),
            body: None,
        }
    }
}

fn proxy_path(name: &str) -> String {
    format!("/proxies/{}", segment(name))
}

fn toxic_path(name: &str, toxic: &str) -> String {
    format!("{}/toxics/{}", proxy_path(name), segment(toxic))
}

/// `text` as one URL path segment: the names the harness uses are slugs, anything else is
/// percent-encoded.
fn segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The proxy's own words for a refusal: the `error` of Toxiproxy's `{"error", "status"}`, else
/// the body as text.
fn refusal(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|json| json.get("error")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned())
}

/// What to do about a refusal with `status`.
fn hint_for(status: u16) -> &'static str {
    match status {
        404 => {
            " (the release's fault-proxy creates the proxies mysql, redis and mongodb at start; \
             `curl <admin>/proxies` lists what it has)"
        }
        409 => " (it exists already)",
        _ => "",
    }
}

/// An error and its sources, `: `-separated (reqwest's own message alone says little).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;
    use crate::fault::proxy::{admin, Direction, Proxies, ToxicKind};

    /// An admin API over `proxies` on a free loopback port, served until the test ends.
    async fn served(proxies: &Proxies) -> anyhow::Result<ProxyAdmin> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(admin::serve(
            proxies.clone(),
            listener,
            std::future::pending(),
        ));
        ProxyAdmin::new(&format!("http://{address}/"))
    }

    /// A listener that nothing reads from, as the upstream of a proxy under test.
    async fn upstream() -> anyhow::Result<(TcpListener, String)> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        Ok((listener, address))
    }

    #[tokio::test]
    async fn every_call_round_trips_through_the_admin_api() -> anyhow::Result<()> {
        let proxies = Proxies::new();
        let admin = served(&proxies).await?;
        assert_eq!(admin.url().matches('/').count(), 2, "{}", admin.url());
        let (_upstream, address) = upstream().await?;
        let created = admin
            .create(&ProxyConfig::new("mysql", "127.0.0.1:0", address.as_str()))
            .await?;
        assert!(created.enabled);
        assert_eq!(created.upstream, address);
        assert_eq!(admin.get("mysql").await?.listen, created.listen);
        assert_eq!(admin.list().await?.keys().collect::<Vec<_>>(), ["mysql"]);

        let slow = Toxic::new(
            ToxicKind::Latency {
                latency: 800,
                jitter: 0,
            },
            Direction::Downstream,
        );
        assert_eq!(admin.add_toxic("mysql", &slow).await?, slow);
        assert_eq!(proxies.toxics("mysql").await?, std::slice::from_ref(&slow));
        assert_eq!(admin.toxic("mysql", "latency_downstream").await?, slow);
        assert_eq!(
            admin.get("mysql").await?.toxics,
            std::slice::from_ref(&slow)
        );
        admin.remove_toxic("mysql", "latency_downstream").await?;
        assert!(admin.toxics("mysql").await?.is_empty());

        assert!(!admin.set_enabled("mysql", false).await?.enabled);
        assert!(!proxies.get("mysql").await?.enabled);
        // Enabled again by the reset on a fresh port: its old one may be another test's by now.
        let fresh = ProxyConfig {
            enabled: false,
            ..ProxyConfig::new("redis", "127.0.0.1:0", address.as_str())
        };
        admin.create(&fresh).await?;
        admin.add_toxic("redis", &slow).await?;
        admin.reset().await?;
        let reset = proxies.get("redis").await?;
        assert!(reset.enabled && reset.toxics.is_empty(), "{reset:?}");
        admin.delete("redis").await?;

        admin.delete("mysql").await?;
        assert!(proxies.list().await.is_empty());
        Ok(())
    }

    #[tokio::test]
    async fn a_refusal_names_the_call_the_proxy_and_what_to_check() -> anyhow::Result<()> {
        let admin = served(&Proxies::new()).await?;
        let error = format!("{:#}", admin.get("mongodb").await.unwrap_err());
        assert!(error.contains("reading proxy \"mongodb\""), "{error}");
        assert!(error.contains("404"), "{error}");
        assert!(error.contains("proxy \"mongodb\" not found"), "{error}");
        assert!(error.contains("mysql, redis and mongodb"), "{error}");
        Ok(())
    }

    #[tokio::test]
    async fn an_admin_api_that_is_not_there_says_what_to_do() -> anyhow::Result<()> {
        // A port that was free a moment ago: connecting is refused at once.
        let address = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
        let admin = ProxyAdmin::new(&format!("http://{address}"))?;
        let error = format!("{:#}", admin.reset().await.unwrap_err());
        assert!(error.contains("resetting every proxy"), "{error}");
        assert!(error.contains("did not answer"), "{error}");
        assert!(error.contains("fault-proxy enabled"), "{error}");
        Ok(())
    }

    #[test]
    fn names_are_path_segments() {
        assert_eq!(
            toxic_path("redis", "latency_downstream"),
            "/proxies/redis/toxics/latency_downstream"
        );
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
    }
}
