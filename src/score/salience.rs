//! Salience of tool-output lines: what an agent needs from a program's output whatever it
//! asked — errors, failures, assertion details, their locations, the last frame of a
//! traceback, final summaries — and what it needs because it asked (the definition of a
//! name the query mentions). Values are in 0..=1; ordinary lines get 0, and the first
//! line of each shape a little, so a run of alike lines keeps one exemplar.

use rustc_hash::FxHashSet;

use crate::score::details::{
    LOCATION, go_messages, pytest_details, restated, table_header, tap_messages,
};
use crate::score::names::{asks_for_tests, defines, names_file, query_names, quoted_names};

use crate::segment::output::{
    OutputKind, hit_split, is_frame, is_lint_head, is_panic, is_pointer, is_rust_diagnostic,
    is_source_quote, template, unmargin,
};

mod status;
use status::{WARNING, is_chain_line, is_exception, status_line};

/// How far a panic's generic message (`assertion `left == right` failed`) ranks below the
/// values it introduces.
const GENERIC: f64 = 0.05;

/// Extra value of the first line of each shape (see [`template`]): the exemplar a run of
/// alike lines keeps, next to the marker that counts the rest.
const EXEMPLAR: f64 = 0.15;

/// One value per unit of a tool output of `kind`; `query` names what the agent asked.
pub fn salience(kind: OutputKind, units: &[&str], query: Option<&str>) -> Vec<f64> {
    // An exception group's tracebacks are read without its margin.
    let unmargined: Vec<&str>;
    let units = if matches!(kind, OutputKind::Traceback | OutputKind::TestRun) {
        unmargined = units.iter().map(|u| unmargin(u)).collect();
        &unmargined[..]
    } else {
        units
    };
    let names = query.map(query_names).unwrap_or_default();
    let quoted = match kind {
        OutputKind::Listing => query.map(quoted_names).unwrap_or_default(),
        _ => Vec::new(),
    };
    let tests = query.is_some_and(asks_for_tests);
    let status = !matches!(
        kind,
        OutputKind::Search | OutputKind::Listing | OutputKind::Diff | OutputKind::GitLog
    );
    let mut values: Vec<f64> = units
        .iter()
        .map(|u| {
            let t = u.trim();
            let content = match kind {
                // The hit's text with its indentation (a local binding is no definition).
                OutputKind::Search => hit_split(t).map_or(t, |(_, at)| t[at..].trim_end()),
                // A hunk's header names the function it is in: `@@ -610,7 +637,7 @@ def f(`.
                OutputKind::Diff => hunk_function(t).unwrap_or(t),
                _ => t,
            };
            let own = if status { status_line(t) } else { 0.0 };
            own.max(structure(kind, t))
                .max(defines(content, &names))
                .max(names_file(t, &quoted, tests))
        })
        .collect();
    if status {
        context(kind, units, &mut values);
        pytest_details(units, &mut values);
        warning_locations(units, &mut values);
        lint_heads(units, &mut values);
    }
    if kind == OutputKind::TestRun {
        tap_messages(units, &mut values);
        go_messages(units, &mut values);
        restated(units, &mut values);
    }
    // A table without its header is numbers without names; its rule is cheap.
    if kind == OutputKind::Table {
        table_header(units, &mut values);
    }
    // First and last lines: the command's header and its final word.
    if let Some(first) = units.iter().position(|u| !u.trim().is_empty()) {
        values[first] = values[first].max(0.3);
    }
    if let Some(last) = units.iter().rposition(|u| !u.trim().is_empty()) {
        values[last] = values[last].max(0.5);
    }
    let mut seen = FxHashSet::default();
    for (v, u) in values.iter_mut().zip(units) {
        let t = u.trim();
        // A gutter without words (a compiler's pointer `      |   ^~~~` under a quoted
        // line, rustc's `   |` spacer) says nothing alone: no exemplar of anything.
        if is_bare_pointer(t) {
            continue;
        }
        if !t.is_empty() && seen.insert(template(t)) && *v < EXEMPLAR {
            *v += EXEMPLAR;
        }
    }
    values
}

