//! event-simulator's command line: flags override the settings of the environment (see
//! [`super::settings`]).

use std::{path::PathBuf, time::Duration};

use clap::Parser;

use super::Settings;

/// Sends user traffic to event-producer (POST /event) and reports what happened.
#[derive(Debug, Parser)]
#[command(
    name = "event-simulator",
    version,
    after_help = "\
Settings come from, in order: defaults, the config file (key=value lines: producerUrl, \
eventsPerSecond), the original's variables (EVENT_PRODUCER_HOST, EVENT_PRODUCER_PORT, \
EVENTS_PER_SECOND) and EVENT_PRODUCER_URL, EVENT_SIMULATOR__* variables \
(EVENT_SIMULATOR__CONCURRENCY, EVENT_SIMULATOR__DURATION, EVENT_SIMULATOR__MAX_EVENTS, \
EVENT_SIMULATOR__DESCRIPTION, ...), then these flags. Every setting has a default: without any \
it sends 1 event/s to http://event-producer-svc:8080 until stopped.

SIGTERM or Ctrl-C stops sending; the summary (sent, accepted, failed, p50/p99 latency) is \
printed at the end.

Example:
  event-simulator --producer-url http://127.0.0.1:8080 --events-per-second 100 --duration 10s"
)]
pub struct Cli {
    /// Config file of key=value lines
    #[arg(long, value_name = "PATH", env = "EVENT_SIMULATOR_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,

    /// Producer base URL, e.g. http://127.0.0.1:8080
    #[arg(long, value_name = "URL")]
    pub producer_url: Option<String>,

    /// Target rate; 0 = as fast as the concurrency allows
    #[arg(long, value_name = "N")]
    pub events_per_second: Option<f64>,

    /// Requests in flight at most
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Stop after this long (e.g. 30s, 500ms, 2m)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Stop after this many events
    #[arg(long, value_name = "N")]
    pub max_events: Option<u64>,

    /// Event description; {seq} becomes the event's sequence number
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Retries of an event answered 503/429 or not answered (exponential backoff with jitter;
    /// each event carries an Idempotency-Key, so a retry is stored once); 0 = none
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    platform::http::parse_duration(text)
}

impl Cli {
    /// `settings` with the flags given applied on top.
    pub fn apply(&self, mut settings: Settings) -> Settings {
        if let Some(url) = &self.producer_url {
            settings.producer_url = url.clone();
        }
        if let Some(rate) = self.events_per_second {
            settings.events_per_second = rate;
        }
        if let Some(concurrency) = self.concurrency {
            settings.concurrency = concurrency;
        }
        if self.duration.is_some() {
            settings.duration = self.duration;
        }
        if self.max_events.is_some() {
            settings.max_events = self.max_events;
        }
        if let Some(description) = &self.description {
            settings.description = description.clone();
        }
        if let Some(retries) = self.retries {
            settings.retries = retries;
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn flags_override_settings() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "event-simulator",
            "--events-per-second",
            "0",
            "--duration",
            "2s",
            "--concurrency",
            "3",
        ])
        .unwrap();
        let settings = cli.apply(Settings::default());
        assert!(settings.events_per_second.abs() < f64::EPSILON);
        assert_eq!(settings.duration, Some(Duration::from_secs(2)));
        assert_eq!(settings.concurrency, 3);
        assert_eq!(settings.producer_url, Settings::default().producer_url);
    }
}
