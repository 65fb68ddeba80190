//! Provider (a): a server named by `MYSQL_URL` (e.g. a CI service container or a developer's own
//! MySQL). Nothing is started or removed.

use std::time::Duration;

use super::{
    ready::{self, Liveness},
    Login, Provisioned,
};
use crate::providers::parse_server_url;

/// Checks that `MYSQL_URL` answers `SELECT 1` and describes it.
pub(super) async fn start(text: &str) -> anyhow::Result<Provisioned> {
    let (url, host, port) = parse_server_url("MYSQL_URL", text, &["mysql", "mariadb"], 3306)?;
    let user = percent_decode(url.username());
    anyhow::ensure!(!user.is_empty(), "MYSQL_URL has no user");
    let password = percent_decode(url.password().unwrap_or_default());
    let admin = format!("mysql://{}@{host}:{port}", user_info(&url));
    ready::wait_for_select_1(&admin, Duration::from_secs(10), Liveness::External)
        .await
        .map_err(ready::NotReady::into_error)?;
    Ok(Provisioned {
        provider: format!("MYSQL_URL ({host}:{port})"),
        host,
        port,
        container_id: None,
        guard: None,
        extra: Login { user, password },
    })
}

/// `user[:password]` exactly as written in the URL (still percent-encoded).
fn user_info(url: &url::Url) -> String {
    match url.password() {
        Some(password) => format!("{}:{password}", url.username()),
        None => url.username().to_owned(),
    }
}

/// Decodes `%XX` escapes (invalid ones are kept as written).
fn percent_decode(text: &str) -> String {
    crate::unescape(text, b'%', 2, 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_and_decoded() {
        assert_eq!(
            crate::providers::redact_url("mysql://root:secret@db:3306/x"),
            "mysql://root:***@db:3306/x"
        );
        assert_eq!(percent_decode("p%40ss%3Aw%2Frd"), "p@ss:w/rd");
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[tokio::test]
    async fn a_url_with_another_scheme_is_refused() {
        let error = start("postgres://u:p@127.0.0.1:5432")
            .await
            .err()
            .expect("refused");
        assert!(format!("{error:#}").contains("mysql://"));
    }
}