/// `      |     ^~~~~~` under a quoted source line: a gutter and marks, no words.
fn is_bare_pointer(t: &str) -> bool {
    is_pointer(t) || (is_source_quote(t) && !t.contains(|c: char| c.is_alphanumeric()))
}

/// Share of its salience an exact repeat of an earlier salient line keeps: cargo test
/// prints ``assertion `left == right` failed`` under every panic, and the twentieth copy
/// says nothing the first did not. Salient lines are exempt from redundancy (sixteen
/// `FAILED` lines are sixteen facts), so repeats are discounted here instead.
const REPEAT_SHARE: f64 = 0.1;

/// Discounts exact repeats of salient lines in place (see `REPEAT_SHARE`).
pub fn discount_repeats(units: &[&str], values: &mut [f64]) {
    let mut seen: FxHashSet<&str> = FxHashSet::default();
    for (v, u) in values.iter_mut().zip(units) {
        if *v > EXEMPLAR && !seen.insert(u.trim()) {
            *v *= REPEAT_SHARE;
        }
    }
}

/// Lines that carry a diff's or a log's structure.
fn structure(kind: OutputKind, t: &str) -> f64 {
    match kind {
        OutputKind::Diff if t.starts_with("diff --git ") || t.starts_with("@@ ") => 0.6,
        OutputKind::Diff if t.starts_with("+++ ") || t.starts_with("--- ") => 0.4,
        OutputKind::Diff | OutputKind::GitLog if t.starts_with("commit ") => 0.5,
        _ => 0.0,
    }
}

/// The function line a diff's hunk header quotes after its ranges, if any.
fn hunk_function(t: &str) -> Option<&str> {
    let rest = t.strip_prefix("@@ ")?;
    let (_, after) = rest.split_once(" @@")?;
    Some(after.trim_start())
}

/// ruff's diagnostic in its default form: a rule code and message (`F821 Undefined name
/// `value``) over its place (`  --> src/click/utils.py:54:19`); the head is the
/// diagnostic, as rustc's `error[E0308]: …` is (the place is a location already).
fn lint_heads(units: &[&str], values: &mut [f64]) {
    for (i, pair) in units.windows(2).enumerate() {
        if is_lint_head(pair[0].trim()) && pair[1].trim().starts_with("--> ") {
            values[i] = values[i].max(1.0);
        }
    }
}

/// rustc gives a diagnostic's location on the line under it (`  --> src/lib.rs:25:17`):
/// where a warning is, is worth what the warning is, not what an error's location is.
fn warning_locations(units: &[&str], values: &mut [f64]) {
    let mut under_warning = false;
    for (v, u) in values.iter_mut().zip(units) {
        let t = u.trim();
        if is_rust_diagnostic(t) {
            under_warning = t.starts_with("warning");
        } else if under_warning && t.starts_with("--> ") {
            *v = v.min(WARNING);
        }
    }
}

/// Each exception (or pytest `E` line) with the frame that raised it: the nearest frame
/// above, within a few lines. A traceback ends in its exception whatever the exception is
/// called (`decimal.InvalidOperation: …`, `subprocess.TimeoutExpired: …`): the first line
/// at the margin under a frame and the source it quotes, when it is shaped like one.
/// An exception group's lines are read without its margin (see [`unmargin`]).
pub(crate) fn raised_at(units: &[&str]) -> Vec<(usize, usize)> {
    let unit = |i: usize| unmargin(units[i]);
    (0..units.len())
        .filter_map(|i| {
            let t = unit(i).trim();
            let frame = (i.saturating_sub(4)..i)
                .rev()
                .find(|&j| is_frame(unit(j).trim()))?;
            let ends_traceback = exception_shaped(unit(i))
                && (frame + 1..i).all(|j| unit(j).starts_with(char::is_whitespace));
            (is_exception(t) || t.starts_with("E ") || ends_traceback).then_some((i, frame))
        })
        .collect()
}

