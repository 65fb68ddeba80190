//! `GET|POST /users` (also `/users/`), `DELETE /users/{id}`, `GET /users/{id}/suggestions`,
//! and their OpenAPI description ([`document`]).

use std::sync::Arc;

use axum::routing::{delete, get};
use platform::openapi::{error_response, Routes};
use utoipa::openapi::{
    path::{HttpMethod, OperationBuilder},
    schema::ArrayBuilder,
    OpenApi,
};

use super::{
    suggestions::{self, rank::Suggestion, upstream::Upstream, Suggester},
    User,
};
use crate::{
    crud::{self, Collection},
    openapi::{envelope, invalid_id, json_answer, object_id, Crud, Document},
    Service,
};

/// The collection path and its trailing-slash alias.
const COLLECTION: [&str; 2] = ["/users", "/users/"];
const SUGGESTIONS: &str = "/users/{id}/suggestions";

/// The users routes over `store`; suggestions call the other services through `upstream`.
pub fn router(store: Collection<User>, upstream: Arc<Upstream>) -> Routes {
    let collection = || {
        get(crud::list::<User>)
            .post(crud::create::<User>)
            .head(|| async { crud::method_not_allowed("GET, POST") })
            .fallback(|| async { crud::method_not_allowed("GET, POST") })
    };
    Routes::new()
        .route(COLLECTION[0], collection())
        .route(COLLECTION[1], collection())
        .route(
            "/users/{id}",
            delete(crud::delete::<User>).fallback(|| async { crud::method_not_allowed("DELETE") }),
        )
        .with_state(store.clone())
        .merge(
            Routes::new()
                .route(
                    SUGGESTIONS,
                    get(suggestions::suggestions)
                        .fallback(|| async { crud::method_not_allowed("GET") }),
                )
                .with_state(Suggester {
                    users: store,
                    upstream,
                }),
        )
}

/// The users service's OpenAPI document.
pub fn document() -> OpenApi {
    let mut doc = Document::new();
    let users = Crud::of::<User>(&mut doc);
    users.add_collection(&mut doc, &COLLECTION);
    doc.add("/users/{id}", HttpMethod::Delete, users.delete("id"));
    let suggestion = doc.schema::<Suggestion>(false);
    let suggestions = OperationBuilder::new()
        .summary(Some("The movies suggested to a user"))
        .description(Some(
            "The movies the user has not booked, best first, ranked from the bookings, movies \
             and showtimes services' lists: `score` counts the other users with a booked movie \
             in common who booked this one; ties go to the higher rating, then the title, then \
             the id.",
        ))
        .parameter(object_id("id", "user"))
        .response(
            "200",
            json_answer(
                "The suggestions, best first (`[]` when there is none).",
                envelope(ArrayBuilder::new().items(suggestion)),
            ),
        )
        .response("400", invalid_id())
        .response(
            "404",
            error_response("No user has this id (`not_found`).", false),
        )
        .response(
            "429",
            error_response(
                "The process already computes as many suggestions as it may and its queue is \
                 full or the wait ran out, or the service sheds load: retry after \
                 `Retry-After` seconds.",
                true,
            ),
        )
        .response(
            "502",
            error_response(
                "The bookings, movies or showtimes service is unreachable or answered wrongly \
                 after the retries (`bad_gateway`).",
                false,
            ),
        )
        .response(
            "504",
            error_response(
                "The other services did not answer within the suggestions budget \
                 (`gateway_timeout`).",
                false,
            ),
        )
        .build();
    doc.add_get(SUGGESTIONS, suggestions);
    doc.finish(Service::Users)
}
