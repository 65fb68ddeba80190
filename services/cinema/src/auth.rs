//! JWT auth on every write: HS256 bearer tokens (`Authorization: Bearer <jwt>`).
//!
//! - **When.** Auth is on whenever a secret is configured (setting `auth.jwt_secret`: the file
//!   `jwt-secret` in the secrets directory, `<SERVICE>__AUTH__JWT_SECRET`, or the shared
//!   `CINEMA_JWT_SECRET`; at least [`MIN_SECRET_BYTES`] bytes, else start-up fails naming the
//!   setting). Without a secret every route is open, as in the original.
//! - **What.** Every method that changes something (anything but `GET`, `HEAD`, `OPTIONS`:
//!   in practice `POST` and `DELETE`) needs a token; reads, `/healthz`, `/healthy`, `/readyz`,
//!   `/livez` and `/metrics` stay open. [`require_token`] is the one middleware doing it; the
//!   router applies it with [`crate::app::router_with_auth`].
//! - **Which tokens.** HS256 only (a header naming `none`, `RS256` or anything else is
//!   rejected), signed with the configured secret; claims `sub` and `exp` required, `iat`
//!   optional; `exp` is checked with a leeway of `auth.leeway` (default 30 s).
//! - **Rejections.** Missing, malformed, expired or badly signed tokens get `401` with
//!   `{"error":{"code":"unauthorized","message":...}}` and `WWW-Authenticate: Bearer`. The token
//!   itself and the secret are never logged.
//!
//! ## Issuing tokens (the operators' side)
//!
//! Tokens are issued offline, never by a service: [`issue`] signs one, and the `cinema-token`
//! binary wraps it for operators:
//!
//! ```text
//! cinema-token --secret-file /run/secrets/cinema/jwt-secret --subject alice --ttl 12h
//! curl -H "Authorization: Bearer $(cinema-token --secret-file ...)" -X POST ...
//! ```
//!
//! `cargo xtask up` configures a development secret for the four services (so auth is always on
//! there) and publishes a `CINEMA_TOKEN` made with [`issue`] in `target/up/endpoints.env`; the
//! Helm chart mounts the secret as the file `jwt-secret`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method},
    middleware::Next,
    response::{IntoResponse as _, Response},
};
use jsonwebtoken::{
    errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, TokenData, Validation,
};
use platform::http::ApiError;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

/// The shortest secret accepted (HS256 wants at least as many key bytes as its output).
pub const MIN_SECRET_BYTES: usize = 32;

/// The default clock leeway when checking `exp`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The claims of a cinema token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token was issued to (an operator or a tool).
    pub sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
}

/// Why a token was refused (the message of the 401; never contains the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("a bearer token is required for this request")]
    Missing,
    /// An `Authorization` header that is not `Bearer <token>`.
    #[error("the Authorization header must be `Bearer <token>`")]
    NotBearer,
    /// `exp` is in the past (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// The header names another algorithm than HS256.
    #[error("the token must be signed with HS256")]
    WrongAlgorithm,
    /// The signature does not match the secret.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// Not a JWT, or claims missing or of the wrong type.
    #[error("the token is malformed: {0}")]
    Malformed(String),
}

impl AuthError {
    /// The 401 answer: JSON error `unauthorized` and a `WWW-Authenticate` challenge
    /// (RFC 6750: `error="invalid_token"` once a token was sent).
    pub fn to_api_error(&self) -> ApiError {
        let challenge = match self {
            AuthError::Missing => "Bearer",
            _ => "Bearer error=\"invalid_token\"",
        };
        ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "unauthorized",
            self.to_string(),
        )
        .with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        )
    }
}

