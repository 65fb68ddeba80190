//! OpenAPI documents generated from the code with [`utoipa`]: what every service's document
//! shares, the route that serves it, and the checks that keep a document in step with its router
//! ([`check_routes`]) and with its committed copy under `docs/openapi/` ([`check_committed`]).
//!
//! A service describes its own routes with utoipa (paths, parameters, bodies, the answers its
//! handlers give) and passes the document through [`complete`], which adds what the platform's
//! layers answer on every route, so that no service repeats it:
//!
//! | where | added |
//! |---|---|
//! | every operation | 500 (a handler panicked) and 503 + `Retry-After` (the request timeout, an unreachable store), as the [`ERROR_SCHEMA`] |
//! | outside [`EXEMPT_ROUTES`] | 429 + `Retry-After` (load shed) |
//! | with a request body | 400 (malformed JSON) and 413 (over the body limit) |
//! | writes, when the service keeps [`crate::idempotency`] keys ([`KeyedWrites`]) | the `Idempotency-Key` header, 422 (key reused), 409 (key in use) unless the store applies keys atomically |
//! | what [`Guard`] protects | the [`BEARER_SCHEME`] security requirement and 401 |
//!
//! and the components they refer to. [`route`] serves the finished document at `/openapi.json`;
//! [`operational`] describes the health, metrics and document routes every service has;
//! [`Operations`] looks a request up in a document (the auth guard leaves a method a path does
//! not route to the router's 405).

mod committed;
mod operations;
mod routes;

use axum::{
    body::Bytes,
    http::{header, Method},
    response::IntoResponse,
    routing::{get, MethodRouter},
};
use utoipa::openapi::{
    header::Header,
    path::{
        HttpMethod, Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem,
    },
    schema::{AdditionalProperties, ObjectBuilder, Schema, Type},
    security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme},
    Components, ContentBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder, ResponsesBuilder,
};

pub use committed::{check_committed, WRITE_ENV};
pub use operations::Operations;
pub use routes::{check_routes, Routes, PROBED_METHODS};

use crate::{
    auth::Guard,
    http::{ApiError, EXEMPT_ROUTES},
};

/// The component name of the one JSON error body ([`crate::http::ApiError`]).
pub const ERROR_SCHEMA: &str = "Error";
/// The component name of the bearer-token security scheme.
pub const BEARER_SCHEME: &str = "bearer";
/// Where every service serves its document.
pub const DOCUMENT_PATH: &str = "/openapi.json";

/// What [`complete`] needs to know of a service beyond its own description.
pub struct Platform<'a> {
    /// Which requests need a token when a secret is configured (they get the security
    /// requirement and a 401).
    pub guard: &'a Guard,
    /// Whether and how the service's writes take an `Idempotency-Key`.
    pub idempotency: KeyedWrites,
}

/// How a service's writes take an `Idempotency-Key` ([`crate::idempotency`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyedWrites {
    /// They take none.
    No,
    /// Through the [`crate::idempotency::layer::idempotent`] layer: a key held by a request
    /// still running answers 409 to the next one.
    Leased,
    /// Checked and applied in one atomic step of the store (the producer's Redis script): no
    /// request waits for another with the same key, so there is no 409.
    Atomic,
}

/// Adds to `doc` what the platform's layers answer on every route (see the module docs), and
/// the components those answers refer to.
pub fn complete(mut doc: OpenApi, platform: &Platform<'_>) -> OpenApi {
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, slot) in operations_mut(item) {
            if let Some(mut operation) = slot.take() {
                add_platform_answers(path, &method, &mut operation, platform);
                if method == Method::HEAD {
                    operation = without_bodies(operation);
                }
                *slot = Some(operation);
            }
        }
    }
    let components = doc.components.get_or_insert_with(Components::new);
    components
        .schemas
        .insert(ERROR_SCHEMA.to_owned(), RefOr::T(error_schema()));
    components.add_security_scheme(
        BEARER_SCHEME,
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "An HS256 JWT for this service's audience (`mockvideo-token --audience \
                     <service>`, or the tokens `cargo xtask up` publishes); needed only when \
                     the deployment configures a secret.",
                ))
                .build(),
        ),
    );
    doc
}

/// The operations of `item` with their methods, `None` where the method has none.
fn operations_mut(item: &mut PathItem) -> [(Method, &mut Option<Operation>); 8] {
    [
        (Method::GET, &mut item.get),
        (Method::PUT, &mut item.put),
        (Method::POST, &mut item.post),
        (Method::DELETE, &mut item.delete),
        (Method::OPTIONS, &mut item.options),
        (Method::HEAD, &mut item.head),
        (Method::PATCH, &mut item.patch),
        (Method::TRACE, &mut item.trace),
    ]
}

