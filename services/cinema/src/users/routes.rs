//! `GET|POST /users` (also `/users/`), `DELETE /users/{id}`.

use axum::{
    routing::{delete, get},
    Router,
};

use super::User;
use crate::crud::{self, Collection};

/// The users routes over `store`.
pub fn router(store: Collection<User>) -> Router {
    let collection = || {
        get(crud::list::<User>)
            .post(crud::create::<User>)
            .head(|| async { crud::method_not_allowed("GET, POST") })
            .fallback(|| async { crud::method_not_allowed("GET, POST") })
    };
    Router::new()
        .route("/users", collection())
        .route("/users/", collection())
        .route(
            "/users/{id}",
            delete(crud::delete::<User>).fallback(|| async { crud::method_not_allowed("DELETE") }),
        )
        .with_state(store)
}
