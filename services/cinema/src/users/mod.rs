//! The users service: `{"id","name","lastname"}`, and each user's movie suggestions from the
//! other three services ([`suggestions`]).

pub mod routes;
pub mod suggestions;

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    crud::Resource,
    object_id::ClientId,
    repo::{InMemoryRepo, MongoRepo, Record},
};

/// A user as stored in the `users` collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// `_id`.
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// The first name.
    #[serde(default)]
    pub name: String,
    /// The last name.
    #[serde(default)]
    pub lastname: String,
}

/// A user in JSON.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserJson<'a> {
    /// The id: 24 lower-case hexadecimal digits.
    #[serde(serialize_with = "crate::object_id::serialize_hex")]
    #[schema(value_type = String, pattern = "^[0-9a-f]{24}$")]
    id: &'a ObjectId,
    /// The first name.
    name: &'a str,
    /// The last name.
    lastname: &'a str,
}

/// A `POST /users` body's `data`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct NewUser {
    /// Ignored (validated only): empty, `null` or 24 hexadecimal digits.
    #[schema(value_type = Option<String>, pattern = "^([0-9a-fA-F]{24})?$", default = json!(null))]
    pub id: ClientId,
    /// The first name.
    pub name: Option<String>,
    /// The last name.
    pub lastname: Option<String>,
}

impl Record for User {
    const COLLECTION: &'static str = "users";

    fn id(&self) -> ObjectId {
        self.id
    }
}

impl Resource for User {
    const NOUN: &'static str = "user";
    type Json<'a> = UserJson<'a>;
    type Input = NewUser;

    fn to_json(&self) -> UserJson<'_> {
        UserJson {
            id: &self.id,
            name: &self.name,
            lastname: &self.lastname,
        }
    }

    fn from_input(input: NewUser, id: ObjectId, _now: DateTime) -> Self {
        Self {
            id,
            name: input.name.unwrap_or_default(),
            lastname: input.lastname.unwrap_or_default(),
        }
    }
}

/// The `users` collection in MongoDB.
pub type MongoUserRepo = MongoRepo<User>;
/// Users in memory (router tests).
pub type InMemoryUserRepo = InMemoryRepo<User>;
