//! Data the scenario creates on the deployed services: ids remembered from `Location` headers
//! (and deleted in teardown), and JSON texts with remembered ids filled in.

use cucumber::{then, when};

use crate::steps::{http::pointer, world::MockVideoWorld};

#[when(expr = "I remember the id in the Location header as {string}")]
#[then(expr = "I remember the id in the Location header as {string}")]
fn remember_location(world: &mut MockVideoWorld, name: String) {
    let last = world.last();
    let location = last
        .header("location")
        .unwrap_or_else(|| panic!("no Location header in {:?}", last.headers));
    let id = id_from_location(location)
        .unwrap_or_else(|| panic!("no id at the end of Location {location:?}"))
        .to_owned();
    world.cluster.accountd_users.push(id.clone());
    world.cinema.ids.insert(name, id);
}

/// The last path segment of a `Location` such as `/users/42`.
fn id_from_location(location: &str) -> Option<&str> {
    location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|id| !id.is_empty())
}

#[then(expr = "the text at {string} in the response JSON reads {string}")]
fn json_text_reads(world: &mut MockVideoWorld, path: String, expected: String) {
    let expected = world.cinema.fill_in(&expected);
    let json = world.last().json().expect("a JSON body");
    assert_eq!(
        pointer(&json, &path),
        &expected.as_str(),
        "at {path} in {json}"
    );
}
