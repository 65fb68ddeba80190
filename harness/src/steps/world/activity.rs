//! The gRPC state of one activity scenario: where its server listens, the database it runs on,
//! and the last calls and client run the steps check.

use activity::proto::{EventRequest, EventResponse};
use harness::backing::mysql::DbParts;

/// The gRPC state of one activity scenario.
#[derive(Debug, Default)]
pub struct ActivityState {
    /// `http://127.0.0.1:PORT` of the server's gRPC listener.
    pub grpc_url: Option<String>,
    /// The database the server runs on, kept across restarts.
    pub db: Option<DbParts>,
    /// The last CreateEvent request sent, for resending it unchanged.
    pub last_request: Option<EventRequest>,
    /// The last CreateEvent outcome.
    pub last_call: Option<Result<EventResponse, tonic::Status>>,
    /// The CreateEvent outcome before the last one (to compare a re-send with the first call).
    pub previous_call: Option<Result<EventResponse, tonic::Status>>,
    /// Every outcome of the last burst of concurrent CreateEvents.
    pub burst: Vec<Result<EventResponse, tonic::Status>>,
    /// The outcome of the last ListEvents call.
    pub listed: Option<Result<Vec<EventRequest>, tonic::Status>>,
    /// The last activity-client run: exit code and what it printed.
    pub client: Option<ClientRun>,
    /// The activity-client run before the last one.
    pub previous_client: Option<ClientRun>,
    /// `ListEvents` streams opened and left unread, oldest first.
    pub unread: Vec<tonic::Streaming<EventRequest>>,
}

/// What one activity-client run printed and returned.
#[derive(Debug)]
pub struct ClientRun {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}
