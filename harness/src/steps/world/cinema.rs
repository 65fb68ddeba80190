//! The cinema part of a scenario: its services, its database (or MongoDB server of its own),
//! the ids and documents it remembered, and its teardown (its JWT secret and token are the
//! scenario's, in [`super::auth`]).

use std::{collections::HashMap, time::Duration};

use harness::backing::mongo::Mongo;
use serde_json::Value;

/// The cinema part of a scenario.
#[derive(Debug, Default)]
pub struct CinemaState {
    /// Base URL of each started service, by name (`movies`, …).
    pub services: HashMap<String, String>,
    /// The scenario's database.
    pub database: Option<String>,
    /// A MongoDB server of the scenario's own (restart scenarios), stopped in teardown.
    pub own_mongo: Option<Mongo>,
    /// Ids remembered from answers, by name.
    pub ids: HashMap<String, String>,
    /// Whole `data` documents remembered from answers, by name.
    pub documents: HashMap<String, Value>,
    /// Stand-ins for a service (a listener that never answers), by name; aborted in teardown.
    pub stand_ins: HashMap<String, tokio::task::JoinHandle<()>>,
    /// The users service's `suggestions.timeout`, once it runs.
    pub suggestions_timeout: Option<Duration>,
    /// How long the last "… to the {word} service at …" request took to answer.
    pub last_request_took: Option<Duration>,
    /// The `idempotency.lease` of the services the scenario starts (their request timeout a
    /// second shorter), when not the default.
    pub idempotency_lease: Option<Duration>,
}

impl CinemaState {
    /// `text` with every remembered `{name}` replaced by its id.
    pub fn fill_in(&self, text: &str) -> String {
        self.ids.iter().fold(text.to_owned(), |text, (name, id)| {
            text.replace(&format!("{{{name}}}"), id)
        })
    }

    /// Drops the scenario's database (the services must be stopped already) and stops a server
    /// of the scenario's own.
    pub async fn teardown(&mut self) {
        for (_, stand_in) in self.stand_ins.drain() {
            stand_in.abort();
        }
        let database = self.database.take();
        if let Some(mongo) = self.own_mongo.take() {
            if let Err(error) = mongo.stop().await {
                eprintln!("[harness] stopping the scenario's MongoDB failed: {error:#}");
            }
        } else if let Some(database) = database {
            match harness::suite::mongo().await {
                Ok(mongo) => {
                    if let Err(error) = mongo.drop_database(&database).await {
                        eprintln!("[harness] dropping database {database} failed: {error:#}");
                    }
                }
                Err(error) => eprintln!("[harness] no MongoDB to drop {database}: {error:#}"),
            }
        }
    }
}
