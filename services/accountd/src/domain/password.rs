//! Password hashing: argon2id with the crate's default (OWASP minimum) parameters, stored as a
//! PHC string. Hashing is deliberately slow, so it runs on the blocking thread pool.

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use secrecy::{ExposeSecret, SecretString};

/// Hashing failed (argon2 rejected the input, or the blocking task died).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes `password` on the blocking pool; returns the PHC string.
pub async fn hash(password: SecretString) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|join| HashError(join.to_string()))?
}

/// Hashes `password` on the current thread (tens of milliseconds).
pub fn hash_blocking(password: &SecretString) -> Result<String, HashError> {
    // 16 random bytes from the OS (uuid v4 uses getrandom), the recommended salt length.
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|error| HashError(error.to_string()))?;
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| HashError(error.to_string()))
}

/// Whether `password` matches the PHC string `phc`.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_are_salted() {
        let first = hash(SecretString::from("helpmerhonda")).await.unwrap();
        let second = hash(SecretString::from("helpmerhonda")).await.unwrap();
        assert!(first.starts_with("$argon2id$"), "{first}");
        assert_ne!(first, second);
        assert!(verify("helpmerhonda", &first));
        assert!(!verify("wrong", &first));
        assert!(!verify("helpmerhonda", "not a hash"));
    }

    #[test]
    fn seed_test_data_hash_is_the_seed_password() {
        let sql = include_str!("../../../../sql/testdata.sql");
        let phc = sql
            .split('\'')
            .find(|part| part.starts_with("$argon2id$"))
            .unwrap();
        assert!(verify("alksdf98423)*(&#", phc));
    }
}
