//! The middleware: [`idempotent`] runs a write with an `Idempotency-Key` once per key (see the
//! [module docs](super)), through the service's [`Store`]. Put it inside authentication (a
//! refused token never reaches the store) and outside the handlers:
//!
//! ```text
//! let idempotency = Idempotency::new(store, policy);
//! router.route_layer(axum::middleware::from_fn_with_state(idempotency, idempotent))
//! ```

use std::sync::Arc;

use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::{Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use tracing::Instrument as _;

use super::{
    key_in_use, key_reused, Answer, Begun, Fingerprint, Key, Lease, Policy, Store, HEADER,
};
use crate::http::ApiError;

/// The store and the policy the middleware works with (its state).
#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn Store>,
    policy: Policy,
}

impl Idempotency {
    /// Keys kept in `store` under `policy`.
    pub fn new(store: Arc<dyn Store>, policy: Policy) -> Idempotency {
        Idempotency { store, policy }
    }
}

/// The writes the header applies to.
fn is_write(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Runs `request` once per `Idempotency-Key`: fresh keys are executed and their answer kept,
/// repeated ones replayed, reused or busy ones refused (422, 409). Requests without the header,
/// and reads, pass straight through.
pub async fn idempotent(
    State(idempotency): State<Idempotency>,
    request: Request,
    next: Next,
) -> Response {
    if !is_write(request.method()) {
        return next.run(request).await;
    }
    let Some(value) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let key = match Key::parse(value) {
        Ok(key) => key,
        Err(error) => return error.into_response(),
    };
    let Idempotency { store, policy } = idempotency;
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, policy.max_body_bytes).await else {
        return ApiError::payload_too_large(format!(
            "a request with an Idempotency-Key may carry at most {} bytes",
            policy.max_body_bytes
        ))
        .into_response();
    };
    let fingerprint = Fingerprint::of(&parts.method, &parts.uri, &body);
    let lease = match store.begin(&key, fingerprint, &policy).await {
        Ok(Begun::Fresh(lease)) => lease,
        Ok(Begun::Replay(answer)) => return answer.into_response(true),
        Ok(Begun::Mismatch) => return key_reused().into_response(),
        Ok(Begun::InFlight) => return key_in_use().into_response(),
        Err(error) => {
            tracing::warn!(%error, "idempotency store unavailable; the write is refused");
            return ApiError::service_unavailable(
                "the idempotency store is unavailable; nothing was executed, retry later",
                1,
            )
            .into_response();
        }
    };
    // The request runs to its end in a task of its own, whatever happens to this one: when the
    // client goes away or the request timeout answers 503 first, the write still completes and
    // its answer is kept, so the retry gets it instead of executing again.
    let request = Request::from_parts(parts, Body::from(body));
    let run = async move {
        let response = next.run(request).await;
        keep(&*store, &lease, &policy, response).await
    };
    match tokio::spawn(run.instrument(tracing::Span::current())).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(%error, "a write with an Idempotency-Key failed");
            ApiError::internal().into_response()
        }
    }
}

