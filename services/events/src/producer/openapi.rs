//! event-producer's OpenAPI document, generated from the code with [`utoipa`] and served at
//! `GET /openapi.json` ([`platform::openapi::DOCUMENT_PATH`]); its committed copy is
//! `docs/openapi/event-producer.json`.
//!
//! It describes what the producer's own handlers answer ([`super::routes`]); what the platform's
//! layers answer on every route (500, 503, 429, 413, 401, the `Idempotency-Key` header and its
//! 422) is added by [`platform::openapi::complete`].
//!
//! The document is built with utoipa's builders rather than derives: the request body has no
//! Rust type (it is decoded straight into the description by a visitor that mimics Go's
//! `encoding/json`), and the error bodies are the platform's [`platform::http::ApiError`] with
//! the seed's members spliced in, whose `status` differs per answer.

use platform::openapi::{
    complete, error_response, operational, KeyedWrites, Platform, DOCUMENT_PATH, ERROR_SCHEMA,
};
use utoipa::openapi::{
    extensions::Extensions,
    header::HeaderBuilder,
    path::{HttpMethod, Operation, OperationBuilder, PathItem},
    request_body::RequestBodyBuilder,
    schema::{AdditionalProperties, AllOfBuilder, ObjectBuilder, Schema, SchemaType, Type},
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref,
    RefOr, Required, ResponseBuilder,
};

use super::{
    app::{GUARD, SERVICE},
    routes::{REDIS_CLIENT_ERROR, TITLE_TOO_LARGE, TITLE_UNMARSHAL},
};

/// The component name of the `POST /event` body.
pub const EVENT_MESSAGE_SCHEMA: &str = "EventMessage";

/// Matches every key the decoder takes for `description`: Go matches member names ignoring
/// case ([`platform::http::go_key_matches`]), and no non-ASCII character lowercases to a letter
/// of `description`.
const DESCRIPTION_KEY_PATTERN: &str = "^[dD][eE][sS][cC][rR][iI][pP][tT][iI][oO][nN]$";

/// The document of a producer whose descriptions may hold `max_description_bytes` bytes (the
/// committed copy is that of the default, [`super::settings::DEFAULT_MAX_DESCRIPTION_BYTES`]).
pub fn document(max_description_bytes: usize) -> OpenApi {
    let mut paths = PathsBuilder::new()
        .path(
            "/event",
            PathItem::new(HttpMethod::Post, post_event(max_description_bytes)),
        )
        .build();
    for path in ["/metrics", "/livez", "/readyz", DOCUMENT_PATH] {
        if let Some(item) = operational(path) {
            paths.paths.insert(path.to_owned(), item);
        }
    }
    let doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title(SERVICE)
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Notifications over Redis streams: `POST /event` appends one Notification \
                     Message to the stream. Error bodies are `{\"error\":{\"code\",\"message\"}}`; \
                     the producer's own answers add the seed's `status`, `title` and \
                     `description`. Unknown paths answer 404 `Endpoint Not Found`; other methods \
                     on `/event` answer 405 with `Allow: POST`.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(
            ComponentsBuilder::new()
                .schema(
                    EVENT_MESSAGE_SCHEMA,
                    event_message_schema(max_description_bytes),
                )
                .build(),
        ))
        .build();
    complete(
        doc,
        &Platform {
            guard: &GUARD,
            // `POST /event` takes an `Idempotency-Key` (see `routes::post_event`), checked and
            // the event appended in one Redis script.
            idempotency: KeyedWrites::Atomic,
        },
    )
}

/// `{"description": "<string>"}`, as leniently as the seed's Go decoder takes it.
fn event_message_schema(max_description_bytes: usize) -> Schema {
    let description = || {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .max_length(Some(max_description_bytes))
    };
    let pattern_properties = keywords(serde_json::json!({
        "patternProperties": { DESCRIPTION_KEY_PATTERN: {"type": ["string", "null"]} }
    }));
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
            .description(Some(format!(
                "An Event Message. Decoded like Go's `encoding/json`: `null`, `{{}}` and a null \
                 `description` mean an empty description; member names match `description` \
                 ignoring case (the exact name wins, else the last match); other members are \
                 ignored; only the first JSON value of the body counts. The description may \
                 hold at most {max_description_bytes} bytes of UTF-8 (`maxLength` counts \
                 characters, so a shorter string of multi-byte characters can still be over \
                 it: 413)."
            )))
            .property(
                "description",
                description()
                    .description(Some("What happened; stored as the event's description.")),
            )
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(true)))
            .extensions(Some(pattern_properties))
            .examples([serde_json::json!({"description": "a new movie is showing"})])
            .build(),
    )
}

