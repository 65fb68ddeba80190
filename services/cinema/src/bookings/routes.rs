//! `GET|POST /bookings` (also `/bookings/`), `DELETE /bookings/{id}`.

use axum::{
    routing::{delete, get},
    Router,
};

use super::Booking;
use crate::crud::{self, Collection};

/// The bookings routes over `store`.
pub fn router(store: Collection<Booking>) -> Router {
    let collection = || {
        get(crud::list::<Booking>)
            .post(crud::create::<Booking>)
            .head(|| async { crud::method_not_allowed("GET, POST") })
            .fallback(|| async { crud::method_not_allowed("GET, POST") })
    };
    Router::new()
        .route("/bookings", collection())
        .route("/bookings/", collection())
        .route(
            "/bookings/{id}",
            delete(crud::delete::<Booking>)
                .fallback(|| async { crud::method_not_allowed("DELETE") }),
        )
        .with_state(store)
}
