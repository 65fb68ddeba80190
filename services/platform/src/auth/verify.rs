//! Checking a token: [`Verifier`] and the classes of refusal, [`AuthError`].

#[allow(clippy::wildcard_imports)]
use super::*;

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
