//! The middleware stack every HTTP service runs behind, outermost first:
//!
//! 1. load shedding over a process-wide concurrency limit that adapts to the latency served
//!    ([`crate::adaptive`]; at most `limits.concurrency_limit`) → 429 JSON + `Retry-After` at
//!    once, never a queue; health and metrics routes are exempt, so probes answer under load.
//!    Outermost, so that a refusal is cheap: it gets no span, log line or metrics labels of
//!    its own (only `http_requests_shed_total{service}`, and the client's `x-request-id`
//!    echoed), since under overload most requests are refused. The limit in force is the
//!    gauge `http_concurrency_limit{service}`;
//! 2. `x-request-id`: set (UUID v4) when the client sent none, copied onto the response;
//! 3. a tracing span per request carrying the method, matched route and request id;
//! 4. Prometheus request metrics: `http_requests_total` and `http_request_duration_seconds`
//!    labelled `service`, `method`, `route` (the matched pattern), `status`;
//! 5. a per-request timeout → 503 JSON + `Retry-After`;
//! 6. panics → 500 JSON (the connection survives);
//! 7. the body limit: a `Content-Length` over it → 413 JSON with `Connection: close`, after the
//!    body was read and dropped (at most twice the limit, for at most 2 s) so that closing the
//!    connection does not reset it under the answer; a longer streamed body makes the JSON
//!    extractor answer 413 JSON.

use std::{
    any::Any,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    error_handling::HandleErrorLayer,
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{header, HeaderName, HeaderValue, Method},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    BoxError, Router,
};
use futures::StreamExt as _;
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::{CatchPanicLayer, ResponseForPanic},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

use super::{ApiError, Limits};
use crate::adaptive::AdaptiveLimit;

/// The request id header, set when absent and echoed on every response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// How long an oversized body is read and dropped before the 413 goes out.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Route label for requests that matched no route (they went to the fallback).
const UNMATCHED_ROUTE: &str = "unmatched";

/// Wraps every route of `router` (and its fallback) with the standard stack described in the
/// module documentation. Call it after all routes are added.
pub fn with_middleware(router: Router, service: &str, limits: &Limits) -> Router {
    let retry_after = limits.retry_after_secs;
    let timeout = limits.request_timeout;
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let service: Arc<str> = Arc::from(service);

    let stack = ServiceBuilder::new()
        // Outermost, so that a refusal costs as little as possible: under overload most
        // requests are refused, and what they cost is taken from the ones being served.
        .layer(middleware::from_fn_with_state(
            Shedder {
                limit: limits.concurrency(),
                retry_after,
                service: service.clone(),
                published: Arc::default(),
            },
            shed_load,
        ))
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(middleware::from_fn_with_state(service, record_metrics))
        .layer(HandleErrorLayer::new(move |error: BoxError| async move {
            overload_response(&error, retry_after, timeout)
        }))
        .timeout(timeout)
        .layer(CatchPanicLayer::custom(PanicToJson))
        .layer(middleware::from_fn_with_state(
            limits.body_limit_bytes,
            reject_oversized,
        ))
        .layer(DefaultBodyLimit::max(limits.body_limit_bytes));

    router.layer(stack)
}

fn matched_route(req: &Request) -> &str {
    req.extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
}

fn make_span(req: &Request<Body>) -> tracing::Span {
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %req.method(),
        route = matched_route(req),
        path = req.uri().path(),
        request_id,
    )
}

/// Keeps the method label bounded: custom methods are all `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

