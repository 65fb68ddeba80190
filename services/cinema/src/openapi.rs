//! The OpenAPI documents of the four services, generated from the code with [`utoipa`]: served
//! at `/openapi.json` ([`platform::openapi::DOCUMENT_PATH`]) and committed under
//! `docs/openapi/<service>.json`.
//!
//! Each service describes its own routes next to its router (`<service>::routes::document`)
//! with a [`Document`]. The operations of the shared handlers ([`crate::crud`]) come from one
//! generic [`Crud`], built from a [`Resource`]'s schemas (its `Json` and `Input` types derive
//! [`ToSchema`]). [`Document::finish`] adds the routes every service has (health, metrics, this
//! document) and then what the platform's layers answer ([`platform::openapi::complete`]: 5xx,
//! 429, 413, the `Idempotency-Key`, the bearer token on writes), so a service documents only
//! its own answers.

use platform::{
    auth::Guard,
    openapi::{complete, error_response, operational, KeyedWrites, Platform, DOCUMENT_PATH},
};
use utoipa::{
    openapi::{
        path::{HttpMethod, Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn},
        request_body::RequestBodyBuilder,
        schema::{
            AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType,
            Type,
        },
        Components, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr,
        Required, Response, ResponseBuilder,
    },
    ToSchema,
};

use crate::{crud::Resource, Service};

/// A well-formed ObjectId, to fill the path parameters when probing a service's routes.
pub const SAMPLE_ID: &str = "57b37b7c377dd100054f9f91";

/// What a path id must be: 24 hexadecimal digits, either case ([`crate::object_id::parse`]).
pub const OBJECT_ID_PATTERN: &str = "^[0-9a-fA-F]{24}$";

const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";

/// A service's own description, under construction: its paths and the schemas they refer to.
#[derive(Default)]
pub struct Document {
    paths: Paths,
    components: Components,
}

