//! Auth: the scenario's JWT secret (made when its services start with auth on) and the token
//! the request steps send: valid, expired, signed with another secret, unsigned, or none.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cucumber::{given, when};
use secrecy::SecretString;
use serde_json::json;

use crate::steps::world::MockVideoWorld;

/// The `Authorization` header the cinema request steps send, written `Name: value`.
pub(super) fn authorization(world: &MockVideoWorld) -> Option<String> {
    world
        .cinema
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

/// The scenario's JWT secret, made on first use.
pub(super) fn scenario_secret(world: &mut MockVideoWorld) -> SecretString {
    world
        .cinema
        .secret
        .get_or_insert_with(random_secret)
        .clone()
}

fn configured_secret(world: &MockVideoWorld) -> SecretString {
    world
        .cinema
        .secret
        .clone()
        .expect("the scenario's services were not started with auth on")
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
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

#[given("I use a valid token")]
#[when("I use a valid token")]
fn use_valid_token(world: &mut MockVideoWorld) {
    let secret = configured_secret(world);
    world.cinema.token = Some(cinema::auth::issue(
        &secret,
        "gherkin",
        Duration::from_secs(600),
    ));
}

#[given("I use an expired token")]
#[when("I use an expired token")]
fn use_expired_token(world: &mut MockVideoWorld) {
    let secret = configured_secret(world);
    // Well beyond the default 30 s leeway.
    let now = now_secs();
    let claims = cinema::auth::Claims {
        sub: "gherkin".to_owned(),
        exp: now.saturating_sub(3600),
        iat: Some(now.saturating_sub(7200)),
    };
    world.cinema.token = Some(cinema::auth::issue_claims(&secret, &claims));
}

#[given("I use a token signed with another secret")]
#[when("I use a token signed with another secret")]
fn use_foreign_token(world: &mut MockVideoWorld) {
    let _ = configured_secret(world);
    world.cinema.token = Some(cinema::auth::issue(
        &random_secret(),
        "gherkin",
        Duration::from_secs(600),
    ));
}

#[given("I use an unsigned token with alg none")]
#[when("I use an unsigned token with alg none")]
fn use_alg_none_token(world: &mut MockVideoWorld) {
    let header = json!({"alg": "none", "typ": "JWT"}).to_string();
    let claims = json!({"sub": "gherkin", "exp": now_secs() + 600, "iat": now_secs()}).to_string();
    world.cinema.token = Some(format!(
        "{}.{}.",
        base64url(header.as_bytes()),
        base64url(claims.as_bytes())
    ));
}

#[given("I use no token")]
#[when("I use no token")]
fn use_no_token(world: &mut MockVideoWorld) {
    world.cinema.token = None;
}
