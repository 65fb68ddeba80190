//! The overload cells' own state: what the calibration measured (capacity, unloaded p99), what
//! the run at four times the capacity served, and the peak memory of the service meanwhile.

use std::time::Duration;

use std::sync::{atomic::AtomicU64, Arc};

use harness::load::LoadReport;

/// The overload part of the world.
#[derive(Debug, Default)]
pub struct OverloadState {
    /// The workload named by the feature (`creates`, `reads`, …).
    pub workload: String,
    /// Successful requests a second in a closed loop with enough workers.
    pub capacity: f64,
    /// The p99 of the requests served at a fifth of the capacity.
    pub unloaded_p99: Option<Duration>,
    /// The arrival rate of the overload (four times the capacity).
    pub rate: u32,
    /// The overload's report.
    pub report: Option<LoadReport>,
    /// The highest resident size seen during the overload, in KiB.
    pub rss_peak_kib: u64,
    /// The number of the next request (ids and emails stay unique across the runs).
    pub next: Arc<AtomicU64>,
}
