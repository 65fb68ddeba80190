//! The bookings service: `{"id","userid","showtimeid","movies":[string]}` (no `createdon`, no
//! referential checks).

pub mod routes;

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::{Deserialize, Serialize};

use crate::{
    crud::Resource,
    object_id::ClientId,
    repo::{InMemoryRepo, MongoRepo, Record},
};

/// A booking as stored in the `bookings` collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Booking {
    /// `_id`.
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// The user's id (indexed; not checked).
    #[serde(default)]
    pub userid: String,
    /// The showtime's id (not checked).
    #[serde(default)]
    pub showtimeid: String,
    /// Movie ids; `null` when the client sent none, as in the original.
    #[serde(default)]
    pub movies: Option<Vec<String>>,
}

/// A booking in JSON.
#[derive(Debug, Serialize)]
pub struct BookingJson<'a> {
    #[serde(serialize_with = "crate::object_id::serialize_hex")]
    id: &'a ObjectId,
    userid: &'a str,
    showtimeid: &'a str,
    movies: &'a Option<Vec<String>>,
}

/// A `POST /bookings` body's `data`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewBooking {
    /// Ignored (validated only).
    pub id: ClientId,
    /// The user's id.
    pub userid: Option<String>,
    /// The showtime's id.
    pub showtimeid: Option<String>,
    /// Movie ids.
    pub movies: Option<Vec<String>>,
}

impl Record for Booking {
    const COLLECTION: &'static str = "bookings";

    fn id(&self) -> ObjectId {
        self.id
    }
}

impl Resource for Booking {
    const NOUN: &'static str = "booking";
    type Json<'a> = BookingJson<'a>;
    type Input = NewBooking;

    fn to_json(&self) -> BookingJson<'_> {
        BookingJson {
            id: &self.id,
            userid: &self.userid,
            showtimeid: &self.showtimeid,
            movies: &self.movies,
        }
    }

    fn from_input(input: NewBooking, id: ObjectId, _now: DateTime) -> Self {
        Self {
            id,
            userid: input.userid.unwrap_or_default(),
            showtimeid: input.showtimeid.unwrap_or_default(),
            movies: input.movies,
        }
    }
}

/// The `bookings` collection in MongoDB.
pub type MongoBookingRepo = MongoRepo<Booking>;
/// Bookings in memory (router tests).
pub type InMemoryBookingRepo = InMemoryRepo<Booking>;
