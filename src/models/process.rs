//! Running pip and the converters: the Python that runs them, a spinner while they
//! work, and what to say when they fail.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::ModelError;

/// The Python that runs pip and the converters.
pub(super) const PYTHON: &str = "python3";

/// The last non-empty line a failed command wrote to standard error: pip's reason ("No
/// matching distribution found for ...") or a Python traceback's exception.
pub(super) fn last_line(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map_or_else(
            || format!("exited with {} and no message", output.status),
            str::to_owned,
        )
}

/// Readable by all; executable bits as the wheel has them (shared libraries).
#[cfg(unix)]
pub(super) fn set_mode(path: &Path, mode: Option<u32>) -> Result<(), ModelError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = 0o644 | (mode.unwrap_or(0) & 0o111);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(ModelError::io("set permissions of", path))
}

#[cfg(not(unix))]
pub(super) fn set_mode(_: &Path, _: Option<u32>) -> Result<(), ModelError> {
    Ok(())
}

/// Runs `command` (pip, a converter) to completion behind a spinner that reads
/// "{what} {message}"; failing to start it means the Python that runs pip is missing.
pub(super) fn run_with_spinner(
    command: &mut Command,
    what: &str,
    message: String,
    progress: bool,
) -> Result<std::process::Output, ModelError> {
    let spinner = bar(progress, None);
    spinner.set_style(
        ProgressStyle::with_template(&format!("{{spinner}} {what} {{msg}} {{elapsed}}"))
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.set_message(message);
    spinner.enable_steady_tick(Duration::from_millis(120));
    let output = command.output();
    spinner.finish_and_clear();
    output.map_err(|source| ModelError::PipUnavailable {
        program: PYTHON.to_owned(),
        source,
    })
}

pub(super) fn bar(progress: bool, len: Option<u64>) -> ProgressBar {
    if progress {
        ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    }
}
