//! The deployables: every binary that ships as an image and a Helm chart, with its ports and
//! the endpoint that says it is alive. One list serves `images`, `push`, the charts' tests and
//! `deploy`.

/// How to tell that a started deployable is alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// `GET path` on `port` answers 200 (without any database: liveness only).
    Http {
        /// The container port.
        port: u16,
        /// The path, e.g. `/livez`.
        path: &'static str,
    },
    /// No server: the binary runs with `--version` and exits 0 (the simulator is a load tool).
    Version,
}

/// One deployable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deployable {
    /// The binary's name, also the image's and the chart's: `accountd`, `event-producer`, …
    pub name: &'static str,
    /// The cargo package that builds it.
    pub package: &'static str,
    /// Its container ports as `(name, port)`: `http`, `grpc`, `admin`.
    pub ports: &'static [(&'static str, u16)],
    /// Its liveness check.
    pub health: Health,
    /// Readiness, where it differs from liveness: `(port, path)`; answers 200 only with its
    /// database reachable.
    pub readiness: Option<(u16, &'static str)>,
    /// The settings prefix of a deployable that exits at start-up without MySQL (it connects and
    /// migrates before it binds): `ACCOUNTD`, `ACTIVITY`; its database is
    /// `<PREFIX>__DB__{HOST,PORT,NAME,USER,PASSWORD}`. `None` for the others.
    pub mysql_env_prefix: Option<&'static str>,
}

const fn http(
    name: &'static str,
    package: &'static str,
    port: u16,
    live: &'static str,
    ready: &'static str,
) -> Deployable {
    Deployable {
        name,
        package,
        ports: &[],
        health: Health::Http { port, path: live },
        readiness: Some((port, ready)),
        mysql_env_prefix: None,
    }
}

/// Every deployable, in a stable order.
pub const DEPLOYABLES: &[Deployable] = &[
    Deployable {
        ports: &[("http", 5000)],
        mysql_env_prefix: Some("ACCOUNTD"),
        ..http("accountd", "accountd", 5000, "/livez", "/readyz")
    },
    Deployable {
        ports: &[("grpc", 50051), ("admin", 9091)],
        mysql_env_prefix: Some("ACTIVITY"),
        ..http("activity-server", "activity", 9091, "/livez", "/readyz")
    },
    Deployable {
        ports: &[("http", 8080)],
        ..http("event-producer", "events", 8080, "/livez", "/readyz")
    },
    Deployable {
        ports: &[("admin", 9092)],
        ..http("event-consumer", "events", 9092, "/livez", "/readyz")
    },
    Deployable {
        name: "event-simulator",
        package: "events",
        ports: &[],
        health: Health::Version,
        readiness: None,
        mysql_env_prefix: None,
    },
    Deployable {
        ports: &[("http", 8080)],
        ..http("movies", "cinema", 8080, "/healthz", "/healthy")
    },
    Deployable {
        ports: &[("http", 8080)],
        ..http("showtimes", "cinema", 8080, "/healthz", "/healthy")
    },
    Deployable {
        ports: &[("http", 8080)],
        ..http("bookings", "cinema", 8080, "/healthz", "/healthy")
    },
    Deployable {
        ports: &[("http", 8080)],
        ..http("users", "cinema", 8080, "/healthz", "/healthy")
    },
];

/// The deployable called `name`, or an error listing them.
pub fn find(name: &str) -> anyhow::Result<&'static Deployable> {
    DEPLOYABLES
        .iter()
        .find(|deployable| deployable.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = DEPLOYABLES.iter().map(|d| d.name).collect();
            anyhow::anyhow!(
                "no deployable {name:?}; the deployables are {}",
                names.join(", ")
            )
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_findable() {
        let mut names: Vec<&str> = DEPLOYABLES.iter().map(|d| d.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DEPLOYABLES.len());
        assert_eq!(find("users").unwrap().package, "cinema");
        let error = find("nope").unwrap_err().to_string();
        assert!(error.contains("accountd, activity-server"), "{error}");
    }

    #[test]
    fn every_server_exposes_its_health_port() {
        for deployable in DEPLOYABLES {
            if let Health::Http { port, .. } = deployable.health {
                assert!(
                    deployable.ports.iter().any(|(_, p)| *p == port),
                    "{}",
                    deployable.name
                );
            }
        }
    }
}
