//! Compilers', checkers' and linters' lines: a diagnostic's head in each tool's form
//! (rustc, gcc and clang, tsc, ruff, ESLint), the source it quotes and the pointer under
//! it, and the place (`file:line:col`) it is at.

use super::level::Level;

/// `error[E0308]: …`, `warning: …`, `error: …` as rustc and cargo print them.
pub(crate) fn is_rust_diagnostic(t: &str) -> bool {
    for lead in ["error", "warning"] {
        if let Some(rest) = t.strip_prefix(lead) {
            let rest = match rest.strip_prefix('[') {
                Some(r) => match r.find("]") {
                    Some(end) => &r[end + 1..],
                    None => continue,
                },
                None => rest,
            };
            if rest.starts_with(": ") {
                return true;
            }
        }
    }
    false
}

/// A compiler's quote of the source under a diagnostic: the line with its number in a
/// gutter (`  290 |   int x;`), or the gutter alone over a pointer (`      |   ^~~`).
pub(crate) fn is_source_quote(t: &str) -> bool {
    t.trim_start()
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start()
        .starts_with('|')
}

/// A compiler's pointer under a quoted line: gcc's `      |   ^~~` and clang's `    ~~~~~   ^`
/// (marks under the quoted code, at least one caret, no words).
pub(crate) fn is_pointer(t: &str) -> bool {
    t.contains('^') && t.chars().all(|c| c.is_whitespace() || "^~|".contains(c))
}

/// `src/a.c:12:5: error: …` (gcc, clang, and the many tools that copy them), and a
/// linter's one-line form of it (`src/a.py:45:5: F821 Undefined name `x``).
pub(super) fn is_gcc_diagnostic(t: &str) -> bool {
    [": error: ", ": warning: ", ": fatal error: "]
        .iter()
        .any(|w| said_at_place(t, w))
        || is_tsc_diagnostic(t)
        || lint_place(t).is_some()
}

/// A linter's rule code: `F821`, `E501`, `PLR0913`, `SIM105` (ruff's and flake8's, after
/// pyflakes, pycodestyle and pylint): one to four capitals, then three or four digits.
fn is_rule_code(w: &str) -> bool {
    let letters = w.bytes().take_while(u8::is_ascii_uppercase).count();
    let digits = w.len() - letters;
    (1..=4).contains(&letters)
        && (3..=4).contains(&digits)
        && w.bytes().skip(letters).all(|b| b.is_ascii_digit())
}

/// The head of ruff's diagnostic in its default form, a rule code and its message
/// (`F821 Undefined name `value``), over a ` --> file:L:C` line (see
/// [`named_file_diagnostics`](crate::score::sections::named_file_diagnostics)).
pub(crate) fn is_lint_head(t: &str) -> bool {
    t.split_once(' ')
        .is_some_and(|(code, message)| is_rule_code(code) && !message.trim().is_empty())
}

/// The place of a linter's one-line diagnostic: `src/a.py:45:5` of `src/a.py:45:5: PLC0415
/// `import` should be at the top-level of a file` (ruff's `concise` form, flake8's).
pub(crate) fn lint_place(t: &str) -> Option<&str> {
    // The place is the first word (most lines fail here, before the rest is read).
    let (first, rest) = t.split_once(' ')?;
    let place = first.strip_suffix(':')?;
    let code = rest.split(' ').next()?;
    (has_line_col(place) && is_rule_code(code) && rest.len() > code.len()).then_some(place)
}

/// Whether `t` says `word` right after a place: `src/a.c:12:5` before `: note: `.
pub(super) fn said_at_place(t: &str, word: &str) -> bool {
    t.find(word).is_some_and(|at| has_line_col(&t[..at]))
}

/// tsc's `src/a.ts(3,7): error TS2322: …` (and `src/a.ts:3:7 - error TS2322: …` with
/// `--pretty`, its colours gone).
pub(crate) fn is_tsc_diagnostic(t: &str) -> bool {
    // Every form has `TS` and a digit; most lines have none (the cheap test first).
    if !t
        .as_bytes()
        .windows(3)
        .any(|w| w[0] == b'T' && w[1] == b'S' && w[2].is_ascii_digit())
    {
        return false;
    }
    // The code's number follows `TS`.
    let coded = |at: usize, w: &str| t[at + w.len()..].starts_with(|c: char| c.is_ascii_digit());
    let paren = ["): error TS", "): warning TS"].iter().any(|w| {
        t.find(w).is_some_and(|at| {
            coded(at, w)
                && t[..at].rsplit_once('(').is_some_and(|(path, at)| {
                    !path.is_empty()
                        && at.split(',').count() == 2
                        && at
                            .split(',')
                            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                })
        })
    });
    paren
        || [" - error TS", " - warning TS"].iter().any(|w| {
            t.find(w)
                .is_some_and(|at| coded(at, w) && has_line_col(&t[..at]))
        })
}

