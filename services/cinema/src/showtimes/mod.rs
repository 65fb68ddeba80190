//! The showtimes service: `{"id","date","createdon","movies":[string]}`; dates are
//! `YYYY-MM-DD` strings, looked up by exact text.

pub mod routes;

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    crud::Resource,
    object_id::ClientId,
    repo::{InMemoryRepo, MongoRepo, Record},
    timestamp::ClientTime,
};

/// A showtime as stored in the `showtimes` collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Showtime {
    /// `_id`.
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// The day, e.g. `2016-08-15` (indexed).
    #[serde(default)]
    pub date: String,
    /// When it was created (absent in hand-made documents).
    #[serde(default)]
    pub createdon: Option<DateTime>,
    /// Movie ids (not checked); `null` when the client sent none, as in the original.
    #[serde(default)]
    pub movies: Option<Vec<String>>,
}

/// A showtime in JSON.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Showtime)]
pub struct ShowtimeJson<'a> {
    /// The id: 24 lower-case hexadecimal digits.
    #[serde(serialize_with = "crate::object_id::serialize_hex")]
    #[schema(value_type = String, pattern = "^[0-9a-f]{24}$")]
    id: &'a ObjectId,
    /// The day as the client wrote it, e.g. `2016-08-15` (not checked).
    date: &'a str,
    /// When it was created (RFC 3339, UTC); `0001-01-01T00:00:00Z` when the stored document has
    /// no time.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    createdon: &'a Option<DateTime>,
    /// Movie ids (not checked); `null` when the client sent none.
    #[schema(value_type = Option<Vec<String>>, required = true)]
    movies: &'a Option<Vec<String>>,
}

/// A `POST /showtimes` body's `data`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct NewShowtime {
    /// Ignored (validated only): empty, `null` or 24 hexadecimal digits.
    #[schema(value_type = Option<String>, pattern = "^([0-9a-fA-F]{24})?$", default = json!(null))]
    pub id: ClientId,
    /// The day, e.g. `2016-08-15` (stored as sent, not checked).
    pub date: Option<String>,
    /// Ignored (validated only): `null` or an RFC 3339 time.
    #[schema(value_type = Option<String>, format = DateTime, default = json!(null))]
    pub createdon: ClientTime,
    /// Movie ids.
    pub movies: Option<Vec<String>>,
}

impl Record for Showtime {
    const COLLECTION: &'static str = "showtimes";

    fn id(&self) -> ObjectId {
        self.id
    }
}

impl Resource for Showtime {
    const NOUN: &'static str = "showtime";
    type Json<'a> = ShowtimeJson<'a>;
    type Input = NewShowtime;

    fn to_json(&self) -> ShowtimeJson<'_> {
        ShowtimeJson {
            id: &self.id,
            date: &self.date,
            createdon: &self.createdon,
            movies: &self.movies,
        }
    }

    fn from_input(input: NewShowtime, id: ObjectId, now: DateTime) -> Self {
        Self {
            id,
            date: input.date.unwrap_or_default(),
            createdon: Some(now),
            movies: input.movies,
        }
    }
}

/// The `showtimes` collection in MongoDB.
pub type MongoShowtimeRepo = MongoRepo<Showtime>;
/// Showtimes in memory (router tests).
pub type InMemoryShowtimeRepo = InMemoryRepo<Showtime>;
