//! The Grafana dashboards of the Helm chart (`helm/mockvideo/dashboards/*.json`) query only
//! metrics the services really export: every metric name in every panel's PromQL is looked up
//! in the `/metrics` pages of the services, started in-process against the harness's backing
//! services (MySQL, Redis, MongoDB) after a few requests that make their counters and
//! histograms appear. A dashboard querying a metric nobody exports fails this test, naming the
//! dashboard, the panel and the metric. Needs a provider (`cargo xtask bootstrap` sets up Docker).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use harness::backing::{
    mongo::Mongo,
    mysql::MySql,
    redis::Redis,
    wait::{wait_until, Attempt},
};
use harness::launch::{self, RunningService};
use serde_json::Value;

/// PromQL words that are not metric names (aggregations may be followed by `by (…)` rather
/// than `(`).
const KEYWORDS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
];

fn dashboards_dir() -> PathBuf {
    harness::backing::workspace::manifest_dir(env!("CARGO_MANIFEST_DIR"))
        .join("../helm/mockvideo/dashboards")
}

/// `(dashboard file, panel title, expr)` of every query of every dashboard (rows included).
fn queries() -> Vec<(String, String, String)> {
    fn walk(file: &str, title: &str, value: &Value, out: &mut Vec<(String, String, String)>) {
        match value {
            Value::Object(map) => {
                let title = map.get("title").and_then(Value::as_str).unwrap_or(title);
                if let Some(expr) = map.get("expr").and_then(Value::as_str) {
                    out.push((file.to_owned(), title.to_owned(), expr.to_owned()));
                }
                for child in map.values() {
                    walk(file, title, child, out);
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(file, title, item, out);
                }
            }
            _ => {}
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dashboards_dir())
        .expect("helm/mockvideo/dashboards exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no dashboards under {:?}",
        dashboards_dir()
    );
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("a readable dashboard");
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{}: not JSON: {error}", path.display()));
        let file = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let before = out.len();
        walk(&file, "", &json, &mut out);
        assert!(out.len() > before, "{file} has no queries");
    }
    out
}

/// The metric names a PromQL expression selects: identifiers outside strings, label matchers
/// (`{…}`), range selectors (`[…]`) and `by`/`without` lists, that are not function calls or
/// keywords.
fn metric_names(expr: &str) -> BTreeSet<String> {
    // Blank out strings, {…} and […].
    let mut plain = String::with_capacity(expr.len());
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for c in expr.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth = depth.saturating_sub(1),
            (None, c) if depth == 0 => plain.push(c),
            _ => {}
        }
        if quote.is_some() || depth > 0 {
            plain.push(' ');
        }
    }
    let chars: Vec<char> = plain.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut after_grouping = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            let lower = word.to_ascii_lowercase();
            if lower == "by" || lower == "without" {
                after_grouping = true;
                continue;
            }
            if next == Some(&'(') || KEYWORDS.contains(&lower.as_str()) {
                continue;
            }
            names.insert(word);
        } else {
            if c == '(' && after_grouping {
                // Skip the label list.
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
                after_grouping = false;
            } else if c.is_ascii_digit() {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
                continue;
            }
            i += 1;
        }
    }
    names
}

