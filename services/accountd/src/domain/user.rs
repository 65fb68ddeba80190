//! A user: [`User`] as the API returns it, [`UserInput`] as a request carries it, and
//! [`ValidUser`], which only [`UserInput::validate`] can produce.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Longest name, e-mail or password, in characters (the columns are `VARCHAR(255)`).
pub const MAX_CHARS: usize = 255;

/// A user as the API returns it. Field order is the JSON key order of the seed; there is no
/// password field, so no response can ever carry one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    /// The user's account.
    pub accountid: i64,
    /// `/users/<id>`.
    #[schema(example = "/users/1")]
    pub href: String,
    /// The user's id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// E-mail address, unique across users.
    pub email: String,
    /// 0 owner, 1 admin, 2 restricted (the seed's data also has 3).
    pub role: i64,
}

impl User {
    /// The resource path of user `id`.
    pub fn href_for(id: i64) -> String {
        format!("/users/{id}")
    }
}

/// A user as a request body carries it (decoded by `routes::decode`, which matches keys
/// case-insensitively and rejects unknown ones).
///
/// Every field is optional, as in Go where a missing field is its zero value; `href` is
/// accepted and ignored.
#[derive(Debug, Default)]
pub struct UserInput {
    /// `accountid`.
    pub accountid: Option<i64>,
    /// `href` (ignored, echoed in bulk results).
    pub href: Option<String>,
    /// `id`: must be absent or 0 on create; selects the user on update.
    pub id: Option<i64>,
    /// `name`.
    pub name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `role`.
    pub role: Option<i64>,
    /// `password` (plaintext; hashed before storage, never returned or logged).
    pub password: Option<SecretString>,
}

/// Why a user is invalid: one reason per bad field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("; "))]
pub struct Invalid(pub Vec<String>);

/// An account id: non-zero and within MySQL's `INT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountId(i32);

impl AccountId {
    /// Parses an account id.
    pub fn parse(value: i64) -> Result<Self, String> {
        match i32::try_from(value) {
            Ok(0) => Err("accountid must not be 0".to_owned()),
            Ok(id) => Ok(Self(id)),
            Err(_) => Err(format!(
                "accountid must be between {} and {}, got {value}",
                i32::MIN,
                i32::MAX
            )),
        }
    }

