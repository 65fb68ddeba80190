//! Provider (a): a server named by `REDIS_URL` (a CI service container or a developer's own
//! Redis). Nothing is started or removed; options such as append-only are not applied.

use std::time::Duration;

use super::{ready, Provisioned};
use crate::providers::parse_server_url;
use crate::ready::{Liveness, NotReady, Probe as _};

/// Checks that `REDIS_URL` answers `PING` and describes it.
pub(super) async fn start(text: &str) -> anyhow::Result<Provisioned> {
    let (_, host, port) = parse_server_url("REDIS_URL", text, &["redis", "rediss"], 6379)?;
    ready::Pong::wait(text, Duration::from_secs(10), Liveness::External)
        .await
        .map_err(NotReady::into_error)?;
    Ok(Provisioned {
        provider: format!("REDIS_URL ({host}:{port})"),
        host,
        port,
        container_id: None,
        guard: None,
        extra: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            crate::providers::redact_url("redis://:secret@cache:6379/0"),
            "redis://:***@cache:6379/0"
        );
    }

    #[tokio::test]
    async fn a_url_with_another_scheme_is_refused() {
        let error = start("mysql://u:p@127.0.0.1:3306")
            .await
            .err()
            .expect("refused");
        assert!(format!("{error:#}").contains("redis://"));
    }
}
