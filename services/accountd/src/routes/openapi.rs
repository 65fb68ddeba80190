//! `GET /openapi.json`: the OpenAPI document of every route, generated from the code: the
//! response types derive their schemas ([`User`], [`UsersBody`], [`BulkResponse`]), the request
//! bodies are described from the rules [`crate::domain::user`] enforces, and
//! [`platform::openapi::complete`] adds what the platform's layers answer on every route.
//!
//! Tests hold it to the router ([`platform::openapi::check_routes`]) and to its committed copy,
//! `docs/openapi/accountd.json` ([`platform::openapi::check_committed`]).

use platform::{
    auth::Guard,
    openapi::{complete, error_response, operational, KeyedWrites, Platform, DOCUMENT_PATH},
};
use utoipa::{
    openapi::{
        extensions::Extensions,
        header::Header,
        path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem},
        request_body::RequestBodyBuilder,
        schema::{
            AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType,
            Type,
        },
        ComponentsBuilder, ContentBuilder, InfoBuilder, KnownFormat, OpenApi, OpenApiBuilder,
        PathsBuilder, Ref, RefOr, Required, ResponseBuilder, ResponsesBuilder, SchemaFormat,
    },
    PartialSchema as _, ToSchema as _,
};

use super::{BulkResponse, BulkResult, UsersBody, OPEN_PATHS, SERVICE};
use crate::{
    app::MAX_BULK_USERS,
    domain::{messages, user::MAX_CHARS, User},
};

/// The user paths, each routed with and without a trailing slash.
const COLLECTIONS: [&str; 2] = ["/users", "/users/"];
/// The user item paths.
const ITEMS: [&str; 2] = ["/users/{id}", "/users/{id}/"];
/// The health route of the seed, answered on any method.
const HEALTH: &str = "/accountdhealth";

/// The document, as served.
pub fn document() -> OpenApi {
    let guard = Guard::AllBut(OPEN_PATHS);
    let users = complete(
        users_document(),
        &Platform {
            guard: &guard,
            idempotency: KeyedWrites::Leased,
        },
    );
    let mut rest = PathsBuilder::new().path(HEALTH, health());
    for path in ["/livez", "/readyz", "/metrics", DOCUMENT_PATH] {
        if let Some(item) = operational(path) {
            rest = rest.path(path, item);
        }
    }
    let mut doc = users;
    doc.merge(complete(
        OpenApiBuilder::new().paths(rest.build()).build(),
        &Platform {
            guard: &guard,
            idempotency: KeyedWrites::No,
        },
    ));
    doc
}

/// `/users*`: the routes behind the idempotency layer.
fn users_document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for path in COLLECTIONS {
        let suffix = if path.ends_with('/') { "_slash" } else { "" };
        let mut item = PathItem::new(HttpMethod::Get, list(suffix));
        item.post = Some(create(suffix));
        item.put = Some(update(Write::Update, suffix));
        item.delete = Some(malformed("delete_users", suffix, false));
        paths = paths.path(path, item);
    }
    for path in ITEMS {
        let suffix = if path.ends_with('/') { "_slash" } else { "" };
        let mut item = PathItem::new(HttpMethod::Get, get_one(suffix));
        item.put = Some(update(Write::UpdateAt, suffix));
        item.delete = Some(delete(suffix));
        item.post = Some(malformed("post_user", suffix, true));
        paths = paths.path(path, item);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title(SERVICE)
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(format!(
                    "MockVideo users over MySQL. Errors are JSON `{{\"error\":{{\"code\",\
                     \"message\"}}}}`; unknown paths answer 400 \"{}\". With a JWT secret \
                     configured, every route but health, metrics and this document needs a \
                     bearer token for the audience `accountd`.",
                    messages::MALFORMED_URL
                )))
                .build(),
        )
        .paths(paths.build())
        .components(Some(
            ComponentsBuilder::new()
                .schema(User::name(), User::schema())
                .schema(UsersBody::name(), UsersBody::schema())
                .schema(BulkResponse::name(), BulkResponse::schema())
                .schema(BulkResult::name(), BulkResult::schema())
                .schema(NEW_USER, user_input(Write::Create))
                .schema(UPDATED_USER, user_input(Write::Update))
                .schema(USER_AT, user_input(Write::UpdateAt))
                .schema(BULK_CREATE, bulk_body(NEW_USER))
                .schema(BULK_UPDATE, bulk_body(UPDATED_USER))
                .build(),
        ))
        .build()
}

