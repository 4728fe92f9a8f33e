//! Tool output: what programs print — test runs, tracebacks, compiler diagnostics, search
//! hits, logs, diffs, listings, JSON Lines — cut into the units an agent reads it by.
//!
//! What a text is comes from its content ([`detect`]), never from a flag: the proxy sees a
//! tool result, the CLI a pipe. The unit is a line with the blank lines after it (a line
//! longer than [`MAX_UNIT_BYTES`] is cut at spaces), so a budget is spent line by line and
//! no single unit is larger than the budgets tool output is cut to. A traceback frame's
//! `File …` line and its source line are separate units: the frame line says where, and
//! is worth more than the code it quotes.
//! [`template`] reduces a line to its shape (numbers, ids, paths masked), which is how runs
//! of alike lines are told apart from the lines that differ, and how markers name them.

pub use super::shape::template;

mod diagnostics;
mod level;
use super::{Chunk, ChunkKind, Chunker};
pub(crate) use diagnostics::{
    eslint_level, is_lint_head, is_pointer, is_rust_diagnostic, is_source_quote, is_tsc_diagnostic,
    lint_place, place_file,
};
use diagnostics::{has_line_col, is_gcc_diagnostic, said_at_place};
pub(crate) use level::{Level, level_of};

/// What kind of tool output a text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// A test runner's report (pytest, unittest, cargo test, go test, jest).
    TestRun,
    /// A stack trace: Python tracebacks (chained or not), Rust panics, Java/JS frames.
    Traceback,
    /// Compiler diagnostics (rustc/cargo, gcc/clang, tsc).
    Compiler,
    /// Search hits, `path:line:text` (grep -rn, rg -n, git grep -n).
    Search,
    /// A unified diff (git diff, diff -u, git log -p).
    Diff,
    /// `git log` without patches.
    GitLog,
    /// Paths, one per line (find, ls -R, tree-less listings), or `ls -l`'s rows.
    Listing,
    /// Rows in aligned columns under a header (pip list, ps, docker ps, df, kubectl get).
    Table,
    /// One JSON value per line.
    Ndjson,
    /// A log: lines led by a timestamp or a level.
    Log,
}

impl OutputKind {
    /// The kind in words (`test run`, …), as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            OutputKind::TestRun => "test run",
            OutputKind::Traceback => "traceback",
            OutputKind::Compiler => "compiler output",
            OutputKind::Search => "search results",
            OutputKind::Diff => "diff",
            OutputKind::GitLog => "git log",
            OutputKind::Listing => "listing",
            OutputKind::Table => "table",
            OutputKind::Ndjson => "JSON lines",
            OutputKind::Log => "log",
        }
    }
}

/// Longest unit, in bytes: a longer line is cut at spaces into pieces about this long.
/// About 250 tokens, well under the budgets tool output is compressed to.
pub const MAX_UNIT_BYTES: usize = 1000;

/// What kind of tool output `text` is, if it is one. Looks at every line (cheap checks,
/// no regular expressions), so one traceback at the end of a long log is seen.
pub fn detect(text: &str) -> Option<OutputKind> {
    let mut n = 0usize;
    let mut c = Counts::default();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        n += 1;
        c.see(line, t);
    }
    if n < 3 {
        return None;
    }
    let share = |k: usize| k * 10 >= n * 6;
    if c.diff_git > 0 || (c.diff_minus > 0 && c.diff_plus > 0 && c.hunk > 0) {
        Some(OutputKind::Diff)
    } else if c.commit > 0 && c.author > 0 {
        Some(OutputKind::GitLog)
    } else if c.test_strong > 0 || c.test_weak >= 3 {
        Some(OutputKind::TestRun)
    } else if (c.diagnostic > 0 && (c.arrow > 0 || c.gcc > 0))
        // gcc, clang, mypy: `file:line[:col]: error: …` on a good share of the lines, or
        // with its notes and quoted source on half of them (an error in a macro is one
        // line among its expansions' notes and quotes).
        || (c.gcc > 0 && c.gcc * 10 >= n * 2)
        || (c.gcc > 0 && (c.gcc + c.gcc_context) * 10 >= n * 5)
    {
        Some(OutputKind::Compiler)
    } else if (c.traceback > 0 || c.frames >= 3 || c.panicked > 0)
        // A page that quotes one traceback among much prose is not a traceback.
        && (c.traceback + c.frames + c.panicked) * 10 >= n
    {
        Some(OutputKind::Traceback)
    } else if share(c.json) {
        Some(OutputKind::Ndjson)
    } else if share(c.hit) {
        Some(OutputKind::Search)
    } else if share(c.long_listing) {
        Some(OutputKind::Listing)
    } else if share(c.columns) {
        Some(OutputKind::Table)
    } else if n >= 5 && (c.path * 10 >= n * 8 || (c.dir_header >= 2 && c.bare * 10 >= n * 9)) {
        Some(OutputKind::Listing)
    } else if c.log * 10 >= n * 3 {
        Some(OutputKind::Log)
    } else {
        None
    }
}

