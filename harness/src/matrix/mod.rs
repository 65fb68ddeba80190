//! The fault matrix: every service under every fault, one scenario per cell.
//!
//! A cell is a scenario tagged `@service-<service>` and `@fault-<fault>` (the keys of
//! [`Service`] and [`Fault`]). While it runs, its steps fill the scenario's [`Measurements`]
//! (how fast the service noticed, how fast it recovered, the p99 it served during the fault,
//! its errors by class, what was lost or applied twice); when it ends, the suite's runner turns
//! tags, outcome and measurements into a [`Record`] and appends it to the run's cell log
//! ([`record`]). At the end of the run [`report::finish`] prints the matrix as a table and
//! writes it as JSON and JUnit under `target/chaos/` (see [`report`]).

pub mod report;

use std::{
    collections::BTreeMap,
    fmt,
    io::Write as _,
    path::{Path, PathBuf},
    sync::Mutex,
    time::Duration,
};

use serde::{Deserialize, Serialize};

/// The services of the matrix, in the report's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    /// accountd over MySQL.
    Accountd,
    /// activity-server (gRPC) over MySQL.
    ActivityServer,
    /// The movies service over MongoDB, standing for the four cinema services' shared code.
    Movies,
    /// The users service's suggestions, over its links to movies, showtimes and bookings.
    Suggestions,
    /// event-producer over Redis.
    EventProducer,
    /// event-consumer over Redis.
    EventConsumer,
}

impl Service {
    /// Every service, in the report's order.
    pub const ALL: [Service; 6] = [
        Service::Accountd,
        Service::ActivityServer,
        Service::Movies,
        Service::Suggestions,
        Service::EventProducer,
        Service::EventConsumer,
    ];

    /// The key in tags (`@service-<key>`), on the command line and in the reports.
    pub fn key(self) -> &'static str {
        match self {
            Service::Accountd => "accountd",
            Service::ActivityServer => "activity-server",
            Service::Movies => "movies",
            Service::Suggestions => "suggestions",
            Service::EventProducer => "event-producer",
            Service::EventConsumer => "event-consumer",
        }
    }

    /// The service whose key is `key`.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|service| service.key() == key)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The faults of the matrix, in the report's order. For suggestions the store is its links to
/// movies, showtimes and bookings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The store answers slower than the service's store timeout.
    StoreSlow,
    /// The link to the store cut, then healed.
    StoreCut,
    /// The store stops passing data (half-open).
    StoreHalfOpen,
    /// The connection to the store reset mid-request.
    StoreReset,
    /// Requests at 4× the measured capacity, at a fixed arrival rate.
    Overload,
    /// SIGTERM while requests flow.
    Sigterm,
    /// SIGKILL while requests flow, then a restart.
    Sigkill,
}

impl Fault {
    /// Every fault, in the report's order.
    pub const ALL: [Fault; 7] = [
        Fault::StoreSlow,
        Fault::StoreCut,
        Fault::StoreHalfOpen,
        Fault::StoreReset,
        Fault::Overload,
        Fault::Sigterm,
        Fault::Sigkill,
    ];

    /// The key in tags (`@fault-<key>`), on the command line and in the reports.
    pub fn key(self) -> &'static str {
        match self {
            Fault::StoreSlow => "store-slow",
            Fault::StoreCut => "store-cut",
            Fault::StoreHalfOpen => "store-half-open",
            Fault::StoreReset => "store-reset",
            Fault::Overload => "overload",
            Fault::Sigterm => "sigterm",
            Fault::Sigkill => "sigkill",
        }
    }

    /// The fault whose key is `key`.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|fault| fault.key() == key)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The cells a scenario's tags name (`service-accountd`, `fault-store-slow`; with or without
/// the `@`): every service tag with every fault tag, so one scenario may stand for several
/// cells (the Redis link cut under the producer and the consumer).
pub fn cells_of<'a>(tags: impl IntoIterator<Item = &'a str>) -> Vec<(Service, Fault)> {
    let mut services = Vec::new();
    let mut faults = Vec::new();
    for tag in tags {
        let tag = tag.trim_start_matches('@');
        if let Some(service) = tag.strip_prefix("service-").and_then(Service::from_key) {
            services.push(service);
        } else if let Some(fault) = tag.strip_prefix("fault-").and_then(Fault::from_key) {
            faults.push(fault);
        }
    }
    services.sort();
    services.dedup();
    faults.sort();
    faults.dedup();
    services
        .iter()
        .flat_map(|service| faults.iter().map(move |fault| (*service, *fault)))
        .collect()
}

