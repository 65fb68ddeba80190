//! Auth steps for every HTTP service: the scenario's JWT secret (the services it starts after
//! "the services this scenario starts have a JWT secret", or with "… with auth on", run with
//! auth on) and the bearer token its requests send: valid (for every service, or for one), or
//! one of each refusal class of [`platform::auth`] (expired, not yet valid, another audience,
//! another issuer, too long a lifetime, `alg: none`, another secret, malformed), or none.
//!
//! The cinema request steps always send the token; for the generic HTTP steps, "… with the
//! token" sends it.

use std::time::Duration;

use cucumber::{gherkin::Step, given, when};
use platform::auth::{self, Audience, Claims, DEFAULT_ISSUER};
use secrecy::SecretString;
use serde_json::json;

use super::{http::send, world::MockVideoWorld};

/// The lifetime of the tokens the steps mint (well within the default 24 h maximum).
const TTL: Duration = Duration::from_secs(600);

/// The `Authorization` header the request steps send, written `Name: value`.
pub fn authorization(world: &MockVideoWorld) -> Option<String> {
    world
        .auth
        .token
        .as_ref()
        .map(|token| format!("Authorization: Bearer {token}"))
}

/// A fresh random secret of 64 hex digits (HS256 wants at least 32 bytes).
fn random_secret() -> SecretString {
    SecretString::from(format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    ))
}

/// The scenario's JWT secret, made on first use: services configured with it run with auth on.
pub fn scenario_secret(world: &mut MockVideoWorld) -> SecretString {
    world.auth.secret.get_or_insert_with(random_secret).clone()
}

fn configured_secret(world: &MockVideoWorld) -> SecretString {
    world
        .auth
        .secret
        .clone()
        .expect("the scenario's services were not started with a JWT secret")
}

/// Claims valid for every service: the steps below spoil one of them at a time.
fn valid_claims() -> Claims {
    Claims::new("gherkin", &Audience::ALL, DEFAULT_ISSUER, TTL)
}

/// Signs `claims` with the scenario's secret and sends the result from now on.
fn use_claims(world: &mut MockVideoWorld, claims: &Claims) {
    let secret = configured_secret(world);
    world.auth.token = Some(auth::issue(&secret, claims));
}

/// Unpadded base64url (RFC 4648 §5), as JWT segments are written.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let digits = chunk.len() + 1;
        for i in 0..digits {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

#[given("the services this scenario starts have a JWT secret")]
fn services_have_a_secret(world: &mut MockVideoWorld) {
    scenario_secret(world);
}

#[given("I use a valid token")]
#[when("I use a valid token")]
fn use_valid_token(world: &mut MockVideoWorld) {
    use_claims(world, &valid_claims());
}

#[given(expr = "I use a valid token for the {word} service only")]
#[when(expr = "I use a valid token for the {word} service only")]
fn use_token_for(world: &mut MockVideoWorld, service: String) {
    let audience: Audience = service.parse().unwrap_or_else(|error| panic!("{error}"));
    use_claims(
        world,
        &Claims::new("gherkin", &[audience], DEFAULT_ISSUER, TTL),
    );
}

#[given("I use an expired token")]
#[when("I use an expired token")]
fn use_expired_token(world: &mut MockVideoWorld) {
    // Well beyond the default 30 s leeway.
    let now = auth::now_secs();
    let mut claims = valid_claims();
    claims.exp = now.saturating_sub(3600);
    claims.iat = Some(now.saturating_sub(7200));
    use_claims(world, &claims);
}

#[given("I use a token that is not valid yet")]
#[when("I use a token that is not valid yet")]
fn use_immature_token(world: &mut MockVideoWorld) {
    let mut claims = valid_claims();
    claims.nbf = Some(auth::now_secs() + 300);
    use_claims(world, &claims);
}

#[given("I use a token for another audience")]
#[when("I use a token for another audience")]
fn use_foreign_audience_token(world: &mut MockVideoWorld) {
    let mut claims = valid_claims();
    claims.aud = vec!["someone-else".to_owned()];
    use_claims(world, &claims);
}

#[given("I use a token from another issuer")]
#[when("I use a token from another issuer")]
fn use_foreign_issuer_token(world: &mut MockVideoWorld) {
    let mut claims = valid_claims();
    claims.iss = "someone-else".to_owned();
    use_claims(world, &claims);
}

#[given("I use a token valid for too long")]
#[when("I use a token valid for too long")]
fn use_long_lived_token(world: &mut MockVideoWorld) {
    // Twice the default 24 h maximum lifetime.
    let mut claims = valid_claims();
    claims.exp = claims.iat.unwrap_or_else(auth::now_secs) + 48 * 3600;
    use_claims(world, &claims);
}

#[given("I use a token signed with another secret")]
#[when("I use a token signed with another secret")]
fn use_foreign_token(world: &mut MockVideoWorld) {
    let _ = configured_secret(world);
    world.auth.token = Some(auth::issue(&random_secret(), &valid_claims()));
}

#[given("I use an unsigned token with alg none")]
#[when("I use an unsigned token with alg none")]
fn use_alg_none_token(world: &mut MockVideoWorld) {
    let header = json!({"alg": "none", "typ": "JWT"}).to_string();
    let claims = serde_json::to_string(&valid_claims()).expect("claims serialise");
    world.auth.token = Some(format!(
        "{}.{}.",
        base64url(header.as_bytes()),
        base64url(claims.as_bytes())
    ));
}

#[given("I use a malformed token")]
#[when("I use a malformed token")]
fn use_malformed_token(world: &mut MockVideoWorld) {
    world.auth.token = Some("not-a-jwt".to_owned());
}

#[given("I use no token")]
#[when("I use no token")]
fn use_no_token(world: &mut MockVideoWorld) {
    world.auth.token = None;
}

#[when(expr = "I send a {word} request to {string} with the token")]
async fn send_with_token(world: &mut MockVideoWorld, method: String, path: String) {
    let header = authorization(world);
    send(world, &method, &path, header.as_deref(), None).await;
}

#[when(expr = "I send a {word} request to {string} with the token and body:")]
async fn send_with_token_and_body(
    world: &mut MockVideoWorld,
    step: &Step,
    method: String,
    path: String,
) {
    let header = authorization(world);
    let body = step
        .docstring
        .as_deref()
        .map(|text| text.trim().as_bytes().to_vec())
        .unwrap_or_default();
    send(world, &method, &path, header.as_deref(), Some(body)).await;
}
