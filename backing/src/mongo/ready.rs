//! Waiting until a MongoDB-wire server answers a real `ping` command sent by the official
//! driver, through the shared [`crate::ready`] loop.

use std::time::Duration;

use mongodb::{bson::doc, options::ClientOptions, Client};

use crate::ready::Probe;

/// A MongoDB-wire server is ready once `ping` answers `ok: 1`.
pub(super) struct Ping;

impl Probe for Ping {
    const KIND: &'static str = "mongo";
    const DISPLAY: &'static str = "MongoDB";
    const REQUEST: &'static str = "ping";

    fn local_url(port: u16) -> String {
        format!("mongodb://127.0.0.1:{port}/?directConnection=true")
    }

    fn check(url: &str) -> impl std::future::Future<Output = Result<(), String>> + Send {
        ping(url)
    }
}

/// A client for `url` that gives up quickly on an unreachable server (2 s to select a server,
/// 2 s to connect), so probes and clean-up calls stay bounded.
pub(super) async fn quick_client(url: &str) -> Result<Client, mongodb::error::Error> {
    let mut options = ClientOptions::parse(url).await?;
    options.server_selection_timeout = Some(Duration::from_secs(2));
    options.connect_timeout = Some(Duration::from_secs(2));
    options.app_name = Some("mockvideo-harness".to_owned());
    Client::with_options(options)
}

/// One `ping` on a fresh client, bounded to 5 s.
async fn ping(url: &str) -> Result<(), String> {
    let attempt = async {
        let client = quick_client(url).await?;
        let reply = client
            .database("admin")
            .run_command(doc! { "ping": 1 })
            .await;
        client.shutdown().await;
        reply
    };
    match tokio::time::timeout(Duration::from_secs(5), attempt).await {
        Ok(Ok(reply)) if reply_ok(&reply) => Ok(()),
        Ok(Ok(reply)) => Err(format!("ping answered {reply}")),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no answer within 5 s".to_owned()),
    }
}

/// Whether a command reply has `ok: 1` (servers send it as a double, an int or a bool).
fn reply_ok(reply: &mongodb::bson::Document) -> bool {
    match reply.get("ok") {
        Some(mongodb::bson::Bson::Double(ok)) => *ok == 1.0,
        Some(mongodb::bson::Bson::Int32(ok)) => *ok == 1,
        Some(mongodb::bson::Bson::Int64(ok)) => *ok == 1,
        Some(mongodb::bson::Bson::Boolean(ok)) => *ok,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_is_accepted_in_every_numeric_form() {
        assert!(reply_ok(&doc! { "ok": 1.0 }));
        assert!(reply_ok(&doc! { "ok": 1 }));
        assert!(reply_ok(&doc! { "ok": 1_i64 }));
        assert!(!reply_ok(&doc! { "ok": 0.0 }));
        assert!(!reply_ok(&doc! {}));
    }
}
