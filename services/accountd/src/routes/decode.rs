//! Request bodies decoded the way the Go original decoded them, straight into their types.
//!
//! Go's `encoding/json` matches keys case-insensitively (`AccountID`, `eMail` work) and the
//! original rejected unknown keys. So each body is read by a visitor that matches every key with
//! [`go_key_matches`] and refuses unknown ones, without building a JSON tree first: a 1 MiB body
//! costs about its own size, whatever its shape. A JSON `null` body is an empty user, as in Go;
//! the last of two keys that differ only by case wins, as in Go. Every failure is a 400 whose
//! message starts with the seed's `JSON Decoding Error, possibly malformed JSON object` and ends
//! with the detail.
//!
//! A bulk body holds at most `max_users` users: decoding stops keeping users past the bound and
//! only counts the rest (413 `bulk_request_too_large`, see [`super::bulk::too_many_users`]).

use std::{cell::Cell, fmt};

use axum::{body::Bytes, extract::Request};
use platform::http::{decode_seed, decoding_error, go_key_matches, ApiError, ObjectOrNull};
use secrecy::SecretString;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::bulk;
use crate::domain::UserInput;

/// Reads the body (413 if it is over the body limit).
pub async fn read_body(req: Request) -> Result<Bytes, ApiError> {
    platform::http::read_body(req, &()).await
}

/// One user, as a non-bulk POST or PUT carries it.
pub fn user(body: &[u8]) -> Result<UserInput, ApiError> {
    decode_seed(body, UserSeed).map_err(decoding_error)
}

/// The users of a bulk request body, `{"users":[...]}` (or `Users`), in request order; at most
/// `max_users` of them.
pub fn bulk(body: &[u8], max_users: usize) -> Result<Vec<UserInput>, ApiError> {
    let failed_at = Cell::new(None);
    let seed = BulkSeed {
        max_users,
        failed_at: &failed_at,
    };
    match decode_seed(body, seed) {
        Ok(Users::Kept(users)) => Ok(users),
        Ok(Users::TooMany(count)) => Err(bulk::too_many_users(max_users, count)),
        Err(error) => Err(match failed_at.get() {
            Some(index) => decoding_error(format!("users[{index}]: {error}")),
            None => decoding_error(error),
        }),
    }
}

/// The keys of a user, in the seed's order.
const USER_FIELDS: &[&str] = &[
    "accountid",
    "href",
    "id",
    "name",
    "email",
    "role",
    "password",
];

/// Which field of a user a key names (case-insensitively).
enum UserField {
    AccountId,
    Href,
    Id,
    Name,
    Email,
    Role,
    Password,
}

impl<'de> de::Deserialize<'de> for UserField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Key;
        impl Visitor<'_> for Key {
            type Value = UserField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a user field name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<UserField, E> {
                let fields = [
                    UserField::AccountId,
                    UserField::Href,
                    UserField::Id,
                    UserField::Name,
                    UserField::Email,
                    UserField::Role,
                    UserField::Password,
                ];
                fields
                    .into_iter()
                    .zip(USER_FIELDS)
                    .find(|(_, name)| go_key_matches(key, name))
                    .map(|(field, _)| field)
                    .ok_or_else(|| E::unknown_field(key, USER_FIELDS))
            }
        }
        deserializer.deserialize_str(Key)
    }
}

/// Decodes one user: an object with the [`USER_FIELDS`] (any case), or `null`.
#[derive(Clone, Copy)]
struct UserSeed;

impl<'de> DeserializeSeed<'de> for UserSeed {
    type Value = UserInput;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<UserInput, D::Error> {
        deserializer.deserialize_any(ObjectOrNull::new("a user (a JSON object)", UserVisitor))
    }
}

struct UserVisitor;

impl<'de> Visitor<'de> for UserVisitor {
    type Value = UserInput;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a user (a JSON object)")
    }

    fn visit_unit<E: de::Error>(self) -> Result<UserInput, E> {
        Ok(UserInput::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UserInput, A::Error> {
        let mut user = UserInput::default();
        // A repeated key (in any case) overwrites the earlier value, as in Go.
        while let Some(field) = map.next_key::<UserField>()? {
            match field {
                UserField::AccountId => user.accountid = map.next_value()?,
                UserField::Href => user.href = map.next_value()?,
                UserField::Id => user.id = map.next_value()?,
                UserField::Name => user.name = map.next_value()?,
                UserField::Email => user.email = map.next_value()?,
                UserField::Role => user.role = map.next_value()?,
                UserField::Password => user.password = map.next_value::<Option<SecretString>>()?,
            }
        }
        Ok(user)
    }
}

/// What a bulk body's `users` came to.
enum Users {
    /// Every user, in order.
    Kept(Vec<UserInput>),
    /// More than the bound: how many there were.
    TooMany(usize),
}

/// Decodes `{"users": [...]}` (the key in any case; absent or `null` is no users).
struct BulkSeed<'a> {
    max_users: usize,
    /// Set to the index of the user whose decoding failed.
    failed_at: &'a Cell<Option<usize>>,
}

impl<'de> DeserializeSeed<'de> for BulkSeed<'_> {
    type Value = Users;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Users, D::Error> {
        deserializer.deserialize_any(ObjectOrNull::new("{\"users\":[...]} (a JSON object)", self))
    }
}

