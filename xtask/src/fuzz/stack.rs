//! The stack `cargo xtask fuzz` runs against: the components of `cargo xtask up` the chosen
//! services need, on free ports, with their own JWT secret and logs under `target/fuzz/`, so a
//! fuzz run never touches a running `up` (nor the data a person is looking at).

use std::path::Path;

use clap::ValueEnum;

use crate::up::components as up_components;
use crate::up::process::ProcessComponent;
use crate::up::{auth, cinema, events, Component};

/// A service with an OpenAPI document, as `--service` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Target {
    /// accountd (MySQL).
    Accountd,
    /// movies (MongoDB).
    Movies,
    /// showtimes (MongoDB).
    Showtimes,
    /// bookings (MongoDB).
    Bookings,
    /// users (MongoDB, and the three others for its suggestions).
    Users,
    /// event-producer (Redis).
    EventProducer,
}

impl Target {
    /// Every target, in the order they are fuzzed.
    pub const ALL: [Target; 6] = [
        Target::Accountd,
        Target::Movies,
        Target::Showtimes,
        Target::Bookings,
        Target::Users,
        Target::EventProducer,
    ];

    /// The service's name.
    pub fn name(self) -> &'static str {
        match self.cinema() {
            Some(kind) => kind.name(),
            None if self == Target::Accountd => "accountd",
            None => "event-producer",
        }
    }

    /// The cinema service it is, if it is one.
    pub fn cinema(self) -> Option<cinema::CinemaKind> {
        match self {
            Target::Movies => Some(cinema::CinemaKind::Movies),
            Target::Showtimes => Some(cinema::CinemaKind::Showtimes),
            Target::Bookings => Some(cinema::CinemaKind::Bookings),
            Target::Users => Some(cinema::CinemaKind::Users),
            Target::Accountd | Target::EventProducer => None,
        }
    }

    /// The endpoint `up`'s components publish its base URL as.
    pub fn url_key(self) -> String {
        use cinema::UpCinema as _;
        match self.cinema() {
            Some(kind) => kind.url_key(),
            None if self == Target::Accountd => "ACCOUNTD_URL".to_owned(),
            None => "EVENT_PRODUCER_URL".to_owned(),
        }
    }

    /// The endpoint holding the bearer token it accepts ([`auth::TOKENS`]).
    pub fn token_key(self) -> &'static str {
        match self.cinema() {
            Some(_) => "CINEMA_TOKEN",
            None if self == Target::Accountd => "ACCOUNTD_TOKEN",
            None => "EVENT_PRODUCER_TOKEN",
        }
    }
}

/// The components `targets` need, in start order: the JWT secret and tokens, then for accountd
/// MySQL and accountd, for the producer Redis and the producer, for any cinema service MongoDB
/// and all four (users calls the other three). Services log to `<dir>/logs/`, the secret is in
/// `<dir>/secrets/`.
pub fn components(targets: &[Target], dir: &Path) -> Vec<Box<dyn Component>> {
    let logs = dir.join("logs");
    let mut stack: Vec<Box<dyn Component>> = vec![Box::new(auth::Auth::new(dir.join("secrets")))];
    if targets.contains(&Target::Accountd) {
        stack.push(Box::new(up_components::MySqlComponent::new(&[
            up_components::ACCOUNTD_DATABASE,
        ])));
        stack.push(Box::new(ProcessComponent::logging_in(
            up_components::Accountd::new(None),
            &logs,
        )));
    }
    if targets.contains(&Target::EventProducer) {
        stack.push(Box::new(events::redis_component()));
        stack.push(Box::new(ProcessComponent::logging_in(
            events::EventProducer::new(None),
            &logs,
        )));
    }
    if targets.iter().any(|target| target.cinema().is_some()) {
        stack.push(Box::new(cinema::mongo_component()));
        for (index, kind) in cinema::CinemaKind::ALL.into_iter().enumerate() {
            stack.push(Box::new(ProcessComponent::logging_in(
                cinema::Cinema::new(kind, None, index == 0),
                &logs,
            )));
        }
    }
    stack
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(targets: &[Target]) -> Vec<&'static str> {
        components(targets, Path::new("/tmp/fuzz"))
            .iter()
            .map(|component| component.name())
            .collect()
    }

    #[test]
    fn each_service_brings_its_store_and_users_brings_its_upstreams() {
        assert_eq!(names(&[Target::Accountd]), ["auth", "mysql", "accountd"]);
        assert_eq!(
            names(&[Target::EventProducer]),
            ["auth", "redis", "event-producer"]
        );
        assert_eq!(
            names(&[Target::Users]),
            ["auth", "mongo", "movies", "showtimes", "bookings", "users"]
        );
        assert_eq!(names(&Target::ALL).len(), 1 + 2 + 2 + 5);
    }

    #[test]
    fn names_urls_and_tokens_match_what_up_publishes() {
        let keys: Vec<(&str, String, &str)> = Target::ALL
            .iter()
            .map(|target| (target.name(), target.url_key(), target.token_key()))
            .collect();
        assert_eq!(
            keys[0],
            ("accountd", "ACCOUNTD_URL".into(), "ACCOUNTD_TOKEN")
        );
        assert_eq!(keys[1], ("movies", "MOVIES_URL".into(), "CINEMA_TOKEN"));
        assert_eq!(
            keys[5],
            (
                "event-producer",
                "EVENT_PRODUCER_URL".into(),
                "EVENT_PRODUCER_TOKEN"
            )
        );
        for target in Target::ALL {
            let value = target.to_possible_value().unwrap();
            assert_eq!(value.get_name(), target.name());
        }
    }
}
