//! The bookings service: `{"id","userid","showtimeid","movies":[string]}` (no `createdon`, no
//! referential checks).

pub mod routes;

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Booking)]
pub struct BookingJson<'a> {
    /// The id: 24 lower-case hexadecimal digits.
    #[serde(serialize_with = "crate::object_id::serialize_hex")]
    #[schema(value_type = String, pattern = "^[0-9a-f]{24}$")]
    id: &'a ObjectId,
    /// The user's id (not checked).
    userid: &'a str,
    /// The showtime's id (not checked).
    showtimeid: &'a str,
    /// Movie ids (not checked); `null` when the client sent none.
    #[schema(value_type = Option<Vec<String>>, required = true)]
    movies: &'a Option<Vec<String>>,
}

/// A `POST /bookings` body's `data`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct NewBooking {
    /// Ignored (validated only): empty, `null` or 24 hexadecimal digits.
    #[schema(value_type = Option<String>, pattern = "^([0-9a-fA-F]{24})?$", default = json!(null))]
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
