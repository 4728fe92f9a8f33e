//! A task about a function's parameters (`I gave isDraftable a deep flag`, `I renamed the
//! parameter of make_str`) is answered by the diagnostics such a change causes, and those
//! rarely share a word with it: a parameter added or removed shows at each call as a count
//! of arguments (`Expected 2 arguments, but got 1.`, `missing 1 required positional
//! argument`, `too few arguments to function`); a new parameter, or a renamed one's new
//! name, as one never read (`'deep' is declared but its value is never read`); and a
//! renamed one's old name as a name no longer defined (`'arg' is not defined`, ``F821
//! Undefined name `value` ``). Every checker words them alike, so the messages are what
//! is matched, not the tool.

use crate::score::compose::{QUERY_SHARE, SALIENCE};

/// How much a diagnostic the change causes is lifted: the query's whole share, as if it
/// matched the task word for word, and salience's whole weight, which is what a
/// diagnostic in a file the query names gets (see
/// [`crate::score::sections::named_file_diagnostics`]). A task that names the file it
/// changed (`I gave isDraftable in src/utils/common.ts a deep flag`) asks what the change
/// broke, in the calls elsewhere, before that file's older errors; with the query's share
/// alone those came first, and at 8x 8 of the 11 broken calls were lost.
const LIFT: f64 = SALIENCE + QUERY_SHARE;

/// Salience from which a line is a diagnostic: a warning's (see
/// [`crate::score::salience`]), errors and exceptions above it.
const SALIENT: f64 = 0.45;

/// What a query says changed: a function's parameters (it says `parameter`, `argument`,
/// `signature`, `param` or `arg`, or gives something `a … flag`: one flag is a parameter,
/// `the strict flags` of a command line are not), and whether by a rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Change {
    pub parameters: bool,
    pub renamed: bool,
}

/// What `query` says changed (see [`Change`]).
pub(crate) fn change(query: &str) -> Change {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let parameters = words.iter().enumerate().any(|(i, w)| match w.as_str() {
        "parameter" | "parameters" | "param" | "params" | "argument" | "arguments" | "arg"
        | "args" | "signature" => true,
        // `a deep flag`, `a flag`: the article among the three words before.
        "flag" => words[i.saturating_sub(3)..i]
            .iter()
            .any(|a| a == "a" || a == "an"),
        _ => false,
    });
    let renamed = words.iter().any(|w| w == "renamed" || w == "rename");
    Change {
        parameters,
        renamed,
    }
}

/// What a diagnostic's message says when a call no longer fits its function's parameters
/// (lower-cased: mypy's `Too few arguments for "f"` and gcc's `too few arguments to
/// function` are one message).
const ARITY: [&str; 12] = [
    "arguments, but got",
    "argument, but got",
    "required positional argument",
    "positional arguments but",
    "positional argument but",
    "unexpected keyword argument",
    "too few arguments to",
    "too many arguments to",
    "too few arguments for",
    "too many arguments for",
    "not enough arguments in call",
    "too many arguments in call",
];

/// … when a parameter is no longer read (a new one the body does not use yet, or the old
/// name of a renamed one) …
const UNUSED: [&str; 5] = [
    "is defined but never used",
    "is declared but its value is never read",
    "is assigned a value but never used",
    "unused variable",
    "unused argument",
];

/// … and when the body still reads a renamed parameter's old name.
const UNDEFINED: [&str; 4] = [
    "is not defined",
    "undefined name",
    "cannot find name",
    "cannot find value",
];

/// Whether a line's message is one that `change` causes (see the module's doc).
pub(crate) fn caused_by(line: &str, change: Change) -> bool {
    if !change.parameters {
        return false;
    }
    let t = line.to_lowercase();
    let any = |messages: &[&str]| messages.iter().any(|m| t.contains(m));
    any(&ARITY)
        || (t.contains("this function takes") && t.contains("supplied"))
        || any(&UNUSED)
        || (change.renamed && any(&UNDEFINED))
}

/// Lifts each diagnostic of `units` that the query's change causes by [`LIFT`]. Only
/// lines whose `salience` makes them diagnostics (errors, warnings, exceptions): a source
/// line quoting `undefined` is no diagnostic.
pub(crate) fn parameter_diagnostics(
    units: &[&str],
    salience: &[f64],
    query: &str,
    values: &mut [f64],
) {
    let change = change(query);
    if !change.parameters {
        return;
    }
    let mut lifted = vec![false; units.len()];
    for (i, u) in units.iter().enumerate() {
        if salience[i] >= SALIENT && caused_by(u, change) {
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
            *v += LIFT;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_tasks() {
        let added = change("I gave immer's isDraftable a deep flag. Did that break the types?");
        assert_eq!(
            added,
            Change {
                parameters: true,
                renamed: false
            }
        );
        let renamed = change("I renamed the parameter of click's make_str.");
        assert!(renamed.parameters && renamed.renamed);
        assert!(change("I changed the signature of parse").parameters);
        // A command line's flags and a camel-case option are no parameter of a function.
        assert!(
            !change("Run tsc with the strict flags and check. npx tsc --noUnusedParameters")
                .parameters
        );
        assert_eq!(
            change("I renamed a variable. Which tests fail?"),
            Change {
                parameters: false,
                renamed: true
            }
        );
    }

    #[test]
    fn parameter_messages() {
        let added = change("I added a parameter");
        let renamed = change("I renamed a parameter");
        for line in [
            "src/core/current.ts(21,7): error TS2554: Expected 2 arguments, but got 1.",
            "src/a.py:3: error: Too few arguments for \"f\"  [call-arg]",
            "lz4.c:12:5: error: too few arguments to function 'LZ4_x'",
            "TypeError: f() missing 1 required positional argument: 'deep'",
            "./a.go:9:8: not enough arguments in call to f",
            "error[E0061]: this function takes 2 arguments but 1 argument was supplied",
            "src/utils/common.ts(25,41): error TS6133: 'deep' is declared but its value is never read.",
        ] {
            assert!(caused_by(line, added) && caused_by(line, renamed), "{line}");
        }
        // A name no longer defined comes of a rename; an added parameter leaves the
        // missing names of the rest of the run (`Cannot find name 'process'`) as they are.
        for line in [
            "  228:27  error    'arg' is not defined    no-undef",
            "F821 Undefined name `value`",
            "src/utils/errors.ts(2,2): error TS2580: Cannot find name 'process'.",
        ] {
            assert!(
                caused_by(line, renamed) && !caused_by(line, added),
                "{line}"
            );
        }
        for line in [
            "PLR0913 Too many arguments in function definition (9 > 5)",
            "src/a.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.",
            "FAILED test_a.py::test_x - AssertionError: assert 1 == 2",
        ] {
            assert!(!caused_by(line, renamed), "{line}");
        }
        // Without parameters in the task, nothing is.
        assert!(!caused_by(
            "F821 Undefined name `value`",
            change("I renamed a variable")
        ));
    }

    #[test]
    fn lifts_only_salient_lines_of_a_parameter_task() {
        let units = [
            "a.ts(1,1): error TS2554: Expected 2 arguments, but got 1.",
            "x",
        ];
        let mut values = vec![1.0, 0.0];
        parameter_diagnostics(&units, &[1.0, 0.0], "Which tests fail?", &mut values);
        assert_eq!(values, [1.0, 0.0]);
        parameter_diagnostics(&units, &[1.0, 1.0], "I added a parameter", &mut values);
        assert_eq!(values, [1.0 + LIFT, 0.0]);
    }
}
