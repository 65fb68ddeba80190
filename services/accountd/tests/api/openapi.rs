//! `/openapi.json` documents exactly the routes there are.

use axum::{
    body::Body,
    http::{Method, StatusCode},
    Router,
};
use serde_json::Value;

use crate::helpers::{app, get, send};

const PROBE_METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::HEAD,
    Method::OPTIONS,
];

/// Whether `method uri` reaches a handler that does something (not 405, not MalformedURL).
async fn is_routed(app: &Router, method: Method, uri: &str) -> bool {
    let reply = send(app, method, uri, &[], Body::empty()).await;
    if reply.status == StatusCode::METHOD_NOT_ALLOWED {
        return false;
    }
    !(reply.status == StatusCode::BAD_REQUEST
        && serde_json::from_slice::<Value>(&reply.body)
            .is_ok_and(|body| body["error"]["code"] == "malformed_url"))
}

#[tokio::test]
async fn openapi_documents_exactly_the_routes() {
    let app = app();
    let reply = get(&app, "/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert_eq!(doc, accountd::routes::openapi::document());
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();

    // Every documented path and method is routed.
    for (path, item) in paths {
        let uri = path.replace("{id}", "1");
        for method in item.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            assert!(
                is_routed(&app, method.clone(), &uri).await,
                "documented {method} {path} is not routed"
            );
        }
    }

    // Every routed /users method is documented (and nothing else under /users is routed).
    for (path, uri) in [("/users", "/users"), ("/users/{id}", "/users/1")] {
        for method in PROBE_METHODS {
            let documented = paths[path].get(method.as_str().to_lowercase()).is_some();
            let routed = is_routed(&app, method.clone(), uri).await;
            assert_eq!(
                routed, documented,
                "{method} {path}: routed {routed}, documented {documented}"
            );
        }
    }
}