/// What one cell measured; every field is optional, a cell fills what applies to it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    /// From the fault to the service noticing it: its first refused answer, readiness false,
    /// or (signals) readiness false after SIGTERM.
    #[serde(with = "opt_secs", default, skip_serializing_if = "Option::is_none")]
    pub detect: Option<Duration>,
    /// From the heal (or the restart) to the first success again.
    #[serde(with = "opt_secs", default, skip_serializing_if = "Option::is_none")]
    pub recover: Option<Duration>,
    /// The p99 of the requests served while the fault lasted.
    #[serde(with = "opt_secs", default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<Duration>,
    /// Errors the callers saw, by class: `429`, `503`, `504`, `UNAVAILABLE`, `reset`,
    /// `timeout`, …
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, u64>,
    /// Acknowledged writes (or accepted events) missing afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<u64>,
    /// Writes or events applied more than once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twice: Option<u64>,
    /// Anything else worth a line in the report (`RSS peak 41 MiB of 128 MiB`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Measurements {
    /// Counts `count` more errors of `class`.
    pub fn error(&mut self, class: impl Into<String>, count: u64) {
        if count > 0 {
            *self.errors.entry(class.into()).or_default() += count;
        }
    }

    /// Adds every class of `errors` (e.g. a load report's).
    pub fn errors_from(&mut self, errors: &BTreeMap<String, u64>) {
        for (class, count) in errors {
            self.error(class.clone(), *count);
        }
    }

    /// Adds a line to the report.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }
}

/// One cell's outcome: what ran, whether it held, what it measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Where it ran: `docker` or `cluster`.
    pub target: String,
    /// The service.
    pub service: Service,
    /// The fault.
    pub fault: Fault,
    /// The scenario's name.
    pub scenario: String,
    /// Whether every step passed.
    pub passed: bool,
    /// Why it failed (the failing step and its error), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// How long the scenario took.
    #[serde(with = "secs")]
    pub took: Duration,
    /// What its steps measured.
    #[serde(flatten)]
    pub measured: Measurements,
}

/// The directory of the chaos reports: `<repo>/target/chaos`.
pub fn chaos_dir(repo_root: &Path) -> PathBuf {
    repo_root.join("target").join("chaos")
}

/// The cell log of a run on `target`: one JSON [`Record`] per line.
pub fn cell_log(repo_root: &Path, target: &str) -> PathBuf {
    chaos_dir(repo_root).join(format!("{target}-cells.jsonl"))
}

/// Serializes appends from concurrent scenarios.
static APPEND: Mutex<()> = Mutex::new(());

/// Appends `record` to the cell log at `path`.
pub fn record(path: &Path, record: &Record) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let line = serde_json::to_string(record).context("serializing a matrix cell")?;
    let _guard = APPEND
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "{line}").with_context(|| format!("writing {}", path.display()))
}

/// Durations as seconds (a float) in JSON.
mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64((value.as_secs_f64() * 1e3).round() / 1e3)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(deserializer)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// Optional durations as seconds (a float) in JSON.
mod opt_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => super::secs::serialize(value, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(deserializer)?
            .map(|secs| Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_is_named_by_its_service_and_fault_tags() {
        assert_eq!(
            cells_of([
                "@matrix",
                "@service-event-producer",
                "@fault-store-half-open"
            ]),
            [(Service::EventProducer, Fault::StoreHalfOpen)]
        );
        assert_eq!(
            cells_of([
                "service-event-consumer",
                "fault-store-cut",
                "service-event-producer"
            ]),
            [
                (Service::EventProducer, Fault::StoreCut),
                (Service::EventConsumer, Fault::StoreCut)
            ]
        );
        assert!(cells_of(["service-accountd", "serial"]).is_empty());
        assert!(cells_of(["service-nope", "fault-sigkill"]).is_empty());
    }

    #[test]
    fn a_record_round_trips_through_its_json_line() {
        let mut measured = Measurements {
            detect: Some(Duration::from_millis(1_250)),
            lost: Some(0),
            ..Measurements::default()
        };
        measured.error("503", 3);
        measured.error("429", 0);
        let record = Record {
            target: "docker".into(),
            service: Service::ActivityServer,
            fault: Fault::Sigterm,
            scenario: "SIGTERM under load".into(),
            passed: true,
            failure: None,
            took: Duration::from_secs(4),
            measured,
        };
        let line = serde_json::to_string(&record).unwrap();
        assert!(line.contains(r#""service":"activity-server""#), "{line}");
        assert!(line.contains(r#""detect":1.25"#), "{line}");
        assert!(
            !line.contains("429"),
            "empty classes are not counted: {line}"
        );
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back, record);
    }
}
