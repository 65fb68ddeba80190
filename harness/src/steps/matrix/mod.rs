//! Steps of the fault matrix's cells (`features/robustness/<service>/`): the store faults, the
//! overload at a fixed arrival rate and the signals under load. Each cell's steps fill the
//! scenario's [`harness::matrix::Measurements`] (`world.cell`), which the runner records when the
//! scenario ends.

pub mod overload;
pub mod process;
pub mod signals;
pub mod store;
