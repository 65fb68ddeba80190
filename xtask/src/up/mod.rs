//! `cargo xtask up`: the stack on this machine, until Ctrl-C.
//!
//! The stack is a list of [`Component`]s ([`components`], [`events`], [`cinema`]; each of our
//! services is one generic [`process::ProcessComponent`]), started in order and stopped in
//! reverse: MySQL, the JWT secret and development tokens ([`auth`]), accountd, the activity
//! server, Redis, the event producer, two event consumers (one group), the event simulator, then
//! MongoDB and the cinema services movies, showtimes, bookings and users. accountd,
//! event-producer and the cinema services run with auth on (one secret; `ACCOUNTD_TOKEN`,
//! `EVENT_PRODUCER_TOKEN`, `CINEMA_TOKEN` in `endpoints.env`).
//! Each component adds what it offers to the shared [`Stack`] (the database it created, the
//! endpoints it publishes, example commands); a later service is one more entry in that list.
//! First, when the Docker engine or an image is missing, it runs the bootstrap ([`setup`]).
//! Once all are ready the endpoints are written to `target/up/endpoints.env`; on Ctrl-C or SIGTERM
//! (or when a component dies) everything is stopped, the file removed and the clean-up reported.

pub mod auth;
pub mod cinema;
pub mod components;
pub mod endpoints;
pub mod events;
pub mod process;
pub mod server;
pub mod setup;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use backing::mysql::DbParts;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::paths;
use crate::progress::Progress;
use crate::runner::Runner;
use endpoints::Endpoint;
use process::ProcessComponent;

/// A boxed future borrowing the component (components are trait objects in a list).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// What the components share while the stack starts.
#[derive(Debug)]
pub struct Stack {
    /// Cargo's target directory, where the service binaries are built.
    pub target_dir: PathBuf,
    /// The databases created by the MySQL component, by prefix (`mockvideo`, `activity`).
    pub databases: Vec<(String, DbParts)>,
    /// Whether the service binaries have been built (once, for all services).
    pub built: bool,
    /// The Redis URL, once the Redis component has started.
    pub redis_url: Option<String>,
    /// The event producer's base URL, once it has started.
    pub event_producer_url: Option<String>,
    /// The MongoDB URL, once the mongo component has started.
    pub mongo_url: Option<String>,
    /// The directory holding the services' `jwt-secret`, once the auth component has written
    /// it.
    pub secrets_dir: Option<PathBuf>,
    /// Endpoints published so far (written to `endpoints.env`).
    pub endpoints: Vec<Endpoint>,
    /// Lines printed once the stack is up (URLs, curl examples, log files).
    pub notes: Vec<String>,
}

