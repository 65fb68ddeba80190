//! [`Operations`]: which methods a service's OpenAPI document gives each path, looked up for a
//! request. The document and the router are held to each other (`check_routes`), so a method
//! the document does not give a known path is one the router answers with 405; the auth guard
//! asks this before it asks for a token, so such a request gets its 405 with or without one.

use axum::http::Method;
use utoipa::openapi::OpenApi;

use super::routes::{operation_of, PROBED_METHODS};

/// The documented methods of one service, by path template.
pub struct Operations {
    paths: matchit::Router<Vec<Method>>,
}

impl std::fmt::Debug for Operations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operations").finish_non_exhaustive()
    }
}

impl Operations {
    /// The operations `doc` describes. Its templates use the router's syntax (`/users/{id}`).
    ///
    /// # Panics
    /// When two templates of `doc` conflict, which its router would have refused already.
    pub fn of(doc: &OpenApi) -> Self {
        let mut paths = matchit::Router::new();
        for (path, item) in &doc.paths.paths {
            let methods = PROBED_METHODS
                .into_iter()
                .filter(|method| operation_of(item, method))
                .collect();
            paths
                .insert(path.clone(), methods)
                .unwrap_or_else(|error| panic!("the document's path {path} conflicts: {error}"));
        }
        Self { paths }
    }

    /// True when `path` is a documented path that has no operation for `method`: the router
    /// answers it with 405. False for a documented operation, and for a path the document does
    /// not know (the router's 404).
    pub fn is_unrouted_method(&self, method: &Method, path: &str) -> bool {
        self.paths
            .at(path)
            .is_ok_and(|found| !found.value.contains(method))
    }
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::{
        path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder},
        OpenApiBuilder,
    };

    use super::*;

    #[test]
    fn a_known_path_without_the_method_is_unrouted_and_unknown_paths_are_not() {
        let doc = OpenApiBuilder::new()
            .paths(
                PathsBuilder::new()
                    .path(
                        "/movies/{id}",
                        PathItem::new(HttpMethod::Get, OperationBuilder::new().build()),
                    )
                    .path(
                        "/livez",
                        PathItem::new(HttpMethod::Get, OperationBuilder::new().build()),
                    ),
            )
            .build();
        let operations = Operations::of(&doc);
        assert!(!operations.is_unrouted_method(&Method::GET, "/movies/abc"));
        assert!(operations.is_unrouted_method(&Method::PUT, "/movies/abc"));
        assert!(operations.is_unrouted_method(&Method::TRACE, "/livez"));
        let query = Method::from_bytes(b"QUERY").unwrap();
        assert!(operations.is_unrouted_method(&query, "/livez"));
        assert!(!operations.is_unrouted_method(&Method::PUT, "/nowhere"));
        assert!(!operations.is_unrouted_method(&Method::PUT, "/movies/abc/x"));
    }
}
