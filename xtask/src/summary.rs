//! Plain-text tables: the summary printed at the end of a stage (step, status, seconds) and the
//! other tables xtask prints (doctor, bench).

use std::fmt;
use std::time::Duration;

/// How a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Succeeded.
    Ok,
    /// Failed; the stage exits non-zero.
    Failed,
    /// Not run (skipped on request, or after an earlier failure with `--fail-fast`).
    Skipped,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Failed => "FAILED",
            Status::Skipped => "skipped",
        })
    }
}

/// One row of a [`Summary`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Step name.
    pub step: String,
    /// How it ended.
    pub status: Status,
    /// Time it took (zero when skipped).
    pub took: Duration,
    /// A short explanation, e.g. the error.
    pub note: String,
}

/// The steps of a stage as they ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rows in the order the steps ran.
    pub rows: Vec<Row>,
}

impl Summary {
    /// Adds a row.
    pub fn push(
        &mut self,
        step: impl Into<String>,
        status: Status,
        took: Duration,
        note: impl Into<String>,
    ) {
        self.rows.push(Row {
            step: step.into(),
            status,
            took,
            note: note.into(),
        });
    }

    /// True when no step failed.
    pub fn success(&self) -> bool {
        self.rows.iter().all(|row| row.status != Status::Failed)
    }

    /// Sum of all step times.
    pub fn total(&self) -> Duration {
        self.rows.iter().map(|row| row.took).sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut table = Table::new(["step", "status", "seconds", "note"]);
        for row in &self.rows {
            table.row([
                row.step.clone(),
                row.status.to_string(),
                format!("{:.1}", row.took.as_secs_f64()),
                first_line(&row.note),
            ]);
        }
        table.row([
            "total".to_string(),
            if self.success() { "ok" } else { "FAILED" }.to_string(),
            format!("{:.1}", self.total().as_secs_f64()),
            String::new(),
        ]);
        write!(f, "{table}")
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 100 {
        format!("{}…", line.chars().take(99).collect::<String>())
    } else {
        line.to_string()
    }
}

/// A left-aligned text table with a header rule; numbers are right-aligned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new<I, S>(header: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row of cells.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let numeric = |cell: &str| {
            !cell.is_empty()
                && cell
                    .chars()
                    .all(|c| c.is_ascii_digit() || ".,x%".contains(c))
        };
        let write_row = |f: &mut fmt::Formatter<'_>, cells: &[String]| -> fmt::Result {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or_default();
                if i > 0 {
                    line.push_str("  ");
                }
                if numeric(cell) {
                    line.push_str(&format!("{cell:>width$}"));
                } else {
                    line.push_str(&format!("{cell:<width$}"));
                }
            }
            writeln!(f, "{}", line.trim_end())
        };
        write_row(f, &self.header)?;
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        writeln!(f, "{}", rule.join("  "))?;
        for row in &self.rows {
            write_row(f, row)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_steps_with_status_and_seconds() {
        let mut summary = Summary::default();
        summary.push("fmt", Status::Ok, Duration::from_millis(1200), "");
        summary.push(
            "clippy",
            Status::Failed,
            Duration::from_secs(61),
            "`cargo clippy` failed\nmore",
        );
        summary.push("functional", Status::Skipped, Duration::ZERO, "--fail-fast");
        assert!(!summary.success());
        assert_eq!(
            summary.to_string(),
            "\
step        status   seconds  note
----------  -------  -------  ---------------------
fmt         ok           1.2
clippy      FAILED      61.0  `cargo clippy` failed
functional  skipped      0.0  --fail-fast
total       FAILED      62.2
"
        );
    }

    #[test]
    fn empty_summary_is_a_success() {
        assert!(Summary::default().success());
    }
}
