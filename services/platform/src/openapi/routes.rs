//! [`Routes`]: an axum router that remembers the paths it was given, and [`check_routes`], which
//! holds such a router and its OpenAPI document to each other, both ways: the same paths, and on
//! each path the router answers every documented method and refuses (405) every other one.

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
    routing::MethodRouter,
    Router,
};
use tower::ServiceExt as _;
use utoipa::openapi::OpenApi;

/// The methods [`check_routes`] tries on every path.
pub const PROBED_METHODS: [Method; 8] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::OPTIONS,
    Method::TRACE,
];

/// A [`Router`] and the paths added to it with [`Routes::route`], through merges and states.
pub struct Routes<S = ()> {
    router: Router<S>,
    paths: Vec<&'static str>,
}

impl<S> Default for Routes<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Self {
            router: Router::new(),
            paths: Vec::new(),
        }
    }
}

impl<S> Routes<S>
where
    S: Clone + Send + Sync + 'static,
{
    /// No routes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// [`Router::route`], remembering `path`.
    pub fn route(mut self, path: &'static str, method_router: MethodRouter<S>) -> Self {
        self.router = self.router.route(path, method_router);
        self.paths.push(path);
        self
    }

    /// [`Router::merge`], keeping both sets of paths.
    pub fn merge(mut self, other: Routes<S>) -> Self {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }

    /// [`Router::with_state`].
    pub fn with_state<S2>(self, state: S) -> Routes<S2> {
        Routes {
            router: self.router.with_state(state),
            paths: self.paths,
        }
    }

    /// Changes the router without adding routes (layers, a fallback).
    pub fn map(mut self, change: impl FnOnce(Router<S>) -> Router<S>) -> Self {
        self.router = change(self.router);
        self
    }

    /// The paths added so far, in order.
    pub fn paths(&self) -> &[&'static str] {
        &self.paths
    }

    /// The router and its paths.
    pub fn into_parts(self) -> (Router<S>, Vec<&'static str>) {
        (self.router, self.paths)
    }
}

/// What differs between `router` (with its `paths`) and `doc`: paths only one of them has, and
/// methods the router answers on a path without the document describing them, or the other
/// way round. A path's parameters are filled with `sample` for the probe; a method is routed
/// unless the answer is 405. Empty when they agree.
pub async fn check_routes(
    router: Router,
    paths: &[&str],
    doc: &OpenApi,
    sample: &str,
) -> Vec<String> {
    let mut differences = Vec::new();
    for path in paths {
        if !doc.paths.paths.contains_key(*path) {
            differences.push(format!("{path} is routed but not documented"));
        }
    }
    for (path, item) in &doc.paths.paths {
        if !paths.contains(&path.as_str()) {
            differences.push(format!("{path} is documented but not routed"));
            continue;
        }
        let uri = fill(path, sample);
        for method in PROBED_METHODS {
            let documented = operation_of(item, &method);
            let request = Request::builder()
                .method(method.clone())
                .uri(&uri)
                .body(Body::empty())
                .expect("a probe request is well formed");
            let status = match router.clone().oneshot(request).await {
                Ok(response) => response.status(),
                Err(never) => match never {},
            };
            let routed = status != StatusCode::METHOD_NOT_ALLOWED;
            if routed && !documented {
                differences.push(format!(
                    "{method} {path} is answered ({status}) but not documented"
                ));
            } else if documented && !routed {
                differences.push(format!("{method} {path} is documented but answers 405"));
            }
        }
    }
    differences
}

/// Whether `item` documents an operation for `method`.
pub(crate) fn operation_of(item: &utoipa::openapi::PathItem, method: &Method) -> bool {
    let operation = match *method {
        Method::GET => &item.get,
        Method::HEAD => &item.head,
        Method::POST => &item.post,
        Method::PUT => &item.put,
        Method::DELETE => &item.delete,
        Method::PATCH => &item.patch,
        Method::OPTIONS => &item.options,
        Method::TRACE => &item.trace,
        _ => return false,
    };
    operation.is_some()
}

/// `path` with every `{parameter}` replaced by `sample`.
fn fill(path: &str, sample: &str) -> String {
    let mut filled = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        filled.push_str(&rest[..open]);
        match rest[open..].find('}') {
            Some(close) => {
                filled.push_str(sample);
                rest = &rest[open + close + 1..];
            }
            None => {
                rest = &rest[open..];
                break;
            }
        }
    }
    filled.push_str(rest);
    filled
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use utoipa::openapi::{
        path::{HttpMethod, OperationBuilder, PathItem},
        OpenApiBuilder, PathsBuilder,
    };

    use super::*;
    use crate::http::ApiError;

    fn doc(paths: &[(&str, HttpMethod)]) -> OpenApi {
        let mut builder = PathsBuilder::new();
        for (path, method) in paths {
            builder = builder.path(
                *path,
                PathItem::new(method.clone(), OperationBuilder::new().build()),
            );
        }
        OpenApiBuilder::new().paths(builder.build()).build()
    }

    fn routes() -> Routes {
        Routes::new().route(
            "/things/{id}",
            get(|| async { "thing" })
                .head(|| async { ApiError::method_not_allowed("GET") })
                .fallback(|| async { ApiError::method_not_allowed("GET") }),
        )
    }

    #[test]
    fn parameters_are_filled() {
        assert_eq!(fill("/a/{id}/b/{x}", "7"), "/a/7/b/7");
        assert_eq!(fill("/plain", "7"), "/plain");
    }

    #[tokio::test]
    async fn a_router_and_its_document_agree() {
        let (router, paths) = routes().into_parts();
        let doc = doc(&[("/things/{id}", HttpMethod::Get)]);
        assert_eq!(
            check_routes(router, &paths, &doc, "1").await,
            Vec::<String>::new()
        );
    }

    #[tokio::test]
    async fn every_difference_is_named() {
        let (router, paths) = routes().into_parts();
        let doc = doc(&[
            ("/things/{id}", HttpMethod::Delete),
            ("/other", HttpMethod::Get),
        ]);
        let differences = check_routes(router, &paths, &doc, "1").await;
        assert_eq!(
            differences,
            vec![
                "/other is documented but not routed".to_owned(),
                "GET /things/{id} is answered (200 OK) but not documented".to_owned(),
                "DELETE /things/{id} is documented but answers 405".to_owned(),
            ]
        );
    }
}
