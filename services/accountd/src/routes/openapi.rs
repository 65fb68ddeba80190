//! `GET /openapi.json`: an OpenAPI 3 description of every route, built by hand.
//!
//! A test in `tests/router.rs` checks that every documented path and method is routed and that
//! every routed `/users` method is documented.

use platform::http::Json;
use serde_json::{json, Value};

use crate::domain::messages;

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn bulk_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BulkResponse"}}}
    })
}

fn user_body(description: &str) -> Value {
    json!({
        "required": true,
        "description": description,
        "content": {"application/json": {"schema": {"oneOf": [
            {"$ref": "#/components/schemas/UserInput"},
            {"$ref": "#/components/schemas/BulkRequest"}
        ]}}}
    })
}

fn text_response(description: &str, example: &str) -> Value {
    json!({
        "description": description,
        "content": {"text/plain": {"schema": {"type": "string"}, "example": example}}
    })
}

/// A `GET` route open without a token (health, metrics, this document).
fn get_only(summary: &str, response: Value) -> Value {
    json!({"get": {"summary": summary, "security": [], "responses": {"200": response}}})
}

/// The OpenAPI document.
pub fn document() -> Value {
    let bulk_header = json!({"$ref": "#/components/parameters/BulkRequest"});
    let id = json!({"$ref": "#/components/parameters/UserId"});
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "accountd",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "MockVideo users. Errors are JSON `{{\"error\":{{\"code\",\"message\"}}}}`. Unknown paths \
                 answer 400 \"{}\". Request bodies are limited in size (413), the service sheds load \
                 with 429 + Retry-After and times out slow requests with 503 + Retry-After. When the \
                 service has a JWT secret, every route but health, metrics and this document needs \
                 `Authorization: Bearer <token>` (HS256, audience `accountd`; 401 JSON otherwise).",
                messages::MALFORMED_URL
            )
        },
        "paths": {
            "/users": {
                "get": {
                    "summary": "List every user, ordered by id",
                    "responses": {
                        "200": {"description": "All users (an empty list when there are none)",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Users"}}}}
                    }
                },
                "post": {
                    "summary": "Create a user (or many, with Bulk-Request: true)",
                    "parameters": [bulk_header.clone()],
                    "requestBody": user_body("A user without id; with the bulk header, {\"users\":[...]}"),
                    "responses": {
                        "201": {"description": "Created; empty body. With the bulk header: every user created, results body",
                                "headers": {"Location": {"schema": {"type": "string"}, "description": "/users/{id} (not on bulk requests)"}}},
                        "400": error_response("Malformed JSON, unknown field, id given, invalid user, bad Bulk-Request header"),
                        "409": error_response("Duplicate e-mail; with the bulk header: some users failed (BulkResponse body)"),
                        "413": error_response("Body or bulk request too large")
                    }
                },
                "put": {
                    "summary": "Update the user the body's id names (or many, with Bulk-Request: true)",
                    "parameters": [bulk_header.clone()],
                    "requestBody": user_body("A complete user including id; with the bulk header, {\"users\":[...]}"),
                    "responses": {
                        "200": {"description": "Updated; empty body. With the bulk header: every user updated, results body"},
                        "400": error_response("Malformed JSON, missing id, invalid user, bad Bulk-Request header"),
                        "404": error_response(messages::NON_EXISTENT_USER),
                        "409": bulk_response("Duplicate e-mail (error body); with the bulk header: some users failed")
                    }
                }
            },
            "/users/{id}": {
                "get": {
                    "summary": "One user",
                    "parameters": [id.clone()],
                    "responses": {
                        "200": {"description": "The user",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
                        "400": error_response(messages::MALFORMED_URL),
                        "404": error_response("No such user")
                    }
                },
                "put": {
                    "summary": "Replace user {id} (a body id, if any, must match)",
                    "parameters": [id.clone(), bulk_header],
                    "requestBody": user_body("A complete user; with the bulk header, {\"users\":[...]} (the URL id is then ignored)"),
                    "responses": {
                        "200": {"description": "Updated; empty body"},
                        "400": error_response("Malformed URL or JSON, id mismatch, invalid user"),
                        "404": error_response(messages::NON_EXISTENT_USER),
                        "409": error_response(messages::DUPLICATE_USER)
                    }
                },
                "delete": {
                    "summary": "Delete user {id}",
                    "parameters": [id],
                    "responses": {
                        "200": {"description": "Deleted, or did not exist; empty body"},
                        "400": error_response(messages::MALFORMED_URL)
                    }
                }
            },
            "/accountdhealth": get_only("Health check (any method)", text_response("Healthy", messages::HEALTHY)),
            "/livez": get_only("Liveness", text_response("The process answers", "ok")),
            "/readyz": {"get": {"summary": "Readiness: database reachable and not shutting down",
                                "security": [],
                                "responses": {"200": text_response("Ready", "ready"),
                                              "503": error_response("Not ready")}}},
            "/metrics": get_only("Prometheus metrics", text_response("Text exposition format", "")),
            "/openapi.json": get_only("This document", json!({"description": "OpenAPI 3 document",
                                                             "content": {"application/json": {}}}))
        },
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "HS256 token for the audience accountd (mockvideo-token --audience accountd); \
                                    required only when the service has a JWT secret"
                }
            },
            "parameters": {
                "BulkRequest": {
                    "name": "Bulk-Request", "in": "header", "required": false,
                    "description": "A Go boolean (1 t T TRUE true True 0 f F FALSE false False)",
                    "schema": {"type": "string"}
                },
                "UserId": {"name": "id", "in": "path", "required": true,
                           "schema": {"type": "integer", "format": "int64"}}
            },
            "schemas": {
                "User": {
                    "type": "object",
                    "properties": {
                        "accountid": {"type": "integer"},
                        "href": {"type": "string", "example": "/users/1"},
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "email": {"type": "string"},
                        "role": {"type": "integer", "description": "0 owner, 1 admin, 2 restricted"}
                    }
                },
                "UserInput": {
                    "type": "object",
                    "description": "Keys match case-insensitively; unknown keys are rejected",
                    "additionalProperties": false,
                    "properties": {
                        "accountid": {"type": "integer", "description": "non-zero, 32-bit"},
                        "href": {"type": "string", "description": "ignored"},
                        "id": {"type": "integer", "description": "absent or 0 on POST"},
                        "name": {"type": "string", "minLength": 1, "maxLength": 255},
                        "email": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "@"},
                        "role": {"type": "integer", "enum": [0, 1, 2]},
                        "password": {"type": "string", "minLength": 1, "maxLength": 255, "writeOnly": true}
                    }
                },
                "Users": {
                    "type": "object",
                    "properties": {"users": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}}
                },
                "BulkRequest": {
                    "type": "object",
                    "properties": {"users": {"type": "array", "items": {"$ref": "#/components/schemas/UserInput"}}}
                },
                "BulkResponse": {
                    "type": "object",
                    "properties": {
                        "overallstatus": {"type": "integer", "description": "201/200 if all succeeded, else 409"},
                        "results": {"type": "array", "items": {"$ref": "#/components/schemas/BulkResult"}}
                    }
                },
                "BulkResult": {
                    "type": "object",
                    "properties": {
                        "httpstatus": {"type": "integer"},
                        "errmsg": {"type": "string"},
                        "user": {"$ref": "#/components/schemas/User"}
                    }
                },
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "object", "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"}
                    }}}
                }
            }
        }
    })
}

/// `GET /openapi.json`.
pub async fn handler() -> Json<Value> {
    Json(document())
}
