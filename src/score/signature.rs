//! A task about a function's parameters (`I gave isDraftable a deep flag`, `I renamed the
//! parameter of make_str`) is answered by the diagnostics such a change causes, and those
//! rarely share a word with it: a parameter added or removed shows at each call as a count
//! of arguments (`Expected 2 arguments, but got 1.`, `missing 1 required positional
//! argument`, `too few arguments to function`), a parameter renamed as names that are no
//! longer defined or no longer used (`'arg' is not defined`, ``F821 Undefined name
//! `value` ``, `'deep' is declared but its value is never read`). Every checker words them
//! alike, so the messages are what is matched, not the tool.

use crate::score::compose::QUERY_SHARE;

/// Salience from which a line is a diagnostic: a warning's (see
/// [`crate::score::salience`]), errors and exceptions above it.
pub(crate) const SALIENT: f64 = 0.45;

/// Whether the query is about a function's parameters: it says `parameter`, `argument`,
/// `signature` (or `param`, `arg`), or gives something `a … flag` (one flag is a
/// parameter; `the strict flags` of a command line are not).
pub(crate) fn asks_about_parameters(query: &str) -> bool {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.iter().enumerate().any(|(i, w)| match w.as_str() {
        "parameter" | "parameters" | "param" | "params" | "argument" | "arguments" | "arg"
        | "args" | "signature" => true,
        // `a deep flag`, `a flag`: the article at most two words before.
        "flag" => words[i.saturating_sub(3)..i]
            .iter()
            .any(|a| a == "a" || a == "an"),
        _ => false,
    })
}

/// What a diagnostic's message says when a call no longer fits its function's parameters.
const ARITY: [&str; 10] = [
    "arguments, but got",
    "argument, but got",
    "required positional argument",
    "positional arguments but",
    "positional argument but",
    "unexpected keyword argument",
    "too few arguments to",
    "too many arguments to",
    "not enough arguments in call",
    "too many arguments in call",
];

/// … and when a name changed in one place and not in the other.
const NAMES: [&str; 8] = [
    "is not defined",
    "undefined name",
    "cannot find name",
    "cannot find value",
    "is defined but never used",
    "is declared but its value is never read",
    "is assigned a value but never used",
    "unused variable",
];

/// Whether a line's message is one a change of parameters causes (see the module's doc).
/// Lower-cased: mypy's `Too few arguments for "f"` and gcc's `too few arguments to
/// function` are one message.
pub(crate) fn is_parameter_diagnostic(line: &str) -> bool {
    let t = line.to_lowercase();
    ARITY.iter().chain(&NAMES).any(|m| t.contains(m))
        || t.contains("too few arguments for")
        || t.contains("too many arguments for")
        || (t.contains("this function takes") && t.contains("supplied"))
}

/// Lifts each diagnostic of `units` a parameter change causes by the query's whole share,
/// as if it matched the query word for word, when the query is about parameters. Only
/// lines `salient` already marks (errors, warnings, exceptions): a source line quoting
/// `undefined` is no diagnostic.
pub(crate) fn parameter_diagnostics(
    units: &[&str],
    salient: &[bool],
    query: &str,
    values: &mut [f64],
) {
    if !asks_about_parameters(query) {
        return;
    }
    let mut lifted = vec![false; units.len()];
    for (i, u) in units.iter().enumerate() {
        if salient[i] && is_parameter_diagnostic(u) {
            lifted[i] = true;
            // rustc and ruff give the place on a line of its own under the message: a
            // repeated message (`F821 Undefined name `value``) is told apart by it.
            if let Some(p) =
                (i + 1..units.len().min(i + 3)).find(|&p| units[p].trim_start().starts_with("--> "))
            {
                lifted[p] = true;
            }
        }
    }
    for (v, l) in values.iter_mut().zip(lifted) {
        if l {
            *v += QUERY_SHARE;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_tasks() {
        assert!(asks_about_parameters(
            "I gave immer's isDraftable a deep flag. Did that break the types?"
        ));
        assert!(asks_about_parameters(
            "I renamed the parameter of click's make_str."
        ));
        assert!(asks_about_parameters("I changed the signature of parse"));
        // A command line's flags and a camel-case option are no parameter of a function.
        assert!(!asks_about_parameters(
            "Run tsc with the strict flags and check. npx tsc --noUnusedParameters"
        ));
        assert!(!asks_about_parameters("Which tests fail and why?"));
    }

    #[test]
    fn parameter_messages() {
        for line in [
            "src/core/current.ts(21,7): error TS2554: Expected 2 arguments, but got 1.",
            "src/a.py:3: error: Too few arguments for \"f\"  [call-arg]",
            "lz4.c:12:5: error: too few arguments to function 'LZ4_x'",
            "TypeError: f() missing 1 required positional argument: 'deep'",
            "./a.go:9:8: not enough arguments in call to f",
            "error[E0061]: this function takes 2 arguments but 1 argument was supplied",
            "  228:27  error    'arg' is not defined    no-undef",
            "F821 Undefined name `value`",
            "src/utils/common.ts(25,41): error TS6133: 'deep' is declared but its value is never read.",
        ] {
            assert!(is_parameter_diagnostic(line), "{line}");
        }
        for line in [
            "PLR0913 Too many arguments in function definition (9 > 5)",
            "src/a.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.",
            "FAILED test_a.py::test_x - AssertionError: assert 1 == 2",
        ] {
            assert!(!is_parameter_diagnostic(line), "{line}");
        }
    }

    #[test]
    fn lifts_only_salient_lines_of_a_parameter_task() {
        let units = [
            "a.ts(1,1): error TS2554: Expected 2 arguments, but got 1.",
            "x",
        ];
        let mut values = vec![1.0, 0.0];
        parameter_diagnostics(&units, &[true, false], "Which tests fail?", &mut values);
        assert_eq!(values, [1.0, 0.0]);
        parameter_diagnostics(&units, &[true, true], "I added a parameter", &mut values);
        assert_eq!(values, [1.0 + QUERY_SHARE, 0.0]);
    }
}
