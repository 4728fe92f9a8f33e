//! Which lines of a program's report belong together, read on the composed values of a
//! tool output: a diagnostic's notes, a unittest failure's section, the order of a
//! test run's failures and the depth of a traceback's frames.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::segment::output::{
    eslint_level, is_frame, is_lint_head, is_pointer, is_run_summary, is_rust_diagnostic,
    is_source_quote, is_vitest_header, lint_place, place_file, unmargin,
};

/// How far below its diagnostic's value a note of it (see [`note_owners`]) ranks: below
/// the diagnostic, above the diagnostics the query points at less.
const NOTE_GAP: f64 = 0.05;

/// gcc, clang and mypy explain a diagnostic in notes at its place (`a.py:67: note:
/// Superclass:`, then the signatures): they come with it, a little below it. Read on
/// the composed values, so the notes of the diagnostic the query asks about (its file)
/// come before other files' diagnostics.
///
/// An error in a macro is printed word for word at each place the macro is used, and only
/// its note says where (`lz4frame.c:404:10: note: in expansion of macro 'MEM_INIT'`): such
/// a note is worth what the error's first copy is, not what a repeat of it is (see
/// `discount_repeats`). A note itself repeated word for word (`string.h:61:14: note:
/// declared here` under each copy) is worth only what the copy it follows is.
pub(crate) fn diagnostic_notes(units: &[&str], values: &mut [f64]) {
    let mut first: FxHashMap<&str, usize> = FxHashMap::default();
    for (i, u) in units.iter().enumerate() {
        first.entry(u.trim()).or_insert(i);
    }
    for (i, owner) in note_owners(units).into_iter().enumerate() {
        if let Some(d) = owner {
            let own = first[units[i].trim()] == i;
            let base = if own {
                values[d].max(values[first[units[d].trim()]])
            } else {
                values[d]
            };
            values[i] = values[i].max(base - NOTE_GAP);
        }
    }
}

/// For each line, the diagnostic it is a note of: a `file:line: note:` at the place of
/// the last `error:`/`warning:` above it (and after it only notes), or at any place when
/// it follows the source that diagnostic quotes. gcc and clang quote the line under a
/// diagnostic and under each note (gcc `  290 |   x = f(a);` over `      |   ^~~`, clang
/// the code alone over `    ^~~`), and the note
/// after them is about that diagnostic wherever it points (`lz4hc.c:146:5: note:
/// declared here`, `types.h:55: note: in definition of macro …`), even when the header
/// that place is in is named between them (`In file included from lz4frame.c:88:`).
pub(crate) fn note_owners(units: &[&str]) -> Vec<Option<usize>> {
    let mut last: Option<(&str, usize)> = None;
    // Whether the line above quotes the source under `last` or under one of its notes.
    let mut quoted = false;
    // clang quotes the code without a gutter: a quote is the line above a pointer.
    let pointer = |i: usize| units.get(i).is_some_and(|u| is_pointer(u.trim()));
    units
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let t = u.trim();
            let quote = is_source_quote(t) || pointer(i) || pointer(i + 1);
            if last.is_some() && quote {
                quoted = true;
                return None;
            }
            // gcc names the header a note's place is in just above it (`In file included
            // from lz4frame.c:88:` over `string.h:61:14: note: declared here`).
            if t.starts_with("In file included from ") || (t.starts_with("from ") && quoted) {
                return None;
            }
            // The first marker says what the line is: an error may quote `: note: `.
            let marked = [": note: ", ": error: ", ": warning: ", ": fatal error: "]
                .iter()
                .filter_map(|w| t.find(w).map(|at| (at, *w)))
                .min();
            if let Some((at, ": note: ")) = marked {
                let owner = last
                    .filter(|&(p, _)| p == &t[..at] || quoted)
                    .map(|(_, d)| d);
                quoted = false;
                return owner;
            }
            quoted = false;
            last = marked.map(|(at, _)| (&t[..at], i));
            None
        })
        .collect()
}

/// How much more a diagnostic in a file the query names is worth (on the scale of
/// composed values): salience's whole weight, so it ranks above every other file's
/// diagnostic whatever their levels. A task about one file (`what does eslint still
/// report for src/duration.js?`) asks for its warnings too; with a quarter of that weight
/// they stayed below other files' errors, and ESLint's cases lost them.
const NAMED_FILE: f64 = crate::score::compose::SALIENCE;

