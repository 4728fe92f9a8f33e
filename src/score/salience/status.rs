//! What one line of a program's output says about how the run went, whatever the program
//! and whatever the query: a failure, an error's location, a verdict, a warning.

use crate::score::details::{HEADER, LOCATION};
use crate::score::names::is_test_file;
use crate::segment::output::{
    Level, eslint_level, hit_split, is_frame, is_go_test_log, is_jest_verdict, is_run_summary,
    is_rust_diagnostic, is_tap_result, is_test_count, is_traceback_head, is_tsc_diagnostic,
    is_vitest_frame, is_vitest_header, level_of, lint_place, place_file,
};

/// Salience of unittest's `Ran 216 tests in 0.09s`: below the verdict under it.
pub(super) const COUNT: f64 = 0.9;

/// Salience of a warning (see [`status_line`]).
pub(super) const WARNING: f64 = 0.45;

/// Salience of go test's verdict on a package that passed (see [`status_line`]).
pub(super) const PASSED_PACKAGE: f64 = 0.5;

/// What a line says about how the run went, whatever the kind of program.
pub(super) fn status_line(t: &str) -> f64 {
    if t.is_empty() {
        return 0.0;
    }
    // A compiler's closing count of its errors is below the errors it counts, even when
    // it names the crate the query names.
    if t.starts_with("error: could not compile") || t.starts_with("error: aborting due to") {
        return 0.7;
    }
    let level = level_of(t).or_else(|| eslint_level(t));
    // Failures and errors, and the details an agent fixes them by.
    let failure = t.starts_with("FAILED ")
        || (t.starts_with("not ok ") && is_tap_result(t))
        || ((t.starts_with("✕ ") || t.starts_with("FAIL ")) && is_jest_verdict(t))
        || is_vitest_header(t)
        || t.starts_with("ERROR ")
        || t.starts_with("FAIL: ")
        || t.starts_with("ERROR: ")
        || t.starts_with("--- FAIL")
        || t.ends_with(" FAILED")
        || t.ends_with(" ERROR")
        || (t.contains(" FAILED ") && t.contains("::"))
        || (t.contains(" ERROR ") && t.contains("::"))
        || is_exception(t)
        || (is_rust_diagnostic(t) && t.starts_with("error"))
        || t.contains(": error: ")
        || t.contains(": fatal error: ")
        || t.starts_with("error TS")
        || (is_tsc_diagnostic(t) && !t.contains(" warning TS"))
        // A linter's one-line diagnostic (`src/a.py:4:5: F821 Undefined name `x``).
        || lint_place(t).is_some()
        || t.contains("Caused by: ")
        || level == Some(Level::Error);
    if failure {
        return 1.0;
    }
    // pytest's `E` lines say what went wrong in a failure the lines above name; a Go
    // test's logged line says it with where.
    if t.starts_with("E ") || is_go_test_log(t) {
        return 0.9;
    }
    // unittest's count of the tests it ran is below its verdict (`FAILED (failures=2)`).
    if is_test_count(t) {
        return COUNT;
    }
    // go test's `ok  \tpkg\t0.01s`: a package that passed, said once per package.
    if t.starts_with("ok  \t") && is_run_summary(t) {
        return PASSED_PACKAGE;
    }
    let summary = is_run_summary(t) || is_chain_line(t);
    if summary {
        return 1.0;
    }
    // Where it failed: `tests/test_x.py:12: AssertionError`, `--> src/lib.rs:3:5`.
    let location = (t.starts_with("--> ") && t.contains(':'))
        // jest's values: `Expected: 3`, `Received: -1`.
        || t.starts_with("Expected: ")
        || t.starts_with("Received: ")
        // TAP's YAML block: `location: '/w/math.test.js:5:3'`.
        || (t.starts_with("location: '") && t.ends_with('\''))
        || is_test_location(t)
        // vitest's place in the test that failed: `❯ src/a.test.ts:147:18`.
        || (is_vitest_frame(t)
            && t.rsplit(' ').next().and_then(place_file).is_some_and(is_test_file))
        || t.starts_with("left: ")
        || t.starts_with("right: ")
        || t.starts_with("assertion `left == right` failed")
        || t.starts_with("assertion failed");
    if location {
        return LOCATION;
    }
    // A failure's own header (`____ test_x ____`, `---- tests::x stdout ----`) repeats
    // the id its verdict line gives: below the details it heads, even when the query
    // matches the id they share.
    // jest's `● adds 0 + 2` over a failure's details, as pytest's header.
    let header = t.starts_with("● ")
        || t.starts_with("____") && t.ends_with("____")
        || t.starts_with("---- ") && t.ends_with(" ----");
    if header {
        return HEADER;
    }
    let context = t.starts_with("> ")
        || (t.starts_with('=') && t.ends_with('=') && t.contains(" FAILURES "))
        || (t.starts_with('=') && t.ends_with('=') && t.contains(" ERRORS "))
        // The banner over pytest's summary lines: they say it all, it announces them.
        || t.contains("short test summary info")
        || is_progress_with_failure(t)
        // vitest's list of a run: a failed test's `× adds 0 + 2 12ms` and a file's `❯
        // src/a.test.ts (42 tests | 1 failed) 233ms`, said again by its failures' headers.
        || t.starts_with("× ")
        || (t.starts_with("❯ ") && t.ends_with("ms") && t.contains(" failed)"));
    if context {
        return 0.7;
    }
    let warning = (is_rust_diagnostic(t) && t.starts_with("warning"))
        || t.contains(": warning: ")
        || t.contains("Warning: ")
        || level == Some(Level::Warning);
    if warning {
        return WARNING;
    }
    if is_traceback_head(t) {
        return 0.4;
    }
    if is_frame(t) {
        return 0.3;
    }
    0.0
}

/// `ValueError: bad`, `requests.exceptions.ConnectionError: …`, `KeyboardInterrupt`.
pub(super) fn is_exception(t: &str) -> bool {
    let name_end = t
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(t.len());
    let name = &t[..name_end];
    let rest = &t[name_end..];
    let last = name.rsplit('.').next().unwrap_or("");
    !last.is_empty()
        && last.starts_with(|c: char| c.is_ascii_uppercase())
        && [
            "Error",
            "Exception",
            "Exit",
            "Interrupt",
            "Failure",
            "Warning",
        ]
        .iter()
        .any(|s| last.ends_with(s))
        && (rest.is_empty() || rest.starts_with(':'))
}

/// pytest's `tests/test_x.py:123: AssertionError` (a path, a line number, a word).
fn is_test_location(t: &str) -> bool {
    let Some((path, at)) = hit_split(t) else {
        return false;
    };
    let rest = &t[at..];
    !path.contains(' ')
        && t.as_bytes().get(at - 1) == Some(&b':')
        && rest.starts_with(' ')
        && rest.split_whitespace().count() <= 3
        && rest.trim().starts_with(|c: char| c.is_ascii_alphabetic())
}

/// pytest -q's `tests/test_x.py ..F.. [ 12%]`: a progress line with a failure in it.
fn is_progress_with_failure(t: &str) -> bool {
    let mut words = t.split_whitespace();
    let (Some(_), Some(marks)) = (words.next(), words.next()) else {
        return false;
    };
    marks.bytes().all(|b| b".FEsxX".contains(&b)) && (marks.contains('F') || marks.contains('E'))
}

/// Python's line between chained tracebacks: `The above exception was the direct cause
/// of the following exception:`, `During handling of the above exception, …`.
pub(super) fn is_chain_line(t: &str) -> bool {
    t.starts_with("The above exception was the direct cause")
        || t.starts_with("During handling of the above exception")
}
