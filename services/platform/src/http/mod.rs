//! HTTP building blocks shared by every service: the JSON error body ([`ApiError`]), a JSON
//! extractor with the same rejections ([`Json`]) and the name of a JSON value's type for their
//! messages ([`json_kind`]), a path extractor with JSON rejections ([`Path`]), the request
//! limits ([`Limits`]) and the middleware stack that enforces them ([`with_middleware`]).

mod error;
mod json;
mod limits;
mod middleware;
mod path;

pub use error::ApiError;
pub use json::{
    decode, decode_seed, decoding_error, go_key_matches, json_kind, read_body, Json, ObjectOrNull,
    JSON_DECODING_ERROR,
};
pub use limits::{deserialize_duration, parse_duration, Limits};
pub use middleware::{
    refuse_unread, with_middleware, EXEMPT_ROUTES, REFUSED_BODY_BUDGET, REQUEST_ID_HEADER,
};
pub use path::Path;
