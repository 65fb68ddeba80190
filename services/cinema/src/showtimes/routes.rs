//! `GET|POST /showtimes` (also `/showtimes/`), `GET /showtimes/{date}` (the first showtime of
//! that day; 404 when none), `DELETE /showtimes/{id}`.

use axum::{extract::State, response::Response, routing::get, Router};
use platform::http::{ApiError, Path};

use super::Showtime;
use crate::{
    crud::{self, Collection, Resource as _},
    envelope,
    error::store_error,
};

/// The showtimes routes over `store`.
pub fn router(store: Collection<Showtime>) -> Router {
    let collection = || {
        get(crud::list::<Showtime>)
            .post(crud::create::<Showtime>)
            .head(|| async { crud::method_not_allowed("GET, POST") })
            .fallback(|| async { crud::method_not_allowed("GET, POST") })
    };
    Router::new()
        .route("/showtimes", collection())
        .route("/showtimes/", collection())
        .route(
            "/showtimes/{date_or_id}",
            get(get_by_date)
                .delete(crud::delete::<Showtime>)
                .head(|| async { crud::method_not_allowed("GET, DELETE") })
                .fallback(|| async { crud::method_not_allowed("GET, DELETE") }),
        )
        .with_state(store)
}

/// `GET /showtimes/{date}`: the first showtime whose `date` is exactly the path text.
async fn get_by_date(
    State(store): State<Collection<Showtime>>,
    Path(date): Path<String>,
) -> Result<Response, ApiError> {
    match store.repo.find_first("date", &date).await {
        Ok(Some(showtime)) => Ok(envelope::one(showtime.to_json())),
        Ok(None) => Err(ApiError::not_found(format!("no showtime on {date:?}"))),
        Err(error) => Err(store_error(error, store.retry_after_secs)),
    }
}
