//! The seed's fixed texts (contracts §1.6). Clients and tests match on them, so they are kept
//! verbatim; our JSON error messages start with (or contain) them.

/// Any URL that is not a known resource, and bad ids in `/users/{id}`.
pub const MALFORMED_URL: &str =
    "Malformed URL, URL must be of the form /users, /users/{id}, /accountdhealth, or /metrics";

/// A create or update whose e-mail belongs to another user.
pub const DUPLICATE_USER: &str = "attempt to insert duplicate user";

/// An update of a user that does not exist.
pub const NON_EXISTENT_USER: &str = "attempted update on a non-existent user";

/// A create or update that failed validation (the reason follows).
pub const UPSERT_FAILED: &str = "DB insert or update failed";

/// The health endpoint's body.
pub const HEALTHY: &str = "I'm Healthy!";

/// A create whose body carries an id (sic: the seed's wording).
pub fn unexpected_id(id: i64) -> String {
    format!("expected User.ID > 0, got User.ID = {id}")
}

/// A `Bulk-Request` header that is not a Go boolean.
pub fn bad_bulk_header(value: &str) -> String {
    format!("Expected 'true' or 'false' value for 'Bulk-Request' header, got {value}")
}
