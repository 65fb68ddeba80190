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

/// The services a token can be for: its `aud` claim names one or several of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The users REST service.
    Accountd,
    /// `POST /event`.
    EventProducer,
    /// The cinema movies service.
    Movies,
    /// The cinema showtimes service.
    Showtimes,
    /// The cinema bookings service.
    Bookings,
    /// The cinema users service.
    Users,
}

impl Audience {
    /// Every audience.
    pub const ALL: [Audience; 6] = [
        Audience::Accountd,
        Audience::EventProducer,
        Audience::Movies,
        Audience::Showtimes,
        Audience::Bookings,
        Audience::Users,
    ];

    /// The four cinema services (what `CINEMA_TOKEN` is minted for).
    pub const CINEMA: [Audience; 4] = [
        Audience::Movies,
        Audience::Showtimes,
        Audience::Bookings,
        Audience::Users,
    ];

    /// The name in `aud`: the binary's name (`accountd`, `event-producer`, `movies`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Audience::Accountd => "accountd",
            Audience::EventProducer => "event-producer",
            Audience::Movies => "movies",
            Audience::Showtimes => "showtimes",
            Audience::Bookings => "bookings",
            Audience::Users => "users",
        }
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Audience {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Audience::ALL
            .into_iter()
            .find(|audience| audience.as_str() == text.trim())
            .ok_or_else(|| {
                let names: Vec<_> = Audience::ALL.iter().map(|a| a.as_str()).collect();
                format!("unknown audience {text:?}: one of {}", names.join(", "))
            })
    }
}

/// The claims of a MockVideo token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token was issued to (an operator or a tool).
    pub sub: String,
    /// The services it is for (`aud`: one string, or an array for several).
    #[serde(default, with = "one_or_many")]
    pub aud: Vec<String>,
    /// Who issued it (`iss`).
    #[serde(default)]
    pub iss: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Not before, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

impl Claims {
    /// Claims for `subject` and `audiences`, issued by `issuer` now and valid for `ttl`.
    pub fn new(subject: &str, audiences: &[Audience], issuer: &str, ttl: Duration) -> Self {
        let iat = now_secs();
        Self {
            sub: subject.to_owned(),
            aud: audiences.iter().map(|a| a.as_str().to_owned()).collect(),
            iss: issuer.to_owned(),
            exp: iat.saturating_add(ttl.as_secs()),
            iat: Some(iat),
            nbf: None,
        }
    }
}

/// `aud` as JSON: one string for one audience, else an array; both are read.
mod one_or_many {
    use super::*;

    pub fn serialize<S: Serializer>(
        audiences: &[String],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match audiences {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        match OneOrMany::deserialize(deserializer)
            .map_err(|_| de::Error::custom("`aud` must be a string or an array of strings"))?
        {
            OneOrMany::One(one) => Ok(vec![one]),
            OneOrMany::Many(many) => Ok(many),
        }
    }
}

/// Why a token was refused: the message of the 401, naming the class (never the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("no token: a bearer token is required for this request")]
    Missing,
    /// An `Authorization` header that is not `Bearer <token>`.
    #[error("malformed token: the Authorization header must be `Bearer <token>`")]
    NotBearer,
    /// `exp` is in the past (beyond the leeway).
    #[error("expired: the token's `exp` is in the past")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("not yet valid: the token's `nbf` is in the future")]
    NotYetValid,
    /// `aud` does not name this service.
    #[error("wrong audience: the token is not for {0} (its `aud` must name it)")]
    WrongAudience(Audience),
    /// `iss` is not the configured issuer.
    #[error("wrong issuer: the token's `iss` must be {0:?}")]
    WrongIssuer(String),
    /// `exp - iat` (or `exp - now`) is longer than the maximum lifetime.
    #[error("lifetime too long: at most {max_secs} s from `iat` to `exp`, got {got_secs} s")]
    TooLong {
        /// The token's lifetime in seconds.
        got_secs: u64,
        /// The longest accepted.
        max_secs: u64,
    },
    /// The header names another algorithm than HS256 (`none` included).
    #[error("wrong algorithm: the token must be signed with HS256 (its header says {0:?})")]
    WrongAlgorithm(String),
    /// The signature does not match the secret.
    #[error("bad signature: the token's signature is invalid")]
    BadSignature,
    /// Not a JWT, or claims missing or of the wrong type.
    #[error("malformed token: {0}")]
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
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", self.to_string()).with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        )
    }
}