/// The request-body schema names.
const NEW_USER: &str = "NewUser";
const UPDATED_USER: &str = "UpdatedUser";
const USER_AT: &str = "UserAt";
const BULK_CREATE: &str = "BulkCreate";
const BULK_UPDATE: &str = "BulkUpdate";

/// Which write a user body is for: the fields are the same, the id rules differ.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    /// `POST`: no id (or 0); the server picks it.
    Create,
    /// `PUT /users`: the body's id names the user.
    Update,
    /// `PUT /users/{id}`: the URL names the user; a body id, if any, must match it.
    UpdateAt,
}

/// A user as a write's body carries it: what [`crate::domain::user::UserInput::validate`]
/// accepts. Keys match case-insensitively (as Go's decoder did); unknown keys are refused.
fn user_input(write: Write) -> Schema {
    let text = |description: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_CHARS))
            .description(Some(description))
    };
    let id = match write {
        Write::Create => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .enum_values(Some([0]))
            .description(Some("Absent or 0: the server picks the id.")),
        Write::Update => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .description(Some("The user to replace.")),
        Write::UpdateAt => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .description(Some("Absent, 0, or the id in the URL.")),
    };
    let mut user = ObjectBuilder::new()
        .description(Some(
            "Keys match case-insensitively; unknown keys are refused (400). The password is \
             hashed (argon2id) and never returned.",
        ))
        .property(
            "accountid",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                .minimum(Some(i32::MIN))
                .maximum(Some(i32::MAX))
                // utoipa has no builder for `not`: the keyword goes in as written.
                .extensions(Some(not_zero()))
                .description(Some("The user's account: non-zero, 32-bit.")),
        )
        .required("accountid")
        .property(
            "href",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("Ignored.")),
        )
        .property("id", id)
        .property("name", text("Display name."))
        .required("name")
        .property(
            "email",
            text("E-mail address, unique across users.").pattern(Some("@")),
        )
        .required("email")
        .property(
            "role",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .enum_values(Some([0, 1, 2]))
                .description(Some("0 owner (the default), 1 admin, 2 restricted.")),
        )
        .property("password", text("The password.").write_only(Some(true)))
        .required("password")
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
    if write == Write::Update {
        user = user.required("id");
    }
    Schema::Object(user.build())
}

/// `"not": {"const": 0}`, as schema keywords.
fn not_zero() -> Extensions {
    let mut keywords = Extensions::default();
    keywords.insert("not".to_owned(), serde_json::json!({"const": 0}));
    keywords
}

/// `{"users":[...]}`: a bulk write's body, at most [`MAX_BULK_USERS`] users.
fn bulk_body(user: &str) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .property(
                "users",
                ArrayBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
                    .items(Ref::from_schema_name(user))
                    .max_items(Some(MAX_BULK_USERS)),
            )
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
            .description(Some(
                "Every user is stored, or none (a transaction); the key matches \
                 case-insensitively. An absent or `null` `users` is no user (as the original's \
                 decoder reads it).",
            ))
            .build(),
    )
}

/// The `{id}` path parameter.
fn id_parameter() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(
            "The user's id; anything but a 64-bit integer is a malformed URL (400).",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
        ))
        .build()
}

/// The `Bulk-Request` header.
fn bulk_parameter() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("Bulk-Request")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "A Go boolean: true makes the body `{\"users\":[...]}` and the answer a \
             BulkResponse; anything but these values is a 400.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([
                    "1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False",
                ])),
        ))
        .build()
}

fn json_body(schema: impl Into<RefOr<Schema>>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

/// A body that is one user, or with `Bulk-Request: true` many, or `null`.
fn write_body(
    single: &str,
    bulk: &str,
    description: &str,
) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .description(Some(description))
        .required(Some(Required::True))
        .content(
            "application/json",
            json_body(
                OneOfBuilder::new()
                    .item(Ref::from_schema_name(single))
                    .item(Ref::from_schema_name(bulk))
                    // The original's decoder reads `null` as the zero value: an empty user (a
                    // 400 for its missing fields), or with the bulk header no users.
                    .item(ObjectBuilder::new().schema_type(Type::Null)),
            ),
        )
        .build()
}

