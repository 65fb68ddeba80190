//! `/users` and `/users/{id}`: thin handlers over [`crate::service`] and the store.

use axum::{
    extract::{rejection::PathRejection, Path, Request, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use platform::http::{ApiError, Json};
use serde::Serialize;

use super::{
    bulk::{self, Operation},
    decode,
};
use crate::{
    app::AppState,
    domain::User,
    error::{malformed_url, user_not_found, UserError},
    service,
};

/// The methods `/users` and `/users/{id}` support (the `Allow` header of a 405).
pub const ALLOWED_METHODS: &str = "GET, POST, PUT, DELETE";

/// The body of `GET /users`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsersBody {
    /// Every user, ordered by id.
    pub users: Vec<User>,
}

/// The id of `/users/{id}`; 400 MalformedURL when it is not a 64-bit integer.
fn parse_id(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let Path(raw) = path.map_err(|_| malformed_url())?;
    raw.parse::<i64>().map_err(|_| malformed_url())
}

fn store_error(state: &AppState, error: crate::repo::RepoError) -> ApiError {
    UserError::from(error).into_api_error(state.limits.retry_after_secs)
}

/// `GET /users`: every user, `{"users":[...]}` (an empty list when there are none).
pub async fn list(State(state): State<AppState>) -> Result<Json<UsersBody>, ApiError> {
    let users = state
        .repo
        .list()
        .await
        .map_err(|error| store_error(&state, error))?;
    Ok(Json(UsersBody { users }))
}

/// `GET /users/{id}`: the user, or 404.
pub async fn get_one(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<User>, ApiError> {
    let id = parse_id(path)?;
    match state.repo.get(id).await {
        Ok(Some(user)) => Ok(Json(user)),
        Ok(None) => Err(user_not_found(id)),
        Err(error) => Err(store_error(&state, error)),
    }
}

/// `POST /users`: 201 + `Location: /users/<id>` and an empty body; or a bulk create.
pub async fn create(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let is_bulk = bulk::is_bulk(req.headers())?;
    let body = decode::read_body(req).await?;
    if is_bulk {
        let users = decode::bulk(&body, state.max_bulk_users)?;
        return bulk::run(&state, Operation::Create, users).await;
    }
    let input = decode::user(&body)?;
    let user = service::create(&state, input)
        .await
        .map_err(|error| error.into_api_error(state.limits.retry_after_secs))?;
    Ok((StatusCode::CREATED, [(header::LOCATION, user.href)]).into_response())
}

async fn update_with(
    state: AppState,
    url_id: Option<i64>,
    req: Request,
) -> Result<Response, ApiError> {
    let is_bulk = bulk::is_bulk(req.headers())?;
    let body = decode::read_body(req).await?;
    if is_bulk {
        // As in the seed, a bulk PUT ignores the URL id: each user names its own.
        let users = decode::bulk(&body, state.max_bulk_users)?;
        return bulk::run(&state, Operation::Update, users).await;
    }
    let input = decode::user(&body)?;
    service::update(&state, url_id, input)
        .await
        .map_err(|error| error.into_api_error(state.limits.retry_after_secs))?;
    Ok(StatusCode::OK.into_response())
}

/// `PUT /users/{id}`: replaces the user; 200 with an empty body.
pub async fn update_at(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, ApiError> {
    let id = parse_id(path)?;
    update_with(state, Some(id), req).await
}

/// `PUT /users`: replaces the user the body's id names; 200 with an empty body.
pub async fn update(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    update_with(state, None, req).await
}

/// `DELETE /users/{id}`: 200 with an empty body, whether or not the user existed.
pub async fn delete(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(path)?;
    let existed = state
        .repo
        .delete(id)
        .await
        .map_err(|error| store_error(&state, error))?;
    tracing::info!(user.id = id, existed, "user deleted");
    Ok(StatusCode::OK)
}

/// `POST /users/{id}`, `DELETE /users`: 400 MalformedURL, as in the seed.
pub async fn malformed() -> ApiError {
    malformed_url()
}

/// Any other method on `/users*`: 405 JSON with `Allow`.
pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed(ALLOWED_METHODS)
}
