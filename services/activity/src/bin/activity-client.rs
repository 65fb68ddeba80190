//! The `activity-client` binary: [`activity::client::main_with`] on the process's arguments,
//! stdout and stderr; its return value is the exit status.

use std::{
    io::{BufWriter, Write as _},
    process::ExitCode,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut stdout = BufWriter::new(std::io::stdout().lock());
    let mut stderr = std::io::stderr();
    let status = activity::client::main_with(std::env::args_os(), &mut stdout, &mut stderr).await;
    let flushed = stdout.flush();
    match (status, flushed) {
        (0, Err(_)) => ExitCode::FAILURE,
        (status, _) => ExitCode::from(u8::try_from(status).unwrap_or(1)),
    }
}
