//! Network faults on the cluster: the release deployed with `--env local` runs a `fault-proxy`
//! pod (Toxiproxy's admin API on its `admin` port) with one proxy per store, and the services
//! reach their stores through it. "Given the deployed services reach their stores through the
//! cluster's fault proxy" attaches the scenario's links to those proxies
//! ([`NetworkState::attach`](crate::steps::world::network::NetworkState::attach)), so the
//! network steps ("When the link from accountd to MySQL gets 800 ms of latency", "When the
//! links to Redis are cut", "When the link heals", …) run unchanged against the pods. The proxy
//! is reset (every toxic removed, every proxy enabled) when the links are attached and again in
//! teardown, whether the scenario passed or failed. Every scenario shares that one proxy, so
//! their features are tagged `@serial` (the cluster suite runs one scenario at a time anyway).

use anyhow::Context as _;
use cucumber::given;
use harness::fault::proxy_admin::ProxyAdmin;

use super::deployed::cluster;
use crate::steps::world::MockVideoWorld;

/// The Deployment of the fault proxy.
const FAULT_PROXY: &str = "fault-proxy";

/// What to do when the release has no fault proxy.
const FAULT_PROXY_HINT: &str = "deploy with --env local (fault-proxy enabled)";

/// The release's proxies: (proxy and container port name, dependency as the steps name it, the
/// deployed services that reach it through that proxy).
const CLUSTER_LINKS: [(&str, &str, &[&str]); 3] = [
    ("mysql", "MySQL", &["accountd", "activity-server"]),
    ("redis", "Redis", &["event-producer", "event-consumer"]),
    (
        "mongodb",
        "MongoDB",
        &["movies", "showtimes", "bookings", "users"],
    ),
];

#[given("the deployed services reach their stores through the cluster's fault proxy")]
async fn through_the_cluster_proxy(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let cluster = cluster().await?;
    let workload = cluster
        .workload(FAULT_PROXY)
        .await
        .with_context(|| format!("the release has no fault proxy: {FAULT_PROXY_HINT}"))?;
    let admin = workload
        .url("admin")
        .with_context(|| format!("finding the fault proxy's admin API ({FAULT_PROXY_HINT})"))?;
    let admin = ProxyAdmin::new(&admin)?;
    world.network.attach(admin, &CLUSTER_LINKS).await?;
    // Each proxy listens where its pod template says: otherwise the services are not aimed
    // at the proxy this scenario drives.
    for link in &world.network.links {
        let port = workload.url(link.name())?;
        let (_, expected) =
            harness::fault::network::split_address(port.trim_start_matches("http://"))?;
        let (_, listening) = harness::fault::network::split_address(link.listen())?;
        anyhow::ensure!(
            expected == listening,
            "the fault proxy {:?} listens on {}, but its pod template names port {expected}: \
             redeploy ({FAULT_PROXY_HINT})",
            link.name(),
            link.listen()
        );
    }
    Ok(())
}
