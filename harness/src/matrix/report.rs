//! The matrix report: a run's cell log read back ([`read`]), printed as a table ([`table`]) and
//! written as JSON and JUnit under `target/chaos/` ([`finish`]): `<target>.json` (every cell
//! with its measurements, and which cells of the matrix did not run) and `<target>.xml` (one
//! test case per cell, classname = service, name = fault).

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;
use serde::Serialize;

use super::{chaos_dir, Fault, Record, Service};

/// Reads the cell log at `path` (a missing log is an empty run).
pub fn read(path: &Path) -> anyhow::Result<Vec<Record>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    };
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).with_context(|| format!("a line of {}", path.display()))
        })
        .collect()
}

/// The report as JSON.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    target: &'a str,
    passed: usize,
    failed: usize,
    /// Cells of the matrix this run did not reach (`service × fault`).
    not_run: Vec<String>,
    cells: &'a [Record],
}

/// The cells in the report's order: by service, then fault (a cell that ran twice keeps both).
fn sorted(records: &[Record]) -> Vec<Record> {
    let mut records = records.to_vec();
    records.sort_by_key(|record| (record.service, record.fault));
    records
}

/// `1.25 s`, `850 ms`, or `-`.
fn seconds(value: Option<Duration>) -> String {
    match value {
        None => "-".to_owned(),
        Some(value) if value < Duration::from_secs(1) => format!("{} ms", value.as_millis()),
        Some(value) => format!("{:.2} s", value.as_secs_f64()),
    }
}