/// A compiler's diagnostics in a file the query names (`what does tsc still report for
/// src/internal/Subject.ts?`, `I changed keys.py`) are the ones asked about: worth
/// [`NAMED_FILE`] more. The query's words alone do not say so: the path is one term among
/// the task's, and the other files' messages share its words. Notes follow their
/// diagnostic's value (see [`diagnostic_notes`]), not their own place.
///
/// A query that names most of the files with diagnostics lists what was compiled (`gcc
/// lz4.c lz4hc.c lz4frame.c`, the tool call is part of the query): it points at none.
///
/// `eslint` is [`eslint_files`] of `units`, which the caller needs too.
pub(crate) fn named_file_diagnostics(
    units: &[&str],
    eslint: &[(usize, std::ops::Range<usize>)],
    paths: &[&str],
    values: &mut [f64],
) {
    if paths.is_empty() {
        return;
    }
    let mut files: Vec<Option<&str>> = units.iter().map(|u| diagnostic_file(u.trim())).collect();
    // rustc and ruff name the file on the line under their diagnostic: both are about it.
    for i in 0..units.len() {
        if let Some(file) = units[i].trim().strip_prefix("--> ").and_then(place_file) {
            files[i] = Some(file);
            if let Some(h) = (i.saturating_sub(2)..i).rev().find(|&h| {
                let t = units[h].trim();
                is_rust_diagnostic(t) || is_lint_head(t)
            }) {
                files[h] = Some(file);
            }
        }
    }
    // ESLint names the file once, on a line of its own over its problems.
    for (h, problems) in eslint {
        let file = units[*h].trim();
        for i in std::iter::once(*h).chain(problems.clone()) {
            files[i] = Some(file);
        }
    }
    let distinct: FxHashSet<&str> = files.iter().flatten().copied().collect();
    let named: FxHashSet<&str> = distinct
        .iter()
        .copied()
        .filter(|f| crate::score::names::is_named_file(f, paths))
        .collect();
    if named.len() * 2 > distinct.len() {
        return;
    }
    for (v, f) in values.iter_mut().zip(files) {
        if f.is_some_and(|f| named.contains(f)) {
            *v += NAMED_FILE;
        }
    }
}

/// The file an error or warning line is about: `src/a.c` of gcc's and mypy's `src/a.c:12:5:
/// error: …` (`C:\w\a.c` of `C:\w\a.c:12:5: error: …`), of tsc's `src/a.ts(3,7): error
/// TS2322: …` and `src/a.ts:3:7 - error TS2322: …`, and of a linter's `src/a.py:4:5: F821 …`.
/// rustc and ruff name the file on the line under their diagnostic (`--> src/lib.rs:3:5`;
/// see [`named_file_diagnostics`]).
pub(crate) fn diagnostic_file(t: &str) -> Option<&str> {
    let at = [
        ": error",
        ": warning",
        ": fatal error: ",
        " - error TS",
        " - warning TS",
    ]
    .iter()
    .filter_map(|w| t.find(w))
    .min();
    match at {
        Some(at) => place_file(&t[..at]),
        None => lint_place(t).and_then(place_file),
    }
}

/// ESLint's report: each file's path, on a line of its own, with the problem lines under
/// it (`  288:13  error  Expected '===' …  eqeqeq`), to the first line that is not one.
pub(crate) fn eslint_files(units: &[&str]) -> Vec<(usize, std::ops::Range<usize>)> {
    let problem = |i: usize| {
        units
            .get(i)
            .is_some_and(|u| eslint_level(u.trim()).is_some())
    };
    let mut out = Vec::new();
    for (h, u) in units.iter().enumerate() {
        let t = u.trim();
        if t.is_empty() || t.contains(char::is_whitespace) || !problem(h + 1) {
            continue;
        }
        let end = (h + 1..units.len())
            .find(|&i| !problem(i))
            .unwrap_or(units.len());
        out.push((h, h + 1..end));
    }
    out
}

