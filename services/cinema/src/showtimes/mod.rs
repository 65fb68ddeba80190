//! The showtimes service: `{"id","date","createdon","movies":[string]}`; dates are
//! `YYYY-MM-DD` strings, looked up by exact text.

pub mod routes;

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::{Deserialize, Serialize};

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
#[derive(Debug, Serialize)]
pub struct ShowtimeJson<'a> {
    #[serde(serialize_with = "crate::object_id::serialize_hex")]
    id: &'a ObjectId,
    date: &'a str,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    createdon: &'a Option<DateTime>,
    movies: &'a Option<Vec<String>>,
}

/// A `POST /showtimes` body's `data`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewShowtime {
    /// Ignored (validated only).
    pub id: ClientId,
    /// The day.
    pub date: Option<String>,
    /// Ignored (validated only).
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
