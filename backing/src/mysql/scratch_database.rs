//! A database of its own for one libtest test on the shared server, dropped when the test is done.

use std::ops::Deref;

use super::{DbParts, MySql};

/// A fresh database on [`MySql::shared`]; dereferences to its [`DbParts`] and is dropped (best
/// effort) when this goes out of scope.
pub struct ScratchDatabase {
    parts: DbParts,
}

impl ScratchDatabase {
    /// Creates a database named after `prefix` on the shared server (provisioning it first).
    pub async fn create(prefix: &str) -> anyhow::Result<ScratchDatabase> {
        let mysql = MySql::shared().await?;
        let parts = mysql.create_database(prefix).await?;
        Ok(ScratchDatabase { parts })
    }
}

impl Deref for ScratchDatabase {
    type Target = DbParts;

    fn deref(&self) -> &DbParts {
        &self.parts
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let name = self.parts.name.clone();
        // Drop cannot await, and the test's runtime may be shutting down: drop the database on a
        // thread with a runtime of its own, and wait for it.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let mysql = MySql::shared().await.ok()?;
                mysql.drop_database(&name).await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("[harness] could not drop database {}", self.parts.name);
        }
    }
}
