//! `GET|POST /bookings` (also `/bookings/`), `DELETE /bookings/{id}`, and their OpenAPI
//! description ([`document`]).

use axum::routing::{delete, get};
use platform::openapi::Routes;
use utoipa::openapi::{path::HttpMethod, OpenApi};

use super::Booking;
use crate::{
    crud::{self, Collection},
    openapi::{Crud, Document},
    Service,
};

/// The collection path and its trailing-slash alias.
const COLLECTION: [&str; 2] = ["/bookings", "/bookings/"];

/// The bookings routes over `store`.
pub fn router(store: Collection<Booking>) -> Routes {
    let collection = || {
        get(crud::list::<Booking>)
            .post(crud::create::<Booking>)
            .head(|| async { crud::method_not_allowed("GET, POST") })
            .fallback(|| async { crud::method_not_allowed("GET, POST") })
    };
    Routes::new()
        .route(COLLECTION[0], collection())
        .route(COLLECTION[1], collection())
        .route(
            "/bookings/{id}",
            delete(crud::delete::<Booking>)
                .fallback(|| async { crud::method_not_allowed("DELETE") }),
        )
        .with_state(store)
}

/// The bookings service's OpenAPI document.
pub fn document() -> OpenApi {
    let mut doc = Document::new();
    let bookings = Crud::of::<Booking>(&mut doc);
    bookings.add_collection(&mut doc, &COLLECTION);
    doc.add("/bookings/{id}", HttpMethod::Delete, bookings.delete("id"));
    doc.finish(Service::Bookings)
}