/// unittest's failure sections: each `FAIL: …`/`ERROR: …` header with the lines after it,
/// to the next rule (`=====…`, `-----…`) or header.
pub(crate) fn unittest_sections(units: &[&str]) -> Vec<(usize, std::ops::Range<usize>)> {
    let header = |t: &str| t.starts_with("FAIL: ") || t.starts_with("ERROR: ");
    let rule =
        |t: &str| t.len() >= 20 && (t.bytes().all(|b| b == b'=') || t.bytes().all(|b| b == b'-'));
    let mut out = Vec::new();
    for (h, u) in units.iter().enumerate() {
        if !header(u.trim()) {
            continue;
        }
        // The rule right under the header opens its traceback: the section runs past it.
        let mut end = h + 2;
        while end < units.len() && !header(units[end].trim()) && !rule(units[end].trim()) {
            end += 1;
        }
        out.push((h, h + 1..end.min(units.len())));
    }
    out
}

/// How much less each later failure of a test run is worth than the one before it (the
/// values of the k-th failure's lines are divided by `1 + FAILURE_DECAY × k`, see
/// [`failure_decay`]): a run is read top-down. With 111 failures of one assertion, the
/// first failures' sections (where, and what was expected) say why they fail, and the
/// hundredth `FAILED test_x - AssertionError` line says only that one more did: without
/// the decay those names filled an 8x budget and not one line said why.
pub(crate) const FAILURE_DECAY: f64 = 0.02;

/// Per line of a test run, the place of the failure it is about (see [`failure_places`]).
#[cfg(test)]
pub(crate) fn failure_order(units: &[&str]) -> Vec<Option<usize>> {
    failure_places(units)
        .0
        .into_iter()
        .map(|p| p.map(|(k, _)| k))
        .collect()
}

/// How much less each later failure's name is worth than the one before it, in a run
/// that also explains its failures in sections: pytest's `FAILED x - AssertionError: …`,
/// cargo's `test x ... FAILED`, go's `--- FAIL: TestX` say again which test failed, and
/// the k-th one is worth less than what the sections say of the first ones (the first
/// `E` line and where). A run that names its failures and explains none (`pytest
/// --tb=no`) keeps [`FAILURE_DECAY`] for them. Chosen on dev (248 cases, a first form of
/// the rule): 0.04 to 0.06 keep the same gold lines within four of 2,340; 0.02 keeps 18
/// fewer, 0.1 fifteen fewer.
pub(crate) const NAMED_DECAY: f64 = 0.05;

/// Per line of a test run, what its value is divided by, less one: `FAILURE_DECAY × k` for
/// the k-th failure's section and for the line that names it ([`NAMED_DECAY`] for that
/// line when the run has sections); `None` for a line about no one failure.
pub(crate) fn failure_decay(units: &[&str]) -> Vec<Option<f64>> {
    let (places, sections) = failure_places(units);
    places
        .into_iter()
        .map(|p| {
            p.map(|(k, named)| {
                let decay = if named && sections > 0 {
                    NAMED_DECAY
                } else {
                    FAILURE_DECAY
                };
                decay * k as f64
            })
        })
        .collect()
}

/// Per line of a test run, the place of the failure it is about (0 for the first), or
/// `None`, and the number of sections. A failure's section opens at its header (pytest's
/// `____ test_x ____`, cargo's `---- x stdout ----`, unittest's `FAIL: …`, jest's `● …`,
/// vitest's `FAIL  a.test.ts > x`) and ends at the next, at a banner (`=== short test
/// summary info ===`), at cargo's `failures:` list or at the run's closing lines. Outside
/// the sections, a line that names one failure (`FAILED x - …`, `test x ... FAILED`, `not
/// ok 3 …`) is placed among the lines of its shape, and marked as such a name.
fn failure_places(units: &[&str]) -> (Vec<Option<(usize, bool)>>, usize) {
    let (mut opened, mut current) = (0, None);
    let mut named = [0usize; 4];
    let places = units
        .iter()
        .map(|u| {
            let t = u.trim();
            let summary = is_run_summary(t);
            let opens = t.starts_with("● ")
                || is_vitest_header(t)
                || (t.starts_with("____") && t.ends_with("____"))
                || (t.starts_with("---- ") && t.ends_with(" ----"))
                || t.starts_with("FAIL: ")
                || t.starts_with("ERROR: ");
            if opens {
                current = Some(opened);
                opened += 1;
            } else if t.starts_with("==") || t == "failures:" || summary {
                current = None;
            }
            if current.is_some() || summary {
                return current.map(|k| (k, false));
            }
            let shape = if t.starts_with("FAILED ") || t.starts_with("ERROR ") {
                0
            } else if t.starts_with("not ok ")
                || t.starts_with("--- FAIL")
                || t.starts_with("✕ ")
                || t.starts_with("× ")
            {
                1
            } else if t.ends_with(" FAILED") || t.ends_with(" FAIL") || t.ends_with(" ERROR") {
                2
            } else if t.contains(" FAILED ") || t.contains(" ERROR ") {
                3
            } else {
                return None;
            };
            named[shape] += 1;
            Some((named[shape] - 1, true))
        })
        .collect();
    (places, opened)
}

