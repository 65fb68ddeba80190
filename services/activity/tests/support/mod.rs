//! Shared by the integration tests: a fresh database per test on the harness's MySQL
//! (`MySql::shared()`: `MYSQL_URL`, else a container, else a local `mariadbd`; never skipped),
//! and an in-process activity-server on free ports.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{net::SocketAddr, time::Duration};

use activity::{
    proto::{activity_events_client::ActivityEventsClient, Deployment, EventRequest, Timestamp},
    App, Settings,
};
use futures::StreamExt as _;
use harness::backing::mysql::ScratchDatabase;
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::{transport::Channel, Status};

/// A fresh database, dropped (best effort) when this goes out of scope.
pub struct TestDb {
    pub parts: ScratchDatabase,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let parts = ScratchDatabase::create("activity_it")
            .await
            .expect("a database on the harness's MySQL");
        TestDb { parts }
    }

    pub fn settings(&self) -> Settings {
        let mut settings = Settings {
            port: 0,
            admin_port: 0,
            ..Settings::default()
        };
        settings.db = harness::launch::db_settings(&self.parts);
        settings
    }

    /// A connection pool of its own, for checks behind the server's back.
    pub async fn pool(&self) -> sqlx::MySqlPool {
        sqlx::MySqlPool::connect(&self.parts.url()).await.unwrap()
    }
}

/// An activity-server running in this process.
pub struct TestServer {
    pub grpc_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    pub async fn start(settings: Settings) -> TestServer {
        platform::telemetry::init_for_tests();
        let app = App::build(settings).await.expect("building the app");
        let grpc_addr = app.grpc_addr();
        let admin_addr = app.admin_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        TestServer {
            grpc_addr,
            admin_addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_addr.port())
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.admin_addr.port())
    }

    pub async fn client(&self) -> ActivityEventsClient<Channel> {
        ActivityEventsClient::connect(self.url()).await.unwrap()
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Starts the shutdown and returns the server task (to await its end).
    pub fn begin_stop(&mut self) -> JoinHandle<anyhow::Result<()>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.take().expect("the server is running")
    }

    /// Stops the server and waits until it has (within 30 s).
    pub async fn stop(mut self) {
        let task = self.begin_stop();
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("the server stops within 30 s")
            .unwrap()
            .unwrap();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub use activity::service::now_ns;

/// A new event `id` of `deployment_id`, sent now.
pub fn event(id: i32, deployment_id: i32, message: &str) -> EventRequest {
    EventRequest {
        id,
        message: message.to_owned(),
        timestamp: Some(Timestamp {
            send: now_ns(),
            receive: 0,
        }),
        deployment_id,
    }
}

/// Every event of `deployment` (or the status the call or the stream failed with).
pub async fn list(
    client: &mut ActivityEventsClient<Channel>,
    deployment: i32,
) -> Result<Vec<EventRequest>, Status> {
    let mut stream = client
        .list_events(Deployment { id: deployment })
        .await?
        .into_inner();
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        events.push(item?);
    }
    Ok(events)
}

pub fn ids(events: &[EventRequest]) -> Vec<i32> {
    events.iter().map(|event| event.id).collect()
}