/// `503×3 429×10`, or `-`.
fn classes(errors: &BTreeMap<String, u64>) -> String {
    if errors.is_empty() {
        return "-".to_owned();
    }
    errors
        .iter()
        .map(|(class, count)| format!("{class}×{count}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn count(value: Option<u64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| value.to_string())
}

/// The matrix as a table for a terminal: one line per cell (result, time to detect, time to
/// recover, p99 during the fault, errors by class, lost, applied twice), each cell's notes
/// under it, and the cells of the matrix that did not run.
pub fn table(target: &str, records: &[Record]) -> String {
    let header = [
        "service", "fault", "result", "detect", "recover", "p99", "errors", "lost", "twice",
    ];
    let records = sorted(records);
    let rows: Vec<(Vec<String>, &Record)> = records
        .iter()
        .map(|record| {
            let row = vec![
                record.service.to_string(),
                record.fault.to_string(),
                if record.passed { "pass" } else { "FAIL" }.to_owned(),
                seconds(record.measured.detect),
                seconds(record.measured.recover),
                seconds(record.measured.p99),
                classes(&record.measured.errors),
                count(record.measured.lost),
                count(record.measured.twice),
            ];
            (row, record)
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for (row, _) in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (cell, width) in cells.iter().zip(&widths) {
            let _ = write!(out, "{cell:<width$}  ");
        }
        out.trim_end().to_owned()
    };
    let passed = records.iter().filter(|record| record.passed).count();
    let mut out = format!(
        "fault matrix ({target}): {passed} of {} cells passed\n",
        records.len()
    );
    let _ = writeln!(out, "{}", line(&header.map(str::to_owned)));
    for (row, record) in &rows {
        let _ = writeln!(out, "{}", line(row));
        for note in &record.measured.notes {
            let _ = writeln!(out, "      {note}");
        }
        if let Some(failure) = &record.failure {
            let first = failure.lines().next().unwrap_or_default();
            let _ = writeln!(out, "      failed: {first}");
        }
    }
    let missing = not_run(target, &records);
    if !missing.is_empty() {
        let _ = writeln!(out, "not run: {}", missing.join(", "));
    }
    out
}

/// The target that runs every cell; the cluster runs the cells that make sense there.
pub const FULL_TARGET: &str = "docker";

/// The cells of the full matrix without a record, on [`FULL_TARGET`] (none elsewhere).
fn not_run(target: &str, records: &[Record]) -> Vec<String> {
    if target != FULL_TARGET {
        return Vec::new();
    }
    Service::ALL
        .iter()
        .flat_map(|service| Fault::ALL.iter().map(move |fault| (*service, *fault)))
        .filter(|(service, fault)| {
            !records
                .iter()
                .any(|record| record.service == *service && record.fault == *fault)
        })
        .map(|(service, fault)| format!("{service} × {fault}"))
        .collect()
}

/// The JUnit XML of the cells: one suite per service, one case per cell.
pub fn junit(target: &str, records: &[Record]) -> anyhow::Result<Vec<u8>> {
    let mut report = junit_report::ReportBuilder::new();
    for service in Service::ALL {
        let cells: Vec<&Record> = records
            .iter()
            .filter(|record| record.service == service)
            .collect();
        if cells.is_empty() {
            continue;
        }
        let mut suite = junit_report::TestSuiteBuilder::new(&format!("{target}.{service}"));
        for record in cells {
            let took = junit_report::Duration::seconds_f64(record.took.as_secs_f64());
            let name = record.fault.key();
            let mut case = if record.passed {
                junit_report::TestCaseBuilder::success(name, took)
            } else {
                junit_report::TestCaseBuilder::failure(
                    name,
                    took,
                    "cell failed",
                    record.failure.as_deref().unwrap_or("failed"),
                )
            };
            let measured = serde_json::to_string(&record.measured)
                .context("serializing a cell's measurements")?;
            case.set_classname(service.key())
                .set_system_out(&format!("{}\n{measured}", record.scenario));
            suite.add_testcase(case.build());
        }
        report.add_testsuite(suite.build());
    }
    let mut out = Vec::new();
    report
        .build()
        .write_xml(&mut out)
        .context("writing the JUnit report")?;
    Ok(out)
}

/// Where [`finish`] wrote the reports.
#[derive(Debug)]
pub struct Written {
    /// `target/chaos/<target>.json`.
    pub json: PathBuf,
    /// `target/chaos/<target>.xml`.
    pub junit: PathBuf,
}

/// Reads the cell log of `target`, prints the table (when any cell ran) and writes the JSON and
/// JUnit reports beside the log.
pub fn finish(repo_root: &Path, target: &str) -> anyhow::Result<Option<Written>> {
    let records = read(&super::cell_log(repo_root, target))?;
    if records.is_empty() {
        return Ok(None);
    }
    let records = sorted(&records);
    println!("\n{}", table(target, &records));
    let dir = chaos_dir(repo_root);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let written = Written {
        json: dir.join(format!("{target}.json")),
        junit: dir.join(format!("{target}.xml")),
    };
    let summary = Summary {
        target,
        passed: records.iter().filter(|record| record.passed).count(),
        failed: records.iter().filter(|record| !record.passed).count(),
        not_run: not_run(target, &records),
        cells: &records,
    };
    let json = serde_json::to_vec_pretty(&summary).context("serializing the matrix")?;
    std::fs::write(&written.json, json)
        .with_context(|| format!("writing {}", written.json.display()))?;
    std::fs::write(&written.junit, junit(target, &records)?)
        .with_context(|| format!("writing {}", written.junit.display()))?;
    println!(
        "matrix reports: {} and {}",
        written.json.display(),
        written.junit.display()
    );
    Ok(Some(written))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Measurements;

    fn cell(service: Service, fault: Fault, passed: bool) -> Record {
        let mut measured = Measurements {
            detect: Some(Duration::from_millis(420)),
            recover: Some(Duration::from_millis(1_500)),
            lost: Some(0),
            ..Measurements::default()
        };
        measured.error("503", 2);
        measured.note("RSS peak 41 MiB of 128 MiB");
        Record {
            target: "docker".into(),
            service,
            fault,
            scenario: format!("{service} under {fault}"),
            passed,
            failure: (!passed).then(|| "Step failed: readiness stayed true".to_owned()),
            took: Duration::from_secs(3),
            measured,
        }
    }

    #[test]
    fn the_table_has_a_line_per_cell_and_names_what_did_not_run() {
        let records = [
            cell(Service::Movies, Fault::StoreCut, false),
            cell(Service::Accountd, Fault::StoreSlow, true),
        ];
        let table = table("docker", &records);
        assert!(
            table.starts_with("fault matrix (docker): 1 of 2 cells passed"),
            "{table}"
        );
        let accountd = table.find("accountd").unwrap();
        let movies = table.find("movies ").unwrap();
        assert!(accountd < movies, "sorted by service: {table}");
        assert!(table.contains("420 ms"), "{table}");
        assert!(table.contains("1.50 s"), "{table}");
        assert!(table.contains("503×2"), "{table}");
        assert!(table.contains("FAIL"), "{table}");
        assert!(
            table.contains("failed: Step failed: readiness stayed true"),
            "{table}"
        );
        assert!(table.contains("RSS peak 41 MiB"), "{table}");
        assert!(table.contains("not run: accountd × store-cut"), "{table}");
    }

    #[test]
    fn junit_has_a_case_per_cell_and_a_failure_for_a_failed_one() {
        let records = [
            cell(Service::EventConsumer, Fault::Sigkill, true),
            cell(Service::EventConsumer, Fault::Overload, false),
        ];
        let xml = String::from_utf8(junit("docker", &records).unwrap()).unwrap();
        assert!(xml.contains(r#"name="docker.event-consumer""#), "{xml}");
        assert!(xml.contains(r#"tests="2""#), "{xml}");
        assert!(xml.contains(r#"failures="1""#), "{xml}");
        assert!(xml.contains(r#"classname="event-consumer""#), "{xml}");
    }

    #[test]
    fn finish_writes_json_and_junit_beside_the_log() {
        let root = std::env::temp_dir().join(format!("matrix-report-{}", std::process::id()));
        let log = crate::matrix::cell_log(&root, "docker");
        crate::matrix::record(&log, &cell(Service::Suggestions, Fault::StoreSlow, true)).unwrap();
        let written = finish(&root, "docker").unwrap().unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&written.json).unwrap()).unwrap();
        assert_eq!(json["passed"], 1);
        assert_eq!(json["cells"][0]["service"], "suggestions");
        assert_eq!(json["not_run"].as_array().unwrap().len(), 41);
        assert!(written.junit.is_file());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
