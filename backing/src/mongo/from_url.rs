//! Provider (a): a server named by `MONGODB_URL` (a CI service container or a developer's own
//! MongoDB), used as given. Nothing is started or removed; tests keep apart by database.

use std::time::Duration;

use super::{ready, Provisioned};
use crate::providers::parse_server_url;
use crate::ready::{Liveness, Probe as _};

/// Checks that `MONGODB_URL` answers `ping` and describes it.
pub(super) async fn start(text: &str) -> anyhow::Result<Provisioned> {
    let (_, host, port) =
        parse_server_url("MONGODB_URL", text, &["mongodb", "mongodb+srv"], 27017)?;
    ready::Ping::wait(text, Duration::from_secs(10), Liveness::External)
        .await
        .map_err(|not_ready| {
            let error = not_ready.into_error();
            match direct_connection_hint(text, &format!("{error:#}")) {
                Some(hint) => error.context(hint),
                None => error,
            }
        })?;
    Ok(Provisioned {
        provider: format!("MONGODB_URL ({host}:{port})"),
        host,
        port,
        container_id: None,
        guard: None,
        extra: text.to_owned(),
    })
}

/// A hint when the server announced a replica set whose member addresses cannot be reached
/// from here (SecantusDB names itself `secantus` at the address it listens on, e.g.
/// `0.0.0.0:27017`; a container's members carry container addresses) and the URL does not ask
/// for a direct connection.
fn direct_connection_hint(url: &str, error: &str) -> Option<&'static str> {
    let direct = url.to_ascii_lowercase().contains("directconnection=true");
    (!direct && error.contains("ReplicaSet")).then_some(
        "the server answers as a replica set member that is not reachable under its advertised \
         address: add `?directConnection=true` to MONGODB_URL",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_set_topology_without_direct_connection_gets_a_hint() {
        let error = "Server selection timeout: Topology: { Type: ReplicaSetNoPrimary, .. }";
        assert!(direct_connection_hint("mongodb://db:27017", error).is_some());
        assert!(
            direct_connection_hint("mongodb://db:27017/?directConnection=true", error).is_none()
        );
        assert!(direct_connection_hint("mongodb://db:27017", "Connection refused").is_none());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            crate::providers::redact_url("mongodb://app:secret@db:27017/admin"),
            "mongodb://app:***@db:27017/admin"
        );
    }

    #[tokio::test]
    async fn a_url_with_another_scheme_is_refused() {
        let error = start("redis://127.0.0.1:6379")
            .await
            .err()
            .expect("refused");
        assert!(format!("{error:#}").contains("mongodb://"));
    }
}
