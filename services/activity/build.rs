//! Generates the gRPC code from `proto/activityevents.proto` without `protoc`: `protox` parses
//! the proto in pure Rust, `tonic-prost-build` generates messages, client and server from the
//! resulting descriptors, and the encoded descriptor set is written next to them for server
//! reflection (`activity::proto::FILE_DESCRIPTOR_SET`).

use std::path::PathBuf;

const PROTO: &str = "proto/activityevents.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO}");
    // `sqlx::migrate!` embeds these files but cannot tell cargo to watch them.
    println!("cargo:rerun-if-changed=../../sql/activity/migrations");

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_file(PROTO)?;

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("activityevents_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Malformed messages are INVALID_ARGUMENT, not tonic-prost's INTERNAL (src/codec.rs).
        .codec_path("crate::codec::StrictCodec")
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