fn add_platform_answers(
    path: &str,
    method: &Method,
    operation: &mut Operation,
    platform: &Platform<'_>,
) {
    let mut answer = |status: &str, description: &str, retry_after: bool| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(description, retry_after));
    };
    answer("500", "A handler failed unexpectedly.", false);
    answer(
        "503",
        "The request did not complete within the request timeout, or a store the route needs \
         is unreachable: retry after `Retry-After` seconds.",
        true,
    );
    if !EXEMPT_ROUTES.contains(&path) {
        answer(
            "429",
            "The service is at its concurrency limit and sheds load: retry after \
             `Retry-After` seconds.",
            true,
        );
    }
    let has_body = operation.request_body.is_some();
    if has_body {
        answer("400", "The body is not the JSON this route takes.", false);
        answer(
            "413",
            "The body is larger than the service's body limit.",
            false,
        );
    }
    let write = matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if write && platform.idempotency != KeyedWrites::No {
        answer(
            "400",
            "The body is not the JSON this route takes, or the `Idempotency-Key` is not a \
             visible-ASCII token of at most 255 bytes.",
            false,
        );
        if platform.idempotency == KeyedWrites::Leased {
            answer(
                "409",
                "Another request with this `Idempotency-Key` is still running: retry after \
                 `Retry-After` seconds.",
                true,
            );
        }
        answer(
            "422",
            "This `Idempotency-Key` was used for a different request.",
            false,
        );
        operation
            .parameters
            .get_or_insert_with(Vec::new)
            .push(idempotency_key());
    }
    if platform.guard.needs_token(method, path) {
        answer(
            "401",
            "A bearer token for this service is missing, invalid or expired (only when a \
             secret is configured).",
            false,
        );
        operation.security = Some(vec![SecurityRequirement::new(
            BEARER_SCHEME,
            Vec::<String>::new(),
        )]);
    }
}

/// The `Idempotency-Key` request header.
fn idempotency_key() -> Parameter {
    ParameterBuilder::new()
        .name(crate::idempotency::HEADER.as_str())
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes the write apply once: a retry with the same key and request gets the first \
             answer (with `Idempotent-Replayed: true`) instead of a second execution.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(crate::idempotency::MAX_KEY_BYTES))
                .pattern(Some("^[!#-~]+$")),
        ))
        .build()
}

/// An answer with the [`ERROR_SCHEMA`] body, and a `Retry-After` header when `retry_after`.
pub fn error_response(description: &str, retry_after: bool) -> RefOr<utoipa::openapi::Response> {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(ERROR_SCHEMA)))
            .build(),
    );
    if retry_after {
        response = response.header(
            header::RETRY_AFTER.as_str(),
            Header::new(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            ),
        );
    }
    RefOr::T(response.build())
}

/// `{"error":{"code","message"}}`; some services add top-level members their seed's clients
/// expect, so other members are allowed at the top.
fn error_schema() -> Schema {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let detail = ObjectBuilder::new()
        .property(
            "code",
            string().description(Some("A stable snake_case code.")),
        )
        .required("code")
        .property("message", string().description(Some("What went wrong.")))
        .required("message")
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
    Schema::Object(
        ObjectBuilder::new()
            .property("error", detail)
            .required("error")
            .description(Some("The JSON error body of every service."))
            .build(),
    )
}

/// `GET` serves `doc` as JSON (rendered once); other methods get 405.
pub fn route<S>(doc: &OpenApi) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    let json = Bytes::from(doc.to_pretty_json().unwrap_or_else(|error| {
        // A document is plain data: it always serialises.
        format!("{{\"error\":\"the document could not be rendered: {error}\"}}")
    }));
    get(move || {
        let json = json.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], json).into_response() }
    })
    .fallback(|| async { ApiError::method_not_allowed("GET") })
}

/// The operations of `/livez`, `/readyz`, `/metrics` and `/openapi.json` as every service
/// routes them (`GET`, and `HEAD`, which axum answers with the `GET` handler's head), for a
/// service's document to add under those paths. `None` for other paths.
pub fn operational(path: &str) -> Option<PathItem> {
    let (summary, content_type, example, not_ready) = match path {
        "/livez" => ("Liveness: the process answers.", "text/plain", "ok", false),
        "/readyz" => (
            "Readiness: the stores answer and the service is not shutting down.",
            "text/plain",
            "ready",
            true,
        ),
        "/metrics" => (
            "Prometheus metrics, text exposition format 0.0.4.",
            "text/plain",
            "",
            false,
        ),
        DOCUMENT_PATH => ("This OpenAPI document.", "application/json", "", false),
        _ => return None,
    };
    let mut string = ObjectBuilder::new().schema_type(Type::String);
    if !example.is_empty() {
        string = string.enum_values(Some([example]));
    }
    let content = if content_type == "application/json" {
        ContentBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::Object)))
            .build()
    } else {
        ContentBuilder::new().schema(Some(string)).build()
    };
    let mut builder = ResponsesBuilder::new().response(
        "200",
        ResponseBuilder::new()
            .description(summary)
            .content(content_type, content),
    );
    if not_ready {
        builder = builder.response(
            "503",
            error_response(
                "Not ready: a store does not answer, or the service is draining.",
                false,
            ),
        );
    }
    let responses = builder.build();
    let operation = |id: &str| {
        OperationBuilder::new()
            .summary(Some(summary))
            .operation_id(Some(id))
            .responses(responses.clone())
            .security(SecurityRequirement::default())
            .build()
    };
    let name = path.trim_start_matches('/').replace('.', "_");
    let mut item = PathItem::new(HttpMethod::Get, operation(&format!("get_{name}")));
    item.head = Some(without_bodies(operation(&format!("head_{name}"))));
    Some(item)
}

/// `operation` with its answers' bodies removed: a `HEAD` answer has the headers of its `GET`
/// and no body.
fn without_bodies(mut operation: Operation) -> Operation {
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            response.content.clear();
        }
    }
    operation
}