/// Checks tokens for one service against one secret. Cheap to clone.
#[derive(Clone)]
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
    audience: Audience,
    issuer: String,
    max_lifetime: Duration,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("algorithm", &"HS256")
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .field("leeway_secs", &self.validation.leeway)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier of `audience`'s tokens signed with the settings' secret; `None` when no secret
    /// is configured (auth off).
    pub fn new(settings: &AuthSettings, audience: Audience) -> Option<Self> {
        let secret = settings.jwt_secret.as_ref()?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = settings.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_audience(&[audience.as_str()]);
        validation.set_issuer(&[settings.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
        Some(Self {
            key: DecodingKey::from_secret(secret.expose_secret().as_bytes()),
            validation,
            audience,
            issuer: settings.issuer.clone(),
            max_lifetime: settings.max_lifetime,
        })
    }

    /// The service this verifier checks tokens for.
    pub fn audience(&self) -> Audience {
        self.audience
    }

    /// The claims of `token` when it passes every check of the module docs.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        // Before anything else: `alg: none` (which jsonwebtoken cannot even parse) and every
        // other algorithm are refused as such, not as a malformed token.
        if let Some(alg) = header_algorithm(token) {
            if alg != "HS256" {
                return Err(AuthError::WrongAlgorithm(alg));
            }
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                ErrorKind::InvalidAudience => AuthError::WrongAudience(self.audience),
                ErrorKind::InvalidIssuer => AuthError::WrongIssuer(self.issuer.clone()),
                ErrorKind::InvalidSignature => AuthError::BadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    AuthError::WrongAlgorithm("another algorithm".to_owned())
                }
                ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
                    "aud" => AuthError::WrongAudience(self.audience),
                    "iss" => AuthError::WrongIssuer(self.issuer.clone()),
                    _ => AuthError::Malformed(format!("the claim `{claim}` is required")),
                },
                _ => AuthError::Malformed(error.to_string()),
            })?;
        let now = now_secs();
        // A future `iat` must not shorten the lifetime: count from now then.
        let start = claims.iat.map_or(now, |iat| iat.min(now));
        let lifetime = claims.exp.saturating_sub(start);
        if lifetime > self.max_lifetime.as_secs() {
            return Err(AuthError::TooLong {
                got_secs: lifetime,
                max_secs: self.max_lifetime.as_secs(),
            });
        }
        Ok(claims)
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

/// The `alg` a token's header names, when its first segment is base64url JSON with one.
fn header_algorithm(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct AlgOnly {
        alg: String,
    }
    let segment = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<AlgOnly>(&bytes)
        .ok()
        .map(|header| header.alg)
}

/// Which requests need a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Every method but `GET`, `HEAD` and `OPTIONS` (reads stay open).
    Writes,
    /// Every request but those to these exact paths (health, metrics, documents).
    AllBut(&'static [&'static str]),
}

impl Guard {
    /// Whether `method path` needs a token.
    pub fn needs_token(&self, method: &Method, path: &str) -> bool {
        match self {
            Guard::Writes => !is_read(method),
            Guard::AllBut(open) => !open.contains(&path),
        }
    }
}

/// Whether `method` only reads.
pub fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The middleware's state: a verifier and what it guards.
#[derive(Debug, Clone)]
pub struct Protection {
    /// Checks the tokens.
    pub verifier: Verifier,
    /// Which requests need one.
    pub guard: Guard,
}