impl Stack {
    /// An empty stack building into `target_dir`.
    pub fn new(target_dir: PathBuf) -> Self {
        Self {
            target_dir,
            databases: Vec::new(),
            built: false,
            redis_url: None,
            event_producer_url: None,
            mongo_url: None,
            secrets_dir: None,
            endpoints: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The database the MySQL component created for `prefix`.
    pub fn database(&self, prefix: &str) -> Result<&DbParts> {
        self.databases
            .iter()
            .find(|(name, _)| name == prefix)
            .map(|(_, parts)| parts)
            .with_context(|| {
                format!(
                    "no `{prefix}` database: the mysql component must start first and create it"
                )
            })
    }

    /// The Redis URL published by the Redis component.
    pub fn redis_url(&self) -> Result<&str> {
        self.redis_url
            .as_deref()
            .context("no Redis: the redis component must start first")
    }

    /// The event producer's base URL.
    pub fn event_producer_url(&self) -> Result<&str> {
        self.event_producer_url
            .as_deref()
            .context("no event producer: the event-producer component must start first")
    }

    /// The MongoDB URL published by the mongo component.
    pub fn mongo_url(&self) -> Result<&str> {
        self.mongo_url
            .as_deref()
            .context("no MongoDB: the mongo component must start first")
    }

    /// The secrets directory (holding `jwt-secret`) written by the auth component.
    pub fn secrets_dir(&self) -> Result<&std::path::Path> {
        self.secrets_dir
            .as_deref()
            .context("no JWT secret: the auth component must start first")
    }

    /// The value of the endpoint `key` published so far (e.g. a token of the auth component).
    pub fn endpoint(&self, key: &str) -> Result<&str> {
        self.endpoints
            .iter()
            .find(|endpoint| endpoint.key == key)
            .map(|endpoint| endpoint.value.as_str())
            .with_context(|| format!("no {key}: the component publishing it must start first"))
    }

    /// Publishes what a component offers: its `endpoints`, then a `headline` and its `details`
    /// (example commands) among the lines printed once the stack is up.
    pub fn publish(
        &mut self,
        endpoints: impl IntoIterator<Item = Endpoint>,
        headline: String,
        details: impl IntoIterator<Item = String>,
    ) {
        self.endpoints.extend(endpoints);
        self.notes.push(headline);
        self.notes.extend(details);
    }

    /// The debug build of the service binary `name`, building every service binary first with one
    /// `cargo build` ([`components::build_cmd`]) the first time a component asks.
    pub fn debug_binary(&mut self, runner: &dyn Runner, name: &str) -> Result<PathBuf> {
        if !self.built {
            runner.run(&components::build_cmd())?;
            self.built = true;
        }
        Ok(paths::binary(&self.target_dir, "debug", name))
    }
}

/// One part of the stack: a backing store or one of our services.
pub trait Component {
    /// Short name, e.g. `mysql`.
    fn name(&self) -> &'static str;

    /// Starts it and adds what it offers to `stack`. Keeps whatever it acquired in `self` as soon
    /// as it has it, so [`Component::stop`] can release it even after a failed or interrupted
    /// start.
    fn start<'a>(
        &'a mut self,
        stack: &'a mut Stack,
        runner: &'a dyn Runner,
    ) -> BoxFuture<'a, Result<()>>;

    /// Called every second while the stack is up: errors if the component died.
    fn check(&mut self) -> Result<()> {
        Ok(())
    }

    /// Stops it, if it was started; returns what was cleaned (`None` if there was nothing).
    fn stop<'a>(&'a mut self, runner: &'a dyn Runner) -> BoxFuture<'a, Result<Option<String>>>;
}

/// How `up` runs.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Port for accountd (default: 5000 if free, else any free port).
    pub accountd_port: Option<u16>,
    /// Stop by itself after this long (smoke tests); `None` waits for Ctrl-C.
    pub exit_after: Option<Duration>,
    /// Skip the bootstrap `up` runs when the engine or an image is missing.
    pub no_bootstrap: bool,
}

/// The stack, in start order.
pub fn components(options: &Options) -> Vec<Box<dyn Component>> {
    let mut stack: Vec<Box<dyn Component>> = vec![
        Box::new(components::MySqlComponent::new(&[
            components::ACCOUNTD_DATABASE,
            components::ACTIVITY_DATABASE,
        ])),
        Box::new(auth::Auth::default()),
        Box::new(ProcessComponent::new(components::Accountd::new(
            options.accountd_port.or(Some(5000)),
        ))),
        Box::new(ProcessComponent::new(components::Activity::new(
            Some(50051),
            Some(9091),
        ))),
        Box::new(events::redis_component()),
        Box::new(ProcessComponent::new(events::EventProducer::new(Some(
            8080,
        )))),
        Box::new(ProcessComponent::new(events::EventConsumer::new(
            1,
            Some(9092),
        ))),
        Box::new(ProcessComponent::new(events::EventConsumer::new(
            2,
            Some(9093),
        ))),
        Box::new(ProcessComponent::new(events::EventSimulator::new(
            events::SIMULATOR_EVENTS_PER_SECOND,
        ))),
    ];
    stack.push(Box::new(cinema::mongo_component()));
    for service in cinema::services() {
        stack.push(Box::new(ProcessComponent::new(service)));
    }
    stack
}

/// Ctrl-C and SIGTERM, taken over from the default handlers, so a stack being started or run
/// is always cleaned up.
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    /// Listens for both.
    pub fn listen() -> Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("listening for Ctrl-C")?,
            terminate: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
        })
    }
}

