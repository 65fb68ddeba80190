//! [`Upstream`]: the users service's HTTP calls to the movies, showtimes and bookings services,
//! each bounded by the suggestion request's deadline and retried a bounded number of times.
//!
//! - A refused or reset connection, a 5xx or a 429 is retried after a pause (doubled each time)
//!   while attempts and time remain; anything else is final.
//! - Past the deadline the call is abandoned at once ([`UpstreamError::Timeout`] → 504); every
//!   other failure is [`UpstreamError::BadGateway`] → 502. A call never outlives the deadline.
//! - Each outcome is counted in `cinema_upstream_requests_total{service,outcome}`.

use std::time::Duration;

use axum::http::StatusCode;
use platform::http::ApiError;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::limit::ComputeLimit;
use crate::{envelope::Data, settings::SuggestionSettings, Service};

/// Calls to the other services, counted by `service` and `outcome` (`ok`, `retried`,
/// `bad_gateway`, `timeout`).
pub const UPSTREAM_REQUESTS: &str = "cinema_upstream_requests_total";

/// Why a call to another service failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// Unreachable, a 5xx after the last retry, or an answer that is not what it should be.
    #[error("the {service} service failed: {reason}")]
    BadGateway {
        /// Which service.
        service: Service,
        /// What went wrong, for the client and the log.
        reason: String,
    },
    /// No answer within the request's budget.
    #[error("the {service} service did not answer within {budget:?}")]
    Timeout {
        /// Which service.
        service: Service,
        /// The whole budget of the suggestions request.
        budget: Duration,
    },
}

impl From<UpstreamError> for ApiError {
    fn from(error: UpstreamError) -> Self {
        let (status, code) = match error {
            UpstreamError::BadGateway { .. } => (StatusCode::BAD_GATEWAY, "bad_gateway"),
            UpstreamError::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "gateway_timeout"),
        };
        tracing::warn!(%error, "a suggestions dependency failed");
        ApiError::new(status, code, error.to_string())
    }
}

/// The client and settings for the calls, and the process's bound on suggestion computations.
#[derive(Debug)]
pub struct Upstream {
    client: reqwest::Client,
    settings: SuggestionSettings,
    computations: ComputeLimit,
}

/// What one attempt came to.
enum Attempt<T> {
    Done(Result<T, UpstreamError>),
    Retry(String),
}

impl Upstream {
    /// A client for these settings (connections pooled and reused across requests).
    pub fn new(settings: SuggestionSettings) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        let computations =
            ComputeLimit::new(settings.concurrent, settings.queue, settings.queue_wait);
        Self {
            client,
            settings,
            computations,
        }
    }

    /// The bound on suggestion computations in this process (`suggestions.concurrent`,
    /// `queue`, `queue_wait`).
    pub fn computations(&self) -> &ComputeLimit {
        &self.computations
    }

    /// How many calls one computation makes at once (`suggestions.upstream_calls`).
    pub fn calls_at_once(&self) -> usize {
        self.settings.upstream_calls
    }

    /// The budget of one suggestions request.
    pub fn budget(&self) -> Duration {
        self.settings.timeout
    }

    /// Where `service` is; the users service does not call itself.
    fn base_url(&self, service: Service) -> Option<&str> {
        match service {
            Service::Movies => Some(&self.settings.movies_url),
            Service::Showtimes => Some(&self.settings.showtimes_url),
            Service::Bookings => Some(&self.settings.bookings_url),
            Service::Users => None,
        }
    }

    /// `GET <service>/<collection>` (e.g. `/movies`), the `data` list decoded as `T`s (`null`
    /// is empty), by `deadline`.
    pub async fn list<T: DeserializeOwned>(
        &self,
        service: Service,
        deadline: Instant,
    ) -> Result<Vec<T>, UpstreamError> {
        let Some(base_url) = self.base_url(service) else {
            return Err(UpstreamError::BadGateway {
                service,
                reason: "the users service does not call itself".to_owned(),
            });
        };
        let url = format!("{}/{}", base_url.trim_end_matches('/'), service.name());
        let mut pause = self.settings.retry_backoff;
        let mut last_failure = String::new();
        for attempt in 1..=self.settings.attempts {
            let call = self.attempt::<T>(service, &url);
            let outcome = match tokio::time::timeout_at(deadline, call).await {
                Ok(outcome) => outcome,
                Err(_) => return Err(self.timed_out(service)),
            };
            match outcome {
                Attempt::Done(result) => {
                    count(service, if result.is_ok() { "ok" } else { "bad_gateway" });
                    return result;
                }
                Attempt::Retry(reason) => last_failure = reason,
            }
            if attempt == self.settings.attempts || Instant::now() + pause >= deadline {
                break;
            }
            count(service, "retried");
            tracing::debug!(%service, attempt, reason = %last_failure, "retrying");
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2);
        }
        count(service, "bad_gateway");
        Err(UpstreamError::BadGateway {
            service,
            reason: last_failure,
        })
    }

    fn timed_out(&self, service: Service) -> UpstreamError {
        count(service, "timeout");
        UpstreamError::Timeout {
            service,
            budget: self.settings.timeout,
        }
    }

    /// One `GET`: the decoded list, a final failure, or a reason to retry.
    async fn attempt<T: DeserializeOwned>(&self, service: Service, url: &str) -> Attempt<Vec<T>> {
        let bad =
            |reason: String| Attempt::Done(Err(UpstreamError::BadGateway { service, reason }));
        let answer = match self.client.get(url).send().await {
            Ok(answer) => answer,
            Err(error) if error.is_connect() => {
                return Attempt::Retry("cannot connect (connection refused or unreachable)".into())
            }
            Err(error) => return Attempt::Retry(format!("the request failed: {}", kind(&error))),
        };
        let status = answer.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Attempt::Retry(format!("it answered {status}"));
        }
        if !status.is_success() {
            return bad(format!("it answered {status}"));
        }
        let body = match answer.bytes().await {
            Ok(body) => body,
            Err(error) => {
                return Attempt::Retry(format!("reading its answer failed: {}", kind(&error)))
            }
        };
        // Every list route answers `{"data":[...]}`, or `{"data":null}` when empty.
        match serde_json::from_slice::<Data<Option<Vec<T>>>>(&body) {
            Ok(list) => Attempt::Done(Ok(list.data.unwrap_or_default())),
            Err(error) => bad(format!(
                "its answer is not a list of {}: {error}",
                service.name()
            )),
        }
    }
}

/// A reqwest error without its URL (the client needs no internal addresses).
fn kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_body() || error.is_decode() {
        "the body broke off"
    } else if error.is_request() {
        "the connection broke"
    } else {
        "transport error"
    }
}

fn count(service: Service, outcome: &'static str) {
    metrics::counter!(UPSTREAM_REQUESTS, "service" => service.name(), "outcome" => outcome)
        .increment(1);
}
