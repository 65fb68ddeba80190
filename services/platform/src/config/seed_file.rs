//! The seed's configuration file format: one `key=value` per line.
//!
//! Unlike the Go original (which panicked on them), blank lines and `#` comments are allowed,
//! and a value keeps everything after the first `=` (the original dropped text after a second
//! `=`). Keys and values are trimmed of surrounding whitespace.

use std::path::Path;

use super::ConfigError;

/// One `key=value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedEntry {
    /// 1-based line number.
    pub line: usize,
    /// The key, trimmed.
    pub key: String,
    /// The value, trimmed; may contain `=`.
    pub value: String,
}

/// Parses the text of a seed-format file; `path` is only used in error messages.
pub fn parse(path: &Path, text: &str) -> Result<Vec<SeedEntry>, ConfigError> {
    let mut entries = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let syntax = || ConfigError::Syntax {
            path: path.to_owned(),
            line: index + 1,
            text: raw.to_owned(),
        };
        let (key, value) = line.split_once('=').ok_or_else(syntax)?;
        let key = key.trim();
        if key.is_empty() {
            return Err(syntax());
        }
        entries.push(SeedEntry {
            line: index + 1,
            key: key.to_owned(),
            value: value.trim().to_owned(),
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_comments_and_equals_in_values() {
        let text = "# accountd\n\nport=5000\n  logLevel = 4  \n\n# db\ndbHost=10.0.0.223\ndsn=a=b=c\nempty=\n";
        let entries = parse(Path::new("config"), text).unwrap();
        let pairs: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("port", "5000"),
                ("logLevel", "4"),
                ("dbHost", "10.0.0.223"),
                ("dsn", "a=b=c"),
                ("empty", ""),
            ]
        );
        assert_eq!(entries[0].line, 3);
    }

    #[test]
    fn crlf_line_endings() {
        let entries = parse(Path::new("config"), "a=1\r\nb=2\r\n").unwrap();
        assert_eq!(entries[1].value, "2");
    }

    #[test]
    fn line_without_equals_names_the_line() {
        let error = parse(Path::new("/etc/config"), "a=1\nport 5000\n").unwrap_err();
        let message = error.to_string();
        assert!(message.contains("/etc/config:2"), "{message}");
        assert!(message.contains("port 5000"), "{message}");
    }

    #[test]
    fn missing_key_is_an_error() {
        assert!(parse(Path::new("c"), "=5000").is_err());
    }
}