/// Keeps the answer of the request holding `lease`, or releases the key when the write was
/// refused (5xx, 429: nothing stored, so the retry must execute); returns the answer.
async fn keep(store: &dyn Store, lease: &Lease, policy: &Policy, response: Response) -> Response {
    let status = response.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        if let Err(error) = store.release(lease).await {
            tracing::warn!(%error, "could not release an idempotency key; it expires with its lease");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, policy.max_answer_bytes).await else {
        // The handlers' answers are far smaller; one that is not cannot be replayed, and its
        // key stays held until its lease ends.
        tracing::error!(
            max = policy.max_answer_bytes,
            "an answer was too large to keep with its Idempotency-Key"
        );
        return ApiError::internal().into_response();
    };
    let answer = Answer::of(status, &parts.headers, bytes.to_vec());
    if let Err(error) = store.finish(lease, &answer, policy).await {
        tracing::warn!(%error, "could not keep an answer with its Idempotency-Key");
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::{routing::post, Router};
    use tower::ServiceExt as _;

    use super::*;
    use crate::idempotency::{MemoryStore, REPLAYED};

    /// A router whose POST /items counts its executions and answers 201 with the count, or
    /// 503 when the body says `fail`.
    fn app(calls: Arc<AtomicUsize>) -> Router {
        let idempotency = Idempotency::new(Arc::new(MemoryStore::new(100)), Policy::default());
        Router::new()
            .route(
                "/items",
                post(move |body: String| {
                    let calls = calls.clone();
                    async move {
                        if body == "fail" {
                            return ApiError::service_unavailable("down", 1).into_response();
                        }
                        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                        (
                            StatusCode::CREATED,
                            [("location", format!("/items/{n}"))],
                            format!("{{\"n\":{n}}}"),
                        )
                            .into_response()
                    }
                }),
            )
            .route_layer(axum::middleware::from_fn_with_state(
                idempotency,
                idempotent,
            ))
    }

    fn post_with(key: Option<&str>, body: &str) -> Request {
        let mut builder = Request::post("/items");
        if let Some(key) = key {
            builder = builder.header("idempotency-key", key);
        }
        builder.body(Body::from(body.to_owned())).unwrap()
    }

    async fn send(app: &Router, request: Request) -> (StatusCode, Option<String>, String) {
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let replayed = response
            .headers()
            .get(REPLAYED)
            .map(|value| value.to_str().unwrap().to_owned());
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, replayed, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_retry_gets_the_first_answer_without_executing_again() {
        let calls = Arc::new(AtomicUsize::new(0));
        let app = app(calls.clone());
        let first = send(&app, post_with(Some("k1"), "a")).await;
        assert_eq!(first, (StatusCode::CREATED, None, "{\"n\":1}".to_owned()));
        let again = send(&app, post_with(Some("k1"), "a")).await;
        assert_eq!(
            again,
            (
                StatusCode::CREATED,
                Some("true".to_owned()),
                "{\"n\":1}".to_owned()
            )
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Without the header every request executes.
        send(&app, post_with(None, "a")).await;
        send(&app, post_with(None, "a")).await;
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_same_key_for_another_request_is_refused() {
        let app = app(Arc::new(AtomicUsize::new(0)));
        send(&app, post_with(Some("k2"), "a")).await;
        let (status, _, body) = send(&app, post_with(Some("k2"), "b")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("idempotency_key_reused"), "{body}");
    }

    #[tokio::test]
    async fn a_refused_write_releases_its_key() {
        let calls = Arc::new(AtomicUsize::new(0));
        let app = app(calls.clone());
        let (status, _, _) = send(&app, post_with(Some("k3"), "fail")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        // The retry (the same request) executes afresh.
        let (status, replayed, _) = send(&app, post_with(Some("k3"), "fail")).await;
        assert_eq!((status, replayed), (StatusCode::SERVICE_UNAVAILABLE, None));
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_write_whose_client_went_away_completes_and_is_replayed() {
        let calls = Arc::new(AtomicUsize::new(0));
        let store = Arc::new(MemoryStore::new(100));
        let idempotency = Idempotency::new(store, Policy::default());
        let counter = calls.clone();
        let app = Router::new()
            .route(
                "/slow",
                post(move || {
                    let calls = counter.clone();
                    async move {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        calls.fetch_add(1, Ordering::SeqCst);
                        (StatusCode::CREATED, "made")
                    }
                }),
            )
            .route_layer(axum::middleware::from_fn_with_state(
                idempotency,
                idempotent,
            ));
        let request = || {
            Request::post("/slow")
                .header("idempotency-key", "k4")
                .body(Body::empty())
                .unwrap()
        };
        // The client gives up after 20 ms (as the request timeout would).
        let cut = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            app.clone().oneshot(request()),
        )
        .await;
        assert!(cut.is_err());
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let (status, replayed, body) = send(&app, request()).await;
        assert_eq!(
            (status, replayed.as_deref(), body.as_str()),
            (StatusCode::CREATED, Some("true"), "made")
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_malformed_key_is_a_400() {
        let app = app(Arc::new(AtomicUsize::new(0)));
        let (status, _, body) = send(&app, post_with(Some("a b"), "a")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("invalid_idempotency_key"), "{body}");
    }
}