/// Lines that vote for each kind.
#[derive(Debug, Default)]
struct Counts {
    diff_git: usize,
    diff_minus: usize,
    diff_plus: usize,
    hunk: usize,
    commit: usize,
    author: usize,
    /// Lines only a test runner prints.
    test_strong: usize,
    /// Lines a test runner prints among others (`... ok`, `PASSED`).
    test_weak: usize,
    diagnostic: usize,
    arrow: usize,
    gcc: usize,
    /// gcc's and clang's lines around a diagnostic: its notes (`a.c:146:5: note: declared
    /// here`), the source they quote (`  166 |   f(x);`) and the pointers under it (`      |
    /// ^~~`, clang's `    ~~~~  ^`).
    gcc_context: usize,
    traceback: usize,
    frames: usize,
    panicked: usize,
    json: usize,
    hit: usize,
    path: usize,
    /// `ls -R`'s `./src:` headings, and lines that are one word (a file name).
    dir_header: usize,
    bare: usize,
    log: usize,
    /// `ls -l`'s rows (`drwxr-xr-x 2 root root 4096 …`) and its `total 48`.
    long_listing: usize,
    /// Lines with fields set apart by runs of spaces, as aligned columns are.
    columns: usize,
}

impl Counts {
    fn see(&mut self, line: &str, t: &str) {
        let count = |b: bool| usize::from(b);
        self.diff_git += count(line.starts_with("diff --git "));
        self.diff_minus += count(line.starts_with("--- "));
        self.diff_plus += count(line.starts_with("+++ "));
        self.hunk += count(line.starts_with("@@ ") && line[3..].contains(" @@"));
        self.commit += count(line.starts_with("commit ") && is_sha(line[7..].trim_end()));
        self.author += count(line.starts_with("Author: "));
        self.test_strong += count(
            t.contains("test session starts")
                || t.contains("short test summary info")
                || (t.starts_with("test result: ") && t.contains(" passed;"))
                || is_test_count(t)
                || (t.starts_with("=") && t.ends_with("=") && is_pytest_summary(t))
                // TAP (node --test, tap, prove): its header, its plan's counts.
                || t.starts_with("TAP version ")
                // jest and vitest: `Tests:       8 failed, 1 passed, 9 total`.
                || ((t.starts_with("Tests:") || t.starts_with("Test Suites:"))
                    && t.ends_with(" total"))
                // vitest: `Test Files  3 failed | 61 passed (64)`.
                || is_vitest_count(t)
                || is_tap_count(t),
        );
        self.test_weak += count(
            (line.starts_with("test ") && (t.ends_with(" ... ok") || t.ends_with(" ... FAILED")))
                || t.ends_with(" ... ok")
                || (t.contains("::") && (t.contains(" PASSED") || t.contains(" FAILED")))
                || t.starts_with("--- FAIL: ")
                || t.starts_with("--- PASS: ")
                || is_go_verdict(t)
                || (t.starts_with("running ") && t.ends_with(" tests"))
                || is_tap_result(t)
                || is_jest_verdict(t)
                || is_vitest_header(t),
        );
        self.diagnostic +=
            count(is_rust_diagnostic(t) || t.starts_with("error TS") || is_lint_head(t));
        self.arrow += count(t.starts_with("--> ") && has_line_col(&t[4..]));
        self.gcc += count(is_gcc_diagnostic(t) || eslint_level(t).is_some());
        self.gcc_context += count(
            said_at_place(t, ": note: ")
                || (line.starts_with(|c: char| c == ' ' || c.is_ascii_digit())
                    && is_source_quote(t))
                || is_pointer(t),
        );
        let grouped = unmargin(line).trim();
        self.traceback += count(is_traceback_head(grouped));
        self.frames += count(is_frame(grouped));
        self.panicked += count(t.starts_with("thread '") && is_panic(t));
        self.json += count(
            (t.starts_with('{') && t.ends_with('}')) || (t.starts_with('[') && t.ends_with(']')),
        ) * count(serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok());
        self.hit += count(hit_split(line).is_some());
        self.path += count(is_path_line(t));
        self.dir_header += count(t.ends_with(':') && !t.contains(' ') && t.starts_with(['.', '/']));
        self.bare += count(!t.contains(char::is_whitespace));
        self.log += count(starts_with_time(t) || level_of(t).is_some() || is_progress(t));
        self.long_listing += count(is_long_listing(t));
        self.columns += count(t.len() <= 400 && has_column_gap(t));
    }
}

