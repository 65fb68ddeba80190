//! Outages of the scenario's own MongoDB server (restarted, stopped, started again, through
//! [`harness::fault`]) and the service's health meanwhile.

use cucumber::{then, when};
use harness::{
    backing::mongo::Mongo,
    fault::{backing::Backing, Fault, Target as _},
};

use super::services::{wait_for_health, wait_ready};
use crate::steps::world::MockVideoWorld;

/// The scenario's own MongoDB server as a fault target.
fn own_mongo(world: &MockVideoWorld) -> anyhow::Result<Backing<'_, Mongo>> {
    let mongo = world
        .cinema
        .own_mongo
        .as_ref()
        .expect("outage scenarios start a MongoDB server of their own");
    Backing::of(mongo)
}

#[when("MongoDB is restarted")]
async fn mongo_restarted(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    own_mongo(world)?.inject(Fault::Restart).await.map(drop)
}

#[then("the service is ready again")]
async fn ready_again(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let base = world.base_url().to_owned();
    wait_ready(world, &base).await
}

#[when("MongoDB is stopped")]
async fn mongo_stopped(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    own_mongo(world)?.inject(Fault::Stop).await.map(drop)
}

#[when("MongoDB is started again")]
async fn mongo_started(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    own_mongo(world)?.undo(Fault::Stop).await.map(drop)
}

#[then("the service is not ready")]
async fn not_ready(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let base = world.base_url().to_owned();
    wait_for_health(world, &base, "answering anything but 200", |status| {
        status.is_some_and(|status| status != 200)
    })
    .await
}
