//! The `auth.*` settings every service shares: [`AuthSettings`].

#[allow(clippy::wildcard_imports)]
use super::*;

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
    #[serde(deserialize_with = "crate::http::deserialize_duration")]
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