/// `router` with [`require_token`] in front of it when `verifier` is set (auth on); unchanged
/// otherwise. Apply it inside the platform middleware, so refusals are traced and counted.
pub fn protect<S>(router: Router<S>, verifier: Option<Verifier>, guard: Guard) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    match verifier {
        Some(verifier) => router.layer(axum::middleware::from_fn_with_state(
            Protection { verifier, guard },
            require_token,
        )),
        None => router,
    }
}

/// The middleware: lets through what the guard leaves open, and the rest only with a valid
/// bearer token (its [`Claims`] are added to the request's extensions).
pub async fn require_token(
    State(protection): State<Protection>,
    mut request: Request,
    next: Next,
) -> Response {
    if !protection
        .guard
        .needs_token(request.method(), request.uri().path())
    {
        return next.run(request).await;
    }
    match protection.verifier.verify_headers(request.headers()) {
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
                "request refused: no valid bearer token"
            );
            crate::http::refuse_unread(request.into_body(), error.to_api_error().into_response())
                .await
        }
    }
}

/// Who may call a service: the `auth.*` settings every service shares (see the module docs).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// The HS256 secret (at least [`MIN_SECRET_BYTES`] bytes). When set, auth is on; unset
    /// (the default), everything is open, except with [`MOCKVIDEO_ENV`]`=prod`, where start-up
    /// fails.
    pub jwt_secret: Option<SecretString>,
    /// The `iss` tokens must carry. Default [`DEFAULT_ISSUER`].
    pub issuer: String,
    /// How far past `exp` (or before `nbf`) a token is still accepted (clock skew). Default
    /// 30 s.
    #[serde(deserialize_with = "crate::http::deserialize_duration")]
    pub leeway: Duration,
    /// The longest lifetime (`exp - iat`) accepted: seconds or `90s`, `15m`, `12h`, `7d`.
    /// Default 24 h.
    #[serde(deserialize_with = "deserialize_lifetime")]
    pub max_lifetime: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            issuer: DEFAULT_ISSUER.to_owned(),
            leeway: DEFAULT_LEEWAY,
            max_lifetime: DEFAULT_MAX_LIFETIME,
        }
    }
}

impl AuthSettings {
    /// Settings with `secret` and the defaults otherwise (tests and launchers).
    pub fn with_secret(secret: SecretString) -> Self {
        Self {
            jwt_secret: Some(secret),
            ..Self::default()
        }
    }

    /// The verifier of `audience`'s tokens, when auth is on.
    pub fn verifier(&self, audience: Audience) -> Option<Verifier> {
        Verifier::new(self, audience)
    }

    /// Checks the secret's length, the issuer and the lifetime, and that a secret is configured
    /// when this process runs with [`MOCKVIDEO_ENV`]`=prod`; errors name the setting (never the
    /// secret).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_for(is_prod())
    }

    /// [`AuthSettings::validate`], with `prod` saying whether a secret is mandatory.
    pub fn validate_for(&self, prod: bool) -> Result<(), ConfigError> {
        match &self.jwt_secret {
            Some(secret) if secret.expose_secret().len() < MIN_SECRET_BYTES => {
                return Err(ConfigError::invalid(
                    "auth.jwt_secret",
                    format!(
                        "must be at least {MIN_SECRET_BYTES} bytes long (got {})",
                        secret.expose_secret().len()
                    ),
                ));
            }
            None if prod => {
                return Err(ConfigError::invalid(
                    "auth.jwt_secret",
                    format!(
                        "is required when {MOCKVIDEO_ENV}={PROD}: put the secret (at least \
                         {MIN_SECRET_BYTES} bytes) in the file `{JWT_SECRET_FILE}` of the secrets \
                         directory, or set <SERVICE>__AUTH__JWT_SECRET"
                    ),
                ));
            }
            _ => {}
        }
        if self.issuer.trim().is_empty() {
            return Err(ConfigError::invalid("auth.issuer", "must not be empty"));
        }
        if self.max_lifetime.is_zero() {
            return Err(ConfigError::invalid(
                "auth.max_lifetime",
                "must be greater than zero",
            ));
        }
        Ok(())
    }
}