impl Document {
    /// Nothing described yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `T`'s schema (and those it refers to) to the components and returns a reference to
    /// it. `closed`: `T` never has other members (`additionalProperties: false`).
    pub fn schema<T: ToSchema>(&mut self, closed: bool) -> Ref {
        let mut dependencies = Vec::new();
        T::schemas(&mut dependencies);
        for (name, schema) in dependencies {
            self.components.schemas.insert(name, schema);
        }
        let mut schema = T::schema();
        if closed {
            if let RefOr::T(Schema::Object(object)) = &mut schema {
                object.additional_properties =
                    Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
        let name = T::name().into_owned();
        self.components.schemas.insert(name.clone(), schema);
        Ref::from_schema_name(name)
    }

    /// Adds `operation` as `method path`, with an operation id made of both
    /// (`get_movies_id`; a trailing slash is `_slash`).
    pub fn add(&mut self, path: &str, method: HttpMethod, mut operation: Operation) {
        operation.operation_id = Some(operation_id(&method, path));
        self.paths.add_path_operation(path, vec![method], operation);
    }

    /// Adds `operation` as `GET path` and as `HEAD path` (axum answers a `HEAD` with the `GET`
    /// handler and drops the body; [`complete`] strips the `HEAD` answers' bodies).
    pub fn add_get(&mut self, path: &str, operation: Operation) {
        self.add(path, HttpMethod::Head, operation.clone());
        self.add(path, HttpMethod::Get, operation);
    }

    /// The finished document of `service`: its routes, the routes every cinema service has
    /// (health, metrics, this document), and what the platform's layers answer.
    pub fn finish(mut self, service: Service) -> OpenApi {
        self.add_common_routes();
        let doc = OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title(service.name())
                    .version(env!("CARGO_PKG_VERSION"))
                    .description(Some(format!(
                        "The cinema `{service}` service. Writes need a bearer token when the \
                         deployment configures a secret; reads are open. A format suffix on \
                         the last path segment (`/{service}.json`, `/{service}/<id>.json`) is \
                         ignored for routing."
                    ))),
            )
            .paths(self.paths)
            .components(Some(self.components))
            .build();
        complete(
            doc,
            &Platform {
                guard: &Guard::Writes,
                idempotency: KeyedWrites::Leased,
            },
        )
    }

    /// `/healthz`, `/healthy`, `/livez`, `/readyz`, `/metrics` ([`crate::health`]) and this
    /// document.
    fn add_common_routes(&mut self) {
        let not_ready = |description: &str| error_response(description, false);
        self.add_get(
            "/healthz",
            OperationBuilder::new()
                .summary(Some("Liveness: `ok` whenever the process answers"))
                .response("200", text_answer("The process answers.", TEXT, Some("ok")))
                .build(),
        );
        self.add_get(
            "/healthy",
            OperationBuilder::new()
                .summary(Some("Readiness, as the original service answered it"))
                .response("200", text_answer("Ready.", TEXT, Some("ok")))
                .response(
                    "503",
                    not_ready(
                        "Not ready (`not_ready`): MongoDB does not answer a ping, the indexes \
                         are not created yet, or the process is shutting down.",
                    ),
                )
                .build(),
        );
        for path in ["/livez", "/readyz", "/metrics", DOCUMENT_PATH] {
            if let Some(item) = operational(path) {
                self.paths.paths.insert(path.to_owned(), item);
            }
        }
    }
}

/// `get_movies_id` for `GET /movies/{id}`, `post_movies_slash` for `POST /movies/`.
fn operation_id(method: &HttpMethod, path: &str) -> String {
    let method = match method {
        HttpMethod::Get => "get",
        HttpMethod::Put => "put",
        HttpMethod::Post => "post",
        HttpMethod::Delete => "delete",
        HttpMethod::Options => "options",
        HttpMethod::Head => "head",
        HttpMethod::Patch => "patch",
        HttpMethod::Trace => "trace",
    };
    let mut id = method.to_owned();
    for segment in path.split('/').skip(1) {
        id.push('_');
        if segment.is_empty() {
            id.push_str("slash");
        } else {
            id.extend(segment.chars().filter_map(|c| match c {
                '{' | '}' => None,
                '.' | '-' => Some('_'),
                c => Some(c),
            }));
        }
    }
    id
}

/// A `text/plain` answer, `exactly` that text when given.
fn text_answer(description: &str, content_type: &str, exactly: Option<&str>) -> Response {
    let mut schema = ObjectBuilder::new().schema_type(Type::String);
    if let Some(text) = exactly {
        schema = schema.enum_values(Some([text]));
    }
    ResponseBuilder::new()
        .description(description)
        .content(
            content_type,
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .build()
}

/// A JSON answer whose body is `schema`.
pub fn json_answer(description: &str, schema: impl Into<RefOr<Schema>>) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(JSON, ContentBuilder::new().schema(Some(schema)).build())
        .build()
}

/// The envelope of an answer: `{"data": <data>}` and nothing else ([`crate::envelope`]).
pub fn envelope(data: impl Into<RefOr<Schema>>) -> Schema {
    ObjectBuilder::new()
        .property("data", data)
        .required("data")
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
        .into()
}

/// A required path parameter `name`.
pub fn path_parameter(name: &str, description: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// A path id: 24 hexadecimal digits.
pub fn object_id(name: &str, noun: &str) -> Parameter {
    path_parameter(
        name,
        &format!("The {noun}'s id: 24 hexadecimal digits (either case)."),
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(OBJECT_ID_PATTERN)),
    )
}

/// The 400 of a path id that is not an ObjectId.
pub fn invalid_id() -> RefOr<Response> {
    error_response(
        "The id is not 24 hexadecimal digits (`invalid_id`), or the path segment is not UTF-8 \
         once percent-decoded (`invalid_path`).",
        false,
    )
}

/// The operations of the handlers in [`crate::crud`] for one [`Resource`], described with its
/// schemas: `D::Json` (what the answers hold, exactly its members) and `D::Input` (what a
/// `POST` body's `data` may hold).
pub struct Crud {
    noun: &'static str,
    item: Ref,
    input: Ref,
}

impl Crud {
    /// `D`'s operations; its schemas are added to `doc`.
    pub fn of<D: Resource>(doc: &mut Document) -> Self {
        Self {
            noun: D::NOUN,
            item: doc.schema::<D::Json<'static>>(true),
            input: doc.schema::<D::Input>(false),
        }
    }

