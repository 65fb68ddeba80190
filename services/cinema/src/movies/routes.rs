//! `GET|POST /movies` (also `/movies/`), `GET|DELETE /movies/{id}`, and their OpenAPI
//! description ([`document`]).

use axum::routing::get;
use platform::openapi::Routes;
use utoipa::openapi::{path::HttpMethod, OpenApi};

use super::Movie;
use crate::{
    crud::{self, Collection},
    openapi::{Crud, Document},
    Service,
};

/// The collection path and its trailing-slash alias.
const COLLECTION: [&str; 2] = ["/movies", "/movies/"];

/// The movies routes over `store`.
pub fn router(store: Collection<Movie>) -> Routes {
    let collection = || {
        get(crud::list::<Movie>)
            .post(crud::create::<Movie>)
            .head(|| async { crud::method_not_allowed("GET, POST") })
            .fallback(|| async { crud::method_not_allowed("GET, POST") })
    };
    Routes::new()
        .route(COLLECTION[0], collection())
        .route(COLLECTION[1], collection())
        .route(
            "/movies/{id}",
            get(crud::get::<Movie>)
                .delete(crud::delete::<Movie>)
                .head(|| async { crud::method_not_allowed("GET, DELETE") })
                .fallback(|| async { crud::method_not_allowed("GET, DELETE") }),
        )
        .with_state(store)
}

/// The movies service's OpenAPI document.
pub fn document() -> OpenApi {
    let mut doc = Document::new();
    let movies = Crud::of::<Movie>(&mut doc);
    movies.add_collection(&mut doc, &COLLECTION);
    doc.add("/movies/{id}", HttpMethod::Get, movies.get("id"));
    doc.add("/movies/{id}", HttpMethod::Delete, movies.delete("id"));
    doc.finish(Service::Movies)
}
