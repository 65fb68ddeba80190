//! The tower layer in front of every gRPC service: a server-wide concurrency limit and the
//! `grpc_server_*` metrics.
//!
//! - **Limit**: at most N calls in flight across all connections (tonic's own limit is per
//!   connection), and fewer while the calls get slow: the limit adapts to the latency of unary
//!   calls ([`platform::adaptive`]), so a served call never waits behind hundreds of others. A
//!   call holds its slot until its response ends, so a long `ListEvents` stream counts for its
//!   whole life (without teaching the limit anything). Over the limit a call is refused at once
//!   with `RESOURCE_EXHAUSTED` (never queued). Health checks are exempt, so probes still
//!   answer under load.
//! - **Metrics**: each call is recorded once with its final code: from the response headers
//!   for errors (trailers-only responses), else from the trailers when the body ends; a
//!   response dropped before its trailers (client gone, request timeout) counts as `Canceled`.
//! - **Size limit code**: a request over the message size limit is answered
//!   `RESOURCE_EXHAUSTED`, as the gRPC spec and grpc-go do (tonic itself says `OUT_OF_RANGE`).

use std::{
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use futures::future::BoxFuture;
use http_body_util::BodyExt as _;
use platform::adaptive::{AdaptiveLimit, LimitSettings, Permit};
use tonic::{body::Body, Code, Status};

/// The health service's name: exempt from the limit.
const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

/// The services and methods this server has; anything else is labelled `unknown`, so a
/// client cannot grow the metrics without bound.
const KNOWN: &[(&str, &[&str])] = &[
    (
        "activityevents.ActivityEvents",
        &["CreateEvent", "ListEvents"],
    ),
    (HEALTH_SERVICE, &["Check", "Watch"]),
    (
        "grpc.reflection.v1.ServerReflection",
        &["ServerReflectionInfo"],
    ),
];

/// `(service, method)` metric labels for a request path `/package.Service/Method`.
pub fn labels(path: &str) -> (&'static str, &'static str) {
    let Some((service, method)) = path.strip_prefix('/').and_then(|rest| rest.split_once('/'))
    else {
        return ("unknown", "unknown");
    };
    match KNOWN.iter().find(|(known, _)| *known == service) {
        Some((known_service, methods)) => {
            let method = methods
                .iter()
                .find(|known| **known == method)
                .copied()
                .unwrap_or("unknown");
            (known_service, method)
        }
        None => ("unknown", "unknown"),
    }
}

/// The unary methods: their latency is what the adaptive limit learns from.
const UNARY: &[&str] = &["CreateEvent"];

/// Adds the limit and the metrics to a tonic server (`Server::builder().layer(..)`).
#[derive(Debug, Clone)]
pub struct GrpcLayer {
    permits: Arc<AdaptiveLimit>,
}

impl GrpcLayer {
    /// At most `limit` calls in flight (health checks not counted), fewer while calls are slow.
    pub fn new(limit: usize) -> Self {
        Self::with_settings(LimitSettings::new(limit))
    }

    /// A limit that adapts as `settings` say (`settings.min == settings.max`: a fixed limit).
    pub fn with_settings(settings: LimitSettings) -> Self {
        Self {
            permits: Arc::new(AdaptiveLimit::new(settings)),
        }
    }
}

impl<S> tower::Layer<S> for GrpcLayer {
    type Service = Grpc<S>;

    fn layer(&self, inner: S) -> Grpc<S> {
        Grpc {
            inner,
            permits: self.permits.clone(),
        }
    }
}

/// The service [`GrpcLayer`] makes.
#[derive(Debug, Clone)]
pub struct Grpc<S> {
    inner: S,
    permits: Arc<AdaptiveLimit>,
}

/// One call being measured; records itself exactly once.
struct Call {
    service: &'static str,
    method: &'static str,
    started: Instant,
    permit: Option<Permit>,
    finished: bool,
}

impl Call {
    fn finish(&mut self, code: Code) {
        if self.finished {
            return;
        }
        self.finished = true;
        if let Some(permit) = self.permit.take() {
            if UNARY.contains(&self.method) {
                permit.complete(self.method, code == Code::Ok);
            } else {
                permit.release();
            }
        }
        crate::metrics::grpc_handled(self.service, self.method, code, self.started.elapsed());
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.finish(Code::Cancelled);
    }
}

impl<S, ReqBody> tower::Service<http::Request<ReqBody>> for Grpc<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let (service, method) = labels(request.uri().path());
        let mut call = Call {
            service,
            method,
            started: Instant::now(),
            permit: None,
            finished: false,
        };
        if service != HEALTH_SERVICE {
            match self.permits.try_acquire() {
                Some(permit) => call.permit = Some(permit),
                None => {
                    let status = Status::resource_exhausted(format!(
                        "the server is handling its limit of {} calls; retry with backoff",
                        self.permits.limit()
                    ));
                    call.finish(status.code());
                    return Box::pin(async move { Ok(status.into_http()) });
                }
            }
        }
        // The clone that was driven to readiness serves this call (tower's usual dance).
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        Box::pin(async move {
            let response = match inner.call(request).await {
                Ok(response) => response,
                Err(error) => {
                    call.finish(Code::Internal);
                    return Err(error);
                }
            };
            // Errors are trailers-only: the status is in the headers.
            let mut response = response;
            if let Some(status) = Status::from_header_map(response.headers()) {
                let code = if is_oversized_request(&status) {
                    // The gRPC spec (and grpc-go, which the original ran on) answer a request
                    // over the size limit with RESOURCE_EXHAUSTED; tonic says OUT_OF_RANGE.
                    response.headers_mut().insert(
                        "grpc-status",
                        http::HeaderValue::from(Code::ResourceExhausted as i32),
                    );
                    Code::ResourceExhausted
                } else {
                    status.code()
                };
                call.finish(code);
                return Ok(response);
            }
            Ok(response.map(move |body| {
                Body::new(body.map_frame(move |frame| {
                    if let Some(trailers) = frame.trailers_ref() {
                        let code = Status::from_header_map(trailers)
                            .map_or(Code::Unknown, |status| status.code());
                        call.finish(code);
                    }
                    frame
                }))
            }))
        })
    }
}

/// tonic's answer to a request message over `max_decoding_message_size`.
fn is_oversized_request(status: &Status) -> bool {
    status.code() == Code::OutOfRange
        && status
            .message()
            .starts_with("Error, decoded message length too large")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded_to_known_methods() {
        assert_eq!(
            labels("/activityevents.ActivityEvents/CreateEvent"),
            ("activityevents.ActivityEvents", "CreateEvent")
        );
        assert_eq!(
            labels("/grpc.health.v1.Health/Check"),
            ("grpc.health.v1.Health", "Check")
        );
        assert_eq!(
            labels("/activityevents.ActivityEvents/DropTables"),
            ("activityevents.ActivityEvents", "unknown")
        );
        assert_eq!(labels("/random.Service/Method"), ("unknown", "unknown"));
        assert_eq!(labels("/"), ("unknown", "unknown"));
    }

    #[test]
    fn only_tonics_size_error_is_recoded() {
        assert!(is_oversized_request(&Status::out_of_range(
            "Error, decoded message length too large: found 71700 bytes, the limit is: 65536 bytes"
        )));
        assert!(!is_oversized_request(&Status::out_of_range("page 9 of 3")));
        assert!(!is_oversized_request(&Status::resource_exhausted(
            "Error, decoded message length too large"
        )));
    }
}