/// Checks tokens against one secret. Cheap to clone.
#[derive(Clone)]
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("algorithm", &"HS256")
            .field("leeway_secs", &self.validation.leeway)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for tokens signed with `secret`, accepting `exp` up to `leeway` in the past.
    pub fn new(secret: &SecretString, leeway: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            key: DecodingKey::from_secret(secret.expose_secret().as_bytes()),
            validation,
        }
    }

    /// The claims of `token` when it is a valid, unexpired HS256 token signed with the secret.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map(|TokenData { claims, .. }| claims)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::InvalidSignature => AuthError::BadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    AuthError::WrongAlgorithm
                }
                ErrorKind::MissingRequiredClaim(claim) => {
                    AuthError::Malformed(format!("the claim `{claim}` is required"))
                }
                _ => AuthError::Malformed(error.to_string()),
            })
    }

    /// The claims of the bearer token in `headers` (see [`Verifier::verify`]).
    pub fn verify_headers(&self, headers: &HeaderMap) -> Result<Claims, AuthError> {
        let value = headers
            .get(header::AUTHORIZATION)
            .ok_or(AuthError::Missing)?;
        let value = value.to_str().map_err(|_| AuthError::NotBearer)?;
        let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::NotBearer)?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err(AuthError::NotBearer);
        }
        self.verify(token)
    }
}

/// Whether `method` only reads (and so needs no token).
pub fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The middleware: lets reads through, and writes only with a valid bearer token (the
/// token's subject is added to the request's extensions as [`Claims`]).
pub async fn require_token(
    State(verifier): State<Verifier>,
    mut request: Request,
    next: Next,
) -> Response {
    if is_read(request.method()) {
        return next.run(request).await;
    }
    match verifier.verify_headers(request.headers()) {
        Ok(claims) => {
            tracing::debug!(subject = %claims.sub, method = %request.method(), "token accepted");
            request.extensions_mut().insert(claims);
            next.run(request).await
        }
        Err(error) => {
            tracing::info!(
                method = %request.method(),
                path = %request.uri().path(),
                reason = %error,
                "write refused: no valid bearer token"
            );
            error.to_api_error().into_response()
        }
    }
}

/// Seconds since the Unix epoch now.
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A token for `subject`, valid for `ttl` from now, signed (HS256) with `secret`: what the
/// `cinema-token` binary prints and `cargo xtask up` publishes as `CINEMA_TOKEN`.
pub fn issue(secret: &SecretString, subject: &str, ttl: Duration) -> String {
    let iat = now_secs();
    issue_claims(
        secret,
        &Claims {
            sub: subject.to_owned(),
            exp: iat.saturating_add(ttl.as_secs()),
            iat: Some(iat),
        },
    )
}

/// A token carrying exactly `claims`, signed (HS256) with `secret`.
pub fn issue_claims(secret: &SecretString, claims: &Claims) -> String {
    let key = EncodingKey::from_secret(secret.expose_secret().as_bytes());
    // Signing can only fail on a key of another family than the header's algorithm or claims
    // that do not serialise to JSON; neither can happen with an HMAC key and these claims.
    #[allow(clippy::expect_used)]
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key)
        .expect("HS256 signing of plain claims cannot fail")
}

