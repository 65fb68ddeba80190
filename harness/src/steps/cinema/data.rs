//! The `{"data": ...}` envelope: lists, null, new ObjectIds, `createdon`, and documents and ids
//! remembered from one answer and checked in the next.

use cucumber::{then, when};
use serde_json::Value;

use crate::steps::{http::pointer, world::MockVideoWorld};

fn data(world: &MockVideoWorld) -> Value {
    let json = world.last().json().expect("a JSON body");
    pointer(&json, "/data").clone()
}

fn data_list(world: &MockVideoWorld) -> Vec<Value> {
    let data = data(world);
    data.as_array()
        .unwrap_or_else(|| panic!("data is not a list: {data}"))
        .clone()
}

#[when(expr = "I remember the response's id as {string}")]
#[then(expr = "I remember the response's id as {string}")]
fn remember_id(world: &mut MockVideoWorld, name: String) {
    let document = data(world);
    let id = document["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no string data.id in {document}"))
        .to_owned();
    world.cinema.ids.insert(name.clone(), id);
    world.cinema.documents.insert(name, document);
}

#[then(expr = "the response is the data envelope with a list of {int}")]
fn list_of(world: &mut MockVideoWorld, count: usize) {
    assert_json_content_type(world);
    let list = data_list(world);
    assert_eq!(list.len(), count, "data: {list:?}");
}

#[then("the response is the data envelope with null")]
fn data_null(world: &mut MockVideoWorld) {
    assert_json_content_type(world);
    assert_eq!(world.last().text(), r#"{"data":null}"#);
}

fn assert_json_content_type(world: &MockVideoWorld) {
    crate::steps::http::assert_json_content_type(world.last());
}

/// The document remembered as `name`, or a step failure saying nothing was.
fn remembered_document(world: &MockVideoWorld, name: &str) -> serde_json::Value {
    world
        .cinema
        .documents
        .get(name)
        .unwrap_or_else(|| panic!("nothing remembered as {name:?}"))
        .clone()
}

#[then("the response data has a new ObjectId")]
fn has_object_id(world: &mut MockVideoWorld) {
    assert_json_content_type(world);
    let document = data(world);
    let id = document["id"].as_str().unwrap_or_default();
    assert!(
        id.len() == 24
            && id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "data.id is not a 24-digit lower-case hex ObjectId: {document}"
    );
}

#[then("the response data has a recent createdon")]
fn has_recent_createdon(world: &mut MockVideoWorld) {
    let document = data(world);
    let text = document["createdon"]
        .as_str()
        .unwrap_or_else(|| panic!("no string data.createdon in {document}"));
    // RFC 3339: `YYYY-MM-DDTHH:MM:SS…`; "recent" means this year or the next (clock skew).
    let bytes = text.as_bytes();
    assert!(
        text.len() >= 20 && bytes[4] == b'-' && bytes[10] == b'T' && bytes[13] == b':',
        "createdon is not RFC 3339: {text:?}"
    );
    let year: i64 = text[..4].parse().expect("a numeric year");
    assert!(year > 2016, "createdon {text:?} is not recent");
}

#[then(expr = "the response data is the remembered {string}")]
fn data_is_remembered(world: &mut MockVideoWorld, name: String) {
    let expected = remembered_document(world, &name);
    assert_eq!(data(world), expected);
}

fn remembered_id(world: &MockVideoWorld, name: &str) -> String {
    world
        .cinema
        .ids
        .get(name)
        .unwrap_or_else(|| panic!("no id remembered as {name:?}"))
        .clone()
}

#[then(expr = "the response data list contains the remembered {string}")]
fn list_contains(world: &mut MockVideoWorld, name: String) {
    let expected = remembered_document(world, &name);
    let list = data_list(world);
    assert!(list.contains(&expected), "{expected} not in {list:?}");
}

#[then(expr = "the response data list does not contain the remembered {string}")]
fn list_lacks(world: &mut MockVideoWorld, name: String) {
    let id = remembered_id(world, &name);
    let data = data(world);
    let ids: Vec<&str> = data
        .as_array()
        .map(|list| list.iter().filter_map(|item| item["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(!ids.contains(&id.as_str()), "{id} still in {data}");
}

#[then(expr = "the response data {string} values are {string}")]
fn list_values(world: &mut MockVideoWorld, field: String, expected: String) {
    let (actual, expected) = field_values(world, &field, &expected);
    assert_eq!(actual, expected, "{field} values");
}

/// For documents stored at once (the seed data is upserted concurrently), whose natural order
/// is not defined.
#[then(expr = "the response data {string} values are, in any order, {string}")]
fn list_values_any_order(world: &mut MockVideoWorld, field: String, expected: String) {
    let (mut actual, mut expected) = field_values(world, &field, &expected);
    actual.sort();
    expected.sort();
    assert_eq!(actual, expected, "{field} values");
}

/// The `field` of each listed document as text, and the comma-separated `expected` values.
fn field_values(world: &MockVideoWorld, field: &str, expected: &str) -> (Vec<String>, Vec<String>) {
    let actual: Vec<String> = data_list(world)
        .iter()
        .map(|item| match &item[field] {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
        .collect();
    let expected: Vec<String> = expected
        .split(',')
        .map(|value| value.trim().to_owned())
        .collect();
    (actual, expected)
}

#[then(expr = "the response data {string} is the remembered {string}")]
fn field_is_remembered(world: &mut MockVideoWorld, field: String, name: String) {
    let id = remembered_id(world, &name);
    let document = data(world);
    assert_eq!(document[field.as_str()], id.as_str(), "in {document}");
}

#[then(expr = "the response data {string} lists the ids {string}")]
fn field_lists_remembered(world: &mut MockVideoWorld, field: String, names: String) {
    let expected: Vec<Value> = names
        .split(',')
        .map(|name| {
            // A name remembered in this scenario, else an id written out (a seeded one).
            let name = name.trim();
            let id = world
                .cinema
                .ids
                .get(name)
                .cloned()
                .unwrap_or_else(|| name.to_owned());
            Value::String(id)
        })
        .collect();
    let document = data(world);
    assert_eq!(
        document[field.as_str()],
        Value::Array(expected),
        "in {document}"
    );
}
