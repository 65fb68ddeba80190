//! What `images` did, as a table (image, platform, size, build seconds, smoke result) and a
//! headline; failing when any build or smoke test failed.

use std::time::Duration;

use anyhow::{bail, Result};

use super::Arch;
use crate::summary::Table;

/// One image as it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRow {
    /// `local/mockvideo/accountd:0.1.0-9abcb1e-amd64`.
    pub image: String,
    /// Its architecture.
    pub arch: Arch,
    /// Bytes, as the engine reports them (`None` when the build failed).
    pub size: Option<u64>,
    /// The `docker build` (the cargo build is per architecture, in [`Report::cargo`]).
    pub build: Duration,
    /// `Ok(what answered)` or `Err(why it failed)`.
    pub smoke: std::result::Result<String, String>,
}

/// What [`build_and_smoke`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The cargo build per architecture and how long it took.
    pub cargo: Vec<(Arch, Duration)>,
    /// The images, in build order.
    pub rows: Vec<ImageRow>,
}

impl Report {
    /// Image, platform, size, build seconds, smoke result.
    pub fn table(&self) -> Table {
        let mut table = Table::new(["image", "platform", "size MB", "build s", "smoke"]);
        for (arch, took) in &self.cargo {
            table.row([
                format!("(cargo build --target {})", arch.rust_target()),
                arch.platform().to_string(),
                String::new(),
                format!("{:.1}", took.as_secs_f64()),
                String::new(),
            ]);
        }
        for row in &self.rows {
            table.row([
                row.image.clone(),
                row.arch.platform().to_string(),
                row.size.map(megabytes).unwrap_or_default(),
                format!("{:.1}", row.build.as_secs_f64()),
                match &row.smoke {
                    Ok(what) => format!("ok: {what}"),
                    Err(why) => format!("FAILED: {}", first_line(why)),
                },
            ]);
        }
        table
    }

    /// `images: 9 built, 9 smoke-tested ok (0.9–12.3 MB)`.
    pub fn headline(&self) -> String {
        let ok = self.rows.iter().filter(|row| row.smoke.is_ok()).count();
        let sizes: Vec<u64> = self.rows.iter().filter_map(|row| row.size).collect();
        let range = match (sizes.iter().min(), sizes.iter().max()) {
            (Some(min), Some(max)) => format!(" ({}–{} MB)", megabytes(*min), megabytes(*max)),
            _ => String::new(),
        };
        format!(
            "images: {} built, {ok} smoke-tested ok{range}",
            self.rows.iter().filter(|row| row.size.is_some()).count()
        )
    }

    /// Errors naming every image whose build or smoke test failed.
    pub fn check(&self) -> Result<()> {
        let failed: Vec<String> = self
            .rows
            .iter()
            .filter_map(|row| {
                row.smoke
                    .as_ref()
                    .err()
                    .map(|why| format!("{}: {why}", row.image))
            })
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            bail!("{} image(s) failed:\n{}", failed.len(), failed.join("\n"))
        }
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1_000_000.0)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_fails_naming_the_image_and_counts_the_rest() {
        let row = |image: &str, smoke: std::result::Result<String, String>| ImageRow {
            image: image.into(),
            arch: Arch::Amd64,
            size: Some(5_200_000),
            build: Duration::from_millis(300),
            smoke,
        };
        let report = Report {
            cargo: vec![(Arch::Amd64, Duration::from_secs(42))],
            rows: vec![
                row("a", Ok("200".into())),
                row("b", Err("exited\nlog".into())),
            ],
        };
        assert_eq!(
            report.headline(),
            "images: 2 built, 1 smoke-tested ok (5.2–5.2 MB)"
        );
        let error = report.check().unwrap_err().to_string();
        assert!(error.contains("b: exited"), "{error}");
        let table = report.table().to_string();
        assert!(table.contains("FAILED: exited"), "{table}");
        assert!(table.contains("42.0"), "{table}");
    }
}