/// `POST /event`.
fn post_event(max_description_bytes: usize) -> Operation {
    OperationBuilder::new()
        .operation_id(Some("post_event"))
        .summary(Some("Produce an event"))
        .description(Some(
            "Appends one Notification Message carrying the description to the stream (one \
             `XADD`). With an `Idempotency-Key`, the event id follows from the key and a retry \
             with the same key and body appends nothing and answers 200 again.",
        ))
        .request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .description(Some(
                    "An Event Message. The `Content-Type` is not checked; an empty body is a 400.",
                ))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(EVENT_MESSAGE_SCHEMA)))
                        .build(),
                )
                .build(),
        ))
        .response(
            "200",
            ResponseBuilder::new()
                .description(
                    "Appended (or, with a replayed `Idempotency-Key`, appended before); no body.",
                )
                .header(
                    platform::idempotency::REPLAYED.as_str(),
                    HeaderBuilder::new()
                        .schema(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .enum_values(Some(["true"])),
                        )
                        .description(Some(
                            "Present when the `Idempotency-Key` was used before for this request: \
                         nothing was appended.",
                        ))
                        .build(),
                )
                .build(),
        )
        .response(
            "400",
            seed_response(
                400,
                &[TITLE_UNMARSHAL],
                false,
                "The body is empty, not JSON, not an object or `null`, or its `description` is \
                 not a string or `null` (`bad_request`, with the seed's members; the \
                 `description` is the decoder's error in Go's words); or the \
                 `Idempotency-Key` is not 1 to 255 visible ASCII characters \
                 (`invalid_idempotency_key`, without them).",
            ),
        )
        .response(
            "413",
            seed_response(
                413,
                &[TITLE_TOO_LARGE],
                false,
                &format!(
                    "The description is longer than {max_description_bytes} bytes \
                     (`description_too_large`), or a streamed body is over the body limit \
                     (`payload_too_large`), both with the seed's members; or the \
                     `Content-Length` is over the body limit (`payload_too_large`, without \
                     them, with `Connection: close`)."
                ),
            ),
        )
        .response(
            "500",
            seed_response(
                500,
                &[REDIS_CLIENT_ERROR],
                false,
                "Redis refused the `XADD` (`internal`, with the seed's members), or a handler \
                 failed unexpectedly (`internal`, without them).",
            ),
        )
        .response(
            "503",
            seed_response(
                503,
                &[REDIS_CLIENT_ERROR],
                true,
                "Redis is unreachable or too slow (`service_unavailable`, with the seed's \
                 members), or the request did not complete within the request timeout \
                 (`service_unavailable`, without them): retry after `Retry-After` seconds.",
            ),
        )
        .build()
}

/// An error answer whose body may carry the seed's members (`status` = `status`, `title` one
/// of `titles`, `description`), and a `Retry-After` header when `retry_after`.
fn seed_response(
    status: u16,
    titles: &[&str],
    retry_after: bool,
    description: &str,
) -> RefOr<utoipa::openapi::Response> {
    let seed = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "status",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .enum_values(Some([status]))
                .description(Some("The HTTP status.")),
        )
        .property(
            "title",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(titles.iter().copied()))
                .description(Some("The seed's title.")),
        )
        .property(
            "description",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("The seed's description of the error.")),
        )
        .description(Some(
            "The seed's members: present together on the producer's own answers.",
        ))
        .extensions(Some(keywords(serde_json::json!({
            "dependentRequired": {
                "status": ["title", "description"],
                "title": ["status", "description"],
                "description": ["status", "title"],
            }
        }))));
    let schema = AllOfBuilder::new()
        .item(Ref::from_schema_name(ERROR_SCHEMA))
        .item(seed)
        .build();
    // The platform's error answer (its description and `Retry-After`), with the seed's
    // members added to its body.
    let mut response = error_response(description, retry_after);
    if let RefOr::T(response) = &mut response {
        response.content.insert(
            "application/json".to_owned(),
            ContentBuilder::new()
                .schema(Some(Schema::AllOf(schema)))
                .build(),
        );
    }
    response
}

/// JSON Schema keywords utoipa has no builder for (`patternProperties`, `dependentRequired`),
/// as extensions: those are written into the schema object as they are.
fn keywords(object: serde_json::Value) -> Extensions {
    let mut extensions = Extensions::default();
    if let serde_json::Value::Object(members) = object {
        extensions.extend(members);
    }
    extensions
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use axum::{body::Body, http::StatusCode};
    use http_body_util::BodyExt as _;
    use platform::{
        health::Readiness,
        openapi::{check_committed, check_routes},
    };
    use tower::ServiceExt as _;

    use super::*;
    use crate::producer::{app, writer::StreamWriter, Settings};

    /// The full router (middleware included) of a producer with the default settings, and its
    /// paths; Redis is never connected.
    fn routes() -> (axum::Router, Vec<&'static str>) {
        let settings = Settings::default();
        let writer = StreamWriter::new(&settings).unwrap();
        app::routes(&settings, writer, Readiness::new())
    }

    fn default_document() -> OpenApi {
        document(Settings::default().max_description_bytes)
    }

    #[tokio::test]
    async fn the_router_and_the_document_agree() {
        let (router, paths) = routes();
        assert_eq!(
            check_routes(router, &paths, &default_document(), "1").await,
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_committed_copy_is_up_to_date() {
        let copy = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/openapi/event-producer.json"
        ));
        check_committed(&default_document(), copy).unwrap();
    }

    #[tokio::test]
    async fn the_document_is_served_as_json() {
        let (router, _) = routes();
        let response = router
            .oneshot(
                axum::http::Request::get(DOCUMENT_PATH)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[axum::http::header::CONTENT_TYPE],
            "application/json"
        );
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let served: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(served, serde_json::to_value(default_document()).unwrap());
        assert_eq!(served["info"]["title"], "event-producer");
    }

    #[test]
    fn errors_of_event_carry_the_seed_members_and_409_is_not_documented() {
        let doc = serde_json::to_value(default_document()).unwrap();
        let responses = &doc["paths"]["/event"]["post"]["responses"];
        for status in ["400", "413", "500", "503"] {
            let seed = &responses[status]["content"]["application/json"]["schema"]["allOf"][1];
            assert_eq!(
                seed["properties"]["status"]["enum"][0],
                status.parse::<u16>().unwrap(),
                "{status}"
            );
        }
        assert!(responses.get("409").is_none(), "{responses}");
        assert!(responses.get("422").is_some(), "{responses}");
        assert!(responses.get("401").is_some(), "{responses}");
        let body = &doc["components"]["schemas"][EVENT_MESSAGE_SCHEMA];
        assert_eq!(
            body["properties"]["description"]["maxLength"],
            crate::producer::settings::DEFAULT_MAX_DESCRIPTION_BYTES
        );
    }
}
