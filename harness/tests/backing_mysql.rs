//! The MySQL backing service end to end: provisioning (shared per test binary), isolated
//! databases, the ownership labels, the stale-container sweep, and clean-up by `stop`, `Drop`
//! and across Tokio runtimes. Needs a provider (`cargo xtask bootstrap` sets up Docker); the
//! sweep test needs the Docker engine itself.

#[path = "support/docker.rs"]
mod support_docker;

use harness::backing::{docker, images, mysql::MySql, owner};
use sqlx::{Connection as _, Row as _};
use support_docker::{container_exists, docker_cli};

/// Removes the named containers when dropped, so a failing assertion leaves nothing behind.
struct RemoveOnDrop(Vec<String>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for id in &self.0 {
            let _ = docker_cli(&["rm", "-f", id]);
        }
    }
}

#[tokio::test]
async fn two_databases_are_distinct_and_usable() {
    let mysql = MySql::shared().await.expect("a MySQL server");
    let first = mysql
        .create_database("backing test")
        .await
        .expect("first database");
    let second = mysql
        .create_database("backing test")
        .await
        .expect("second database");
    assert_ne!(first.name, second.name);
    assert!(first.name.starts_with("backing_test_"));

    for (db, value) in [(&first, "alpha"), (&second, "beta")] {
        let mut connection = sqlx::MySqlConnection::connect(&db.url())
            .await
            .expect("connect");
        sqlx::query(
            "CREATE TABLE item (id INT PRIMARY KEY AUTO_INCREMENT, label VARCHAR(20) NOT NULL)",
        )
        .execute(&mut connection)
        .await
        .expect("create table");
        sqlx::query("INSERT INTO item (label) VALUES (?)")
            .bind(value)
            .execute(&mut connection)
            .await
            .expect("insert");
        connection.close().await.expect("close");
    }
    for (db, value) in [(&first, "alpha"), (&second, "beta")] {
        let mut connection = sqlx::MySqlConnection::connect(&db.url())
            .await
            .expect("connect");
        let labels: Vec<String> = sqlx::query("SELECT label FROM item ORDER BY id")
            .fetch_all(&mut connection)
            .await
            .expect("select")
            .iter()
            .map(|row| row.get::<String, _>("label"))
            .collect();
        assert_eq!(
            labels,
            vec![value.to_owned()],
            "database {} holds only its own row",
            db.name
        );
        connection.close().await.expect("close");
    }

    mysql.drop_database(&first.name).await.expect("drop first");
    mysql
        .drop_database(&second.name)
        .await
        .expect("drop second");
    assert!(
        sqlx::MySqlConnection::connect(&first.url()).await.is_err(),
        "dropped database is gone"
    );
}

#[tokio::test]
async fn the_container_carries_the_owner_labels() {
    let mysql = MySql::shared().await.expect("a MySQL server");
    let Some(id) = mysql.server().container_id() else {
        eprintln!(
            "provider is {}, not a container: no labels to check",
            mysql.server().provider()
        );
        return;
    };
    let engine = docker::connect().await.expect("engine");
    let info = engine
        .inspect_container(id, None)
        .await
        .expect("inspect the container");
    let labels = info
        .config
        .and_then(|config| config.labels)
        .unwrap_or_default();
    assert_eq!(labels.get(docker::LABEL).map(String::as_str), Some("mysql"));
    assert_eq!(
        labels.get(docker::OWNER_PID_LABEL),
        Some(&std::process::id().to_string())
    );
    assert_eq!(
        labels.get(docker::OWNER_HOST_LABEL),
        Some(&owner::hostname())
    );
    assert!(labels.contains_key(docker::STARTED_AT_LABEL));
    let name = info.name.unwrap_or_default();
    assert!(
        name.starts_with("/mockvideo-mysql-"),
        "unique container name, got {name}"
    );
    let bindings = info
        .host_config
        .and_then(|host| host.port_bindings)
        .unwrap_or_default();
    let published: Vec<_> = bindings.values().flatten().flatten().collect();
    assert!(!published.is_empty());
    assert!(
        published
            .iter()
            .all(|binding| binding.host_ip.as_deref() == Some("127.0.0.1")),
        "ports published on loopback only: {published:?}"
    );
}

#[tokio::test]
async fn sweep_removes_containers_of_dead_owners_and_never_unlabelled_ones() {
    docker::probe()
        .await
        .expect("this test needs a Docker engine: run `cargo xtask bootstrap`");
    let base = images::ensure_image(&images::BASE)
        .await
        .expect("the base image");
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];

    let dead_pid = (999_999u32..)
        .find(|pid| !owner::is_alive(*pid, None))
        .expect("a free pid");
    let run = |name: &str, labels: Vec<(String, String)>| -> String {
        let mut args = vec![
            "run".to_owned(),
            "-d".to_owned(),
            "--name".to_owned(),
            name.to_owned(),
        ];
        for (key, value) in labels {
            args.push("--label".to_owned());
            args.push(format!("{key}={value}"));
        }
        args.extend([base.clone(), "sleep".to_owned(), "300".to_owned()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = docker_cli(&args);
        assert!(
            output.status.success(),
            "docker run: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    let mut dead_labels = docker::owner_labels("sweep-test");
    dead_labels.insert(docker::OWNER_PID_LABEL.to_owned(), dead_pid.to_string());
    dead_labels.remove(docker::OWNER_START_LABEL);
    let orphan = run(
        &format!("mockvideo-sweep-orphan-{suffix}"),
        dead_labels.into_iter().collect(),
    );
    let live = run(
        &format!("mockvideo-sweep-live-{suffix}"),
        docker::owner_labels("sweep-test").into_iter().collect(),
    );
    let unlabelled = run(&format!("mockvideo-sweep-unlabelled-{suffix}"), Vec::new());
    let _cleanup = RemoveOnDrop(vec![orphan.clone(), live.clone(), unlabelled.clone()]);

    // A server starting in a parallel test sweeps too and may get to the orphan first, so the
    // count is not asserted, only the outcome.
    docker::sweep_stale().await.expect("sweep");
    assert!(
        !container_exists(&orphan),
        "container of dead owner pid {dead_pid} is gone"
    );
    assert!(container_exists(&live), "container of a live owner is kept");
    assert!(
        container_exists(&unlabelled),
        "unlabelled container is never touched"
    );
}

/// Servers started and stopped on separate runtimes, and one dropped with no runtime at all:
/// nothing in the provider may depend on the runtime that created it.
#[test]
fn servers_work_across_runtimes_and_are_removed_by_stop_and_drop() {
    let runtime = || tokio::runtime::Runtime::new().expect("runtime");

    let first_runtime = runtime();
    let first = first_runtime
        .block_on(MySql::start())
        .expect("first server");
    first_runtime
        .block_on(first.create_database("rt_one"))
        .expect("database on the first server");
    drop(first_runtime);

    let second_runtime = runtime();
    let second = second_runtime
        .block_on(MySql::start())
        .expect("second server");
    second_runtime
        .block_on(second.create_database("rt_two"))
        .expect("database on the second server");
    let second_id = second.server().container_id().map(str::to_owned);
    second_runtime.block_on(second.stop()).expect("stop");
    if let Some(id) = second_id {
        assert!(!container_exists(&id), "stop removed container {id}");
    }

    // Dropped outside any runtime.
    let first_id = first.server().container_id().map(str::to_owned);
    drop(first);
    if let Some(id) = first_id {
        assert!(!container_exists(&id), "drop removed container {id}");
    }
}