/// Parses a token lifetime: a number with a unit `s`, `m`, `h` or `d` (`90s`, `15m`, `12h`,
/// `7d`), or a bare number of seconds. Zero is refused.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((at, unit @ ('s' | 'm' | 'h' | 'd'))) => (&text[..at], unit),
        _ => (text, 's'),
    };
    let scale = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => 1,
    };
    let value: u64 = number
        .trim()
        .parse()
        .map_err(|_| format!("expected a lifetime like 3600, 15m, 12h or 7d, got {text:?}"))?;
    match value.checked_mul(scale) {
        Some(0) => Err("the lifetime must be greater than zero".to_owned()),
        Some(secs) => Ok(Duration::from_secs(secs)),
        None => Err(format!("{text:?} is too long")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("0123456789abcdef0123456789abcdef")
    }

    fn verifier() -> Verifier {
        Verifier::new(&secret(), DEFAULT_LEEWAY)
    }

    fn b64(bytes: &[u8]) -> String {
        use base64_like::encode;
        encode(bytes)
    }

    /// Minimal unpadded base64url, enough to forge headers in tests.
    mod base64_like {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

        pub fn encode(bytes: &[u8]) -> String {
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
                for i in 0..=chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                }
            }
            out
        }
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let token = issue(&secret(), "alice", Duration::from_secs(3600));
        let claims = verifier().verify(&token).unwrap();
        assert_eq!(claims.sub, "alice");
        let iat = claims.iat.unwrap();
        assert!(iat.abs_diff(now_secs()) <= 2);
        assert_eq!(claims.exp, iat + 3600);
    }

    #[test]
    fn expired_tokens_are_refused_beyond_the_leeway() {
        let now = now_secs();
        let expired = |ago: u64| {
            issue_claims(
                &secret(),
                &Claims {
                    sub: "alice".into(),
                    exp: now - ago,
                    iat: Some(now - 3600),
                },
            )
        };
        assert_eq!(verifier().verify(&expired(120)), Err(AuthError::Expired));
        // Within the 30 s leeway a just-expired token still passes.
        assert!(verifier().verify(&expired(5)).is_ok());
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let other = SecretString::from("another-secret-of-at-least-32-bytes!");
        let token = issue(&other, "mallory", Duration::from_secs(60));
        assert_eq!(verifier().verify(&token), Err(AuthError::BadSignature));
    }

    #[test]
    fn alg_none_and_rs256_headers_are_refused() {
        let claims = format!(r#"{{"sub":"mallory","exp":{}}}"#, now_secs() + 600);
        let body = b64(claims.as_bytes());
        // `alg: none` with an empty signature.
        let none = format!("{}.{body}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
        assert!(verifier().verify(&none).is_err());
        // RS256 header over a valid HS256 signature of the same input: still refused.
        let good = issue(&secret(), "mallory", Duration::from_secs(600));
        let signature = good.rsplit('.').next().unwrap();
        let rs256 = format!(
            "{}.{body}.{signature}",
            b64(br#"{"alg":"RS256","typ":"JWT"}"#)
        );
        assert_eq!(verifier().verify(&rs256), Err(AuthError::WrongAlgorithm));
        let hs512 = issue_with_alg(Algorithm::HS512);
        assert_eq!(verifier().verify(&hs512), Err(AuthError::WrongAlgorithm));
    }

    fn issue_with_alg(alg: Algorithm) -> String {
        let claims = Claims {
            sub: "mallory".into(),
            exp: now_secs() + 600,
            iat: None,
        };
        let key = EncodingKey::from_secret(secret().expose_secret().as_bytes());
        jsonwebtoken::encode(&Header::new(alg), &claims, &key).unwrap()
    }

    #[test]
    fn malformed_tokens_and_missing_claims_are_refused() {
        for token in ["", "abc", "a.b.c", "a.b", "....."] {
            assert!(
                matches!(verifier().verify(token), Err(AuthError::Malformed(_))),
                "{token:?}"
            );
        }
        // A well-signed token without `exp`.
        let key = EncodingKey::from_secret(secret().expose_secret().as_bytes());
        let no_exp = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({ "sub": "alice" }),
            &key,
        )
        .unwrap();
        assert!(matches!(
            verifier().verify(&no_exp),
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn the_authorization_header_must_be_bearer() {
        let token = issue(&secret(), "alice", Duration::from_secs(60));
        let headers = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            headers
        };
        assert_eq!(
            verifier().verify_headers(&HeaderMap::new()),
            Err(AuthError::Missing)
        );
        for value in [token.as_str(), "Basic YWxpY2U6cHc=", "Bearer", "Bearer  "] {
            assert_eq!(
                verifier().verify_headers(&headers(value)),
                Err(AuthError::NotBearer),
                "{value:?}"
            );
        }
        assert!(verifier()
            .verify_headers(&headers(&format!("Bearer {token}")))
            .is_ok());
        assert!(verifier()
            .verify_headers(&headers(&format!("bearer {token}")))
            .is_ok());
    }

    #[test]
    fn rejections_are_401_json_with_a_bearer_challenge() {
        let error = AuthError::Expired.to_api_error();
        assert_eq!(error.status(), axum::http::StatusCode::UNAUTHORIZED);
        assert_eq!(error.code(), "unauthorized");
        let response = AuthError::Missing.to_api_error().into_response();
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer"
        );
    }

    #[test]
    fn ttls_parse_with_units() {
        assert_eq!(parse_ttl("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_ttl("3600"), Ok(Duration::from_secs(3600)));
        assert!(parse_ttl("0h").is_err());
        assert!(parse_ttl("soon").is_err());
        assert!(parse_ttl("").is_err());
    }

    #[test]
    fn the_verifier_never_shows_the_secret() {
        let text = format!("{:?}", verifier());
        assert!(!text.contains("0123456789abcdef"), "{text}");
    }
}