/// Serde `deserialize_with` for `auth.max_lifetime`: seconds, or a string [`parse_ttl`] reads.
fn deserialize_lifetime<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    struct Visitor;
    impl de::Visitor<'_> for Visitor {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a lifetime in seconds or a string like \"15m\", \"12h\", \"7d\"")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
            Ok(Duration::from_secs(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
            u64::try_from(v)
                .map(Duration::from_secs)
                .map_err(|_| E::custom("a lifetime cannot be negative"))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            parse_ttl(v).map_err(E::custom)
        }
    }
    deserializer.deserialize_any(Visitor)
}

/// Seconds since the Unix epoch now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A token carrying exactly `claims`, signed (HS256) with `secret`: what `mockvideo-token`
/// prints.
pub fn issue(secret: &SecretString, claims: &Claims) -> String {
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

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn secret() -> SecretString {
        SecretString::from(SECRET)
    }

    fn settings() -> AuthSettings {
        AuthSettings::with_secret(secret())
    }

    fn verifier() -> Verifier {
        settings().verifier(Audience::Accountd).unwrap()
    }

    fn claims() -> Claims {
        Claims::new(
            "alice",
            &[Audience::Accountd],
            DEFAULT_ISSUER,
            Duration::from_secs(3600),
        )
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let token = issue(&secret(), &claims());
        let verified = verifier().verify(&token).unwrap();
        assert_eq!(verified.sub, "alice");
        assert_eq!(verified.aud, ["accountd"]);
        assert_eq!(verified.iss, "mockvideo");
        let iat = verified.iat.unwrap();
        assert!(iat.abs_diff(now_secs()) <= 2);
        assert_eq!(verified.exp, iat + 3600);
        // One audience is written as a string, several as an array; both are read.
        let payload = token.split('.').nth(1).unwrap();
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        assert!(String::from_utf8(json)
            .unwrap()
            .contains(r#""aud":"accountd""#));
    }

    #[test]
    fn a_token_for_several_audiences_opens_each_of_them_only() {
        let token = issue(
            &secret(),
            &Claims::new(
                "ops",
                &Audience::CINEMA,
                DEFAULT_ISSUER,
                Duration::from_secs(600),
            ),
        );
        for audience in Audience::CINEMA {
            assert!(settings()
                .verifier(audience)
                .unwrap()
                .verify(&token)
                .is_ok());
        }
        for audience in [Audience::Accountd, Audience::EventProducer] {
            assert_eq!(
                settings().verifier(audience).unwrap().verify(&token),
                Err(AuthError::WrongAudience(audience))
            );
        }
    }

    #[test]
    fn a_wrong_or_missing_audience_is_refused() {
        let mut other = claims();
        other.aud = vec!["movies".into()];
        assert_eq!(
            verifier().verify(&issue(&secret(), &other)),
            Err(AuthError::WrongAudience(Audience::Accountd))
        );
        other.aud = Vec::new();
        assert_eq!(
            verifier().verify(&issue(&secret(), &other)),
            Err(AuthError::WrongAudience(Audience::Accountd))
        );
    }

    #[test]
    fn a_wrong_or_missing_issuer_is_refused_and_the_issuer_is_configurable() {
        let mut other = claims();
        other.iss = "someone-else".into();
        let token = issue(&secret(), &other);
        assert!(matches!(
            verifier().verify(&token),
            Err(AuthError::WrongIssuer(_))
        ));
        let custom = AuthSettings {
            issuer: "someone-else".into(),
            ..settings()
        };
        assert!(custom
            .verifier(Audience::Accountd)
            .unwrap()
            .verify(&token)
            .is_ok());
        other.iss = String::new();
        assert!(matches!(
            verifier().verify(&issue(&secret(), &other)),
            Err(AuthError::WrongIssuer(_))
        ));
    }

    #[test]
    fn expired_tokens_are_refused_beyond_the_leeway() {
        let now = now_secs();
        let expired = |ago: u64| {
            let mut claims = claims();
            claims.exp = now - ago;
            claims.iat = Some(now - 3600);
            issue(&secret(), &claims)
        };
        assert_eq!(verifier().verify(&expired(120)), Err(AuthError::Expired));
        // Within the 30 s leeway a just-expired token still passes.
        assert!(verifier().verify(&expired(5)).is_ok());
    }

    #[test]
    fn tokens_not_yet_valid_are_refused_beyond_the_leeway() {
        let now = now_secs();
        let not_before = |ahead: u64| {
            let mut claims = claims();
            claims.nbf = Some(now + ahead);
            issue(&secret(), &claims)
        };
        assert_eq!(
            verifier().verify(&not_before(600)),
            Err(AuthError::NotYetValid)
        );
        assert!(verifier().verify(&not_before(5)).is_ok());
    }

    #[test]
    fn lifetimes_beyond_the_maximum_are_refused() {
        let now = now_secs();
        let mut long = claims();
        long.exp = now + 25 * 3600;
        assert!(matches!(
            verifier().verify(&issue(&secret(), &long)),
            Err(AuthError::TooLong { .. })
        ));
        // Without `iat`, counted from now.
        long.iat = None;
        assert!(matches!(
            verifier().verify(&issue(&secret(), &long)),
            Err(AuthError::TooLong { .. })
        ));
        // A future `iat` does not shorten it.
        long.iat = Some(now + 24 * 3600);
        assert!(matches!(
            verifier().verify(&issue(&secret(), &long)),
            Err(AuthError::TooLong { .. })
        ));
        // Exactly the maximum passes.
        let mut day = claims();
        day.exp = day.iat.unwrap() + 24 * 3600;
        assert!(verifier().verify(&issue(&secret(), &day)).is_ok());
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let other = SecretString::from("another-secret-of-at-least-32-bytes!");
        let token = issue(&other, &claims());
        assert_eq!(verifier().verify(&token), Err(AuthError::BadSignature));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused_as_such() {
        let body = b64(serde_json::to_string(&claims()).unwrap().as_bytes());
        let none = format!("{}.{body}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
        assert_eq!(
            verifier().verify(&none),
            Err(AuthError::WrongAlgorithm("none".into()))
        );
        // RS256 header over a valid HS256 signature of the same claims: still refused.
        let good = issue(&secret(), &claims());
        let signature = good.rsplit('.').next().unwrap();
        let rs256 = format!(
            "{}.{body}.{signature}",
            b64(br#"{"alg":"RS256","typ":"JWT"}"#)
        );
        assert_eq!(
            verifier().verify(&rs256),
            Err(AuthError::WrongAlgorithm("RS256".into()))
        );
        let key = EncodingKey::from_secret(SECRET.as_bytes());
        let hs512 = jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims(), &key).unwrap();
        assert_eq!(
            verifier().verify(&hs512),
            Err(AuthError::WrongAlgorithm("HS512".into()))
        );
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
        let key = EncodingKey::from_secret(SECRET.as_bytes());
        let no_exp = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({ "sub": "alice", "aud": "accountd", "iss": "mockvideo" }),
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
        let token = issue(&secret(), &claims());
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
    fn rejections_are_401_json_with_a_bearer_challenge_naming_the_class() {
        let error = AuthError::Expired.to_api_error();
        assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(error.code(), "unauthorized");
        let response = AuthError::Missing.to_api_error().into_response();
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer"
        );
        for (error, class) in [
            (AuthError::Missing, "no token"),
            (AuthError::Expired, "expired"),
            (AuthError::NotYetValid, "not yet valid"),
            (AuthError::WrongAudience(Audience::Movies), "wrong audience"),
            (AuthError::WrongIssuer("x".into()), "wrong issuer"),
            (
                AuthError::TooLong {
                    got_secs: 2,
                    max_secs: 1,
                },
                "lifetime too long",
            ),
            (AuthError::WrongAlgorithm("none".into()), "wrong algorithm"),
            (AuthError::BadSignature, "bad signature"),
            (AuthError::Malformed("x".into()), "malformed"),
        ] {
            assert!(error.to_string().starts_with(class), "{error}");
        }
    }

    #[test]
    fn guards_leave_reads_or_open_paths_alone() {
        assert!(!Guard::Writes.needs_token(&Method::GET, "/movies"));
        assert!(Guard::Writes.needs_token(&Method::POST, "/movies"));
        assert!(Guard::Writes.needs_token(&Method::DELETE, "/movies/1"));
        let open = Guard::AllBut(&["/livez", "/metrics"]);
        assert!(!open.needs_token(&Method::GET, "/livez"));
        assert!(open.needs_token(&Method::GET, "/users"));
        assert!(open.needs_token(&Method::GET, "/livez/x"));
    }

    #[tokio::test]
    async fn a_refused_write_reads_its_body_so_the_connection_stays_usable() {
        use tower::ServiceExt as _;
        let router = protect(
            Router::new().route("/users", axum::routing::post(|| async { "stored" })),
            Some(verifier()),
            Guard::Writes,
        );
        let post = |body: axum::body::Body| {
            axum::http::Request::post("/users")
                .body(body)
                .expect("a request")
        };
        let refused = router
            .clone()
            .oneshot(post(axum::body::Body::from("{\"name\":\"x\"}")))
            .await
            .expect("an answer");
        assert_eq!(refused.status(), axum::http::StatusCode::UNAUTHORIZED);
        assert!(refused.headers().get(header::CONNECTION).is_none());

        // A body longer than the budget is not read whole: the answer closes the connection.
        let chunks = (0..=crate::http::REFUSED_BODY_BUDGET / 65_536)
            .map(|_| Ok::<_, std::io::Error>(vec![b' '; 65_536]));
        let endless = axum::body::Body::from_stream(futures::stream::iter(chunks));
        let refused = router.oneshot(post(endless)).await.expect("an answer");
        assert_eq!(refused.status(), axum::http::StatusCode::UNAUTHORIZED);
        assert_eq!(refused.headers()[header::CONNECTION], "close");
    }

    #[test]
    fn settings_default_and_validate() {
        let defaults = AuthSettings::default();
        assert!(defaults.jwt_secret.is_none());
        assert!(defaults.verifier(Audience::Movies).is_none());
        assert_eq!(defaults.issuer, "mockvideo");
        assert_eq!(defaults.max_lifetime, Duration::from_secs(86_400));
        defaults.validate_for(false).unwrap();
        let error = defaults.validate_for(true).unwrap_err();
        assert_eq!(error.key(), Some("auth.jwt_secret"));
        let message = error.to_string();
        assert!(message.contains("jwt-secret"), "{message}");
        assert!(message.contains("MOCKVIDEO_ENV=prod"), "{message}");
        settings().validate_for(true).unwrap();
        let short = AuthSettings::with_secret(SecretString::from("too-short"));
        let error = short.validate_for(false).unwrap_err();
        assert_eq!(error.key(), Some("auth.jwt_secret"));
        assert!(!error.to_string().contains("too-short"), "{error}");
        let no_issuer = AuthSettings {
            issuer: " ".into(),
            ..settings()
        };
        assert_eq!(
            no_issuer.validate_for(false).unwrap_err().key(),
            Some("auth.issuer")
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
    fn audiences_parse_by_name() {
        for audience in Audience::ALL {
            assert_eq!(audience.as_str().parse::<Audience>(), Ok(audience));
        }
        let error = "cinema".parse::<Audience>().unwrap_err();
        assert!(error.contains("event-producer"), "{error}");
    }

    #[test]
    fn the_verifier_never_shows_the_secret() {
        let text = format!("{:?} {:?}", verifier(), settings());
        assert!(!text.contains("0123456789abcdef"), "{text}");
    }
}
