//! The admin API's handlers: parse, call the registry, answer Toxiproxy's JSON.

use std::collections::BTreeMap;

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::error::ApiError;
use crate::{toxic::ToxicPatch, Proxies, ProxyConfig, ProxyInfo, ProxyPatch, Toxic, VERSION};

type Answer<T> = Result<T, ApiError>;

/// The body as JSON of type `T`, whatever the content type says (curl's `-d` says a form).
fn parse<T: DeserializeOwned>(body: &Bytes) -> Answer<T> {
    serde_json::from_slice(body).map_err(|error| ApiError::bad_body(&error))
}

pub(super) async fn version() -> Json<serde_json::Value> {
    Json(json!({ "version": VERSION }))
}

pub(super) async fn reset(State(proxies): State<Proxies>) -> StatusCode {
    proxies.reset().await;
    StatusCode::NO_CONTENT
}

pub(super) async fn populate(State(proxies): State<Proxies>, body: Bytes) -> Answer<Response> {
    let configs: Vec<ProxyConfig> = parse(&body)?;
    let (done, error) = proxies.populate(configs).await;
    Ok(match error {
        None => (StatusCode::CREATED, Json(json!({ "proxies": done }))).into_response(),
        Some(error) => {
            // Toxiproxy's shape: the error, and the proxies done before it.
            let error = ApiError::from(error);
            let mut body = error.body();
            body["proxies"] = json!(done);
            (error.status(), Json(body)).into_response()
        }
    })
}

pub(super) async fn list_proxies(
    State(proxies): State<Proxies>,
) -> Json<BTreeMap<String, ProxyInfo>> {
    Json(
        proxies
            .list()
            .await
            .into_iter()
            .map(|proxy| (proxy.name.clone(), proxy))
            .collect(),
    )
}

pub(super) async fn create_proxy(
    State(proxies): State<Proxies>,
    body: Bytes,
) -> Answer<(StatusCode, Json<ProxyInfo>)> {
    let config: ProxyConfig = parse(&body)?;
    Ok((StatusCode::CREATED, Json(proxies.create(config).await?)))
}

pub(super) async fn show_proxy(
    State(proxies): State<Proxies>,
    Path(proxy): Path<String>,
) -> Answer<Json<ProxyInfo>> {
    Ok(Json(proxies.get(&proxy).await?))
}

pub(super) async fn update_proxy(
    State(proxies): State<Proxies>,
    Path(proxy): Path<String>,
    body: Bytes,
) -> Answer<Json<ProxyInfo>> {
    let patch: ProxyPatch = parse(&body)?;
    Ok(Json(proxies.update(&proxy, patch).await?))
}

pub(super) async fn delete_proxy(
    State(proxies): State<Proxies>,
    Path(proxy): Path<String>,
) -> Answer<StatusCode> {
    proxies.delete(&proxy).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn list_toxics(
    State(proxies): State<Proxies>,
    Path(proxy): Path<String>,
) -> Answer<Json<Vec<Toxic>>> {
    Ok(Json(proxies.toxics(&proxy).await?))
}

pub(super) async fn create_toxic(
    State(proxies): State<Proxies>,
    Path(proxy): Path<String>,
    body: Bytes,
) -> Answer<Json<Toxic>> {
    // An unknown proxy is the first thing to say, as in Toxiproxy.
    proxies.get(&proxy).await?;
    let toxic: Toxic = parse(&body)?;
    Ok(Json(proxies.add_toxic(&proxy, toxic).await?))
}

pub(super) async fn show_toxic(
    State(proxies): State<Proxies>,
    Path((proxy, toxic)): Path<(String, String)>,
) -> Answer<Json<Toxic>> {
    Ok(Json(proxies.toxic(&proxy, &toxic).await?))
}

pub(super) async fn update_toxic(
    State(proxies): State<Proxies>,
    Path((proxy, toxic)): Path<(String, String)>,
    body: Bytes,
) -> Answer<Json<Toxic>> {
    let patch: ToxicPatch = parse(&body)?;
    Ok(Json(proxies.patch_toxic(&proxy, &toxic, patch).await?))
}

pub(super) async fn delete_toxic(
    State(proxies): State<Proxies>,
    Path((proxy, toxic)): Path<(String, String)>,
) -> Answer<StatusCode> {
    proxies.remove_toxic(&proxy, &toxic).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn no_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such route")
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use crate::{admin::router, Proxies};

    async fn call(method: &str, uri: &str, body: &str) -> (u16, serde_json::Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body.to_owned()))
            .unwrap();
        let response = router(Proxies::new()).oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    #[tokio::test]
    async fn malformed_json_is_a_400_in_toxiproxys_shape() {
        let (status, body) = call("POST", "/proxies", "{not json").await;
        assert_eq!(status, 400);
        assert_eq!(body["status"], 400);
        assert!(body["error"]
            .as_str()
            .unwrap()
            .starts_with("bad request body"));
    }

    #[tokio::test]
    async fn a_proxy_without_upstream_is_a_400_naming_the_field() {
        let (status, body) = call("POST", "/proxies", r#"{"name":"x"}"#).await;
        assert_eq!(status, 400);
        assert_eq!(body["error"], "missing required field: upstream");
    }

    #[tokio::test]
    async fn an_unknown_proxy_is_a_404() {
        let (status, body) = call("GET", "/proxies/nope/toxics", "").await;
        assert_eq!((status, body["status"].as_u64()), (404, Some(404)));
        assert_eq!(body["error"], "proxy \"nope\" not found");
    }

    #[tokio::test]
    async fn the_version_is_json() {
        let (status, body) = call("GET", "/version", "").await;
        assert_eq!(status, 200);
        assert_eq!(body["version"], crate::VERSION);
    }
}
