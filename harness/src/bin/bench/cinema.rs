//! `bench cinema`: the cinema services over MongoDB.
//!
//! Against one MongoDB-wire server (`BENCH_MONGODB_URL`, else one provisioned by the harness), in
//! a fresh database loaded with the seed data of contract §3.3, with the four services (movies,
//! showtimes, bookings, users) started in this process and ready (`/healthy` answers 200), one
//! target after the other at the same concurrency for the same time:
//!
//! 1. `GET /movies/{id}` of the seeded movie Zootopia through the movies service;
//! 2. `GET /users/{id}/suggestions` of the seeded user Cristina through the users service, which
//!    calls the other three over HTTP;
//! 3. the movies service's `find_one({"_id": ObjectId(..)})` on `movies`, sent straight to the
//!    database with the `mongodb` driver: the ceiling.
//!
//! Prints the table and the ratio of the `GET /movies/{id}` rate to the `find_one` rate. Anything
//! but a 2xx is an error; the run fails after printing when any target had errors. The database
//! is dropped and the services stopped whatever happened.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use cinema::movies::Movie;
use cinema::seed::{MOVIE_ZOOTOPIA, USER_CRISTINA};
use clap::Args;
use harness::backing::mongo::Mongo;
use harness::backing::wait::{wait_until, Attempt};
use harness::launch::{self, RunningService};
use harness::load::{self, LoadReport, LoadSpec};
use mongodb::bson::{doc, oid::ObjectId};
use mongodb::options::ClientOptions;

use crate::{load_row, table, LoadArgs, LOAD_HEADER};

/// Longest wait for every service's `/healthy` to answer 200.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How often `/healthy` is polled.
const READY_POLL: Duration = Duration::from_millis(100);

/// Longest wait for the database drop at the end.
const DROP_TIMEOUT: Duration = Duration::from_secs(30);

/// HTTP through the cinema services vs the same `find_one` straight to MongoDB.
#[derive(Debug, Args)]
pub struct CinemaArgs {
    /// MongoDB to use (the run works in a fresh `bench_cinema_<time>` database, dropped at the
    /// end); without it the harness provisions one (MONGODB_URL, a container or a local server)
    /// and removes it afterwards.
    #[arg(
        long,
        env = "BENCH_MONGODB_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    mongodb_url: Option<String>,

    #[command(flatten)]
    load: LoadArgs,
}

/// The three targets' reports.
struct Reports {
    movie: LoadReport,
    suggestions: LoadReport,
    find_one: LoadReport,
}

/// Runs the benchmark and prints the table.
pub async fn run(args: &CinemaArgs) -> Result<()> {
    let provisioned = match &args.mongodb_url {
        Some(_) => None,
        None => Some(Mongo::start().await.context("provisioning MongoDB")?),
    };
    let url = match (&args.mongodb_url, &provisioned) {
        (Some(url), _) => url.clone(),
        (None, Some(mongo)) => mongo.url().to_string(),
        (None, None) => bail!("no MongoDB"),
    };
    let database = database_name(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default(),
    );
    // The driver's default pool (at most 10 connections), as each service has: the same
    // client the movies service looks the document up with.
    let options = ClientOptions::parse(&url)
        .await
        .context("parsing the MongoDB URL")?;
    let client = mongodb::Client::with_options(options).context("creating the MongoDB client")?;

    let mut services = Vec::new();
    let outcome = measure(args, &url, &database, &client, &mut services).await;

    // Clean up whatever happened: services, the database, the server if it is ours.
    for service in services {
        let name = service.name();
        if let Err(error) = service.stop().await {
            eprintln!("bench: stopping {name}: {error:#}");
        }
    }
    match tokio::time::timeout(DROP_TIMEOUT, client.database(&database).drop()).await {
        Ok(Ok(())) => eprintln!("bench: dropped database {database}"),
        Ok(Err(error)) => eprintln!("bench: dropping database {database}: {error}"),
        Err(_) => eprintln!("bench: dropping database {database} timed out"),
    }
    client.shutdown().await;
    if let Some(mongo) = provisioned {
        mongo.stop().await.context("stopping MongoDB")?;
    }
    outcome
}

/// `bench_cinema_<millis>`: a database of this run only.
fn database_name(millis: u128) -> String {
    format!("bench_cinema_{millis}")
}