    /// A 200 `{"data": <document>}`.
    pub fn one(&self, description: &str) -> Response {
        json_answer(description, envelope(self.item.clone()))
    }

    /// `GET /<collection>` ([`crate::crud::list`]).
    pub fn list(&self) -> Operation {
        let documents = ArrayBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
            .items(self.item.clone())
            .min_items(Some(1))
            .description(Some(
                "Every document in insertion order; `null` (never `[]`) when there are none.",
            ));
        OperationBuilder::new()
            .summary(Some(format!("Every {}", self.noun)))
            .response(
                "200",
                json_answer(
                    &format!("Every {}, or `null` when there is none.", self.noun),
                    envelope(documents),
                ),
            )
            .build()
    }

    /// `POST /<collection>` ([`crate::crud::create`]).
    pub fn create(&self) -> Operation {
        let data = OneOfBuilder::new()
            .item(self.input.clone())
            .item(ObjectBuilder::new().schema_type(Type::Null));
        let body = ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
            .property("data", data)
            .description(Some(
                "`{\"data\": {...}}`. A missing or `null` `data`, or a `null` body, is the \
                 all-empty document; other members, at the top and in `data`, are ignored.",
            ));
        OperationBuilder::new()
            .summary(Some(format!("Creates a {}", self.noun)))
            .description(Some(format!(
                "Stores a new {noun} under a new id and time and answers it as stored. Every \
                 field is optional (an absent one is stored empty). With an `Idempotency-Key` \
                 the id follows from the key, so a retry never stores a second {noun}. Any \
                 `Content-Type` is accepted.",
                noun = self.noun
            )))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(JSON, ContentBuilder::new().schema(Some(body)).build())
                    .build(),
            ))
            .response("200", self.one(&format!("The {} as stored.", self.noun)))
            .response(
                "400",
                error_response(
                    "The body is not JSON, not an object (or `null`), has a member of the \
                     wrong type or a malformed `id` or `createdon` (`invalid_json`); or the \
                     `Idempotency-Key` is malformed.",
                    false,
                ),
            )
            .response(
                "409",
                error_response(
                    &format!(
                        "Another request with this `Idempotency-Key` is still running (retry \
                         after `Retry-After` seconds), or the {} created with this key was \
                         deleted since (`idempotency_key_conflict`: use a new key).",
                        self.noun
                    ),
                    true,
                ),
            )
            .build()
    }

    /// `GET /<collection>/{param}` ([`crate::crud::get`]).
    pub fn get(&self, param: &str) -> Operation {
        OperationBuilder::new()
            .summary(Some(format!("One {}", self.noun)))
            .parameter(object_id(param, self.noun))
            .response("200", self.one(&format!("The {}.", self.noun)))
            .response("400", invalid_id())
            .response(
                "404",
                error_response(&format!("No {} has this id.", self.noun), false),
            )
            .build()
    }

    /// `DELETE /<collection>/{param}` ([`crate::crud::delete`]).
    pub fn delete(&self, param: &str) -> Operation {
        OperationBuilder::new()
            .summary(Some(format!("Deletes a {}", self.noun)))
            .parameter(object_id(param, self.noun))
            .response(
                "204",
                ResponseBuilder::new()
                    .description(format!("The {} is deleted; no body.", self.noun))
                    .build(),
            )
            .response("400", invalid_id())
            .response(
                "404",
                error_response(&format!("No {} has this id.", self.noun), false),
            )
            .build()
    }

    /// `GET` and `POST` on each of `paths` (a collection and its trailing-slash alias).
    pub fn add_collection(&self, doc: &mut Document, paths: &[&str]) {
        for path in paths {
            doc.add(path, HttpMethod::Get, self.list());
            doc.add(path, HttpMethod::Post, self.create());
        }
    }
}