/// Why the stack is coming down.
enum Stop {
    Signal(&'static str),
    Timer,
}

/// True if `signal` has already fired (without waiting).
async fn fired(signal: &mut Signal) -> bool {
    tokio::select! {
        biased;
        _ = signal.recv() => true,
        _ = std::future::ready(()) => false,
    }
}

/// `cargo xtask up`.
pub async fn up(runner: &dyn Runner, options: &Options) -> Result<()> {
    // Take over SIGINT/SIGTERM first, so an interrupt during start-up still cleans up.
    let mut signals = Signals::listen()?;

    setup::prepare(runner, options.no_bootstrap).await?;
    let target_dir = paths::cargo_target_dir(runner)?;
    let mut stack = Stack::new(target_dir);
    let mut components = components(options);

    let mut outcome = start_all("up", &mut components, &mut stack, runner, &mut signals).await;

    let endpoints_file = endpoints::path();
    if outcome.is_ok() {
        outcome = endpoints::write(&endpoints_file, &stack.endpoints);
    }
    if outcome.is_ok() {
        println!("\nThe stack is up.");
        for note in &stack.notes {
            println!("{note}");
        }
        println!("\nEndpoints in {}:", endpoints_file.display());
        for endpoint in &stack.endpoints {
            println!("  {}={}", endpoint.key, endpoint.value);
        }
        match options.exit_after {
            Some(after) => println!(
                "\nStopping by itself in {} s (--exit-after).",
                after.as_secs()
            ),
            None => println!("\nPress Ctrl-C to stop and clean up."),
        }
        outcome = wait(&mut components, &mut signals, options.exit_after)
            .await
            .map(|stop| match stop {
                Stop::Signal(name) => eprintln!("\nup: {name} received, cleaning up"),
                Stop::Timer => eprintln!("\nup: --exit-after elapsed, cleaning up"),
            });
    }

    let mut cleaned = stop_all(&mut components, runner).await;
    match endpoints::remove(&endpoints_file) {
        Ok(true) => cleaned.push(format!("removed {}", endpoints_file.display())),
        Ok(false) => {}
        Err(error) => cleaned.push(format!("{error:#}")),
    }
    if !cleaned.is_empty() {
        println!("\nCleaned up:");
        for line in &cleaned {
            println!("  {line}");
        }
    }
    outcome
}

/// Starts `components` in order, showing `{label}: starting <name>` for each; stops at the first
/// that fails. A start is never cancelled half-way (that could leak what it was acquiring): a
/// Ctrl-C or SIGTERM is noted at once and acted on when that start returns. Whatever started
/// is left for [`stop_all`].
pub async fn start_all(
    label: &str,
    components: &mut [Box<dyn Component>],
    stack: &mut Stack,
    runner: &dyn Runner,
    signals: &mut Signals,
) -> Result<()> {
    let Signals {
        interrupt,
        terminate,
    } = signals;
    let mut interrupted: Option<&'static str> = None;
    for component in components.iter_mut() {
        let name = component.name();
        let progress = Progress::start(format!("{label}: starting {name}"));
        let start = component.start(stack, runner);
        tokio::pin!(start);
        let started = loop {
            tokio::select! {
                result = &mut start => break result,
                _ = interrupt.recv(), if interrupted.is_none() => {
                    interrupted = Some("Ctrl-C");
                    progress.println(&format!("{label}: Ctrl-C received; cleaning up once {name} has started"));
                }
                _ = terminate.recv(), if interrupted.is_none() => {
                    interrupted = Some("SIGTERM");
                    progress.println(&format!("{label}: SIGTERM received; cleaning up once {name} has started"));
                }
            }
        };
        progress.finish(started.is_ok());
        started.with_context(|| format!("starting {name}"))?;
        if interrupted.is_none() && (fired(interrupt).await || fired(terminate).await) {
            interrupted = Some("a signal");
        }
        if let Some(signal) = interrupted {
            return Err(anyhow!("interrupted by {signal} while starting"));
        }
    }
    Ok(())
}

/// Stops `components` in reverse order; returns what each cleaned (or why it could not).
pub async fn stop_all(components: &mut [Box<dyn Component>], runner: &dyn Runner) -> Vec<String> {
    let mut cleaned = Vec::new();
    for component in components.iter_mut().rev() {
        match component.stop(runner).await {
            Ok(Some(line)) => cleaned.push(line),
            Ok(None) => {}
            Err(error) => cleaned.push(format!("{}: clean-up failed: {error:#}", component.name())),
        }
    }
    cleaned
}

/// Waits for Ctrl-C, SIGTERM or the timer; errors if a component dies meanwhile.
async fn wait(
    components: &mut [Box<dyn Component>],
    signals: &mut Signals,
    exit_after: Option<Duration>,
) -> Result<Stop> {
    let Signals {
        interrupt,
        terminate,
    } = signals;
    let timer = async {
        match exit_after {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(timer);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = interrupt.recv() => return Ok(Stop::Signal("Ctrl-C")),
            _ = terminate.recv() => return Ok(Stop::Signal("SIGTERM")),
            _ = &mut timer => return Ok(Stop::Timer),
            _ = tick.tick() => {
                for component in components.iter_mut() {
                    component
                        .check()
                        .with_context(|| format!("{} stopped unexpectedly", component.name()))?;
                }
            }
        }
    }
}
