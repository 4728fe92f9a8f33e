//! The lines under a failure that say why, in each runner's own format: pytest's `E`
//! run, a summary that restates a progress line, a table's header, a Go test's message,
//! a TAP failure's YAML block. Each pass adjusts the salience of lines around ones
//! `score::salience` found; the levels both use are here, so that salience depends on
//! this module and not the other way round.

use std::collections::HashSet;

use crate::segment::output::{is_go_test_log, is_tap_count, is_tap_result};

/// Salience of where something failed: `tests/test_x.py:12: AssertionError`,
/// `--> src/lib.rs:3:5`, `left:`/`right:` (here, and in [`crate::score::salience`]).
pub(crate) const LOCATION: f64 = 0.8;

/// Salience of a failure's header line in a test run.
pub(crate) const HEADER: f64 = 0.5;

/// pytest explains a failure in a run of `E` lines: the first says what failed, the rest
/// (diffs, `+ where …`) are detail, worth less than another failure's first line.
pub(crate) fn pytest_details(units: &[&str], values: &mut [f64]) {
    let mut in_run = false;
    for (i, u) in units.iter().enumerate() {
        let is_e = u.starts_with("E ") || u.trim_end() == "E";
        if is_e && in_run {
            values[i] = values[i].min(0.55);
        }
        in_run = is_e;
    }
}

/// Salience of a test run's line that restates what another line says better.
pub(crate) const RESTATED: f64 = 0.7;

/// In a test run, pytest's summary (`FAILED tests/x.py::test_a - KeyError: 2`) names each
/// failure with its reason: the progress line of the same test (`tests/x.py::test_a FAILED
/// [ 3%]`) says less, so it ranks with the run's context.
pub(crate) fn restated(units: &[&str], values: &mut [f64]) {
    let summarised: HashSet<&str> = units
        .iter()
        .filter_map(|u| {
            let t = u.trim();
            let rest = t
                .strip_prefix("FAILED ")
                .or_else(|| t.strip_prefix("ERROR "))?;
            Some(rest.split(" - ").next().unwrap_or(rest).trim())
        })
        .collect();
    for (v, u) in values.iter_mut().zip(units) {
        let t = u.trim();
        let progress = !t.starts_with("FAILED ")
            && !t.starts_with("ERROR ")
            && (t.contains(" FAILED") || t.contains(" ERROR"))
            && t.split_whitespace()
                .next()
                .is_some_and(|id| summarised.contains(id));
        if progress {
            *v = v.min(RESTATED);
        }
    }
}

/// Salience of a table's header line: what its columns are.
const TABLE_HEADER: f64 = 0.8;

/// The first line of a table names its columns (`Package   Version`, `PID USER …`); a
/// rule under it (`-------  -----`) is kept with it, worth less.
pub(crate) fn table_header(units: &[&str], values: &mut [f64]) {
    let mut lines = units
        .iter()
        .enumerate()
        .filter(|(_, u)| !u.trim().is_empty());
    if let Some((i, _)) = lines.next() {
        values[i] = values[i].max(TABLE_HEADER);
    }
    if let Some((i, u)) = lines.next()
        && u.trim().chars().all(|c| "-=+| ".contains(c))
    {
        values[i] = values[i].max(HEADER);
    }
}

/// Salience of the first lines of a Go test's message that go on below its logged line
/// (`expected: 1`, `actual: -1`): the why, under the failures' own lines.
pub(crate) const GO_DETAIL: f64 = 0.5;

/// How many lines of a Go test's message below its logged line count as its detail: a
/// message that prints a whole tree or table says why in its first lines, if at all.
const GO_DETAIL_LINES: usize = 2;

/// A Go test's message goes on, indented deeper, below the line it logged (`t.Errorf("%s
/// <=> %s\nexpected: %d\nactual: %d", …)`): its first lines are worth `GO_DETAIL`.
pub(crate) fn go_messages(units: &[&str], values: &mut [f64]) {
    let indent = |u: &str| u.len() - u.trim_start().len();
    let mut i = 0;
    while i < units.len() {
        if !is_go_test_log(units[i].trim()) {
            i += 1;
            continue;
        }
        let at = indent(units[i]);
        let mut j = i + 1;
        while j < units.len() && !units[j].trim().is_empty() && indent(units[j]) > at {
            if j - i <= GO_DETAIL_LINES && !is_go_test_log(units[j].trim()) {
                values[j] = values[j].max(GO_DETAIL);
            }
            j += 1;
        }
        i = j;
    }
}

/// Salience of a TAP failure's `stack:` lines: the runner's own frames under the `at:`
/// that says where.
const TAP_STACK: f64 = 0.1;

/// A TAP failure's YAML block (between `---` and `...` under its `not ok` line) says what
/// went wrong: the message (node --test's `error: |-`), the values (`expected:`,
/// `actual:`; node-tap's `found:`, `wanted:`) and where (`at:`, `location:`), each worth
/// a location, a block value (`|-`) with its key. Its `stack:` is the runner's frames. The
/// `# name` comment above a `not ok` line names the test that failed (tape's assertions
/// are all `should be deeply equivalent`): a failure's header.
pub(crate) fn tap_messages(units: &[&str], values: &mut [f64]) {
    let indent = |u: &str| u.len() - u.trim_start().len();
    let mut name: Option<usize> = None;
    let (mut failing, mut in_block) = (false, false);
    // The open key of the block: its indent, and whether its lines say what went wrong.
    let mut key: Option<(usize, bool)> = None;
    for (i, u) in units.iter().enumerate() {
        let t = u.trim();
        if t.is_empty() {
            continue;
        }
        if is_tap_result(t) {
            failing = t.starts_with("not ok ");
            // A comment names every assertion under it, up to the next comment.
            if let Some(n) = name.filter(|_| failing) {
                values[n] = values[n].max(HEADER);
            }
            (in_block, key) = (false, None);
        } else if t.starts_with("# ") {
            name = (!is_tap_count(t)).then_some(i);
        } else if t == "---" || t == "..." {
            (in_block, key) = (t == "---" && failing, None);
        } else if in_block {
            match key {
                Some((k, says)) if indent(u) > k => {
                    values[i] = if says {
                        values[i].max(LOCATION)
                    } else {
                        values[i].min(TAP_STACK)
                    };
                }
                _ => {
                    let field = t.split(':').next().unwrap_or_default();
                    let says = matches!(
                        field,
                        "error"
                            | "message"
                            | "expected"
                            | "actual"
                            | "found"
                            | "wanted"
                            | "at"
                            | "location"
                    );
                    if says {
                        values[i] = values[i].max(LOCATION);
                    }
                    key = Some((indent(u), says));
                }
            }
        }
    }
}