/// How much less each frame of a traceback is worth than the one it called (the values
/// of a frame's lines are divided by `1 + FRAME_DECAY × k`, k frames above the one that
/// raised, see [`frame_depth`]). A traceback lists the most recent call last: the
/// frame that raised says where, the entry point (`<module>`, `main`) what every run
/// of the program goes through. When the query names the program's file, all its frames
/// match it equally, and without the decay the first of them came first.
pub(crate) const FRAME_DECAY: f64 = 0.02;

/// Per line of a traceback, how many frames it is above the frame that raised (0 for
/// that frame and the source it quotes), or `None` outside a traceback's frames. A line
/// at the margin (an exception, a chaining line, `Traceback (…):`) ends the frames above
/// it; an exception group's lines are read without its margin.
pub(crate) fn frame_depth(units: &[&str]) -> Vec<Option<usize>> {
    let mut depth = vec![None; units.len()];
    // Frames seen below, since the last line at the margin (reading upwards).
    let mut below: Option<usize> = None;
    for (i, u) in units.iter().enumerate().rev() {
        let line = unmargin(u);
        if !line.starts_with(char::is_whitespace) || line.trim().is_empty() {
            below = None;
            continue;
        }
        if is_frame(line.trim()) {
            let k = below.map_or(0, |n| n + 1);
            depth[i] = Some(k);
            below = Some(k);
        } else {
            // The source a frame quotes, and its carets: the frame's own depth, which is
            // the next frame's once it is read (a frame's lines are all below it).
            depth[i] = Some(below.map_or(0, |n| n + 1));
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_counted_from_the_one_that_raised() {
        let units = [
            "Traceback (most recent call last):\n",
            "  File \"app.py\", line 20, in <module>\n",
            "    main()\n",
            "  File \"app.py\", line 7, in flatten\n",
            "    flatten(child, out)\n",
            "  [Previous line repeated 995 more times]\n",
            "RecursionError: maximum recursion depth exceeded\n",
        ];
        assert_eq!(
            frame_depth(&units),
            [None, Some(1), Some(1), Some(0), Some(0), Some(0), None]
        );
    }

    #[test]
    fn a_diagnostics_notes_come_with_it() {
        let units = [
            "md/wikilinks.py:67: error: Signature of \"handleMatch\" incompatible with supertype\n",
            "md/wikilinks.py:67: note:      Superclass:\n",
            "md/wikilinks.py:67: note:          def handleMatch(self, m: Match[str]) -> str\n",
            "md/core.py:12: note: (or run \"mypy --install-types\" to install all stubs)\n",
            "md/core.py:219: error: Returning Any from function declared to return \"Extension\"\n",
        ];
        // Composed values: the query names wikilinks.py, so its error is worth more than
        // core.py's; notes are worth little on their own.
        let mut v = vec![1.74, 0.1, 0.1, 0.1, 1.58];
        diagnostic_notes(&units, &mut v);
        // The asked error's notes come right below it, above the other file's error...
        assert!(v[1] == v[2] && v[1] < v[0] && v[1] > v[4], "{v:?}");
        // ... and a note at another place explains nothing before it.
        assert_eq!(v[3], 0.1, "{v:?}");
        assert_eq!(note_owners(&units), [None, Some(0), Some(0), None, None]);
    }

    #[test]
    fn a_gcc_note_after_the_quoted_source_is_its_diagnostics() {
        // gcc 12's output (lz4 with a call missing an argument): the note points at the
        // declaration, elsewhere, but follows the error's quoted source.
        let units = [
            "lz4libs/lz4hc.c: In function 'LZ4HC_InsertAndGetWiderMatch':\n",
            "lz4libs/lz4hc.c:290:55: error: too few arguments to function 'LZ4HC_countBack'\n",
            "  290 |     int const back = lookBackLength ? LZ4HC_countBack(ip, m, lo) : 0;\n",
            "      |                                       ^~~~~~~~~~~~~~~\n",
            "lz4libs/lz4hc.c:146:5: note: declared here\n",
            "  146 | int LZ4HC_countBack(const BYTE* const ip, const BYTE* const match,\n",
            "      |     ^~~~~~~~~~~~~~~\n",
            "c/include/brotli/types.h:55:31: note: in definition of macro 'TO_BROTLI_BOOL'\n",
            "lz4libs/lz4hc.c: In function 'LZ4_saveDictHC':\n",
            "lz4libs/lz4hc.c:900:1: note: declared here\n",
        ];
        let owners = note_owners(&units);
        // The note and the one after its own quote are the error's; after a line that is
        // neither a quote nor a note, a note at another place is nobody's.
        assert_eq!(owners[4], Some(1));
        assert_eq!(owners[7], Some(1));
        assert_eq!(owners[9], None);
        assert!(owners[..4].iter().all(Option::is_none));
        // Right under an error that quotes nothing (mypy), a note at another place is
        // nobody's; an error whose message quotes `: note: ` is an error.
        let mypy = [
            "a.c:3:1: error: x\n",
            "   3 | int x;\n",
            "a.c:9:1: error: redefinition of 'y': note: see above\n",
            "b.c:1:1: note: declared here\n",
            "a.c:9:1: note: at its place\n",
        ];
        assert_eq!(note_owners(&mypy), [None, None, None, None, Some(2)]);
        assert!(is_source_quote("  290 |     int x;") && is_source_quote("|   ^~~"));
        assert!(!is_source_quote("a.c:3:1: error: x"));
    }

    #[test]
    fn a_macros_places_are_worth_its_errors_first_copy() {
        // gcc 12 on lz4 with a broken MEM_INIT macro: one error, printed at each use, and
        // the notes that say where each use is.
        let units = [
            "lz4libs/lz4frame.c:90:29: error: too few arguments to function 'memset'\n",
            "   90 | #  define MEM_INIT(p,v,s)   memset((p),(s))\n",
            "      |                             ^~~~~~\n",
            "lz4libs/lz4frame.c:112:24: note: in expansion of macro 'MEM_INIT'\n",
            "  112 |         if (p != NULL) MEM_INIT(p, 0, s);\n",
            "      |                        ^~~~~~~~\n",
            "In file included from lz4libs/lz4frame.c:88:\n",
            "/usr/include/string.h:61:14: note: declared here\n",
            "lz4libs/lz4frame.c: In function 'LZ4F_compressFrameBound':\n",
            "lz4libs/lz4frame.c:90:29: error: too few arguments to function 'memset'\n",
            "   90 | #  define MEM_INIT(p,v,s)   memset((p),(s))\n",
            "lz4libs/lz4frame.c:404:10: note: in expansion of macro 'MEM_INIT'\n",
            "  404 |     else MEM_INIT(&prefs, 0, sizeof(prefs));\n",
            "/usr/include/string.h:61:14: note: declared here\n",
        ];
        // Composed values: the repeated error was discounted to a tenth of its salience.
        let mut v = vec![
            1.6, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 0.1, 0.0, 0.25, 0.0, 0.1, 0.0, 0.1,
        ];
        diagnostic_notes(&units, &mut v);
        // The second place is worth as much as the first, and the first `declared here`
        // comes with its error, past the header named above it; its repeat is worth only
        // what its own copy of the error is.
        assert!(v[11] == v[3] && v[3] > 1.5, "{v:?}");
        assert!(v[7] > 1.5 && v[6] == 0.0, "{v:?}");
        assert!(v[13] < 0.25, "{v:?}");
    }

    #[test]
    fn diagnostics_in_the_file_the_query_names_come_first_within_their_level() {
        let units = [
            "src/internal/AsyncSubject.ts(14,13): error TS4114: This member must have an 'override' modifier\n",
            "src/internal/Subject.ts(36,10): error TS4114: This member must have an 'override' modifier\n",
            "src/internal/Subject.ts:40:1: warning: unused\n",
            "  Property 'next' does not exist on type 'NextObserver<T>'.\n",
        ];
        assert_eq!(
            diagnostic_file(units[0].trim()),
            Some("src/internal/AsyncSubject.ts")
        );
        let file = |t| diagnostic_file(t);
        assert_eq!(file("md/core.py:12: error: x"), Some("md/core.py"));
        assert_eq!(file("a.c:3:5: fatal error: x.h: No such file"), Some("a.c"));
        assert_eq!(file("C:\\w\\a.c:3:5: error: x"), Some("C:\\w\\a.c"));
        assert_eq!(file("src/a.ts:3:7 - error TS2322: x"), Some("src/a.ts"));
        assert_eq!(file(units[3].trim()), None);
        assert_eq!(file("error: could not compile `x`"), None);
        assert_eq!(file("see f(x): error here"), None);
        // A note follows its diagnostic's value (`diagnostic_notes`), not its own place.
        assert_eq!(file("md/core.py:12: note: see"), None);
        // Composed values: the other file's error matches the query's words a little more.
        let mut v = vec![1.74, 1.70, 0.7, 0.1];
        named_file_diagnostics(
            &units,
            &eslint_files(&units),
            &["src/internal/Subject.ts"],
            &mut v,
        );
        assert!(v[1] > v[0], "{v:?}");
        assert!(
            v[2] > v[0],
            "a warning in the named file is above an error elsewhere: {v:?}"
        );
        assert_eq!(v[3], 0.1);
        let mut w = vec![1.74, 1.70, 0.7, 0.1];
        named_file_diagnostics(&units, &eslint_files(&units), &[], &mut w);
        assert_eq!(w, [1.74, 1.70, 0.7, 0.1]);
        // rustc's diagnostic and the line under it that names its file.
        let rustc = [
            "warning: unused variable: `x`\n",
            "  --> src/lib.rs:3:9\n",
            "error[E0308]: mismatched types\n",
            "   --> src/parse.rs:25:17\n",
            "    |\n",
        ];
        let mut r = vec![0.7, 0.7, 1.5, 1.2, 0.0];
        named_file_diagnostics(&rustc, &eslint_files(&rustc), &["src/parse.rs"], &mut r);
        assert_eq!(r, [0.7, 0.7, 1.5 + NAMED_FILE, 1.2 + NAMED_FILE, 0.0]);
        // ruff's head and place, and its concise line.
        let ruff = [
            "F821 Undefined name `value`\n",
            "  --> src/click/utils.py:54:19\n",
            "src/click/core.py:12:5: F401 [*] `os` imported but unused\n",
            "src/click/utils.py:59:16: F821 Undefined name `value`\n",
        ];
        assert_eq!(file(ruff[2].trim()), Some("src/click/core.py"));
        let mut f = vec![1.5, 1.2, 1.5, 1.5];
        named_file_diagnostics(&ruff, &eslint_files(&ruff), &["src/click/utils.py"], &mut f);
        assert_eq!(
            f,
            [1.5 + NAMED_FILE, 1.2 + NAMED_FILE, 1.5, 1.5 + NAMED_FILE]
        );
        // ESLint's path over its problems, named by the end of the path.
        let eslint = [
            "/w/luxon/src/duration.js\n",
            "  288:13  error    Expected '===' and instead saw '=='  eqeqeq\n",
            "\n",
            "/w/luxon/src/zone.js\n",
            "  53:14  error  'ts' is defined but never used  no-unused-vars\n",
        ];
        assert_eq!(eslint_files(&eslint), [(0, 1..2), (3, 4..5)]);
        let mut e = vec![0.1, 1.5, 0.0, 0.1, 1.5];
        named_file_diagnostics(
            &eslint,
            &eslint_files(&eslint),
            &["src/duration.js"],
            &mut e,
        );
        assert_eq!(e, [0.1 + NAMED_FILE, 1.5 + NAMED_FILE, 0.0, 0.1, 1.5]);
        // A query that names every file with diagnostics (the compiler's command line)
        // points at none of them.
        named_file_diagnostics(
            &units,
            &eslint_files(&units),
            &["src/internal/Subject.ts", "src/internal/AsyncSubject.ts"],
            &mut w,
        );
        assert_eq!(w, [1.74, 1.70, 0.7, 0.1]);
    }

    #[test]
    fn unittests_failure_sections_run_to_the_next_rule() {
        // python -m unittest on json5 with its separators swapped, as it prints it.
        let units = [
            "======================================================================\n",
            "FAIL: test_arrays (tests.lib_test.TestDumps.test_arrays)\n",
            "----------------------------------------------------------------------\n",
            "Traceback (most recent call last):\n",
            "  File \"/w/json5/tests/lib_test.py\", line 389, in check\n",
            "AssertionError: '[1, 2, 3]' != '[1: 2: 3]'\n",
            "\n",
            "======================================================================\n",
            "ERROR: test_b (tests.lib_test.TestDumps.test_b)\n",
            "----------------------------------------------------------------------\n",
            "KeyError: 'b'\n",
            "----------------------------------------------------------------------\n",
            "Ran 57 tests in 0.025s\n",
        ];
        assert_eq!(unittest_sections(&units), [(1, 2..7), (8, 9..11)]);
    }

    #[test]
    fn a_runs_failures_are_numbered_in_order() {
        // cargo test with two failures, as it prints them.
        let units = [
            "test a ... FAILED\n",
            "test b ... FAILED\n",
            "failures:\n",
            "---- a stdout ----\n",
            "thread 'a' panicked at src/lib.rs:3:5:\n",
            "---- b stdout ----\n",
            "thread 'b' panicked at src/lib.rs:9:5:\n",
            "failures:\n",
            "    a\n",
            "test result: FAILED. 0 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out\n",
        ];
        let s = failure_order(&units);
        assert_eq!(
            s,
            [
                Some(0),
                Some(1),
                None,
                Some(0),
                Some(0),
                Some(1),
                Some(1),
                None,
                None,
                None
            ]
        );
        // pytest's summary names each failure in the order of its sections.
        let units = [
            "=========================== short test summary info ============================\n",
            "FAILED t.py::test_a - AssertionError\n",
            "FAILED t.py::test_b - KeyError: 'x'\n",
            "2 failed, 3 passed in 0.12s\n",
        ];
        assert_eq!(failure_order(&units), [None, Some(0), Some(1), None]);
        // unittest: each section under its own rule.
        let units = [
            "======================================================================\n",
            "FAIL: test_a (t.T.test_a)\n",
            "AssertionError: 1 != 2\n",
            "======================================================================\n",
            "FAIL: test_b (t.T.test_b)\n",
            "----------------------------------------------------------------------\n",
            "Ran 2 tests in 0.001s\n",
        ];
        let s = failure_order(&units);
        assert_eq!(s, [None, Some(0), Some(0), None, Some(1), Some(1), None]);
    }

    #[test]
    fn failure_names_decay_faster_where_sections_explain_them() {
        // pytest -q: two sections, then the summary naming both failures again.
        let units = [
            "____ test_a ____\n",
            "E   AssertionError\n",
            "____ test_b ____\n",
            "E   KeyError: 'x'\n",
            "=========================== short test summary info ============================\n",
            "FAILED t.py::test_a - AssertionError\n",
            "FAILED t.py::test_b - KeyError: 'x'\n",
            "2 failed, 3 passed in 0.12s\n",
        ];
        assert_eq!(
            failure_decay(&units),
            [
                Some(0.0),
                Some(0.0),
                Some(FAILURE_DECAY),
                Some(FAILURE_DECAY),
                None,
                Some(0.0),
                Some(NAMED_DECAY),
                None
            ]
        );
        // `--tb=no`: the names are all there is.
        assert_eq!(
            failure_decay(&units[4..]),
            [None, Some(0.0), Some(FAILURE_DECAY), None]
        );
    }
}
