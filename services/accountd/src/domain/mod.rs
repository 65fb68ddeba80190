//! The users domain: the API's representation of a user, request bodies and their validation,
//! the seed's fixed texts, and password hashing.

pub mod messages;
pub mod password;
pub mod user;

pub use user::{AccountId, Email, Invalid, Name, Role, User, UserInput, ValidUser};
