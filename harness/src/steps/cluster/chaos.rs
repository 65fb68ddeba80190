//! Chaos on the cluster: pods deleted, containers SIGKILLed, a Deployment scaled to 0 and back
//! (through [`harness::fault`]), events flowing meanwhile, and how long each workload took to
//! be Ready again ([`harness::cluster::recovery`]).

use std::time::Duration;

use anyhow::Context as _;
use cucumber::{then, when};
use harness::{
    cluster::Recovery,
    fault::{deployment::Deployment, pod::Pods, Applied, Fault, Target as _},
};

use super::deployed::cluster;
use crate::steps::{events, world::MockVideoWorld};

/// Events per second the chaos flows post at: steady, so the fault lands mid-flow.
const CHAOS_RATE: f64 = 200.0;

/// Prints and records a recovery.
fn record(world: &mut MockVideoWorld, recovery: Recovery) {
    println!("[cluster] {recovery}");
    world.cluster.recoveries.push(recovery);
}

/// Posts `count` events at [`CHAOS_RATE`] through the deployed producer and injects `fault`
/// into the pods of `workload` a quarter of the way through; waits for the simulator and for
/// the workload's recovery together, then records both.
async fn flow_during_fault(
    world: &mut MockVideoWorld,
    count: u64,
    workload: &str,
    fault: Fault,
) -> anyhow::Result<()> {
    let producer = world
        .cinema
        .services
        .get("event-producer")
        .cloned()
        .context("no event pipeline: add \"Given the event pipeline on the cluster\"")?;
    world.base_url = Some(producer);
    let prefix = format!("{}-{workload}-{fault:?}", world.cluster.run).to_lowercase();
    let mut settings = events::simulator_settings(world, count, &prefix);
    settings.events_per_second = CHAOS_RATE;
    settings.concurrency = 8;
    let simulator =
        tokio::spawn(
            async move { ::events::simulator::run(&settings, std::future::pending()).await },
        );
    let quarter = Duration::from_secs_f64((count as f64 / CHAOS_RATE / 4.0).max(0.5));
    tokio::time::sleep(quarter).await;
    let mid_flow = !simulator.is_finished();
    let cluster = cluster().await?;
    let mut pods = Pods::of(&cluster, workload).await?;
    let applied = pods.inject(fault).await?;
    println!("[cluster] {} (mid-flow: {mid_flow})", applied.what);
    let readiness = cluster.readiness();
    let (report, recovery) = tokio::join!(simulator, readiness.after(pods.workload(), &applied));
    let report = report.context("the simulator task")??;
    events::record_report(world, &prefix, &report);
    record(world, recovery?);
    anyhow::ensure!(
        mid_flow,
        "the flow ended before the fault: post more events"
    );
    Ok(())
}

#[when(
    regex = r"^(\d+) events flow through the producer while the (\S+) (pod is deleted|containers are killed)$"
)]
async fn flow_during(
    world: &mut MockVideoWorld,
    count: u64,
    workload: String,
    fault: String,
) -> anyhow::Result<()> {
    let fault = if fault.starts_with("pod") {
        Fault::Delete
    } else {
        Fault::Kill
    };
    flow_during_fault(world, count, &workload, fault).await
}

#[when(expr = "the {word} pod is deleted")]
async fn pod_deleted(world: &mut MockVideoWorld, workload: String) -> anyhow::Result<()> {
    let cluster = cluster().await?;
    let mut pods = Pods::of(&cluster, &workload).await?;
    let applied = pods.inject(Fault::Delete).await?;
    println!("[cluster] {}", applied.what);
    let recovery = cluster.readiness().after(pods.workload(), &applied).await?;
    record(world, recovery);
    Ok(())
}

/// For a workload that was not faulted itself but depends on one that was: how long after the
/// step it answers ready again, recorded like a recovery.
#[then(expr = "the {word} service is Ready again within {int} seconds")]
async fn service_ready_within(
    world: &mut MockVideoWorld,
    name: String,
    bound: u64,
) -> anyhow::Result<()> {
    let recovery = cluster()
        .await?
        .readiness()
        .with_limit(Duration::from_secs(bound))
        .now(&name)
        .await?;
    record(world, recovery);
    Ok(())
}

#[when(expr = "the {word} deployment is scaled to 0 and back")]
async fn scaled_to_zero_and_back(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    let cluster = cluster().await?;
    let mut deployment = Deployment::of(&cluster, &name).await?;
    let down = deployment.inject(Fault::ScaleToZero).await?;
    let up = deployment.undo(Fault::ScaleToZero).await?;
    // Recovery is measured from the scale-up.
    let back = Applied {
        what: format!("{} and {}", down.what, up.what),
        ..up
    };
    let recovery = cluster
        .readiness()
        .after(deployment.workload(), &back)
        .await?;
    println!(
        "[cluster] {name}: pods gone {:.2} s after scaling to 0",
        down.took.as_secs_f64()
    );
    record(world, recovery);
    Ok(())
}

#[then(expr = "the {word} workload is Ready again within {int} seconds")]
fn ready_within(world: &mut MockVideoWorld, name: String, bound: u64) {
    let recovery = world
        .cluster
        .recoveries
        .iter()
        .rev()
        .find(|recovery| recovery.workload == name)
        .unwrap_or_else(|| panic!("no fault was injected into {name} in this scenario"));
    assert!(
        recovery.took <= Duration::from_secs(bound),
        "{recovery}, over the {bound} s bound"
    );
}

#[then("the event pipeline is Ready")]
async fn pipeline_ready(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let readiness = cluster().await?.readiness();
    for name in ["event-producer", "event-consumer"] {
        let waited = readiness.now(name).await?.took;
        println!(
            "[cluster] {name} Ready (waited {:.2} s)",
            waited.as_secs_f64()
        );
    }
    // The HTTP steps talk to the producer again.
    events::wait_for_readiness(world, 200).await;
    Ok(())
}

#[then("the recovery times are printed")]
fn print_recoveries(world: &mut MockVideoWorld) {
    assert!(
        !world.cluster.recoveries.is_empty(),
        "no fault was injected in this scenario"
    );
    for recovery in &world.cluster.recoveries {
        println!(
            "[cluster] recovery: {} {:.2} s ({})",
            recovery.workload,
            recovery.took.as_secs_f64(),
            recovery.fault
        );
    }
}
