//! gRPC status codes by the names grpc-go prints (`InvalidArgument`, `AlreadyExists`, …).
//!
//! The client's error lines keep the original's `rpc error: code = <Name> desc = <message>`
//! form, and the `grpc_code` metric label uses the same names as go-grpc-prometheus, so
//! existing dashboards and scripts keep matching.

use tonic::Code;

/// The grpc-go name of `code`, e.g. `OK`, `Canceled`, `InvalidArgument`.
pub fn name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// `rpc error: code = <Name> desc = <message>`, as grpc-go formats a status error.
pub fn describe(status: &tonic::Status) -> String {
    format!(
        "rpc error: code = {} desc = {}",
        name(status.code()),
        status.message()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_grpc_go() {
        assert_eq!(name(Code::Ok), "OK");
        assert_eq!(name(Code::Cancelled), "Canceled");
        assert_eq!(name(Code::ResourceExhausted), "ResourceExhausted");
        assert_eq!(
            describe(&tonic::Status::invalid_argument("id must be > 0")),
            "rpc error: code = InvalidArgument desc = id must be > 0"
        );
    }
}