/// Per line, for a chaining line (`The above exception was the direct cause of the
/// following exception:`, `During handling of the above exception, …`), the line of the
/// exception it refers to: the nearest line above that is not blank, when it is at the
/// margin (an exception group's lines read without their margin).
pub(crate) fn chain_causes(units: &[&str]) -> Vec<Option<usize>> {
    (0..units.len())
        .map(|i| {
            if !is_chain_line(unmargin(units[i]).trim()) {
                return None;
            }
            let above = (0..i).rev().find(|&j| !units[j].trim().is_empty())?;
            (!unmargin(units[above]).starts_with(char::is_whitespace)).then_some(above)
        })
        .collect()
}

/// `name.Name: message` or `Name` at the margin: a dotted name whose last part starts
/// with a capital, then a colon or nothing.
fn exception_shaped(unit: &str) -> bool {
    if unit.starts_with(char::is_whitespace) {
        return false;
    }
    let t = unit.trim_end();
    let end = t
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(t.len());
    let (name, rest) = t.split_at(end);
    name.rsplit('.')
        .next()
        .is_some_and(|last| last.starts_with(|c: char| c.is_ascii_uppercase()))
        && !name.ends_with('.')
        && (rest.is_empty() || rest.starts_with(": "))
}

/// Salience that depends on neighbours or on the kind: the frame a traceback ends in
/// (where the error was raised), and a Rust panic with the message line under it.
///
/// In a test run the runner's verdict (`test x ... FAILED`) is the failure; a panic says
/// where, like pytest's `file:line: Error`, and the message under it is detail, like
/// `left:`/`right:`. At one level, in text order, a failure's panic, message and values
/// stay together instead of twenty panic lines crowding out every value.
fn context(kind: OutputKind, units: &[&str], values: &mut [f64]) {
    let (panic, message) = if kind == OutputKind::TestRun {
        (LOCATION, LOCATION)
    } else {
        (1.0, 0.9)
    };
    for (i, j) in raised_at(units) {
        // What a traceback ends in is its failure, named `…Error` or not (pytest's `E`
        // lines keep their own rank).
        if !units[i].starts_with("E ") {
            values[i] = values[i].max(1.0);
        }
        values[j] = values[j].max(0.9);
        // The line it quotes, when it is not the exception itself: what raised.
        if j + 1 < i {
            values[j + 1] = values[j + 1].max(0.5);
        }
    }
    for i in 0..units.len() {
        let t = units[i].trim();
        if is_panic(t) {
            values[i] = panic;
            if let Some(next) = units.get(i + 1)
                && !next.trim().is_empty()
            {
                // `assert_eq!`'s own words say only that the values under them differ:
                // the values are the message.
                values[i + 1] = if next.trim_start().starts_with("assertion `left ") {
                    message - GENERIC
                } else {
                    values[i + 1].max(message)
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::status::PASSED_PACKAGE;
    use super::*;
    use crate::score::details::{GO_DETAIL, HEADER, RESTATED};
    use crate::segment::output::{is_go_test_log, is_tap_count};

    #[test]
    fn a_compilers_bare_pointer_is_no_exemplar() {
        let units = [
            "lz4libs/lz4hc.c:308:33: warning: conversion may change the sign [-Wsign-conversion]\n",
            "  308 |   matchLength += LZ4_count(ip+matchLength, prefixPtr, iHighLimit);\n",
            "      |               ^~\n",
            "      |               guard\n",
            "lz4libs/lz4hc.c: In function 'LZ4_saveDictHC':\n",
        ];
        let v = salience(OutputKind::Compiler, &units, None);
        // The quoted line and gcc's fix-it hint each open a shape; the pointer says
        // nothing without the line above it.
        assert_eq!(v[1], EXEMPLAR, "{v:?}");
        assert_eq!(v[2], 0.0, "{v:?}");
        assert_eq!(v[3], EXEMPLAR, "{v:?}");
    }

    #[test]
    fn a_traceback_ends_in_its_exception_whatever_it_is_called() {
        let units = [
            "Traceback (most recent call last):\n",
            "  File \"report.py\", line 9, in total\n",
            "    return sum(decimal.Decimal(r[\"amount\"]) for r in rows)\n",
            "decimal.InvalidOperation: [<class 'decimal.ConversionSyntax'>]\n",
            "Done: 3 rows\n",
        ];
        let v = salience(OutputKind::Traceback, &units, None);
        assert_eq!(v[3], 1.0, "{v:?}");
        assert_eq!(v[1], 0.9, "{v:?}");
        // A line further from the frame, past another at the margin, is not its exception.
        assert!(v[4] < 1.0, "{v:?}");
        assert!(exception_shaped(
            "subprocess.TimeoutExpired: Command timed out"
        ));
        assert!(exception_shaped("KeyboardInterrupt"));
        assert!(!exception_shaped("  ValueError: indented"));
        assert!(!exception_shaped("Node.js v18.20.4"));
        assert!(!exception_shaped("Caused by: x.y.Z: boom"));
    }

    #[test]
    fn a_chaining_line_refers_to_the_exception_above_it() {
        let units = [
            "  File \"a.py\", line 4, in load\n",
            "FileNotFoundError: [Errno 2] No such file\n",
            "\n",
            "The above exception was the direct cause of the following exception:\n",
            "\n",
            "    raise X\n",
            "\n",
            "During handling of the above exception, another exception occurred:\n",
        ];
        // The second has only an indented line above it: no exception to refer to.
        assert_eq!(
            chain_causes(&units),
            [None, None, None, Some(1), None, None, None, None]
        );
    }

    #[test]
    fn a_warnings_location_is_worth_a_warning() {
        let units = [
            "warning: unused import: `std::ascii::AsciiExt`\n",
            "  --> src/lib.rs:25:5\n",
            "error[E0308]: mismatched types\n",
            "  --> src/lib.rs:66:17\n",
        ];
        let v = salience(OutputKind::Compiler, &units, None);
        assert!(v[1] <= WARNING && v[3] == LOCATION, "{v:?}");
    }

    #[test]
    fn a_summarised_failures_progress_line_ranks_below_the_summary() {
        let units = [
            "tests/test_a.py::test_b PASSED [ 33%]\n",
            "tests/test_a.py::test_c FAILED [ 66%]\n",
            "tests/test_a.py::test_d FAILED [100%]\n",
            "E   KeyError: 2\n",
            "FAILED tests/test_a.py::test_c - KeyError: 2\n",
        ];
        let v = salience(OutputKind::TestRun, &units, None);
        assert_eq!(v[4], 1.0, "{v:?}");
        assert_eq!(v[1], RESTATED, "{v:?}");
        // A failure the summary does not name keeps its progress line as its verdict.
        assert_eq!(v[2], 1.0, "{v:?}");
    }

    #[test]
    fn panics_with_a_thread_id_are_failures() {
        // cargo test on a recent toolchain prints the thread's id after its name.
        let units = [
            "test tests::a ... ok\n",
            "test tests::b ... FAILED\n",
            "test tests::c ... ok\n",
            "thread 'tests::b' (76) panicked at src/lib.rs:76:5:\n",
            "assertion `left == right` failed\n",
            "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
            "test tests::d ... ok\n",
        ];
        let v = salience(OutputKind::TestRun, &units, None);
        // The verdict is the failure; the panic and its message say where and why.
        assert_eq!(v[1], 1.0, "{v:?}");
        assert_eq!(v[3], LOCATION, "{v:?}");
        assert!(v[5] < 0.5, "{v:?}");
        // `assert_eq!`'s generic message ranks below the values it introduces; a message
        // of the test's own is the message.
        let valued = [units[3], units[4], "  left: 3\n", " right: 4\n"];
        let v = salience(OutputKind::TestRun, &valued, None);
        assert!(v[1] < v[2] && v[2] == v[3] && v[3] == LOCATION, "{v:?}");
        let own = [units[3], "bad escape: \\r read as \\n\n"];
        let v = salience(OutputKind::TestRun, &own, None);
        assert_eq!(v[1], LOCATION, "{v:?}");
        // A failure's header repeats the verdict's id: below the details it heads.
        let headed = [
            "---- tests::b stdout ----\n",
            "thread 'tests::b' (76) panicked at src/lib.rs:76:5:\n",
            "  left: 1\n",
        ];
        let v = salience(OutputKind::TestRun, &headed, None);
        assert!(v[0] < v[2] && v[2] <= v[1], "{v:?}");
        // Outside a test run a panic is the failure itself.
        let v = salience(OutputKind::Traceback, &units[3..], None);
        assert!(v[0] == 1.0 && v[1] >= 0.9 - GENERIC, "{v:?}");
    }

    #[test]
    fn a_compilers_count_of_errors_is_below_the_errors() {
        let units = [
            "   Compiling heck v0.5.0 (/src/heck)\n",
            "error: format argument must be a string literal\n",
            "  --> src/snake.rs:59:61\n",
            "   |\n",
            "error: could not compile `heck` (lib) due to 1 previous error\n",
        ];
        let v = salience(OutputKind::Compiler, &units, Some("fix heck"));
        assert!(v[4] < v[2] && v[2] < v[1], "{v:?}");
        assert!(v[4] > v[3], "{v:?}");
    }

    #[test]
    fn node_test_runners_tap_is_a_test_run() {
        // node --test (node 20) on a broken add(), as it prints it (one of twelve failures).
        let units = [
            "TAP version 13\n",
            "# Subtest: adds 0 and 2\n",
            "not ok 1 - adds 0 and 2\n",
            "  ---\n",
            "  duration_ms: 2.462069\n",
            "  location: '/tmp/nt/math.test.js:5:3'\n",
            "  failureType: 'testCodeFailure'\n",
            "  error: |-\n",
            "    Expected values to be strictly equal:\n",
            "    \n",
            "    -2 !== 2\n",
            "    \n",
            "  code: 'ERR_ASSERTION'\n",
            "  stack: |-\n",
            "    Test.runInAsyncScope (node:async_hooks:206:9)\n",
            "  ...\n",
            "# Subtest: subtracts\n",
            "ok 13 - subtracts\n",
            "# empty strings\n",
            "ok 14 should be strictly equal\n",
            "not ok 15 should be strictly equal\n",
            "1..15\n",
            "# tests 15\n",
            "# pass  3\n",
            "# fail 12\n",
            "# duration_ms 148.787235\n",
        ];
        assert_eq!(
            crate::segment::output::detect(&units.concat()),
            Some(OutputKind::TestRun)
        );
        let v = salience(OutputKind::TestRun, &units, None);
        assert_eq!(v[2], 1.0, "{v:?}");
        assert!(
            v[5] == LOCATION && v[8] == LOCATION && v[10] == LOCATION,
            "{v:?}"
        );
        // The stack under another key is node's own frames, the passing test nothing.
        assert!(v[14] < LOCATION && v[17] < 0.5, "{v:?}");
        assert!(v[22] == 1.0 && v[24] == 1.0, "{v:?}");
        // A failing test's name is its header, also past assertions that passed (tape's
        // `# empty strings`); a passing test's is not.
        assert!(v[1] == HEADER && v[18] == HEADER && v[16] < HEADER, "{v:?}");
    }

    #[test]
    fn tapes_yaml_block_says_what_failed() {
        // tape 5 on minimist with a broken number check, as it prints it.
        let units = [
            "TAP version 13\n",
            "# nums\n",
            "not ok 57 should be deeply equivalent\n",
            "  ---\n",
            "    operator: deepEqual\n",
            "    expected: |-\n",
            "      { x: 1234, y: 5.67 }\n",
            "    actual: |-\n",
            "      { x: 1234, y: '5.67' }\n",
            "    at: Test.<anonymous> (/src/minimist/test/num.js:15:4)\n",
            "    stack: |-\n",
            "      Error: should be deeply equivalent\n",
            "          at Test.assert [as _assert] (/src/node_modules/tape/lib/test.js:492:48)\n",
            "  ...\n",
            "ok 58 should be deeply equivalent\n",
            "\n",
            "1..153\n",
            "# tests 153\n",
            "# pass  151\n",
            "# fail  2\n",
        ];
        assert_eq!(
            crate::segment::output::detect(&units.concat()),
            Some(OutputKind::TestRun)
        );
        let v = salience(OutputKind::TestRun, &units, None);
        assert!(v[1] == HEADER && v[2] == 1.0, "{v:?}");
        // The values (block values with their keys) and where, not the operator...
        for i in [5, 6, 7, 8, 9] {
            assert_eq!(v[i], LOCATION, "{i}: {v:?}");
        }
        assert!(v[4] < HEADER, "{v:?}");
        // ... nor the runner's stack.
        assert!(v[11] < HEADER && v[12] < HEADER, "{v:?}");
        // tape's aligned counts are the run's counts.
        assert!(units[17..].iter().all(|u| is_tap_count(u.trim())));
    }

    #[test]
    fn jests_report_is_a_test_run() {
        // jest 29 on a broken sum(), as it prints it (one of eight failures).
        let units = [
            "FAIL ./sum.test.js\n",
            "  ✕ adds 0 + 2 (5 ms)\n",
            "  ✕ adds 1 + 2 (1 ms)\n",
            "  ✓ is a function (1 ms)\n\n",
            "  ● adds 0 + 2\n\n",
            "    expect(received).toBe(expected) // Object.is equality\n\n",
            "    Expected: 2\n",
            "    Received: -2\n\n",
            "    > 3 |   test(`adds ${i} + 2`, () => { expect(sum(i, 2)).toBe(i + 2); });\n",
            "      at Object.toBe (sum.test.js:3:51)\n\n",
            "Test Suites: 1 failed, 1 total\n",
            "Tests:       2 failed, 1 passed, 3 total\n",
            "Snapshots:   0 total\n",
            "Time:        0.426 s\n",
            "Ran all test suites.\n",
        ];
        assert_eq!(
            crate::segment::output::detect(&units.concat()),
            Some(OutputKind::TestRun)
        );
        let v = salience(OutputKind::TestRun, &units, None);
        assert!(
            v[0] == 1.0 && v[1] == 1.0 && v[2] == 1.0 && v[3] < 0.5,
            "{v:?}"
        );
        assert!(v[4] < v[6] && v[6] == LOCATION && v[7] == LOCATION, "{v:?}");
        assert!(v[10] == 1.0 && v[11] == 1.0, "{v:?}");
    }

    #[test]
    fn vitests_report_is_a_test_run() {
        // vitest 3.2 on zod 4 with its max length check made strict, as it prints it.
        let units = [
            " ❯ src/v4/classic/tests/string.test.ts (42 tests | 1 failed) 323ms\n",
            "   × length checks 13ms\n",
            "     → [\n",
            "   ✓ includes 2ms\n",
            "   ✓ startswith/endswith 1ms\n",
            "⎯⎯⎯⎯⎯⎯⎯ Failed Tests 1 ⎯⎯⎯⎯⎯⎯⎯\n\n",
            " FAIL  src/v4/classic/tests/string.test.ts > length checks\n",
            "ZodError: [\n",
            "    \"message\": \"max5\"\n",
            "]\n",
            " ❯ src/v4/core/parse.ts:24:10\n",
            "     24|     util.captureStackTrace(e, _params?.callee);\n",
            "       |          ^\n",
            " ❯ src/v4/classic/tests/string.test.ts:18:11\n\n",
            "⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[1/1]⎯\n\n",
            " Test Files  1 failed | 63 passed (64)\n",
            "      Tests  1 failed | 687 passed (688)\n",
            "   Start at  23:33:23\n",
            "   Duration  22.71s (transform 1.35s, setup 0ms, collect 8.48s)\n",
        ];
        assert_eq!(
            crate::segment::output::detect(&units.concat()),
            Some(OutputKind::TestRun)
        );
        let v = salience(OutputKind::TestRun, &units, None);
        // The header names the test with its file; the list above says it again.
        assert!(v[6] == 1.0 && v[7] == 1.0, "{v:?}");
        assert!(v[0] == 0.7 && v[1] == 0.7, "{v:?}");
        // Passed tests are one shape: one exemplar.
        assert!(v[3] == EXEMPLAR && v[4] == 0.0, "{v:?}");
        // Where in the test it failed, above where the library threw.
        assert!(v[13] == LOCATION && v[10] < v[13], "{v:?}");
        assert!(v[15] == 1.0 && v[16] == 1.0, "{v:?}");
        assert!(v[17] < 0.5, "{v:?}");
    }

    #[test]
    fn a_linters_diagnostic_is_its_head_and_place() {
        // ruff 0.17 on click with make_str's parameter renamed, as it prints it.
        let units = [
            "F821 Undefined name `value`\n",
            "  --> src/click/utils.py:54:19\n",
            "   |\n",
            "52 | def make_str(val: t.Any) -> str:\n",
            "   |                   ^^^^^\n\n",
            "src/click/utils.py:59:16: F821 Undefined name `value`\n",
            "Found 167 errors.\n",
            "[*] 13 fixable with the `--fix` option.\n",
        ];
        let v = salience(OutputKind::Compiler, &units, None);
        assert!(
            v[0] == 1.0 && v[1] == LOCATION && v[5] == 1.0 && v[6] == 1.0,
            "{v:?}"
        );
        // The quote is context; the fix count is the last line, no more.
        assert!(v[3] < 0.5 && v[7] <= 0.5, "{v:?}");
        // Without its place under it, a code and words are not a diagnostic.
        let prose = ["E501 is the code for a long line\n", "and more\n"];
        assert!(salience(OutputKind::Log, &prose, None)[0] < 0.5);
    }

    #[test]
    fn go_tests_logged_lines_say_where_and_why() {
        // go test -v on hashicorp/go-version with prereleases ordered the wrong way round.
        let units = [
            "=== RUN   TestCollection\n",
            "--- PASS: TestCollection (0.00s)\n",
            "=== RUN   TestVersionCompare\n",
            "    version_test.go:161: 1.2 <=> 1.2-beta\n",
            "        expected: 1\n",
            "        actual: -1\n",
            "--- FAIL: TestVersionCompare (0.00s)\n",
            "=== RUN   TestEqual\n",
            "--- PASS: TestEqual (0.00s)\n",
            "FAIL\n",
            "FAIL\tgithub.com/hashicorp/go-version\t0.007s\n",
            "ok  \tgithub.com/hashicorp/go-version/other\t0.003s\n",
            "FAIL\n",
        ];
        assert_eq!(
            crate::segment::output::detect(&units.concat()),
            Some(OutputKind::TestRun)
        );
        let v = salience(OutputKind::TestRun, &units, None);
        // The verdict and the package's FAIL line say what failed; the logged line says
        // where and why, the message's next lines how.
        assert!(v[6] == 1.0 && v[10] == 1.0, "{v:?}");
        assert!(
            v[3] == 0.9 && v[4] == GO_DETAIL && v[5] == GO_DETAIL,
            "{v:?}"
        );
        // A package that passed is said once, below any failure; passing tests are noise.
        assert!(v[11] == PASSED_PACKAGE && v[1] < 0.5 && v[8] < 0.5, "{v:?}");
    }

    #[test]
    fn a_go_test_log_has_no_column() {
        assert!(is_go_test_log(
            "url_test.go:1729: shouldEscape('~', 1) returned true"
        ));
        assert!(is_go_test_log("internal/x_test.go:3: got 2"));
        // go vet and the compiler give a column; a log line with a time is Go's `log`.
        assert!(!is_go_test_log("./main.go:3:2: undefined: x"));
        assert!(!is_go_test_log("2024/01/01 12:00:00 main.go:12: started"));
        assert!(!is_go_test_log(".go:12: x"));
    }

    #[test]
    fn unittests_verdict_is_above_its_count() {
        let units = [
            "FAIL: test_basic (tests.test_smarty.TestSmarty.test_basic)\n",
            "----------------------------------------------------------------------\n",
            "Ran 1002 tests in 0.707s\n",
            "\n",
            "FAILED (failures=2, skipped=6)\n",
        ];
        // The query's "tests" is the runner's word in the count: no reason to rank it.
        let v = salience(OutputKind::TestRun, &units, Some("run the tests"));
        assert!(v[2] < v[4] && v[4] <= v[0], "{v:?}");
        use crate::segment::output::is_run_summary;
        assert!(
            units[2..]
                .iter()
                .filter(|u| is_run_summary(u.trim()))
                .count()
                == 2
        );
        assert!(is_run_summary(
            "test result: FAILED. 91 passed; 20 failed; 0 ignored"
        ));
        assert!(is_run_summary("6 failed, 26 passed in 0.24s") && is_run_summary("OK"));
        assert!(!is_run_summary(
            "FAIL: test_basic (tests.TestSmarty.test_basic)"
        ));
    }

    #[test]
    fn exact_repeats_of_salient_lines_are_discounted() {
        let units = [
            "thread 'a' panicked at src/lib.rs:1:5:\n",
            "assertion `left == right` failed\n",
            "thread 'b' panicked at src/lib.rs:9:5:\n",
            "assertion `left == right` failed\n",
            "test result: FAILED. 0 passed; 2 failed\n",
        ];
        let mut v = salience(OutputKind::TestRun, &units, None);
        discount_repeats(&units, &mut v);
        assert_eq!(v[1], LOCATION - GENERIC, "{v:?}");
        assert!(v[3] < 0.1, "{v:?}");
        // Alike but not equal lines are facts of their own.
        assert_eq!(v[0], v[2], "{v:?}");
    }

    #[test]
    fn failures_summaries_and_locations_outrank_passes() {
        let units = [
            "===== test session starts =====\n",
            "tests/test_a.py::test_error_message PASSED [ 10%]\n",
            "tests/test_a.py::test_b PASSED [ 20%]\n",
            "tests/test_a.py::test_c FAILED [ 30%]\n",
            "E       AssertionError: assert 'a' == 'b'\n",
            "tests/test_a.py:12: AssertionError\n",
            "===== short test summary info =====\n",
            "FAILED tests/test_a.py::test_c - AssertionError: assert 'a' == 'b'\n",
            "===== 1 failed, 2 passed in 0.12s =====\n",
        ];
        let v = salience(OutputKind::TestRun, &units, None);
        assert!(v[1] < 0.3 && v[2] < 0.1, "{v:?}");
        assert!(
            v[4] >= 0.9 && v[5] >= 0.8 && v[7] == 1.0 && v[8] == 1.0,
            "{v:?}"
        );
        // The banner over the summary lines is below the lines it announces, and so is
        // the progress line of a failure the summary names.
        assert!(v[6] < v[5] && v[6] < v[4], "{v:?}");
        assert_eq!(v[3], RESTATED, "{v:?}");
    }

    #[test]
    fn chained_exceptions_and_their_last_frames() {
        let units = [
            "Traceback (most recent call last):\n",
            "  File \"a.py\", line 3, in <module>\n    main()\n",
            "  File \"b.py\", line 9, in main\n    raise OSError('x')\n",
            "OSError: x\n",
            "\n",
            "The above exception was the direct cause of the following exception:\n",
            "requests.exceptions.ConnectionError: refused\n",
        ];
        let v = salience(OutputKind::Traceback, &units, None);
        assert!(v[1] < 0.5 && v[2] >= 0.9 && v[3] == 1.0 && v[5] >= 0.9 && v[6] == 1.0);
    }
}
