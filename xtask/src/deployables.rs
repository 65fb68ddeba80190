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
    /// Variables baked into the image (`ENV`), for a binary whose own defaults do not suit a
    /// container: the fault proxy's admin API listens on loopback unless told otherwise.
    pub image_env: &'static [(&'static str, &'static str)],
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
        image_env: &[],
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
        image_env: &[],
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
    // The Toxiproxy-compatible fault proxy between the services and their stores (off unless a
    // values file enables it): its admin API; the proxies' own ports come from the chart values.
    Deployable {
        ports: &[("admin", 8474)],
        image_env: &[("FAULT_PROXY_HOST", "0.0.0.0")],
        ..http("fault-proxy", "fault-proxy", 8474, "/version", "/version")
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

/// The cinema services, in start order (movies first: it loads the seed data). The same names
/// and prefixes as the `cinema` crate's `Service`, as data so that xtask builds without the
/// services (a test holds the two together).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CinemaService {
    /// `movies`.
    Movies,
    /// `showtimes`.
    Showtimes,
    /// `bookings`.
    Bookings,
    /// `users`.
    Users,
}

impl CinemaService {
    /// All four, in start order.
    pub const ALL: [CinemaService; 4] = [
        CinemaService::Movies,
        CinemaService::Showtimes,
        CinemaService::Bookings,
        CinemaService::Users,
    ];

    /// The binary, collection and metrics name: `movies`, …
    pub fn name(self) -> &'static str {
        match self {
            Self::Movies => "movies",
            Self::Showtimes => "showtimes",
            Self::Bookings => "bookings",
            Self::Users => "users",
        }
    }

    /// The environment prefix: `MOVIES__PORT` sets `port` of the movies service.
    pub fn env_prefix(self) -> &'static str {
        match self {
            Self::Movies => "MOVIES",
            Self::Showtimes => "SHOWTIMES",
            Self::Bookings => "BOOKINGS",
            Self::Users => "USERS",
        }
    }
}

/// The Redis stream the event deployables use by default (`events::notification::DEFAULT_STREAM`).
pub const EVENT_STREAM: &str = "NotificationStream";

/// A user of the cinema seed data who has suggestions: Cristina Cruz
/// (`cinema::seed::USER_CRISTINA`).
pub const CINEMA_SEED_USER: &str = "57a98d98e4b00679b4a830b5";

#[cfg(test)]
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

    #[test]
    fn the_service_data_matches_the_services() {
        for (ours, theirs) in CinemaService::ALL.iter().zip(cinema::Service::ALL) {
            assert_eq!(ours.name(), theirs.name());
            assert_eq!(ours.env_prefix(), theirs.env_prefix());
        }
        assert_eq!(CinemaService::ALL.len(), cinema::Service::ALL.len());
        assert_eq!(EVENT_STREAM, events::notification::DEFAULT_STREAM);
        assert_eq!(CINEMA_SEED_USER, cinema::seed::USER_CRISTINA);
    }
}