fn is_sha(s: &str) -> bool {
    let hex = s.split_whitespace().next().unwrap_or("");
    (7..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A line of an exception group's traceback without the group's margin. Python prints
/// the tracebacks of an `ExceptionGroup` (asyncio's `TaskGroup`, trio, pytest) inside a
/// `| ` margin, so `    |   File "a.py", line 7, in f` reads as `  File "a.py", line 7,
/// in f` and `    | ValueError: x` as an exception at the margin. Other lines as they are.
pub(crate) fn unmargin(line: &str) -> &str {
    let t = line.trim_start();
    match t.strip_prefix('|') {
        Some(rest) => rest.strip_prefix(' ').unwrap_or(rest),
        None => line,
    }
}

/// `Traceback (most recent call last):`, and an exception group's `+ Exception Group
/// Traceback (most recent call last):`.
pub(crate) fn is_traceback_head(t: &str) -> bool {
    t == "Traceback (most recent call last):"
        || t.ends_with("Exception Group Traceback (most recent call last):")
}

/// A ruler with a title: `===== FAILURES =====`, `____ test_x ____`, `---- x stdout ----`,
/// vitest's `⎯⎯⎯⎯ Failed Tests 3 ⎯⎯⎯⎯`.
pub(crate) fn is_banner(t: &str) -> bool {
    let t = t.trim();
    ["===", "___", "---", "⎯⎯⎯"]
        .iter()
        .any(|r| t.len() > 6 && t.starts_with(r) && t.ends_with(r))
}

/// A test runner's or a checker's closing lines: pytest's `3 failed, 10 passed in 0.52s`,
/// cargo's `test result: …`, unittest's `Ran 216 tests in 0.09s` and `FAILED
/// (failures=2)` or `OK`, jest's `Tests: …`, mypy's, tsc's and ruff's `Found 33 errors in
/// 9 files`, clang's `2 errors generated.`, eslint's `✖ 5 problems (…)`. Their words are
/// the program's, whatever the run was about.
pub(crate) fn is_run_summary(t: &str) -> bool {
    let counted =
        |t: &str| t.contains(" error") || t.contains(" warning") || t.contains(" problem");
    (t.starts_with("Found ") && counted(t))
        || t.starts_with("Success: no issues found")
        || (t.ends_with(" generated.") && counted(t))
        || (t.starts_with("✖ ") && counted(t))
        || is_tap_count(t)
        || is_pytest_summary(t)
        || t.starts_with("test result: ")
        || is_test_count(t)
        || t == "OK"
        || t.starts_with("OK (")
        || t.starts_with("FAILED (")
        || t.starts_with("Tests: ")
        || t.starts_with("Test Suites: ")
        || is_vitest_count(t)
        || is_go_verdict(t)
        // pip's last word on what it did.
        || t.starts_with("Successfully installed ")
        || t.starts_with("Successfully built ")
}

/// go test's verdict on a package: `FAIL\tgithub.com/x/y\t0.006s`, `ok  \tstrings\t0.5s`,
/// `FAIL\tx [build failed]`.
pub(crate) fn is_go_verdict(t: &str) -> bool {
    ["FAIL\t", "ok  \t"].iter().any(|w| {
        t.strip_prefix(w)
            .is_some_and(|p| !p.is_empty() && !p.starts_with(' '))
    })
}

/// What a Go test logged (`t.Errorf`, `t.Log`): `version_test.go:161: 1.2 <=> 1.2-beta`,
/// the place and the message in one line. A compiler's or vet's `x.go:3:2: …` has a
/// column and is not one.
pub(crate) fn is_go_test_log(t: &str) -> bool {
    let Some(at) = t.find(".go:") else {
        return false;
    };
    let rest = &t[at + 4..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    !t[..at].is_empty()
        && !t[..at].contains(char::is_whitespace)
        && digits > 0
        && rest[digits..].starts_with(": ")
}

/// jest's and vitest's verdicts: `✕ adds 0 + 2 (5 ms)`, `✓ is a function`, vitest's `×
/// length checks 10ms`, and a test file's `FAIL ./sum.test.js` or `PASS src/a.test.ts`.
pub(crate) fn is_jest_verdict(t: &str) -> bool {
    t.starts_with("✕ ")
        || t.starts_with("✓ ")
        || t.starts_with("× ")
        || ["FAIL ", "PASS "].iter().any(|w| {
            t.strip_prefix(w)
                .is_some_and(|p| !p.contains(' ') && (p.contains('/') || p.contains('.')))
        })
}

/// vitest's header over a failure's details, the test's id: `FAIL  src/a.test.ts > group >
/// adds 0 + 2` (a file, then the names it is under).
pub(crate) fn is_vitest_header(t: &str) -> bool {
    t.strip_prefix("FAIL ")
        .and_then(|r| r.trim_start().split_once(" > "))
        .is_some_and(|(file, name)| {
            !file.contains(' ') && file.contains('.') && !name.trim().is_empty()
        })
}

/// vitest's closing counts: `Test Files  3 failed | 61 passed (64)`, `Tests  685 passed
/// (688)`.
pub(crate) fn is_vitest_count(t: &str) -> bool {
    ["Test Files ", "Tests "].iter().any(|w| {
        t.strip_prefix(w).is_some_and(|r| {
            let r = r.trim_start();
            r.starts_with(|c: char| c.is_ascii_digit())
                && r.ends_with(')')
                && (r.contains(" passed") || r.contains(" failed"))
        })
    })
}

/// vitest's place in a stack: `❯ src/a.test.ts:147:18`, `❯ Module.<anonymous>
/// src/core/parse.ts:117:21`; not its `❯ src/a.test.ts (42 tests | 1 failed) 233ms`.
pub(crate) fn is_vitest_frame(t: &str) -> bool {
    t.strip_prefix("❯ ")
        .and_then(|r| r.rsplit(' ').next())
        .is_some_and(|place| place_file(place).is_some() && has_line_col(place))
}

/// A TAP test point: `ok 3 - adds 2 and 2`, `not ok 4 - parses dates`.
pub(crate) fn is_tap_result(t: &str) -> bool {
    let rest = t.strip_prefix("not ok ").or_else(|| t.strip_prefix("ok "));
    rest.is_some_and(|r| {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && (r.len() == digits || r[digits..].starts_with(' '))
    })
}

/// TAP's closing counts as node --test prints them: `# tests 14`, `# pass 2`, `# fail 12`
/// (tape aligns them: `# pass  151`).
pub(crate) fn is_tap_count(t: &str) -> bool {
    ["# tests ", "# pass ", "# fail "].iter().any(|w| {
        t.strip_prefix(w)
            .map(str::trim_start)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// unittest's `Ran 216 tests in 0.093s`: how many ran, not how it went.
pub(crate) fn is_test_count(t: &str) -> bool {
    t.starts_with("Ran ") && t.contains(" test") && t.contains(" in ")
}

/// `===== 3 failed, 10 passed in 0.52s =====` and its kin.
pub(crate) fn is_pytest_summary(t: &str) -> bool {
    let inner = t.trim_matches(|c| c == '=' || c == ' ');
    // It starts with a count: the cheap test first, most lines fail it.
    if !inner.starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    // Only the summary itself: `… in 0.52s`, maybe followed by a wall-clock `(0:01:02)`.
    let timed = inner.rsplit_once(" in ").is_some_and(|(_, d)| {
        d.split_whitespace()
            .next()
            .is_some_and(|d| d.ends_with('s') && d[..d.len() - 1].parse::<f64>().is_ok())
    });
    [
        " passed",
        " failed",
        " error",
        " errors",
        " skipped",
        " xfailed",
        " deselected",
    ]
    .iter()
    .any(|w| inner.contains(w))
        && timed
}

/// A stack frame: Python `File "…", line N`, Java `at a.b.C(…)`, JS `at f (file:1:2)`,
/// vitest's `❯ f src/a.ts:1:2`.
pub(crate) fn is_frame(t: &str) -> bool {
    (t.starts_with("File \"") && t.contains("\", line "))
        || (t.starts_with("at ") && (t.ends_with(')') || has_line_col(t)))
        || is_vitest_frame(t)
}

/// A search hit `path:line:text` (or `path-line-text`, a context line of grep -C): the
/// byte where the text begins, the path and the line number.
pub fn hit_split(line: &str) -> Option<(&str, usize)> {
    let colon = line.find(':')?;
    let path = &line[..colon];
    if path.is_empty() || path.contains(' ') || !(path.contains('/') || path.contains('.')) {
        return None;
    }
    let rest = &line[colon + 1..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || !matches!(rest.as_bytes().get(digits), Some(b':' | b'-')) {
        return None;
    }
    Some((path, colon + 1 + digits + 1))
}

/// A path on its own line (`./src/a.py`, `src/`, `ls -R`'s `./src:` headings).
fn is_path_line(t: &str) -> bool {
    !t.contains(' ')
        && (t.contains('/')
            || t.rsplit_once('.').is_some_and(|(a, e)| {
                !a.is_empty() && e.len() <= 5 && e.bytes().all(|b| b.is_ascii_alphanumeric())
            }))
        && !t.ends_with(';')
}

/// Whether two fields of a line are set apart by a run of spaces, as aligned columns are:
/// not the two spaces some writers put after a full stop (`end.  Next`).
fn has_column_gap(t: &str) -> bool {
    t.match_indices("  ").any(|(at, _)| {
        let before = t[..at].chars().next_back();
        let after = t[at..].trim_start().chars().next();
        before.is_some_and(|c| !".!?:;,".contains(c)) && after.is_some()
    })
}

/// A row of `ls -l` (`-rw-r--r-- 1 root root 812 Dec  7 13:54 a.txt`, `lrwxrwxrwx …`), or
/// the `total 48` above them.
fn is_long_listing(t: &str) -> bool {
    if let Some(n) = t.strip_prefix("total ") {
        return !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.');
    }
    let b = t.as_bytes();
    b.len() > 11
        && b"-dlcbps".contains(&b[0])
        && b[1..10].iter().all(|c| b"rwxsStT-".contains(c))
        && (b[10] == b' ' || (b".@+".contains(&b[10]) && b[11] == b' '))
}

/// A build or install tool's progress line: `Collecting sphinx`, `   Compiling serde
/// v1.0.219`, `Unpacking git (1:2.39.5) ...` — a capitalised verb in -ing, then what it
/// is doing it to. A sentence that starts so ends with a full stop; these do not. One
/// line proves nothing (`Nothing to do`): a text is a log when many lines are so.
fn is_progress(t: &str) -> bool {
    let Some((verb, rest)) = t.split_once(' ') else {
        return false;
    };
    let sentence = t.ends_with('.') && !t.ends_with("..");
    // `Bring`, `Thing`: a stem of three letters at least before the -ing.
    verb.len() >= 6
        && verb.ends_with("ing")
        && verb.starts_with(|c: char| c.is_ascii_uppercase())
        && verb[1..].bytes().all(|b| b.is_ascii_lowercase())
        && !rest.trim().is_empty()
        && !sentence
}

/// Whether a line begins with a date or a time (`2024-01-02 10:11:12`, `10:11:12.345`,
/// `[2024-…]`, `[  12.345678]`).
fn starts_with_time(t: &str) -> bool {
    let t = t.trim_start_matches('[').trim_start();
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    (digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7))
        || (digits(0..2) && b.get(2) == Some(&b':') && digits(3..5))
        || (b.first().is_some_and(u8::is_ascii_digit)
            && t.split_whitespace()
                .next()
                .is_some_and(|w| w.trim_end_matches(']').parse::<f64>().is_ok())
            && t.contains(']'))
}

/// A Rust panic's first line: `thread 'main' panicked at src/x.rs:3:5:`, or with the
/// thread's id that newer toolchains print, `thread 'tests::a' (76) panicked at …`.
pub fn is_panic(t: &str) -> bool {
    t.contains("' panicked at ") || (t.contains("thread '") && t.contains(") panicked at "))
}

/// Records: runs of lines that are read together — a commit of `git log`, a hunk of a diff
/// (its file's header lines are their own record), a folder's section of `ls -R`, the hits
/// of one file in search results. For each unit, the index of the unit that opens its
/// record (`None` outside any), and how much of a record's best value its other lines get:
/// a commit or a hunk the query points at is kept whole, a file with a relevant hit lifts
/// its other hits a little.
pub fn records(kind: OutputKind, units: &[&str]) -> (Vec<Option<usize>>, f64) {
    let mut open: Option<usize> = None;
    let mut last_path: Option<&str> = None;
    let mut out = Vec::with_capacity(units.len());
    for (i, u) in units.iter().enumerate() {
        let t = u.trim_end();
        let starts = match kind {
            OutputKind::GitLog => t.starts_with("commit ") && is_sha(&t[7..]),
            OutputKind::Diff => {
                t.starts_with("diff --git ")
                    || t.starts_with("@@ ")
                    || (t.starts_with("commit ") && is_sha(&t[7..]))
            }
            OutputKind::Listing => t.ends_with(':') && !t.contains(' '),
            OutputKind::Search => {
                let path = hit_split(t).map(|(p, _)| p);
                let new = path.is_some() && path != last_path;
                last_path = path.or(last_path);
                new
            }
            _ => return (vec![None; units.len()], 0.0),
        };
        if starts {
            open = Some(i);
        }
        out.push(open);
    }
    let share = match kind {
        OutputKind::Search => 0.5,
        _ => 0.9,
    };
    (out, share)
}

/// Chunks tool output into lines (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct OutputChunker {
    /// The kind of output, which decides what its lines are worth.
    pub kind: OutputKind,
}

impl Chunker for OutputChunker {
    fn chunk(&self, text: &str) -> Vec<Chunk> {
        let mut chunks: Vec<Chunk> = Vec::new();
        let mut pos = 0;
        for line in text.split_inclusive('\n') {
            let start = pos;
            pos += line.len();
            // A blank line goes with the line before it, as trailing whitespace does in
            // prose: alone it would be a unit worth nothing that still splits markers.
            if line.trim().is_empty()
                && let Some(last) = chunks.last_mut()
                && last.span.end == start
                && last.span.len() + line.len() <= MAX_UNIT_BYTES
            {
                last.span.end = pos;
                continue;
            }
            push_line(text, start..pos, &mut chunks);
        }
        chunks
    }
}

/// Pushes one line, cut at spaces into pieces of at most [`MAX_UNIT_BYTES`].
fn push_line(text: &str, span: std::ops::Range<usize>, chunks: &mut Vec<Chunk>) {
    let floor = |mut at: usize| {
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let mut start = span.start;
    while span.end - start > MAX_UNIT_BYTES {
        let limit = floor(start + MAX_UNIT_BYTES);
        let half = floor(start + MAX_UNIT_BYTES / 2);
        // After the last space (or comma, semicolon) in the second half, else at the limit.
        let cut = text[half..limit]
            .rfind([' ', ',', ';'])
            .map_or(limit, |i| half + i + 1);
        // A char wider than the whole window cannot happen (4 bytes at most), but never
        // push an empty chunk.
        let cut = if cut > start {
            cut
        } else {
            limit.max(start + 1)
        };
        chunks.push(Chunk::new(start..cut, ChunkKind::Line));
        start = cut;
    }
    if start < span.end {
        chunks.push(Chunk::new(start..span.end, ChunkKind::Line));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::segment::check_tiling;

    /// Python 3.11's asyncio.TaskGroup failing with two sub-exceptions, as it prints it.
    const GROUP: &str = "  + Exception Group Traceback (most recent call last):
  |   File \"/w/fetch_shards.py\", line 20, in <module>
  |     asyncio.run(main())
  |   File \"/usr/lib/python3.11/asyncio/taskgroups.py\", line 145, in __aexit__
  |     raise me from None
  | ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions)
  +-+---------------- 1 ----------------
    | Traceback (most recent call last):
    |   File \"/w/fetch_shards.py\", line 7, in fetch
    |     raise ConnectionResetError(f\"{name}: connection reset by peer\")
    | ConnectionResetError: shard-1: connection reset by peer
    +---------------- 2 ----------------
    | Traceback (most recent call last):
    |   File \"/w/fetch_shards.py\", line 9, in fetch
    |     raise ValueError(f\"{name}: unexpected end of JSON payload\")
    | ValueError: shard-3: unexpected end of JSON payload
    +------------------------------------
";

    #[test]
    fn vitests_headers_counts_and_frames() {
        assert!(is_vitest_header(
            "FAIL  src/v4/classic/tests/array.test.ts > parse should fail given sparse array"
        ));
        assert!(is_vitest_header(
            "FAIL  test/a.spec.ts > group > nested > adds 0 + 2"
        ));
        // jest's file verdict, and words that only start alike, are not.
        assert!(!is_vitest_header("FAIL ./sum.test.js"));
        assert!(!is_vitest_header("FAIL the build > warn"));
        assert!(is_vitest_count("Test Files  3 failed | 61 passed (64)"));
        assert!(is_vitest_count("Tests  688 passed (688)"));
        assert!(!is_vitest_count("Tests were skipped (see above)"));
        assert!(is_vitest_frame(
            "❯ src/v4/classic/tests/array.test.ts:147:18"
        ));
        assert!(is_vitest_frame(
            "❯ Module.<anonymous> src/v4/core/parse.ts:117:21"
        ));
        assert!(!is_vitest_frame(
            "❯ src/v4/classic/tests/string.test.ts (42 tests | 1 failed) 233ms"
        ));
        assert!(is_banner("⎯⎯⎯⎯⎯⎯⎯ Failed Tests 3 ⎯⎯⎯⎯⎯⎯⎯"));
        assert!(!is_banner("⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[1/3]⎯"));
    }

    #[test]
    fn gcc_mypy_and_tsc_diagnostics_are_compiler_output() {
        // gcc 12 on a two-line mistake, as it prints it.
        let gcc = "e.c: In function ‘main’:
e.c:2:11: warning: initialization of ‘int’ from ‘char *’ makes integer from pointer without a cast [-Wint-conversion]
    2 |   int x = \"a\";
      |           ^~~
e.c:3:10: error: ‘y’ undeclared (first use in this function)
    3 |   return y;
      |          ^
e.c:3:10: note: each undeclared identifier is reported only once for each function it appears in
";
        assert_eq!(detect(gcc), Some(OutputKind::Compiler));
        let mypy = "src/cachetools/keys.py:6: error: Missing type arguments for generic type \"tuple\"  [type-arg]
src/cachetools/keys.py:16: error: Function is missing a type annotation  [no-untyped-def]
src/cachetools/func.py:12: note: See https://mypy.readthedocs.io/en/stable/running_mypy.html
src/cachetools/func.py:24: error: Function is missing a return type annotation  [no-untyped-def]
Found 4 errors in 2 files (checked 4 source files)
";
        assert_eq!(detect(mypy), Some(OutputKind::Compiler));
        for verdict in [
            "Found 4 errors in 2 files (checked 4 source files)",
            "Success: no issues found in 17 source files",
            "2 errors generated.",
            "Found 454 errors.",
        ] {
            assert!(is_run_summary(verdict), "{verdict}");
        }
        assert!(!is_run_summary("Found the config in setup.cfg"));
        // tsc 5.6 on four mistakes, plain (as piped) and with --pretty, colours gone.
        let tsc = "a.ts(1,7): error TS2322: Type 'string' is not assignable to type 'number'.
a.ts(2,33): error TS2322: Type 'string' is not assignable to type 'number'.
a.ts(3,3): error TS2345: Argument of type 'number' is not assignable to parameter of type 'string'.
a.ts(4,9): error TS2552: Cannot find name 'undefinedName'. Did you mean 'undefined'?
";
        assert_eq!(detect(tsc), Some(OutputKind::Compiler));
        assert!(is_tsc_diagnostic(
            "a.ts:1:7 - error TS2322: Type 'string' is not assignable"
        ));
        assert!(!is_tsc_diagnostic("see f(1,2): error TSV export"));
        assert!(is_run_summary(
            "Found 4 errors in the same file, starting at: a.ts:1"
        ));
    }

    #[test]
    fn an_exception_groups_traceback_is_read_without_its_margin() {
        assert_eq!(detect(GROUP), Some(OutputKind::Traceback));
        assert_eq!(
            unmargin("    |   File \"/w/a.py\", line 7, in f\n"),
            "  File \"/w/a.py\", line 7, in f\n"
        );
        assert_eq!(unmargin("    | ValueError: x\n"), "ValueError: x\n");
        assert_eq!(unmargin("    |\n"), "\n");
        assert_eq!(unmargin("  a | b\n"), "  a | b\n");
        let units: Vec<&str> = GROUP.split_inclusive('\n').collect();
        let v = crate::score::salience::salience(OutputKind::Traceback, &units, None);
        // Each sub-exception and the group are the failures; the frames that raised them
        // say where.
        for i in [5, 10, 15] {
            assert_eq!(v[i], 1.0, "{i}: {v:?}");
        }
        assert!(v[8] >= 0.9 && v[13] >= 0.9, "{v:?}");
    }

    #[test]
    fn aligned_columns_are_a_table_and_ls_l_a_listing() {
        // pip list and ls -la, as they print.
        let table = "Package                   Version\n------------------------- -----------\n\
                     certifi                   2025.8.3\nidna                      3.10\n\
                     requests                  2.32.3\n";
        assert_eq!(detect(table), Some(OutputKind::Table));
        let ls = "total 20\ndrwxr-xr-x  4 root root 4096 Dec  7 13:54 .\n\
                  drwxr-xr-x 22 root root 4096 Dec  6 09:10 ..\n\
                  -rw-r--r--  1 root root  812 Dec  7 13:54 a.txt\n\
                  lrwxrwxrwx  1 root root   12 Dec  7 13:54 b -> a.txt\n";
        assert_eq!(detect(ls), Some(OutputKind::Listing));
        // Prose with two spaces after its full stops is prose.
        let prose = "The first sentence.  The second one.  A third\nsentence.  And a \
                     fourth one.  And more\nof it here.  The end.\n";
        assert_eq!(detect(prose), None);
    }

    #[test]
    fn build_and_install_progress_is_a_log() {
        for line in [
            "Collecting sphinxcontrib-applehelp>=1.0.7 (from sphinx)",
            "Downloading sphinx-9.0.4-py3-none-any.whl (3.9 MB)",
            "Compiling serde v1.0.219",
            "Unpacking git (1:2.39.5-0+deb12u3) ...",
        ] {
            assert!(is_progress(line), "{line}");
        }
        // A sentence, a heading word alone, a lower-case verb: not progress.
        for line in [
            "Running the tests takes a minute.",
            "Installing",
            "building wheel for x",
            "Bring your own runner",
        ] {
            assert!(!is_progress(line), "{line}");
        }
        let log = "Collecting a\n  Downloading a-1.0.0.whl (3 kB)\nCollecting b\n  Downloading \
                   b-2.0.0.whl (5 kB)\nInstalling collected packages: a, b\n\
                   Successfully installed a-1.0.0 b-2.0.0\n";
        assert_eq!(detect(log), Some(OutputKind::Log));
        assert!(is_run_summary("Successfully installed a-1.0.0 b-2.0.0"));
        assert_eq!(level_of("npm ERR! code E404"), Some(Level::Error));
    }

    #[test]
    fn lines_carry_their_blank_lines_and_long_lines_are_cut() {
        let text = "Traceback (most recent call last):\n  File \"a.py\", line 3, in <module>\n    main()\nValueError: x\n\n\nThe above exception\n";
        let chunks = OutputChunker {
            kind: OutputKind::Traceback,
        }
        .chunk(text);
        check_tiling(text, &chunks).unwrap();
        assert_eq!(chunks.len(), 5);
        assert_eq!(chunks[3].text(text), "ValueError: x\n\n\n");
        let long = format!("{}\nend\n", "word ".repeat(1000));
        let chunks = OutputChunker {
            kind: OutputKind::Log,
        }
        .chunk(&long);
        check_tiling(&long, &chunks).unwrap();
        assert!(chunks.iter().all(|c| c.span.len() <= MAX_UNIT_BYTES));
    }

    proptest::proptest! {
        #[test]
        fn chunks_tile_any_text(text in "(\\PC{0,80}\n?){0,40}|(File \"a\", line 1\n    [ éx]{0,1500}\n){1,3}") {
            let chunks = OutputChunker { kind: OutputKind::Traceback }.chunk(&text);
            check_tiling(&text, &chunks).unwrap();
            proptest::prop_assert!(chunks.iter().all(|c| c.span.len() <= MAX_UNIT_BYTES));
        }
    }

    #[test]
    fn an_error_in_a_macro_is_compiler_output() {
        // gcc 12 on Brotli with a renamed field: one error among the notes and quoted
        // source of the macro it is in.
        let gcc = "c/dec/bit_reader.h: In function 'BrotliCheckInputAmount':
c/dec/bit_reader.h:122:43: error: 'BrotliBitReader' has no member named 'guard_in'; did you mean 'guard'?
  122 |   return TO_BROTLI_BOOL(br->next_in < br->guard_in);
      |                                           ^~~~~~~~
c/include/brotli/types.h:55:31: note: in definition of macro 'TO_BROTLI_BOOL'
   55 | #define TO_BROTLI_BOOL(X) (!!(X) ? BROTLI_TRUE : BROTLI_FALSE)
      |                               ^
";
        assert_eq!(detect(gcc), Some(OutputKind::Compiler));
        // A markdown table is no quoted source.
        let table = "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n| 5 | 6 |\n| 7 | 8 |\n\
                     | 9 | 0 |\n| 1 | 1 |\nsee a.c:3:1: error: x\n";
        assert_ne!(detect(table), Some(OutputKind::Compiler));
    }

    #[test]
    fn clangs_report_is_compiler_output() {
        // clang 14 on lz4 with a broken MEM_INIT macro: code quoted without a gutter,
        // pointers under it, notes at the macro.
        let clang = "lz4libs/lz4hc.c:1182:60: warning: implicit conversion changes signedness: 'int' to 'unsigned long' [-Wsign-conversion]
        LZ4_memmove(safeBuffer, streamPtr->end - dictSize, dictSize);
        ~~~~~~~~~~~                                        ^~~~~~~~
1 warning generated.
lz4libs/lz4frame.c:112:24: error: too few arguments to function call, expected 3, have 2
        if (p != NULL) MEM_INIT(p, 0, s);
                       ^~~~~~~~~~~~~~~~~
lz4libs/lz4frame.c:90:43: note: expanded from macro 'MEM_INIT'
#  define MEM_INIT(p,v,s)   memset((p),(s))
                            ~~~~~~        ^
lz4libs/lz4frame.c:404:10: error: too few arguments to function call, expected 3, have 2
    else MEM_INIT(&prefs, 0, sizeof(prefs));
         ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
lz4libs/lz4frame.c:90:43: note: expanded from macro 'MEM_INIT'
#  define MEM_INIT(p,v,s)   memset((p),(s))
                            ~~~~~~        ^
";
        assert_eq!(detect(clang), Some(OutputKind::Compiler));
        let units: Vec<&str> = clang.lines().collect();
        let owners = crate::score::sections::note_owners(&units);
        assert_eq!(owners[7], Some(4), "{owners:?}");
        assert_eq!(owners[13], Some(10), "{owners:?}");
        assert!(is_pointer(units[2].trim()) && is_pointer("|   ^~~"));
        assert!(!is_pointer("~~~~~~") && !is_pointer("x ^ y"));
    }

    #[test]
    fn detection_reads_content() {
        let pytest = "============================= test session starts ==============================\ncollected 3 items\n\ntests/test_a.py::test_x PASSED [ 33%]\ntests/test_a.py::test_y FAILED [ 66%]\n";
        assert_eq!(detect(pytest), Some(OutputKind::TestRun));
        let grep = "src/a.py:10:class A:\nsrc/b.py:3:from a import A\nsrc/c.py:7:    A()\n";
        assert_eq!(detect(grep), Some(OutputKind::Search));
        let prose = "The quick brown fox.\nIt jumped over the dog.\nThen it slept for a while.\n";
        assert_eq!(detect(prose), None);
        let code = "import os\n\ndef main():\n    x = 1\n    return x\n";
        assert_eq!(detect(code), None);
    }
}
