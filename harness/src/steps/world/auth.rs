//! The auth part of a scenario: the JWT secret the services it starts are configured with (auth
//! on), and the bearer token its requests send.

use secrecy::SecretString;

/// The auth part of a scenario.
#[derive(Debug, Default)]
pub struct AuthState {
    /// The scenario's JWT secret; services started after it is set run with auth on.
    pub secret: Option<SecretString>,
    /// The bearer token the requests send (`Authorization: Bearer …`), if any.
    pub token: Option<String>,
}