impl<'de> Visitor<'de> for BulkSeed<'_> {
    type Value = Users;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{\"users\":[...]} (a JSON object)")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Users, E> {
        Ok(Users::Kept(Vec::new()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Users, A::Error> {
        let mut users = Users::Kept(Vec::new());
        while map.next_key::<BulkKey>()?.is_some() {
            users = map.next_value_seed(UserList {
                max_users: self.max_users,
                failed_at: self.failed_at,
            })?;
        }
        Ok(users)
    }
}

/// The one key of a bulk body, `users` in any case.
struct BulkKey;

impl<'de> de::Deserialize<'de> for BulkKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Key;
        impl Visitor<'_> for Key {
            type Value = BulkKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`users`")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<BulkKey, E> {
                if go_key_matches(key, "users") {
                    Ok(BulkKey)
                } else {
                    Err(E::unknown_field(key, &["users"]))
                }
            }
        }
        deserializer.deserialize_str(Key)
    }
}

/// The `users` array (or `null`): users kept up to the bound, the rest only counted.
struct UserList<'a> {
    max_users: usize,
    failed_at: &'a Cell<Option<usize>>,
}

impl<'de> DeserializeSeed<'de> for UserList<'_> {
    type Value = Users;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Users, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UserList<'_> {
    type Value = Users;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of users")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Users, E> {
        Ok(Users::Kept(Vec::new()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Users, A::Error> {
        let mut users = Vec::new();
        loop {
            let index = users.len();
            if index == self.max_users {
                // Past the bound: count the rest without keeping them.
                let mut count = index;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    count += 1;
                }
                return Ok(if count > self.max_users {
                    Users::TooMany(count)
                } else {
                    Users::Kept(users)
                });
            }
            match seq.next_element_seed(UserSeed) {
                Ok(Some(user)) => users.push(user),
                Ok(None) => return Ok(Users::Kept(users)),
                Err(error) => {
                    self.failed_at.set(Some(index));
                    return Err(error);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn keys_match_case_insensitively() {
        let input = user(
            br#"{"AccountID": 1, "Name": "Brian", "eMail": "b@x", "ROLE": 1, "Password": "pw", "HREF": ""}"#,
        )
        .unwrap();
        assert_eq!(input.accountid, Some(1));
        assert_eq!(input.email.as_deref(), Some("b@x"));
        assert_eq!(input.password.unwrap().expose_secret(), "pw");
        let input = user(br#"{"name": "first", "NAME": "second", "id": null}"#).unwrap();
        assert_eq!(input.name.as_deref(), Some("second"));
        assert_eq!(input.id(), 0);
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_decoding_errors() {
        for bad in [
            r#"{"nickname": "x"}"#,
            r#"{"accountid": "1"}"#,
            r#"{"accountid": 1.5}"#,
            r#"{"role": 99999999999999999999}"#,
            r#"{"name": 7}"#,
            r#"[1, "x"]"#,
            r#""user""#,
            r#"{"users": []}"#,
            r#"{"name": "a"} trailing"#,
            "",
        ] {
            let error = user(bad.as_bytes()).unwrap_err();
            assert_eq!(error.status(), 400, "{bad}");
            assert!(
                error
                    .message()
                    .starts_with(platform::http::JSON_DECODING_ERROR),
                "{bad}: {}",
                error.message()
            );
        }
        let error = user(b"[0,0,0]").unwrap_err();
        assert!(
            error
                .message()
                .contains("expected a user (a JSON object), got an array"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn null_is_an_empty_user() {
        let input = user(b"null").unwrap();
        assert_eq!(input.id(), 0);
        assert!(input.name.is_none());
    }

    #[test]
    fn bulk_bodies() {
        let users = bulk(br#"{"Users": [{"name": "a"}, {"NAME": "b"}]}"#, 10).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[1].name.as_deref(), Some("b"));
        assert!(bulk(br#"{"users": []}"#, 10).unwrap().is_empty());
        assert!(bulk(b"{}", 10).unwrap().is_empty());
        assert!(bulk(b"null", 10).unwrap().is_empty());
        assert!(bulk(br#"{"users": null}"#, 10).unwrap().is_empty());
        let error = bulk(br#"{"accountid": 1, "name": "single"}"#, 10).unwrap_err();
        assert!(
            error.message().contains("unknown field"),
            "{}",
            error.message()
        );
        let error = bulk(br#"{"users": [{"name": "a"}, {"bogus": 1}]}"#, 10).unwrap_err();
        assert!(
            error.message().contains("users[1]: unknown field `bogus`"),
            "{}",
            error.message()
        );
        assert!(bulk(br#"{"users": {"name": "a"}}"#, 10).is_err());
        assert!(bulk(b"[0,0,0]", 10).is_err());
    }

    #[test]
    fn bulk_bodies_over_the_bound_are_counted_not_kept() {
        assert_eq!(bulk(br#"{"users": [{}, {}]}"#, 2).unwrap().len(), 2);
        let error = bulk(br#"{"users": [{}, {}, {"x": 1}, 7]}"#, 2).unwrap_err();
        assert_eq!(error.status(), 413);
        assert!(error.message().contains("got 4"), "{}", error.message());
        // Malformed JSON past the bound is still a decoding error.
        let error = bulk(br#"{"users": [{}, {}, {]}"#, 2).unwrap_err();
        assert_eq!(error.status(), 400);
    }
}