async fn record_metrics(State(service): State<Arc<str>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    let route = matched_route(&req).to_owned();
    let response = next.run(req).await;
    let labels = [
        ("service", service.to_string()),
        ("method", method.to_owned()),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

/// Routes outside the load limit (no 429): probes and scrapes must answer while the service
/// sheds load.
pub const EXEMPT_ROUTES: &[&str] = &["/livez", "/readyz", "/healthz", "/metrics"];

/// The concurrency limit and the `Retry-After` of its 429s.
#[derive(Clone)]
struct Shedder {
    limit: AdaptiveLimit,
    retry_after: u64,
    service: Arc<str>,
    /// The limit last published as `http_concurrency_limit`.
    published: Arc<std::sync::atomic::AtomicUsize>,
}

/// Admits a request when the (adaptive) limit has room, else answers 429 + `Retry-After` at
/// once; teaches the limit how long each admitted request took.
async fn shed_load(State(shedder): State<Shedder>, req: Request, next: Next) -> Response {
    let route = matched_route(&req);
    if EXEMPT_ROUTES.contains(&route) {
        return next.run(req).await;
    }
    let route = route.to_owned();
    let Some(permit) = shedder.limit.try_acquire() else {
        // No span, no log line, no request id of our own: the refusal must stay cheap. It is
        // counted in `http_requests_shed_total` (by service), and a client's `x-request-id`
        // is still echoed.
        metrics::counter!("http_requests_shed_total", "service" => shedder.service.to_string())
            .increment(1);
        let request_id = req.headers().get(REQUEST_ID_HEADER).cloned();
        let mut response = refuse_unread(
            req.into_body(),
            ApiError::too_many_requests(shedder.retry_after).into_response(),
        )
        .await;
        if let Some(request_id) = request_id {
            response.headers_mut().insert(REQUEST_ID_HEADER, request_id);
        }
        return response;
    };
    let response = next.run(req).await;
    let status = response.status();
    permit.complete(&route, status.is_success() || status.is_redirection());
    let limit = shedder.limit.limit();
    if shedder
        .published
        .swap(limit, std::sync::atomic::Ordering::Relaxed)
        != limit
    {
        metrics::gauge!("http_concurrency_limit", "service" => shedder.service.to_string())
            .set(limit as f64);
    }
    response
}

fn overload_response(error: &BoxError, retry_after: u64, timeout: std::time::Duration) -> ApiError {
    if error.is::<tower::timeout::error::Elapsed>() {
        tracing::warn!(?timeout, "request timed out");
        ApiError::service_unavailable(
            format!("request did not complete within {timeout:?}"),
            retry_after,
        )
    } else {
        tracing::error!(%error, "unexpected middleware error");
        ApiError::internal()
    }
}

async fn reject_oversized(State(limit): State<usize>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => {
            // Closing a connection with unread bytes makes the kernel reset it, and a reset can
            // destroy the answer before the client reads it: read what was sent first, bounded.
            drain(req.into_body(), limit.saturating_mul(2)).await;
            ApiError::payload_too_large(format!(
                "request body of {length} bytes is larger than the limit of {limit} bytes"
            ))
            .with_header(header::CONNECTION, HeaderValue::from_static("close"))
            .into_response()
        }
        _ => next.run(req).await,
    }
}

/// Reads and drops `body`: at most `budget` bytes, for at most [`DRAIN_TIME`]. True when the
/// whole body was read (the connection can then stay open).
async fn drain(body: Body, budget: usize) -> bool {
    let mut frames = body.into_data_stream();
    let read = async {
        let mut seen = 0usize;
        while seen <= budget {
            match frames.next().await {
                Some(Ok(chunk)) => seen += chunk.len(),
                Some(Err(_)) => return false,
                None => return true,
            }
        }
        false
    };
    tokio::time::timeout(DRAIN_TIME, read)
        .await
        .unwrap_or(false)
}

/// How much of a refused request's body [`refuse_unread`] reads before giving up on it.
pub const REFUSED_BODY_BUDGET: usize = 1024 * 1024;

/// `response` to a request refused before its body was read (a 401, a 429 from a guard): the
/// body is read and dropped first (at most [`REFUSED_BODY_BUDGET`] bytes, for at most 2 s), so
/// the client's next request on the same connection is not taken for the rest of this one; when
/// it could not be read whole, the answer says `Connection: close`.
pub async fn refuse_unread(body: Body, mut response: Response) -> Response {
    if !drain(body, REFUSED_BODY_BUDGET).await {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Turns a handler panic into a 500 JSON body (and logs it).
#[derive(Clone, Copy)]
struct PanicToJson;

impl ResponseForPanic for PanicToJson {
    type ResponseBody = Body;

    fn response_for_panic(&mut self, panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
        let detail = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic payload");
        tracing::error!(panic = detail, "request handler panicked");
        ApiError::internal().into_response()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use axum::{
        http::{StatusCode, Uri},
        routing::{get, post},
    };
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn limits() -> Limits {
        Limits {
            body_limit_bytes: 1024 * 1024,
            concurrency_limit: 1,
            request_timeout: Duration::from_millis(300),
            retry_after_secs: 2,
            ..Limits::default()
        }
    }

    async fn json_body(response: Response) -> serde_json::Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    async fn echo_len(crate::http::Json(value): crate::http::Json<serde_json::Value>) -> String {
        value.to_string().len().to_string()
    }

    #[tokio::test]
    async fn two_mib_body_is_413_json() {
        let app = with_middleware(Router::new().route("/", post(echo_len)), "test", &limits());
        let body = vec![b' '; 2 * 1024 * 1024];
        let response = app
            .clone()
            .oneshot(Request::post("/").body(Body::from(body.clone())).unwrap())
            .await
            .unwrap();
        // `Body::from(Vec)` has an exact size hint but no Content-Length header: the limit is
        // enforced while reading.
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            json_body(response).await["error"]["code"],
            "payload_too_large"
        );

        let response = app
            .oneshot(
                Request::post("/")
                    .header(header::CONTENT_LENGTH, body.len())
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[header::CONNECTION], "close");
        assert!(response.headers().contains_key(REQUEST_ID_HEADER));
        assert_eq!(
            json_body(response).await["error"]["code"],
            "payload_too_large"
        );
    }

    #[tokio::test]
    async fn small_body_passes() {
        let app = with_middleware(Router::new().route("/", post(echo_len)), "test", &limits());
        let response = app
            .oneshot(Request::post("/").body(Body::from("[1,2]")).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn overload_is_429_with_retry_after() {
        let (entered_tx, mut entered_rx) = tokio::sync::mpsc::channel::<()>(1);
        let release = Arc::new(tokio::sync::Notify::new());
        let handler_release = release.clone();
        let app = with_middleware(
            Router::new()
                .route("/readyz", get(|| async { "ready" }))
                .route(
                    "/slow",
                    get(move || {
                        let entered = entered_tx.clone();
                        let release = handler_release.clone();
                        async move {
                            let _ = entered.send(()).await;
                            release.notified().await;
                            "done"
                        }
                    }),
                ),
            "test",
            &Limits {
                request_timeout: Duration::from_secs(30),
                ..limits()
            },
        );
        let first = tokio::spawn(
            app.clone()
                .oneshot(Request::get("/slow").body(Body::empty()).unwrap()),
        );
        entered_rx.recv().await.unwrap();

        let response = app
            .clone()
            .oneshot(
                Request::get("/slow")
                    .header(REQUEST_ID_HEADER, "shed-1")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(response.headers()[REQUEST_ID_HEADER], "shed-1");
        // Probes are not counted against the limit.
        let probe = app
            .clone()
            .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(probe.status(), StatusCode::OK);
        assert_eq!(
            json_body(response).await["error"]["code"],
            "too_many_requests"
        );

        release.notify_one();
        let first = first.await.unwrap().unwrap();
        assert_eq!(first.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn slow_request_is_503_with_retry_after() {
        let app = with_middleware(
            Router::new().route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            ),
            "test",
            &limits(),
        );
        let response = app
            .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(
            json_body(response).await["error"]["code"],
            "service_unavailable"
        );
    }

    #[tokio::test]
    async fn panic_is_500_json() {
        #[allow(clippy::unused_async)]
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let app = with_middleware(Router::new().route("/boom", get(boom)), "test", &limits());
        let response = app
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(json_body(response).await["error"]["code"], "internal");
    }

    #[tokio::test]
    async fn request_id_is_set_or_propagated() {
        let app = with_middleware(
            Router::new().route("/", get(|| async { "hi" })),
            "test",
            &limits(),
        );
        let response = app
            .clone()
            .oneshot(
                Request::get("/")
                    .header(REQUEST_ID_HEADER, "abc-123")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.headers()[REQUEST_ID_HEADER], "abc-123");
        let response = app
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let generated = response.headers()[REQUEST_ID_HEADER].to_str().unwrap();
        assert_eq!(generated.len(), 36, "{generated}");
    }

    #[tokio::test]
    async fn metrics_carry_route_and_status() {
        crate::metrics::install();
        let app = with_middleware(
            Router::new()
                .route("/things/{id}", get(|| async { "thing" }))
                .fallback(|| async { StatusCode::BAD_REQUEST }),
            "metrics-test",
            &limits(),
        );
        for uri in ["/things/1", "/things/2", "/nowhere"] {
            let request = Request::get(uri.parse::<Uri>().unwrap())
                .body(Body::empty())
                .unwrap();
            app.clone().oneshot(request).await.unwrap();
        }
        let text = crate::metrics::render();
        assert!(
            text.contains(
                r#"http_requests_total{service="metrics-test",method="GET",route="/things/{id}",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"http_requests_total{service="metrics-test",method="GET",route="unmatched",status="400"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("http_request_duration_seconds_bucket{service=\"metrics-test\""),
            "{text}"
        );
    }
}
