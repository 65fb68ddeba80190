//! What one Schemathesis run found, read back from the reports it wrote: the JSON run report
//! (operations, generated examples, failures grouped by check, errors) and the JUnit report
//! (each failure's reproducing `curl`).

use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Deserialize;

use crate::summary::Table;

/// One service's fuzzing outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceReport {
    /// The service.
    pub service: String,
    /// Operations in its document.
    pub operations: u64,
    /// Operations tested.
    pub tested: u64,
    /// Test cases generated (examples sent).
    pub examples: u64,
    /// Failures by Schemathesis code and title (`ST101 Server error`, …), with how many test
    /// cases each.
    pub failures: Vec<(String, u64)>,
    /// Errors (the run itself went wrong: unreachable service, bad document), with counts.
    pub errors: Vec<(String, u64)>,
    /// Whether Schemathesis finished by itself (not interrupted, not a fatal error).
    pub complete: bool,
    /// The reproducing `curl` of each failure, from the JUnit report.
    pub reproductions: Vec<String>,
}

impl ServiceReport {
    /// No failure, no error, and the run finished.
    pub fn passed(&self) -> bool {
        self.complete && self.failures.is_empty() && self.errors.is_empty()
    }

    /// Failing test cases over all checks.
    pub fn failure_count(&self) -> u64 {
        self.failures.iter().map(|(_, count)| count).sum()
    }
}

/// The parts of Schemathesis's JSON run report used here.
#[derive(Debug, Deserialize)]
struct RunReport {
    complete: bool,
    operations: Option<Operations>,
    test_cases: TestCases,
    failures: Vec<Group>,
    errors: Vec<ErrorGroup>,
}

#[derive(Debug, Deserialize)]
struct Operations {
    total: u64,
    tested: u64,
}

#[derive(Debug, Deserialize)]
struct TestCases {
    generated: u64,
}

#[derive(Debug, Deserialize)]
struct Group {
    code: String,
    title: String,
    count: u64,
}

#[derive(Debug, Deserialize)]
struct ErrorGroup {
    title: String,
    count: u64,
}

/// Reads `service`'s run from its JSON report and its JUnit report.
pub fn read(service: &str, json: &Path, junit: &Path) -> Result<ServiceReport> {
    let text = std::fs::read_to_string(json).with_context(|| {
        format!(
            "reading {} (Schemathesis wrote no run report; its output above says why)",
            json.display()
        )
    })?;
    let mut report = parse(service, &text)
        .with_context(|| format!("parsing Schemathesis's report {}", json.display()))?;
    if let Ok(xml) = std::fs::read_to_string(junit) {
        report.reproductions = curls(&xml);
    }
    Ok(report)
}

/// Parses a JSON run report.
pub fn parse(service: &str, json: &str) -> Result<ServiceReport> {
    let run: RunReport = serde_json::from_str(json)?;
    let mut failures: Vec<(String, u64)> = Vec::new();
    for group in run.failures {
        let check = format!("{} {}", group.code, group.title);
        match failures.iter_mut().find(|(known, _)| *known == check) {
            Some((_, count)) => *count += group.count,
            None => failures.push((check, group.count)),
        }
    }
    let operations = run.operations.unwrap_or(Operations {
        total: 0,
        tested: 0,
    });
    Ok(ServiceReport {
        service: service.to_owned(),
        operations: operations.total,
        tested: operations.tested,
        examples: run.test_cases.generated,
        failures,
        errors: run
            .errors
            .into_iter()
            .map(|error| (error.title, error.count))
            .collect(),
        complete: run.complete,
        reproductions: Vec::new(),
    })
}

/// The distinct `curl …` lines of a JUnit report's failure messages, unescaped.
pub fn curls(xml: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in xml.lines() {
        let Some(start) = line.find("curl -X") else {
            continue;
        };
        let curl = unescape(line[start..].trim_end().trim_end_matches("</failure>"));
        if !found.contains(&curl) {
            found.push(curl);
        }
    }
    found
}

/// Undoes XML's five entity escapes.
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#10;", "\n")
        .replace("&amp;", "&")
}

