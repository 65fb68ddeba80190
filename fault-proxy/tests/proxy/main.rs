//! The fault proxy over real TCP on 127.0.0.1: what each toxic does to a connection, measured;
//! partitions and healing; the admin API's answers to bad input. One binary, one module per
//! concern.

// Test helpers unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used)]

mod admin_api;
mod helpers;
mod partition;
mod toxics;
