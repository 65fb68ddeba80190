//! The per-scenario state: the services a scenario started, the databases it owns, the last
//! HTTP exchange, its JWT secret and token ([`auth`]) and each capability's own part
//! ([`accountd`], [`activity`], [`cinema`], [`events`], [`cluster`]) and its fault-proxy links
//! ([`network`]), torn down after the scenario. The world imports no steps: every step module
//! imports it.

pub mod accountd;
pub mod activity;
pub mod auth;
pub mod big_body;
pub mod cinema;
pub mod cluster;
pub mod events;
pub mod matrix;
pub mod network;
pub mod overload;

use anyhow::Context as _;
use cucumber::World;
use harness::{backing::mysql::DbParts, launch::RunningService};

use self::{
    accountd::AccountdState, activity::ActivityState, auth::AuthState, cinema::CinemaState,
    cluster::ClusterState, events::EventsState, network::NetworkState,
};

/// One HTTP request's answer, as the steps inspect it.
#[derive(Debug)]
pub struct Exchange {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
    /// From sending the request to the end of the body.
    pub took: std::time::Duration,
}

impl Exchange {
    /// The body as text (lossy), for messages and substring checks.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The header `name` as text; `None` when it is absent or not text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The body parsed as JSON, or an error that shows the body.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("response body is not JSON: {:?}", self.text()))
    }
}

/// The state of one scenario.
#[derive(Debug, World)]
#[world(init = Self::new)]
pub struct MockVideoWorld {
    pub http: reqwest::Client,
    /// Base URL the HTTP steps talk to (accountd, or a gRPC service's admin listener).
    pub base_url: Option<String>,
    /// accountd as a process of its own, and a flood's answers.
    pub accountd: AccountdState,
    /// gRPC state of the activity scenarios.
    pub activity: ActivityState,
    /// The scenario's JWT secret (auth on for the services it starts) and bearer token.
    pub auth: AuthState,
    /// The service flooded with big bodies, as a process of its own.
    pub big_body: big_body::BigBodyState,
    /// Databases, MongoDB server and remembered ids of the cinema scenarios.
    pub cinema: CinemaState,
    /// Redis, streams, producer and consumers of the events scenarios.
    pub events: EventsState,
    /// The run label and recovery times of the cluster scenarios.
    pub cluster: ClusterState,
    /// The links to dependencies the scenario put behind a fault proxy.
    pub network: NetworkState,
    /// The service under test of a fault-matrix cell, as a process of its own.
    pub matrix: matrix::MatrixState,
    /// What a fault-matrix cell measured (recorded by the runner when the scenario ends).
    pub cell: harness::matrix::Measurements,
    /// The overload cells' calibration and measurements.
    pub overload: overload::OverloadState,
    /// When the scenario began.
    pub started: std::time::Instant,
    /// The last answer received.
    pub last: Option<Exchange>,
    /// Services started by this scenario, stopped in teardown.
    pub services: Vec<RunningService>,
    /// Databases created for this scenario, dropped in teardown.
    pub databases: Vec<DbParts>,
}

impl MockVideoWorld {
    async fn new() -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base_url: None,
            accountd: Default::default(),
            activity: Default::default(),
            auth: Default::default(),
            big_body: Default::default(),
            cinema: Default::default(),
            events: Default::default(),
            cluster: Default::default(),
            network: Default::default(),
            matrix: Default::default(),
            cell: Default::default(),
            overload: Default::default(),
            started: std::time::Instant::now(),
            last: None,
            services: Vec::new(),
            databases: Vec::new(),
        })
    }

    /// What the scenario measured as a matrix cell: [`Self::cell`], with the longest recovery
    /// the scenario's recovery steps recorded when the cell's own steps set none.
    pub fn measured(&self) -> harness::matrix::Measurements {
        let mut measured = self.cell.clone();
        if measured.recover.is_none() {
            measured.recover = self.cluster.recoveries.iter().map(|r| r.took).max();
        }
        measured
    }

    /// The last exchange, or a step failure saying no request was sent.
    pub fn last(&self) -> &Exchange {
        self.last
            .as_ref()
            .expect("no request has been sent in this scenario yet")
    }

    /// The HTTP base URL, or a step failure saying no HTTP service was started.
    pub fn base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .expect("no HTTP service is running in this scenario: add the Background step")
    }

    /// Stops the scenario's services, deletes what a cluster scenario left on the cluster and
    /// drops its databases. A `failed` scenario keeps the logs of its child processes (their
    /// paths are printed).
    pub async fn teardown(&mut self, failed: bool) {
        // First: a link left faulted on the cluster's fault proxy would keep the cleanup below
        // (and the next scenario) from the stores.
        self.network.reset_remote().await;
        // Before the events teardown: a consumer process must not recreate the keys it removes.
        self.matrix.teardown(failed).await;
        self.events.teardown(failed).await;
        self.accountd.teardown(failed).await;
        self.big_body.teardown(failed).await;
        self.cluster
            .teardown(&self.http, &self.cinema.services, &self.cinema.ids)
            .await;
        for service in self.services.drain(..) {
            let name = service.name();
            if let Err(error) = service.stop().await {
                eprintln!("[harness] {name} stopped with an error: {error:#}");
            }
        }
        // After the services stopped: nothing writes to the database while it is dropped, and
        // nothing talks through a link while it is removed.
        self.network.teardown().await;
        self.cinema.teardown().await;
        if self.databases.is_empty() {
            return;
        }
        if let Ok(mysql) = harness::suite::mysql().await {
            for db in self.databases.drain(..) {
                if let Err(error) = mysql.drop_database(&db.name).await {
                    eprintln!("[harness] dropping database {} failed: {error:#}", db.name);
                }
            }
        }
    }
}
