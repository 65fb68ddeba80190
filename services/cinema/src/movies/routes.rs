//! `GET|POST /movies` (also `/movies/`), `GET|DELETE /movies/{id}`.

use axum::{routing::get, Router};

use super::Movie;
use crate::crud::{self, Collection};

/// The movies routes over `store`.
pub fn router(store: Collection<Movie>) -> Router {
    let collection = || {
        get(crud::list::<Movie>)
            .post(crud::create::<Movie>)
            .head(|| async { crud::method_not_allowed("GET, POST") })
            .fallback(|| async { crud::method_not_allowed("GET, POST") })
    };
    Router::new()
        .route("/movies", collection())
        .route("/movies/", collection())
        .route(
            "/movies/{id}",
            get(crud::get::<Movie>)
                .delete(crud::delete::<Movie>)
                .head(|| async { crud::method_not_allowed("GET, DELETE") })
                .fallback(|| async { crud::method_not_allowed("GET, DELETE") }),
        )
        .with_state(store)
}