/// The file of a place in it: `src/a.c` of `src/a.c:12:5` or `src/a.c:12` (gcc, mypy, tsc
/// --pretty, rustc's `-->`; the numbers read from the right, as a Windows path has a colon
/// of its own) and of tsc's `src/a.ts(3,7)` (its closing parenthesis may be gone).
pub(crate) fn place_file(place: &str) -> Option<&str> {
    let numbers = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let open = place.strip_suffix(')').unwrap_or(place);
    if let Some((file, at)) = open.rsplit_once('(')
        && at
            .split_once(',')
            .is_some_and(|(l, c)| numbers(l) && numbers(c))
    {
        return (!file.is_empty()).then_some(file);
    }
    let mut file = place;
    while let Some((head, n)) = file.rsplit_once(':')
        && numbers(n)
    {
        file = head;
    }
    (file.len() < place.len() && !file.is_empty()).then_some(file)
}

/// Whether `s` ends in `:LINE:COL` or `:LINE`.
pub(super) fn has_line_col(s: &str) -> bool {
    let mut parts = s.rsplit(':');
    let last = parts.next().unwrap_or("");
    !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())
}

/// The level of ESLint's problem line (its default report, under the file's path): `
/// 288:13  error    Expected '===' and instead saw '=='  eqeqeq`, a place in that file, a
/// level, a message and a rule.
pub(crate) fn eslint_level(t: &str) -> Option<Level> {
    let (place, rest) = t.split_once(' ')?;
    let (line, col) = place.split_once(':')?;
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !number(line) || !number(col) {
        return None;
    }
    match rest.trim_start().split_once("  ")?.0 {
        "error" => Some(Level::Error),
        "warning" => Some(Level::Warning),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::output::{OutputKind, detect};

    #[test]
    fn ruffs_diagnostics_are_compiler_output() {
        // ruff 0.17 on flask's sources, in its default form and its concise one.
        let full = "F821 Undefined name `os`
  --> src/flask/helpers.py:31:11
   |
30 | def get_debug_flag() -> bool:
31 |     val = os.environ.get(\"FLASK_DEBUG\")
   |           ^^
   |

PLR0913 Too many arguments in function definition (10 > 5)
   --> src/flask/app.py:226:9
    |
226 |     def __init__(
    |         ^^^^^^^^
    |

Found 2 errors.
";
        assert_eq!(detect(full), Some(OutputKind::Compiler));
        let concise = "src/flask/cli.py:45:5: PLC0415 `import` should be at the top-level of a file
src/flask/cli.py:59:5: RET505 [*] Unnecessary `elif` after `return` statement
src/flask/helpers.py:31:11: F821 Undefined name `os`
Found 3 errors.
[*] 1 fixable with the `--fix` option.
";
        assert_eq!(detect(concise), Some(OutputKind::Compiler));
        for code in [
            "F821", "E501", "PLR0913", "SIM105", "RET505", "B028", "W291",
        ] {
            assert!(is_rule_code(code), "{code}");
        }
        for word in ["PEP8", "UTF8", "F", "ABCDE1234", "E50", "Found"] {
            assert!(!is_rule_code(word), "{word}");
        }
        assert!(is_lint_head(
            "PLC0415 `import` should be at the top-level of a file"
        ));
        assert!(!is_lint_head("E501"));
        assert_eq!(
            lint_place("src/flask/cli.py:45:5: PLC0415 `import` should be at the top-level"),
            Some("src/flask/cli.py:45:5")
        );
        assert_eq!(lint_place("note: F821 is pyflakes' code"), None);
        assert_eq!(lint_place("src/a.py:3:1: error: x"), None);
    }

    #[test]
    fn eslints_report_is_compiler_output() {
        // ESLint 9 on luxon's sources, as it prints them (its default report).
        let report = "
/w/luxon/src/duration.js
  288:13  error    Expected '===' and instead saw '=='                             eqeqeq
  539:3   warning  Method 'toISO' has a complexity of 16. Maximum allowed is 10    complexity

/w/luxon/src/impl/diff.js
  46:9   warning  Assignment to function parameter 'cursor'               no-param-reassign

✖ 3 problems (1 error, 2 warnings)
";
        assert_eq!(detect(report), Some(OutputKind::Compiler));
        let level = |t: &str| eslint_level(t.trim());
        assert_eq!(
            level("  288:13  error    Expected '===' and instead saw '=='  eqeqeq"),
            Some(Level::Error)
        );
        assert_eq!(
            level("46:9   warning  Assignment to function parameter 'cursor'  no-param-reassign"),
            Some(Level::Warning)
        );
        assert_eq!(level("12:30  errors were found"), None);
        assert_eq!(level("at 12:30  error  on the way"), None);
    }
}