/// Loads the seed, starts the services (kept in `services` for the caller to stop), waits until
/// they are ready, runs the three targets and prints the table.
async fn measure(
    args: &CinemaArgs,
    url: &str,
    database: &str,
    client: &mongodb::Client,
    services: &mut Vec<RunningService>,
) -> Result<()> {
    let spec = args.load.spec();
    eprintln!("bench: loading the seed data into {database} …");
    launch::cinema::load_seed(url, database).await?;
    let started = launch::cinema::start_all(|_service| launch::cinema::settings_for(url, database))
        .await
        .context("starting the cinema services")?;
    services.extend(started);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(spec.concurrency)
        .timeout(spec.op_timeout)
        .build()
        .context("building the HTTP client")?;
    for service in services.iter() {
        wait_healthy(&http, service).await?;
    }
    let base_of = |name: &str| {
        services
            .iter()
            .find(|service| service.name() == name)
            .map(RunningService::base_url)
            .ok_or_else(|| anyhow!("the {name} service did not start"))
    };
    let movie_url = movie_url(&base_of("movies")?);
    let suggestions_url = suggestions_url(&base_of("users")?);
    eprintln!(
        "bench: {} workers, {} s warm-up + {} s measured per target",
        spec.concurrency, args.load.warmup, args.load.duration
    );

    let movie = bench_get(&http, &movie_url, spec.clone()).await?;
    eprintln!("bench: movies      {movie}");
    let suggestions = bench_get(&http, &suggestions_url, spec.clone()).await?;
    eprintln!("bench: suggestions {suggestions}");
    let find_one = bench_find_one(client, database, spec).await?;
    eprintln!("bench: find_one    {find_one}");

    let reports = Reports {
        movie,
        suggestions,
        find_one,
    };
    println!();
    print!("{}", render(&reports));
    println!("\n{}", ratio_line(&reports.movie, &reports.find_one));
    for (target, report) in [
        ("GET /movies/{id}", &reports.movie),
        ("GET /users/{id}/suggestions", &reports.suggestions),
        ("find_one", &reports.find_one),
    ] {
        if let Some(error) = &report.first_error {
            eprintln!("bench: {target}: first error: {error}");
        }
    }
    if [&reports.movie, &reports.suggestions, &reports.find_one]
        .iter()
        .any(|report| report.errors > 0)
    {
        bail!("some requests failed (see the errors column)");
    }
    Ok(())
}

/// `{movies}/movies/<Zootopia>`.
fn movie_url(movies_base: &str) -> String {
    format!("{movies_base}/movies/{MOVIE_ZOOTOPIA}")
}

/// `{users}/users/<Cristina>/suggestions`.
fn suggestions_url(users_base: &str) -> String {
    format!("{users_base}/users/{USER_CRISTINA}/suggestions")
}

