//! Which requests need a token ([`Guard`]) and the middleware that asks for it
//! ([`protect`], [`require_token`]).

#[allow(clippy::wildcard_imports)]
use super::*;

/// Which requests need a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// The methods that write: `POST`, `PUT`, `PATCH` and `DELETE` (reads stay open).
    Writes,
    /// Every request but those to these exact paths (health, metrics, documents).
    AllBut(&'static [&'static str]),
}

impl Guard {
    /// Whether `method path` needs a token.
    pub fn needs_token(&self, method: &Method, path: &str) -> bool {
        match self {
            Guard::Writes => is_write(method),
            Guard::AllBut(open) => !open.contains(&path),
        }
    }
}

/// Whether `method` is one of the methods that write.
pub fn is_write(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// The middleware's state: a verifier, what it guards, and the service's documented
/// operations (a method a path does not route is left to the router's 405).
#[derive(Debug, Clone)]
pub struct Protection {
    /// Checks the tokens.
    pub verifier: Verifier,
    /// Which requests need one.
    pub guard: Guard,
    /// What the service routes, from its OpenAPI document.
    pub operations: std::sync::Arc<crate::openapi::Operations>,
}

/// `router` with [`require_token`] in front of it when `verifier` is set (auth on); unchanged
/// otherwise. `doc` is the service's OpenAPI document: a method it gives no operation on a
/// known path reaches the router's 405 without a token. Apply it inside the platform middleware,
/// so refusals are traced and counted.
pub fn protect<S>(
    router: Router<S>,
    verifier: Option<Verifier>,
    guard: Guard,
    doc: &utoipa::openapi::OpenApi,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    match verifier {
        Some(verifier) => router.layer(axum::middleware::from_fn_with_state(
            Protection {
                verifier,
                guard,
                operations: std::sync::Arc::new(crate::openapi::Operations::of(doc)),
            },
            require_token,
        )),
        None => router,
    }
}

/// The middleware: lets through what the guard leaves open, and the rest only with a valid
/// bearer token (its [`Claims`] are added to the request's extensions).
pub async fn require_token(
    State(protection): State<Protection>,
    mut request: Request,
    next: Next,
) -> Response {
    if !protection
        .guard
        .needs_token(request.method(), request.uri().path())
    {
        return next.run(request).await;
    }
    match protection.verifier.verify_headers(request.headers()) {
        Ok(claims) => {
            tracing::debug!(subject = %claims.sub, method = %request.method(), "token accepted");
            request.extensions_mut().insert(claims);
            next.run(request).await
        }
        // A method the path does not route is the router's 405, token or not (looked up only
        // here, off the path of accepted requests).
        Err(_)
            if protection
                .operations
                .is_unrouted_method(request.method(), request.uri().path()) =>
        {
            next.run(request).await
        }
        Err(error) => {
            tracing::info!(
                method = %request.method(),
                path = %request.uri().path(),
                reason = %error,
                "request refused: no valid bearer token"
            );
            crate::http::refuse_unread(request.into_body(), error.to_api_error().into_response())
                .await
        }
    }
}
