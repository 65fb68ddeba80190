//! [`Path`]: axum's path extractor whose rejections are [`ApiError`] bodies, so a path segment
//! that is not UTF-8 (`/movies/%FF`) or not of the route's type gets a JSON 400 like every other
//! client error, not axum's plain-text one.

use axum::{extract::FromRequestParts, http::request::Parts};
use serde::de::DeserializeOwned;

use super::ApiError;

/// The route's path parameters as `T`; a rejection is a JSON `invalid_path` error with axum's
/// status (400 for the client's mistakes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(ApiError::new(
                rejection.status(),
                "invalid_path",
                rejection.body_text(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request, routing::get, Router};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;

    async fn answer(uri: &str) -> (u16, String) {
        let app = Router::new().route(
            "/things/{id}",
            get(|Path(id): Path<String>| async move { id }),
        );
        let response = app
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_segment_that_is_not_utf8_is_a_json_400() {
        let (status, body) = answer("/things/%FF").await;
        assert_eq!(status, 400, "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"]["code"], "invalid_path", "{body}");
    }

    #[tokio::test]
    async fn a_good_segment_is_decoded() {
        assert_eq!(answer("/things/caf%C3%A9").await, (200, "café".to_owned()));
    }
}