/// Polls `GET {service}/healthy` until it answers 200, at most [`READY_TIMEOUT`].
async fn wait_healthy(http: &reqwest::Client, service: &RunningService) -> Result<()> {
    let url = format!("{}/healthy", service.base_url());
    let started = Instant::now();
    let what = format!("{} service answering GET {url}", service.name());
    wait_until(&what, READY_TIMEOUT, READY_POLL, || async {
        match http.get(&url).timeout(Duration::from_secs(2)).send().await {
            Ok(response) if response.status().is_success() => Attempt::Ready(()),
            Ok(response) => Attempt::Pending(format!("HTTP {}", response.status())),
            Err(error) => Attempt::Pending(error.to_string()),
        }
    })
    .await?;
    eprintln!(
        "bench: {} ready at {} after {:.1} s",
        service.name(),
        service.base_url(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `GET url` in a closed loop; anything but a 2xx is an error.
async fn bench_get(http: &reqwest::Client, url: &str, spec: LoadSpec) -> Result<LoadReport> {
    // Say early what is wrong with the target, but measure anyway: its row then shows errors.
    match http.get(url).send().await {
        Ok(probe) if probe.status().is_success() => {}
        Ok(probe) => eprintln!("bench: warning: GET {url} answered {}", probe.status()),
        Err(error) => eprintln!("bench: warning: GET {url}: {error}"),
    }
    eprintln!("bench: GET {url} …");
    let client = http.clone();
    let url = url.to_string();
    crate::load_get(client, url, spec).await
}

/// The movies service's lookup, `find_one({"_id": ObjectId(Zootopia)})` on `movies` into a
/// typed [`Movie`], in a closed loop over the shared client; a missing document is an error.
async fn bench_find_one(
    client: &mongodb::Client,
    database: &str,
    spec: LoadSpec,
) -> Result<LoadReport> {
    let id = ObjectId::parse_str(MOVIE_ZOOTOPIA).context("parsing the seeded movie id")?;
    let movies = client.database(database).collection::<Movie>("movies");
    let found = movies
        .find_one(doc! {"_id": id})
        .await
        .context("running the find_one once")?;
    if found.is_none() {
        bail!("no movie {MOVIE_ZOOTOPIA} in {database}; the seed did not load");
    }
    eprintln!("bench: find_one {{\"_id\": ObjectId(\"{MOVIE_ZOOTOPIA}\")}} on {database}.movies …");
    let report = load::run(spec, move || {
        let movies = movies.clone();
        async move {
            match movies.find_one(doc! {"_id": id}).await? {
                Some(_) => Ok(()),
                None => Err(anyhow!("movie {id} not found")),
            }
        }
    })
    .await?;
    Ok(report)
}

/// The table, one row per target.
fn render(reports: &Reports) -> String {
    table::render(
        &LOAD_HEADER,
        &[
            load_row("GET /movies/{id}", &reports.movie),
            load_row("GET /users/{id}/suggestions", &reports.suggestions),
            load_row("MongoDB find_one by _id", &reports.find_one),
        ],
    )
}

/// `GET /movies/{id}` rate divided by the `find_one` rate.
fn ratio(movie: &LoadReport, find_one: &LoadReport) -> Option<f64> {
    (find_one.rps > 0.0).then(|| movie.rps / find_one.rps)
}

/// The line under the table.
fn ratio_line(movie: &LoadReport, find_one: &LoadReport) -> String {
    match ratio(movie, find_one) {
        Some(ratio) => format!(
            "GET /movies/{{id}} / find_one rate: {ratio:.2} (over HTTP, {:.0}% of the lookups \
             MongoDB alone answers)",
            ratio * 100.0
        ),
        None => "GET /movies/{id} / find_one rate: n/a (find_one completed no request)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::report;

    #[test]
    fn table_has_one_row_per_target_and_the_ratio() {
        let reports = Reports {
            movie: report(30_000, 3_000.0),
            suggestions: report(5_000, 500.0),
            find_one: report(120_000, 12_000.0),
        };
        assert_eq!(
            render(&reports),
            "\
target                       requests  req/s    p50     p99  errors
---------------------------  --------  -----  -----  ------  ------
GET /movies/{id}                30000   3000  900µs  5.00ms       0
GET /users/{id}/suggestions      5000    500  900µs  5.00ms       0
MongoDB find_one by _id        120000  12000  900µs  5.00ms       0
"
        );
        assert_eq!(
            ratio_line(&reports.movie, &reports.find_one),
            "GET /movies/{id} / find_one rate: 0.25 (over HTTP, 25% of the lookups MongoDB \
             alone answers)"
        );
    }

    #[test]
    fn ratio_needs_a_find_one_rate() {
        assert_eq!(ratio(&report(1, 1.0), &report(0, 0.0)), None);
        assert!(ratio_line(&report(1, 1.0), &report(0, 0.0))
            .ends_with("n/a (find_one completed no request)"));
    }

    #[test]
    fn targets_are_the_seeded_movie_and_user() {
        assert_eq!(
            movie_url("http://127.0.0.1:4000"),
            "http://127.0.0.1:4000/movies/57b37b7c377dd100054f9f92"
        );
        assert_eq!(
            suggestions_url("http://127.0.0.1:4003"),
            "http://127.0.0.1:4003/users/57a98d98e4b00679b4a830b5/suggestions"
        );
        assert_eq!(database_name(1234), "bench_cinema_1234");
    }

    #[test]
    fn args_parse_with_defaults_and_the_url_is_optional() {
        let cli = crate::parse(&["cinema", "-c", "8", "-d", "3", "-w", "0"]).unwrap();
        let crate::Mode::Cinema(args) = cli.mode else {
            panic!("expected cinema")
        };
        let spec = args.load.spec();
        assert_eq!(spec.concurrency, 8);
        assert_eq!(spec.duration, Duration::from_secs(3));
        assert_eq!(spec.warmup, Duration::ZERO);
        let cli = crate::parse(&["cinema", "--mongodb-url", "mongodb://h/"]).unwrap();
        let crate::Mode::Cinema(args) = cli.mode else {
            panic!("expected cinema")
        };
        assert_eq!(args.mongodb_url.as_deref(), Some("mongodb://h/"));
    }
}
