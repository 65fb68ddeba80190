//! `GET|POST /showtimes` (also `/showtimes/`), `GET /showtimes/{date}` (the first showtime of
//! that day, else the one with that id; 404 when none), `DELETE /showtimes/{id}`, and their
//! OpenAPI description
//! ([`document`]).

use axum::{extract::State, response::Response, routing::get};
use platform::{
    http::{ApiError, Path},
    openapi::{error_response, Routes},
};
use utoipa::openapi::{
    path::{HttpMethod, OperationBuilder},
    schema::{ObjectBuilder, Type},
    OpenApi,
};

use super::Showtime;
use crate::{
    crud::{self, Collection, Resource as _},
    envelope,
    error::store_error,
    object_id,
    openapi::{path_parameter, Crud, Document},
    Service,
};

/// The collection path and its trailing-slash alias.
const COLLECTION: [&str; 2] = ["/showtimes", "/showtimes/"];
/// One path for both: `GET` takes a date, `DELETE` an id.
const ONE: &str = "/showtimes/{date_or_id}";

/// The showtimes routes over `store`.
pub fn router(store: Collection<Showtime>) -> Routes {
    let collection = || {
        get(crud::list::<Showtime>)
            .post(crud::create::<Showtime>)
            .head(|| async { crud::method_not_allowed("GET, POST") })
            .fallback(|| async { crud::method_not_allowed("GET, POST") })
    };
    Routes::new()
        .route(COLLECTION[0], collection())
        .route(COLLECTION[1], collection())
        .route(
            ONE,
            get(get_by_date)
                .delete(crud::delete::<Showtime>)
                .head(|| async { crud::method_not_allowed("GET, DELETE") })
                .fallback(|| async { crud::method_not_allowed("GET, DELETE") }),
        )
        .with_state(store)
}

/// `GET /showtimes/{date}`: the first showtime whose `date` is exactly the path text; when none
/// has that date and the text is an id, the showtime with that id (as `DELETE` takes it), so a
/// client can read back what it created.
async fn get_by_date(
    State(store): State<Collection<Showtime>>,
    Path(date_or_id): Path<String>,
) -> Result<Response, ApiError> {
    let stored = |error| store_error(error, store.retry_after_secs);
    if let Some(showtime) = store
        .repo
        .find_first("date", &date_or_id)
        .await
        .map_err(stored)?
    {
        return Ok(envelope::one(showtime.to_json()));
    }
    if let Ok(id) = object_id::parse(&date_or_id) {
        if let Some(showtime) = store.repo.find(id).await.map_err(stored)? {
            return Ok(envelope::one(showtime.to_json()));
        }
    }
    Err(ApiError::not_found(format!(
        "no showtime on or with the id {date_or_id:?}"
    )))
}

/// The showtimes service's OpenAPI document.
pub fn document() -> OpenApi {
    let mut doc = Document::new();
    let showtimes = Crud::of::<Showtime>(&mut doc);
    showtimes.add_collection(&mut doc, &COLLECTION);
    let by_date = OperationBuilder::new()
        .summary(Some("The first showtime of a day, or one showtime by id"))
        .description(Some(
            "The first showtime (in insertion order) whose `date` is exactly the path text: \
             no date format is checked. When no showtime has that date and the text is an id \
             (24 hexadecimal digits), the showtime with that id.",
        ))
        .parameter(path_parameter(
            "date_or_id",
            "The day, as the showtimes were created with it (e.g. `2016-08-15`), or an id.",
            ObjectBuilder::new().schema_type(Type::String),
        ))
        .response(
            "200",
            showtimes.one("The first showtime of that day, or the one with that id."),
        )
        .response(
            "400",
            error_response(
                "The path segment is not UTF-8 once percent-decoded (`invalid_path`).",
                false,
            ),
        )
        .response(
            "404",
            error_response(
                "No showtime has this date, nor this id (`not_found`).",
                false,
            ),
        )
        .build();
    doc.add(ONE, HttpMethod::Get, by_date);
    doc.add(ONE, HttpMethod::Delete, showtimes.delete("date_or_id"));
    doc.finish(Service::Showtimes)
}
