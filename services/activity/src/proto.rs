//! The code generated at build time from `proto/activityevents.proto` (package
//! `activityevents`): messages, `activity_events_client`, `activity_events_server`, and the
//! encoded file descriptor set that server reflection serves.
#![allow(missing_docs, clippy::all, clippy::pedantic, unreachable_pub)]

tonic::include_proto!("activityevents");

/// The full gRPC service name, `activityevents.ActivityEvents`.
pub const SERVICE_NAME: &str = activity_events_server::SERVICE_NAME;

/// The encoded `FileDescriptorSet` of `activityevents.proto`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/activityevents_descriptor.bin"));
