//! A log line's level (`ERROR`, `[WARN]`, `INFO`).

/// Log levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// `ERROR`, `FATAL`, `CRITICAL`, …
    Error,
    /// `WARN`, `WARNING`.
    Warning,
    /// `INFO`, `DEBUG`, `TRACE`, `NOTICE`.
    Info,
}

/// The level word among the first few words of a log line, in upper case (`ERROR`,
/// `[WARN]`, `level=error` is left to the scorer's other rules).
pub(crate) fn level_of(t: &str) -> Option<Level> {
    t.split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | '(' | ')' | ':' | '|'))
        .filter(|w| !w.is_empty())
        .take(5)
        .find_map(|w| match w {
            // npm prints `npm ERR! code E404`.
            "ERROR" | "FATAL" | "CRITICAL" | "ERR" | "ERR!" | "PANIC" | "SEVERE" => {
                Some(Level::Error)
            }
            "WARN" | "WARNING" => Some(Level::Warning),
            "INFO" | "DEBUG" | "TRACE" | "NOTICE" => Some(Level::Info),
            _ => None,
        })
}