/// Metric names present in a Prometheus text page (samples, not just `# HELP`).
fn exported_names(page: &str) -> BTreeSet<String> {
    page.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn promql_names_are_extracted() {
    let names = metric_names(
        "histogram_quantile(0.95, sum by (le, service) (rate(http_request_duration_seconds_bucket{status=~\"5..\", route=\"/x\"}[5m]))) / min(events_redis_connected) + 1e3",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        [
            "events_redis_connected",
            "http_request_duration_seconds_bucket"
        ]
    );
    assert_eq!(
        exported_names("# HELP a_total x\na_total{k=\"v\"} 1\nb 2\n")
            .into_iter()
            .collect::<Vec<_>>(),
        ["a_total", "b"]
    );
}

async fn get(client: &reqwest::Client, url: &str) -> String {
    let response = client.get(url).send().await.expect("GET answered");
    response.text().await.expect("a body")
}

/// POSTs `body`; returns whether the answer was a success (2xx).
async fn post(client: &reqwest::Client, url: &str, body: &str) -> bool {
    client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap_or_else(|error| panic!("POST {url}: {error}"))
        .status()
        .is_success()
}

/// Starts every service, exercises it, and returns the union of their `/metrics` pages' names.
async fn scrape_running_services() -> BTreeSet<String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client");
    let mysql = MySql::shared().await.expect("a MySQL server");
    let redis = Redis::shared().await.expect("a Redis server");
    let mongo = Mongo::shared().await.expect("a MongoDB server");

    let accountd_db = mysql
        .create_database("dashboards")
        .await
        .expect("a database");
    let activity_db = mysql
        .create_database("dashboards")
        .await
        .expect("a database");
    let stream = redis.unique_prefix("dashboards");
    let cinema_db = mongo.unique_database("dashboards");

    let mut services: Vec<RunningService> = vec![
        launch::accountd::start(&accountd_db, true)
            .await
            .expect("accountd starts"),
        launch::activity::start(&activity_db)
            .await
            .expect("activity-server starts"),
        launch::events::start_producer(launch::events::producer_settings(redis.url(), &stream))
            .await
            .expect("event-producer starts"),
        launch::events::start_consumer(launch::events::consumer_settings(
            redis.url(),
            &stream,
            "dashboards",
            "dashboards-1",
        ))
        .await
        .expect("event-consumer starts"),
    ];
    services.extend(
        launch::cinema::start_all(|_| launch::cinema::settings_for(mongo.url(), &cinema_db))
            .await
            .expect("the cinema services start"),
    );
    let url_of = |name: &str| {
        services
            .iter()
            .find(|service| service.name() == name)
            .map(RunningService::base_url)
            .unwrap_or_else(|| panic!("{name} is running"))
    };

    // Traffic that makes every counter and histogram appear.
    let accountd = url_of("accountd");
    let user =
        r#"{"accountid":1,"name":"Dash","email":"dash@example.com","role":1,"password":"pw"}"#;
    assert!(post(&client, &format!("{accountd}/users"), user).await);
    get(&client, &format!("{accountd}/users")).await;
    let activity_port = services
        .iter()
        .find(|service| service.name() == "activity-server")
        .map(|service| service.addr().port())
        .expect("activity-server is running");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = activity::client::main_with(
        [
            "activity-client".to_owned(),
            "--port".to_owned(),
            activity_port.to_string(),
            "--add".to_owned(),
            r#"{"id":1,"deployment_id":1,"message":"dashboards"}"#.to_owned(),
        ],
        &mut out,
        &mut err,
    )
    .await;
    assert_eq!(
        code,
        0,
        "activity-client: {}",
        String::from_utf8_lossy(&err)
    );
    let producer = url_of("event-producer");
    for n in 0..3 {
        let body = format!(r#"{{"description":"dashboards {n}"}}"#);
        assert!(post(&client, &format!("{producer}/event"), &body).await);
    }
    // Refused (a bare string): events_rejected_total.
    assert!(!post(&client, &format!("{producer}/event"), "\"hello\"").await);
    let movies = url_of("movies");
    let movie = r#"{"data":{"title":"Dashboards","director":"Grafana","rating":"7.0"}}"#;
    assert!(post(&client, &format!("{movies}/movies"), movie).await);
    get(&client, &format!("{movies}/movies")).await;

    // The consumer works asynchronously: wait (bounded) for its counter.
    let consumer_metrics = services
        .iter()
        .find(|service| service.name() == "event-consumer")
        .and_then(RunningService::admin_url)
        .map(|admin| format!("{admin}/metrics"))
        .expect("event-consumer has an admin URL");
    let (http, metrics) = (&client, &consumer_metrics);
    wait_until(
        "events_consumed_total in event-consumer's /metrics",
        Duration::from_secs(20),
        Duration::from_millis(200),
        || async move {
            if get(http, metrics).await.contains("events_consumed_total") {
                Attempt::Ready(())
            } else {
                Attempt::Pending("event-consumer consumed nothing yet".to_owned())
            }
        },
    )
    .await
    .expect("event-consumer consumes");

    let mut exported = BTreeSet::new();
    for service in &services {
        let base = service.admin_url().unwrap_or_else(|| service.base_url());
        exported.extend(exported_names(
            &get(&client, &format!("{base}/metrics")).await,
        ));
    }
    for service in services {
        service.stop().await.expect("a clean stop");
    }
    exported
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_dashboard_metric_is_exported() {
    let wanted: BTreeMap<String, Vec<String>> =
        queries()
            .into_iter()
            .fold(BTreeMap::new(), |mut wanted, (file, panel, expr)| {
                let names = metric_names(&expr);
                assert!(
                    !names.is_empty(),
                    "{file}: {panel:?}: no metric in {expr:?}"
                );
                for name in names {
                    wanted
                        .entry(name)
                        .or_default()
                        .push(format!("{file}: {panel:?}"));
                }
                wanted
            });
    let exported = scrape_running_services().await;
    let missing: Vec<String> = wanted
        .iter()
        .filter(|(name, _)| !exported.contains(*name))
        .map(|(name, panels)| format!("{name} (queried by {})", panels.join(", ")))
        .collect();
    assert!(
        missing.is_empty(),
        "dashboards query metrics no service exports:\n  {}\nexported: {:?}",
        missing.join("\n  "),
        exported
    );
    eprintln!(
        "dashboards: {} metric names queried, all exported ({} exported in all)",
        wanted.len(),
        exported.len()
    );
}