/// One line for the `ci` summary: examples and failures per service.
pub fn note(reports: &[ServiceReport]) -> String {
    let parts: Vec<String> = reports
        .iter()
        .map(|report| {
            format!(
                "{} {} ops {} examples {} failures",
                report.service,
                report.tested,
                report.examples,
                report.failure_count()
            )
        })
        .collect();
    parts.join("; ")
}

/// The per-service table: operations, examples, failures by check.
pub fn table(reports: &[ServiceReport]) -> Table {
    let mut table = Table::new([
        "service",
        "operations",
        "examples",
        "failures",
        "by check",
        "status",
    ]);
    for report in reports {
        let by_check: Vec<String> = report
            .failures
            .iter()
            .map(|(check, count)| format!("{check} {count}"))
            .chain(
                report
                    .errors
                    .iter()
                    .map(|(title, count)| format!("error: {title} {count}")),
            )
            .collect();
        table.row([
            report.service.clone(),
            format!("{}/{}", report.tested, report.operations),
            report.examples.to_string(),
            report.failure_count().to_string(),
            if by_check.is_empty() {
                "-".to_owned()
            } else {
                by_check.join(", ")
            },
            if report.passed() { "ok" } else { "FAILED" }.to_owned(),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = r#"{
      "schemathesis_version": "4.32.5", "complete": true, "exit_code": 1,
      "operations": {"total": 18, "selected": 18, "tested": 17, "errored": 0, "skipped": 1,
                     "skip_reasons": []},
      "test_cases": {"generated": 1234, "with_failures": 3, "unique_failures": 3,
                     "without_checks": 0, "errored": 0},
      "failures": [
        {"type": "ServerError", "code": "ST101", "title": "Server error",
         "severity": "critical", "count": 2, "operations": ["GET /movies/{id}"]},
        {"type": "ServerError", "code": "ST101", "title": "Server error",
         "severity": "critical", "count": 1, "operations": ["POST /movies"]},
        {"type": "AcceptedNegativeData", "code": "ST201",
         "title": "Schema-violating request accepted",
         "severity": "medium", "count": 4, "operations": ["POST /movies"]}
      ],
      "errors": []
    }"#;

    #[test]
    fn failures_add_up_by_check_and_fail_the_service() {
        let report = parse("movies", RUN).unwrap();
        assert_eq!((report.operations, report.tested), (18, 17));
        assert_eq!(report.examples, 1234);
        assert_eq!(
            report.failures,
            vec![
                ("ST101 Server error".to_owned(), 3),
                ("ST201 Schema-violating request accepted".to_owned(), 4)
            ]
        );
        assert_eq!(report.failure_count(), 7);
        assert!(!report.passed());
        let table = table(&[report]).to_string();
        assert!(table.contains("17/18"), "{table}");
        assert!(table.contains("ST101 Server error 3"), "{table}");
        assert!(table.contains("FAILED"), "{table}");
    }

    #[test]
    fn a_clean_complete_run_passes_and_an_incomplete_one_does_not() {
        let clean = RUN.replace(
            &RUN[RUN.find("\"failures\"").unwrap()..RUN.find("\"errors\"").unwrap()],
            "\"failures\": [], ",
        );
        assert!(parse("movies", &clean).unwrap().passed());
        let interrupted = clean.replace("\"complete\": true", "\"complete\": false");
        assert!(!parse("movies", &interrupted).unwrap().passed());
    }

    #[test]
    fn reproducing_curls_are_unescaped_and_listed_once() {
        let xml = "<failure message=\"x\">1. Server error\n\n    Reproduce with: \n\n    \
                   curl -X POST -H &apos;Content-Type: application/json&apos; -d &apos;{&quot;a&quot;: 1}&apos; \
                   http://127.0.0.1:1/movies</failure>\n    curl -X POST -H &apos;Content-Type: application/json&apos; \
                   -d &apos;{&quot;a&quot;: 1}&apos; http://127.0.0.1:1/movies\n</failure>";
        assert_eq!(
            curls(xml),
            vec![
                "curl -X POST -H 'Content-Type: application/json' -d '{\"a\": 1}' \
                 http://127.0.0.1:1/movies"
                    .to_owned()
            ]
        );
    }
}
