//! The committed copies of the documents (`docs/openapi/<service>.json`): each service's tests
//! call [`check_committed`], which fails when the copy differs from the document the code
//! generates, or rewrites the copy when [`WRITE_ENV`] is set (`cargo xtask openapi` sets it).

use std::path::Path;

use utoipa::openapi::OpenApi;

/// Set (to anything) to rewrite the committed copies instead of comparing them.
pub const WRITE_ENV: &str = "MOCKVIDEO_WRITE_OPENAPI";

/// Compares `doc`, rendered as the service serves it, with the file at `copy` (or writes it
/// there when [`WRITE_ENV`] is set). The error says which file differs and how to update it.
pub fn check_committed(doc: &OpenApi, copy: &Path) -> Result<(), String> {
    let rendered = doc
        .to_pretty_json()
        .map_err(|error| format!("rendering the document: {error}"))?
        + "\n";
    if std::env::var_os(WRITE_ENV).is_some() {
        if let Some(dir) = copy.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|error| format!("creating {}: {error}", dir.display()))?;
        }
        return std::fs::write(copy, rendered)
            .map_err(|error| format!("writing {}: {error}", copy.display()));
    }
    let committed = std::fs::read_to_string(copy).unwrap_or_default();
    if committed == rendered {
        Ok(())
    } else {
        Err(format!(
            "{} differs from the document the code generates: run `cargo xtask openapi` and \
             commit the result",
            copy.display()
        ))
    }
}
