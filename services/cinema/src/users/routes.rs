//! `GET|POST /users` (also `/users/`), `DELETE /users/{id}`, `GET /users/{id}/suggestions`.

use std::sync::Arc;

use axum::{
    routing::{delete, get},
    Router,
};

use super::{
    suggestions::{self, upstream::Upstream, Suggester},
    User,
};
use crate::crud::{self, Collection};

/// The users routes over `store`; suggestions call the other services through `upstream`.
pub fn router(store: Collection<User>, upstream: Arc<Upstream>) -> Router {
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
        .with_state(store.clone())
        .merge(
            Router::new()
                .route(
                    "/users/{id}/suggestions",
                    get(suggestions::suggestions)
                        .fallback(|| async { crud::method_not_allowed("GET") }),
                )
                .with_state(Suggester {
                    users: store,
                    upstream,
                }),
        )
}
