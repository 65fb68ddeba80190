//! The movies service: `{"id","title","director","rating","createdon"}` (rating is a string in
//! this monorepo).

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

/// A movie as stored in the `movies` collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Movie {
    /// `_id`.
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// The title.
    #[serde(default)]
    pub title: String,
    /// The director.
    #[serde(default)]
    pub director: String,
    /// The rating, e.g. `"8.0"`.
    #[serde(default)]
    pub rating: String,
    /// When it was created (absent in hand-made documents).
    #[serde(default)]
    pub createdon: Option<DateTime>,
}

/// A movie in JSON.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Movie)]
pub struct MovieJson<'a> {
    /// The id: 24 lower-case hexadecimal digits.
    #[serde(serialize_with = "crate::object_id::serialize_hex")]
    #[schema(value_type = String, pattern = "^[0-9a-f]{24}$")]
    id: &'a ObjectId,
    /// The title.
    title: &'a str,
    /// The director.
    director: &'a str,
    /// The rating, e.g. `"8.0"` (any text).
    rating: &'a str,
    /// When it was created (RFC 3339, UTC); `0001-01-01T00:00:00Z` when the stored document has
    /// no time.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    createdon: &'a Option<DateTime>,
}

/// A `POST /movies` body's `data`. Unknown keys are ignored; a given `id` or `createdon` must be
/// well-formed but is replaced.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct NewMovie {
    /// Ignored (validated only): empty, `null` or 24 hexadecimal digits.
    #[schema(value_type = Option<String>, pattern = "^([0-9a-fA-F]{24})?$", default = json!(null))]
    pub id: ClientId,
    /// The title.
    pub title: Option<String>,
    /// The director.
    pub director: Option<String>,
    /// The rating.
    pub rating: Option<String>,
    /// Ignored (validated only): `null` or an RFC 3339 time.
    #[schema(value_type = Option<String>, format = DateTime, default = json!(null))]
    pub createdon: ClientTime,
}

impl Record for Movie {
    const COLLECTION: &'static str = "movies";

    fn id(&self) -> ObjectId {
        self.id
    }
}

impl Resource for Movie {
    const NOUN: &'static str = "movie";
    type Json<'a> = MovieJson<'a>;
    type Input = NewMovie;

    fn to_json(&self) -> MovieJson<'_> {
        MovieJson {
            id: &self.id,
            title: &self.title,
            director: &self.director,
            rating: &self.rating,
            createdon: &self.createdon,
        }
    }

    fn from_input(input: NewMovie, id: ObjectId, now: DateTime) -> Self {
        Self {
            id,
            title: input.title.unwrap_or_default(),
            director: input.director.unwrap_or_default(),
            rating: input.rating.unwrap_or_default(),
            createdon: Some(now),
        }
    }
}

/// The `movies` collection in MongoDB.
pub type MongoMovieRepo = MongoRepo<Movie>;
/// Movies in memory (router tests).
pub type InMemoryMovieRepo = InMemoryRepo<Movie>;
