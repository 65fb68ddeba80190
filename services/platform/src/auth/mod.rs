//! JWT bearer auth for every service: HS256 tokens (`Authorization: Bearer <jwt>`) checked by
//! one middleware, [`require_token`], and minted offline by the `mockvideo-token` binary.
//!
//! - **When.** Auth is on whenever a secret is configured: the setting `auth.jwt_secret`, read
//!   like every secret from the file [`JWT_SECRET_FILE`] (`jwt-secret`) in the secrets directory
//!   (each service's layout lists [`SECRET_FILE`]) or from `<SERVICE>__AUTH__JWT_SECRET`; at
//!   least [`MIN_SECRET_BYTES`] bytes. Without a secret every route is open, as in the original,
//!   unless the process runs with [`MOCKVIDEO_ENV`]`=prod`: then start-up fails naming the
//!   setting and the file ([`AuthSettings::validate`]).
//! - **What.** A [`Guard`] says which requests need a token: [`Guard::Writes`] (anything but
//!   `GET`, `HEAD`, `OPTIONS`: the cinema services and event-producer's `POST /event`) or
//!   [`Guard::AllBut`] a list of open paths (accountd: every route but health, metrics and the
//!   OpenAPI document, since its reads are personal data).
//! - **Which tokens.** HS256 only (a header naming `none`, `RS256` or any other algorithm is
//!   refused before anything else), signed with the secret; `sub` and `exp` required, `nbf`
//!   checked when present (both with a leeway of `auth.leeway`, default 30 s); `aud` must name
//!   the service's [`Audience`] (a string or an array: one token may be minted for several);
//!   `iss` must be `auth.issuer` (default [`DEFAULT_ISSUER`]); the lifetime, `exp - iat` (or
//!   `exp - now` without `iat`), at most `auth.max_lifetime` (default 24 h).
//! - **Refusals.** Each class of [`AuthError`] is a `401` with
//!   `{"error":{"code":"unauthorized","message":...}}` naming the class, and a
//!   `WWW-Authenticate: Bearer` challenge. Neither the token nor the secret is ever logged.
//!
//! ## Issuing tokens (the operators' side)
//!
//! Tokens are issued offline, never by a service: [`issue`] signs [`Claims`] (made with
//! [`Claims::new`]), and the `mockvideo-token` binary wraps it for operators:
//!
//! ```text
//! mockvideo-token --secret-file /run/secrets/accountd/jwt-secret --audience accountd --ttl 12h
//! curl -H "Authorization: Bearer $(mockvideo-token --secret-file ... --audience accountd)" ...
//! ```
//!
//! `cargo xtask up` configures one development secret for accountd, event-producer and the
//! cinema services, and publishes `ACCOUNTD_TOKEN`, `EVENT_PRODUCER_TOKEN` and `CINEMA_TOKEN`
//! (the four cinema audiences) in `target/up/endpoints.env`; the Helm charts mount the secret
//! as the file `jwt-secret`.
//!
//! One file per part: [`claims`] (who a token is for, and minting it), [`verify`] (checking
//! one), [`guard`] (which requests need one, and the middleware), [`settings`] (`auth.*`).

use std::{
    fmt,
    str::FromStr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse as _, Response},
    Router,
};
use base64::Engine as _;
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::{
    config::{Alias, ConfigError},
    http::ApiError,
};

mod claims;
mod guard;
mod settings;
mod verify;

pub use claims::{issue, now_secs, parse_ttl, Audience, Claims};
pub use guard::{is_write, protect, require_token, Guard, Protection};
pub use settings::AuthSettings;
pub use verify::{AuthError, Verifier};

/// The shortest secret accepted (HS256 wants at least as many key bytes as its output).
pub const MIN_SECRET_BYTES: usize = 32;

/// The default clock leeway when checking `exp` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The default issuer (`iss`) tokens must name.
pub const DEFAULT_ISSUER: &str = "mockvideo";

/// The default longest lifetime (`exp - iat`) a token may have: 24 h.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The file in a service's secrets directory holding the JWT secret.
pub const JWT_SECRET_FILE: &str = "jwt-secret";

/// The secret file alias every service's settings layout lists: [`JWT_SECRET_FILE`] sets
/// `auth.jwt_secret`.
pub const SECRET_FILE: Alias = (JWT_SECRET_FILE, "auth.jwt_secret");

/// The environment variable naming the deployment; `prod` makes a JWT secret mandatory.
pub const MOCKVIDEO_ENV: &str = "MOCKVIDEO_ENV";

/// The value of [`MOCKVIDEO_ENV`] for production.
pub const PROD: &str = "prod";

/// Whether this process runs in production ([`MOCKVIDEO_ENV`]`=prod`, any case).
pub fn is_prod() -> bool {
    std::env::var(MOCKVIDEO_ENV).is_ok_and(|value| value.trim().eq_ignore_ascii_case(PROD))
}

#[cfg(test)]
mod tests;