/// The document of `service` (see the module docs).
pub fn document(service: Service) -> OpenApi {
    match service {
        Service::Movies => crate::movies::routes::document(),
        Service::Showtimes => crate::showtimes::routes::document(),
        Service::Bookings => crate::bookings::routes::document(),
        Service::Users => crate::users::routes::document(),
    }
}

#[cfg(test)]
mod tests {
    use std::{path::Path, sync::Arc};

    use axum::{
        body::Body,
        http::{header, Request, StatusCode},
        Router,
    };
    use http_body_util::BodyExt as _;
    use platform::{
        health::Readiness,
        http::Limits,
        openapi::{check_committed, check_routes},
    };
    use tower::ServiceExt as _;

    use super::*;
    use crate::{
        app::{build_routes, Repos},
        settings::SuggestionSettings,
        users::suggestions::upstream::Upstream,
    };

    /// `service`'s whole router over empty in-memory collections, auth off, and its paths.
    fn routes(service: Service) -> (Router, Vec<&'static str>) {
        build_routes(
            service,
            &Repos::in_memory(),
            Readiness::new(),
            &Limits::default(),
            None,
            Arc::new(Upstream::new(SuggestionSettings::default())),
        )
        .into_parts()
    }

    async fn routes_match_the_document(service: Service) {
        let (router, paths) = routes(service);
        let differences = check_routes(router, &paths, &document(service), SAMPLE_ID).await;
        assert_eq!(differences, Vec::<String>::new(), "{service}");
    }

    fn committed_copy_is_current(service: Service) {
        let copy = format!(
            "{}/../../docs/openapi/{service}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        if let Err(difference) = check_committed(&document(service), Path::new(&copy)) {
            panic!("{difference}");
        }
    }

    /// `GET /openapi.json` from `router`.
    async fn get_document(router: Router) -> axum::response::Response {
        router
            .oneshot(
                Request::get(DOCUMENT_PATH)
                    .body(Body::empty())
                    .expect("a valid request"),
            )
            .await
            .expect("the router answers")
    }

    async fn document_is_served(service: Service) {
        let (router, _) = routes(service);
        let response = get_document(router).await;
        assert_eq!(response.status(), StatusCode::OK, "{service}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/json",
            "{service}"
        );
        let body = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        let served: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        let expected = serde_json::to_value(document(service)).expect("a document serialises");
        assert_eq!(served, expected, "{service}");
        assert_eq!(served["info"]["title"], service.name());
    }

    #[tokio::test]
    async fn every_service_routes_what_its_document_says() {
        for service in Service::ALL {
            routes_match_the_document(service).await;
        }
    }

    #[test]
    fn every_committed_document_is_current() {
        for service in Service::ALL {
            committed_copy_is_current(service);
        }
    }

    #[tokio::test]
    async fn every_service_serves_its_document() {
        for service in Service::ALL {
            document_is_served(service).await;
        }
    }

    #[tokio::test]
    async fn the_document_needs_no_token() {
        let verifier = platform::auth::AuthSettings::with_secret(
            "a-secret-of-at-least-thirty-two-bytes!!".to_owned().into(),
        )
        .verifier(crate::app::audience(Service::Movies));
        let (router, _) = build_routes(
            Service::Movies,
            &Repos::in_memory(),
            Readiness::new(),
            &Limits::default(),
            verifier,
            Arc::new(Upstream::new(SuggestionSettings::default())),
        )
        .into_parts();
        let response = get_document(router).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[test]
    fn operation_ids_name_the_method_and_path() {
        assert_eq!(
            operation_id(&HttpMethod::Get, "/movies/{id}"),
            "get_movies_id"
        );
        assert_eq!(
            operation_id(&HttpMethod::Post, "/movies/"),
            "post_movies_slash"
        );
        assert_eq!(
            operation_id(&HttpMethod::Head, "/openapi.json"),
            "head_openapi_json"
        );
    }
}