fn empty(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description)
}

/// A write's success: empty, as the original answers it, or with the bulk header a
/// BulkResponse. One OpenAPI response cannot tie its body to a request header, and listing
/// `application/json` would say every answer has a JSON body, so the bulk body is named in the
/// description (its schema is the `BulkResponse` component) and no content is declared.
fn written(description: &str) -> ResponseBuilder {
    empty(&format!(
        "{description} With `Bulk-Request: true`, an `application/json` BulkResponse \
         (`#/components/schemas/BulkResponse`) instead."
    ))
}

fn list(suffix: &str) -> utoipa::openapi::path::Operation {
    OperationBuilder::new()
        .operation_id(Some(format!("list_users{suffix}")))
        .summary(Some("Every user, ordered by id."))
        .responses(
            ResponsesBuilder::new()
                .response(
                    "200",
                    ResponseBuilder::new()
                        .description("All users (an empty list when there are none).")
                        .content(
                            "application/json",
                            json_body(Ref::from_schema_name(UsersBody::name())),
                        ),
                )
                .build(),
        )
        .build()
}

fn create(suffix: &str) -> utoipa::openapi::path::Operation {
    OperationBuilder::new()
        .operation_id(Some(format!("create_user{suffix}")))
        .summary(Some("Create a user (or many, with `Bulk-Request: true`)."))
        .parameter(bulk_parameter())
        .request_body(Some(write_body(
            NEW_USER,
            BULK_CREATE,
            "A user without an id; with the bulk header, `{\"users\":[...]}`.",
        )))
        .responses(
            ResponsesBuilder::new()
                .response(
                    "201",
                    written("Created: an empty body and `Location: /users/<id>`.").header(
                        "Location",
                        Header::new(ObjectBuilder::new().schema_type(Type::String)),
                    ),
                )
                .response(
                    "400",
                    error_response(
                        "Malformed JSON, an unknown key, an id given, an invalid user, or a bad \
                         `Bulk-Request` header.",
                        false,
                    ),
                )
                .response("409", conflict())
                .response("413", too_large())
                .build(),
        )
        .build()
}

/// A write's 409: a duplicate e-mail (an Error), or a bulk write of which some users failed (a
/// BulkResponse).
fn conflict() -> ResponseBuilder {
    ResponseBuilder::new()
        .description(format!(
            "\"{}\" (an Error), or with the bulk header: some users failed, none was stored \
             (a BulkResponse).",
            messages::DUPLICATE_USER
        ))
        .content("application/json", json_body(one_of_error_or_bulk()))
}

/// A write's 413.
fn too_large() -> RefOr<utoipa::openapi::Response> {
    error_response(
        &format!(
            "The body is over the limit, or a bulk request holds more than {MAX_BULK_USERS} users."
        ),
        false,
    )
}

/// An Error or a BulkResponse (a 409 may be either).
fn one_of_error_or_bulk() -> OneOfBuilder {
    OneOfBuilder::new()
        .item(Ref::from_schema_name(platform::openapi::ERROR_SCHEMA))
        .item(Ref::from_schema_name(BulkResponse::name()))
}

/// `PUT` of a collection ([`Write::Update`]) or an item ([`Write::UpdateAt`]).
fn update(write: Write, suffix: &str) -> utoipa::openapi::path::Operation {
    let at = write == Write::UpdateAt;
    let (id, single, summary) = if at {
        (
            "replace_user",
            USER_AT,
            "Replace user {id} (or many, with `Bulk-Request: true`: the URL's id is then ignored).",
        )
    } else {
        (
            "update_user",
            UPDATED_USER,
            "Replace the user the body's id names (or many, with `Bulk-Request: true`).",
        )
    };
    let mut operation = OperationBuilder::new()
        .operation_id(Some(format!("{id}{suffix}")))
        .summary(Some(summary));
    if at {
        operation = operation.parameter(id_parameter());
    }
    operation
        .parameter(bulk_parameter())
        .request_body(Some(write_body(
            single,
            BULK_UPDATE,
            "A complete user; with the bulk header, `{\"users\":[...]}`.",
        )))
        .responses(
            ResponsesBuilder::new()
                .response("200", written("Updated: an empty body."))
                .response(
                    "400",
                    error_response(
                        "A malformed URL or JSON, an unknown key, a missing or mismatched id, an \
                         invalid user, or a bad `Bulk-Request` header.",
                        false,
                    ),
                )
                .response("404", error_response(messages::NON_EXISTENT_USER, false))
                .response("409", conflict())
                .response("413", too_large())
                .build(),
        )
        .build()
}

