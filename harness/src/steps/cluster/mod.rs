//! Cluster steps: the system deployed by `cargo xtask deploy --env local`, reached on the host
//! at the loopback ports its pod templates name ([`harness::cluster`]). They point the other
//! capabilities' state at the deployed services, so the HTTP, cinema, activity and events steps
//! run unchanged against the pods, and they inject the chaos faults (pods deleted, containers
//! killed, a Deployment scaled to 0 and back; through the release's fault proxy, the services'
//! links to their stores slowed, cut or reset) and record how long each workload took to be
//! Ready again.
//!
//! Everything a scenario creates carries its run label (`{run}` in paths and bodies, a
//! description prefix for events), so scenarios never collide with each other, with earlier
//! runs or with the simulator pod's events.
//!
//! The steps are grouped by what they do: [`deployed`] (pointing the scenario at the deployed
//! services), [`data`], [`activity`], [`chaos`] and [`network`] (attaching the network steps'
//! links to the cluster's fault proxy); the scenario's part of the world is
//! [`crate::steps::world::cluster`].

pub mod activity;
pub mod chaos;
pub mod data;
pub mod deployed;
pub mod network;