    /// The id.
    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

fn bounded_text(field: &str, value: &str) -> Result<(), String> {
    let chars = value.chars().count();
    if value.is_empty() {
        Err(format!("{field} must not be empty"))
    } else if chars > MAX_CHARS {
        Err(format!(
            "{field} must be at most {MAX_CHARS} characters, got {chars}"
        ))
    } else {
        Ok(())
    }
}

/// A display name: 1 to 255 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Parses a name.
    pub fn parse(value: String) -> Result<Self, String> {
        bounded_text("name", &value).map(|()| Self(value))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address: 1 to 255 characters, containing `@`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an e-mail address.
    pub fn parse(value: String) -> Result<Self, String> {
        bounded_text("email", &value)?;
        if value.contains('@') {
            Ok(Self(value))
        } else {
            Err("email must contain '@'".to_owned())
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's role relative to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// 0: primary / owner.
    Owner,
    /// 1: unrestricted / admin.
    Admin,
    /// 2: restricted.
    Restricted,
}

impl Role {
    /// Parses the numeric role.
    pub fn parse(value: i64) -> Result<Self, String> {
        match value {
            0 => Ok(Self::Owner),
            1 => Ok(Self::Admin),
            2 => Ok(Self::Restricted),
            other => Err(format!(
                "role must be 0 (owner), 1 (admin) or 2 (restricted), got {other}"
            )),
        }
    }

    /// The numeric role.
    pub fn number(self) -> i64 {
        match self {
            Self::Owner => 0,
            Self::Admin => 1,
            Self::Restricted => 2,
        }
    }
}

/// A user that passed validation, ready to be hashed and stored.
#[derive(Debug)]
pub struct ValidUser {
    /// The account.
    pub account_id: AccountId,
    /// The name.
    pub name: Name,
    /// The e-mail address.
    pub email: Email,
    /// The role.
    pub role: Role,
    /// The plaintext password (1 to 255 characters).
    pub password: SecretString,
}

impl UserInput {
    /// The body's id, 0 when absent.
    pub fn id(&self) -> i64 {
        self.id.unwrap_or(0)
    }

    /// The user as submitted, without the password (for bulk results).
    pub fn echo(&self) -> User {
        User {
            accountid: self.accountid.unwrap_or(0),
            href: self.href.clone().unwrap_or_default(),
            id: self.id(),
            name: self.name.clone().unwrap_or_default(),
            email: self.email.clone().unwrap_or_default(),
            role: self.role.unwrap_or(0),
        }
    }

    /// Checks every field (the id is the caller's business); collects all the reasons.
    pub fn validate(self) -> Result<ValidUser, Invalid> {
        fn keep<T>(reasons: &mut Vec<String>, result: Result<T, String>) -> Option<T> {
            result.map_err(|reason| reasons.push(reason)).ok()
        }
        let mut reasons = Vec::new();
        let account_id = keep(&mut reasons, AccountId::parse(self.accountid.unwrap_or(0)));
        let name = keep(&mut reasons, Name::parse(self.name.unwrap_or_default()));
        let email = keep(&mut reasons, Email::parse(self.email.unwrap_or_default()));
        let role = keep(&mut reasons, Role::parse(self.role.unwrap_or(0)));
        let password = self.password.unwrap_or_else(|| SecretString::from(""));
        let password = keep(
            &mut reasons,
            bounded_text("password", password.expose_secret()).map(|()| password),
        );
        match (account_id, name, email, role, password) {
            (Some(account_id), Some(name), Some(email), Some(role), Some(password)) => {
                Ok(ValidUser {
                    account_id,
                    name,
                    email,
                    role,
                    password,
                })
            }
            _ => Err(Invalid(reasons)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> UserInput {
        UserInput {
            accountid: Some(1),
            href: None,
            id: None,
            name: Some("Brian Wilson".to_owned()),
            email: Some("goodvibrations@gmail.com".to_owned()),
            role: Some(1),
            password: Some(SecretString::from("helpmerhonda")),
        }
    }

    #[test]
    fn a_complete_user_is_valid() {
        let user = input().validate().unwrap();
        assert_eq!(user.account_id.get(), 1);
        assert_eq!(user.name.as_str(), "Brian Wilson");
        assert_eq!(user.role, Role::Admin);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let invalid = UserInput::default().validate().unwrap_err();
        let text = invalid.to_string();
        for field in ["accountid", "name", "email", "password"] {
            assert!(text.contains(field), "{text}");
        }
    }

    #[test]
    fn limits_are_in_characters() {
        let mut user = input();
        user.name = Some("é".repeat(255));
        assert!(user.validate().is_ok());
        let mut user = input();
        user.name = Some("x".repeat(256));
        assert!(user
            .validate()
            .unwrap_err()
            .to_string()
            .contains("at most 255"));
        let mut user = input();
        user.password = Some(SecretString::from("p".repeat(256)));
        assert!(user
            .validate()
            .unwrap_err()
            .to_string()
            .contains("password"));
    }

    #[test]
    fn email_needs_an_at_sign_and_role_its_range() {
        let mut user = input();
        user.email = Some("nobody".to_owned());
        user.role = Some(3);
        let text = user.validate().unwrap_err().to_string();
        assert!(text.contains("'@'") && text.contains("role"), "{text}");
    }

    #[test]
    fn account_id_must_fit_an_int_column() {
        assert!(AccountId::parse(i64::from(i32::MAX)).is_ok());
        assert!(AccountId::parse(-7).is_ok());
        assert!(AccountId::parse(i64::from(i32::MAX) + 1).is_err());
        assert!(AccountId::parse(0).is_err());
    }

    #[test]
    fn echo_never_has_a_password_and_keeps_what_was_sent() {
        let mut user = input();
        user.id = Some(9);
        user.href = Some("/x".to_owned());
        let echo = serde_json::to_string(&user.echo()).unwrap();
        assert_eq!(
            echo,
            r#"{"accountid":1,"href":"/x","id":9,"name":"Brian Wilson","email":"goodvibrations@gmail.com","role":1}"#
        );
    }
}