fn get_one(suffix: &str) -> utoipa::openapi::path::Operation {
    OperationBuilder::new()
        .operation_id(Some(format!("get_user{suffix}")))
        .summary(Some("One user."))
        .parameter(id_parameter())
        .responses(
            ResponsesBuilder::new()
                .response(
                    "200",
                    ResponseBuilder::new().description("The user.").content(
                        "application/json",
                        json_body(Ref::from_schema_name(User::name())),
                    ),
                )
                .response("400", error_response(messages::MALFORMED_URL, false))
                .response("404", error_response("No such user.", false))
                .build(),
        )
        .build()
}

fn delete(suffix: &str) -> utoipa::openapi::path::Operation {
    OperationBuilder::new()
        .operation_id(Some(format!("delete_user{suffix}")))
        .summary(Some("Delete user {id}."))
        .parameter(id_parameter())
        .responses(
            ResponsesBuilder::new()
                .response(
                    "200",
                    empty("Deleted, or there was no such user: an empty body."),
                )
                .response("400", error_response(messages::MALFORMED_URL, false))
                .build(),
        )
        .build()
}

/// `DELETE /users`, `POST /users/{id}`: routed, and refused as the seed refused them; `on_item`
/// for the one with the `{id}` parameter.
fn malformed(id: &str, suffix: &str, on_item: bool) -> utoipa::openapi::path::Operation {
    let mut operation = OperationBuilder::new()
        .operation_id(Some(format!("{id}{suffix}")))
        .summary(Some(
            "Not an operation: answered 400, as the original answered it.",
        ));
    if on_item {
        operation = operation.parameter(id_parameter());
    }
    operation
        .responses(
            ResponsesBuilder::new()
                .response("400", error_response(messages::MALFORMED_URL, false))
                .build(),
        )
        .build()
}

/// `/accountdhealth`: 200 `I'm Healthy!` on any method.
fn health() -> PathItem {
    let operation = |method: &str| {
        OperationBuilder::new()
            .operation_id(Some(format!("{method}_accountdhealth")))
            .summary(Some("The original's health check, on any method."))
            .security(utoipa::openapi::security::SecurityRequirement::default())
            .responses(
                ResponsesBuilder::new()
                    .response(
                        "200",
                        ResponseBuilder::new().description("Healthy.").content(
                            "text/plain",
                            ContentBuilder::new()
                                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                                .example(Some(messages::HEALTHY.into()))
                                .build(),
                        ),
                    )
                    .build(),
            )
            .build()
    };
    let mut item = PathItem::new(HttpMethod::Get, operation("get"));
    item.put = Some(operation("put"));
    item.post = Some(operation("post"));
    item.delete = Some(operation("delete"));
    item.options = Some(operation("options"));
    item.head = Some(operation("head"));
    item.patch = Some(operation("patch"));
    item.trace = Some(operation("trace"));
    item
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use axum::{body::Body, http::Request};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;
    use crate::app::AppState;

    #[tokio::test]
    async fn the_document_describes_exactly_the_routes() {
        let (router, paths) = super::super::routes(AppState::in_memory(), &document()).into_parts();
        let router = router.fallback(super::super::fallback);
        let differences = platform::openapi::check_routes(router, &paths, &document(), "1").await;
        assert!(differences.is_empty(), "{differences:#?}");
    }

    #[test]
    fn the_committed_copy_is_current() {
        let copy = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/openapi/accountd.json"
        ));
        if let Err(error) = platform::openapi::check_committed(&document(), copy) {
            panic!("{error}");
        }
    }

    #[tokio::test]
    async fn the_document_is_served() {
        let response = super::super::router(AppState::in_memory())
            .oneshot(
                Request::builder()
                    .uri(DOCUMENT_PATH)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let served: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(served, serde_json::to_value(document()).unwrap());
    }
}
