//! Checks shared by the tests of the backing services whose container keeps a fixed loopback
//! port (`backing_redis`, `backing_mongo`). Include next to `support/docker.rs`.

use harness::backing::{docker, Server};

use crate::support_docker::docker_cli;

/// `docker inspect -f TEMPLATE ID`, trimmed.
fn inspect(id: &str, template: &str) -> String {
    let output = docker_cli(&["container", "inspect", "-f", template, id]);
    assert!(output.status.success(), "docker inspect {id}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The container id of `server`, or `None` after printing that `checks` are skipped because
/// another provider was used.
pub fn container_or_skip<'a>(server: &'a Server, checks: &str) -> Option<&'a str> {
    let id = server.container_id();
    if id.is_none() {
        eprintln!("skipping {checks}: provider is {}", server.provider());
    }
    id
}

/// Asserts that container `id` carries the owner labels for `kind` and this process, and is
/// published on `127.0.0.1:port` only.
pub fn assert_labelled_on_loopback(id: &str, kind: &str, port: u16) {
    let label = |name: &str| inspect(id, &format!("{{{{index .Config.Labels \"{name}\"}}}}"));
    assert_eq!(label(docker::LABEL), kind);
    assert_eq!(
        label(docker::OWNER_PID_LABEL),
        std::process::id().to_string()
    );
    let bindings = inspect(id, "{{json .HostConfig.PortBindings}}");
    assert!(bindings.contains("\"HostIp\":\"127.0.0.1\""), "{bindings}");
    assert!(
        bindings.contains(&format!("\"HostPort\":\"{port}\"")),
        "{bindings}"
    );
}

/// Asserts that of this process's `kind` containers at most `shared` (the binary's shared
/// server, removed at process exit) is left.
pub fn assert_at_most_shared_left(kind: &str, shared: Option<&str>) {
    let listed = docker_cli(&[
        "ps",
        "-a",
        "-q",
        "--no-trunc",
        "--filter",
        &format!("label={}={kind}", docker::LABEL),
        "--filter",
        &format!("label={}={}", docker::OWNER_PID_LABEL, std::process::id()),
    ]);
    for left in String::from_utf8_lossy(&listed.stdout).lines() {
        assert_eq!(Some(left.trim()), shared, "unexpected container");
    }
}
