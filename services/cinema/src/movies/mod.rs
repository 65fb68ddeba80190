//! The movies service: `{"id","title","director","rating","createdon"}` (rating is a string in
//! this monorepo).

pub mod routes;

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::{Deserialize, Serialize};

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
#[derive(Debug, Serialize)]
pub struct MovieJson<'a> {
    #[serde(serialize_with = "crate::object_id::serialize_hex")]
    id: &'a ObjectId,
    title: &'a str,
    director: &'a str,
    rating: &'a str,
    #[serde(serialize_with = "crate::timestamp::serialize")]
    createdon: &'a Option<DateTime>,
}

/// A `POST /movies` body's `data`. Unknown keys are ignored; a given `id` or `createdon` must be
/// well-formed but is replaced.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewMovie {
    /// Ignored (validated only).
    pub id: ClientId,
    /// The title.
    pub title: Option<String>,
    /// The director.
    pub director: Option<String>,
    /// The rating.
    pub rating: Option<String>,
    /// Ignored (validated only).
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
