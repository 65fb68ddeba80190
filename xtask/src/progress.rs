//! Progress a person can see on long steps: an indicatif spinner on a terminal, plain lines
//! otherwise (CI logs, pipes), so logs stay readable and free of control characters.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// True when stderr is a terminal, so spinners can redraw in place.
pub fn interactive() -> bool {
    std::io::stderr().is_terminal()
}

/// A long-running step in progress.
pub struct Progress {
    label: String,
    started: Instant,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts showing `label`: a spinner on a terminal, a `==> label` line otherwise.
    pub fn start(label: impl Into<String>) -> Self {
        let label = label.into();
        let bar = if interactive() {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {wide_msg}")
            {
                bar.set_style(style);
            }
            bar.set_prefix(label.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            Some(bar)
        } else {
            eprintln!("==> {label}");
            None
        };
        Self {
            label,
            started: Instant::now(),
            bar,
        }
    }

    /// Shows the latest line of output next to the spinner (ignored without a terminal).
    pub fn message(&self, line: &str) {
        if let Some(bar) = &self.bar {
            let line: String = strip_ansi(line.trim_end()).chars().take(120).collect();
            bar.set_message(line);
        }
    }

    /// Prints a line without tearing the spinner.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Stops the spinner and prints one final line: `ok`/`FAILED` with the time taken.
    pub fn finish(self, ok: bool) -> Duration {
        let elapsed = self.started.elapsed();
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let status = if ok { "ok" } else { "FAILED" };
        eprintln!(
            "==> {}: {status} in {:.1} s",
            self.label,
            elapsed.as_secs_f64()
        );
        elapsed
    }
}

/// Removes terminal escape sequences (colours, cursor moves) so a line fits in a spinner message.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // CSI: ESC [ parameters final-byte (a letter or one of @[\]^_`{|}~).
            Some('[') => {
                for next in chars.by_ref() {
                    if ('@'..='~').contains(&next) {
                        break;
                    }
                }
            }
            // Charset selection such as ESC ( B: one more character.
            Some('(') | Some(')') => {
                chars.next();
            }
            _ => {}
        }
    }
    out
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_ansi_removes_colours_and_charset_switches() {
        assert_eq!(
            strip_ansi("\u{1b}[31m-  old\u{1b}(B\u{1b}[m plain \u{1b}[2Kend"),
            "-  old plain end"
        );
        assert_eq!(strip_ansi("no escapes"), "no escapes");
    }
}
