//! What a query names in tool output and reference pages: the identifiers it could mean
//! as definitions (`class Console:`, Go's `func (c *Command) Flags()`), the files it
//! quotes for a listing, the options and call signatures that open a manual's entries.

use std::collections::HashSet;

/// Words of the query that could name a definition: identifiers of two characters or more.
pub(crate) fn query_names(query: &str) -> HashSet<String> {
    query
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.chars().count() >= 2 && !w.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_owned)
        .collect()
}

/// Names the query quotes as code (`` `defaults` ``, `` `_detect_program_name` ``): what
/// an agent asks a listing to find the file of.
pub(crate) fn quoted_names(query: &str) -> Vec<&str> {
    query
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .collect()
}

/// Files the query names by path: words with an extension (`keys.py`, `Subject.ts`)
/// or a folder (`src/internal/Subject.ts`), without the quotes and the sentence's
/// punctuation around them, nor a place in the file after them (`lz4hc.c:290:55`,
/// `a.ts(3,7)`). A glob (`c/dec/*.c`) names no one file.
pub(crate) fn query_paths(query: &str) -> Vec<&str> {
    query
        .split(|c: char| c.is_whitespace() || "`'\";".contains(c))
        .map(|w| {
            let w = w
                .trim_start_matches('(')
                .trim_end_matches(['.', ',', ':', '?', '!', ')']);
            crate::segment::output::place_file(w).unwrap_or(w)
        })
        .filter(|w| {
            let Some((stem, ext)) = w.rsplit_once('.') else {
                return false;
            };
            // `e.g.` is no file: a bare name needs a stem of two characters or more.
            let file = stem.rsplit(['/', '\\']).next().unwrap_or(stem);
            (file.chars().count() >= 2 || (w.contains(['/', '\\']) && !file.is_empty()))
                && !w.contains(['*', '?', '{', '[', '('])
                && (1..=4).contains(&ext.len())
                && ext.chars().all(|c| c.is_ascii_alphanumeric())
                && ext.chars().any(|c| c.is_ascii_alphabetic())
        })
        .collect()
}

/// Whether `file` (as a program printed it) is one of `paths`: the same path, or one
/// ends the other at a folder boundary (`src/a.ts` and `/w/src/a.ts`, `C:\w\a.c`).
pub(crate) fn is_named_file(file: &str, paths: &[&str]) -> bool {
    let ends = |long: &str, short: &str| {
        long.strip_suffix(short)
            .is_some_and(|head| head.is_empty() || head.ends_with(['/', '\\']))
    };
    paths.iter().any(|&p| ends(file, p) || ends(p, file))
}

/// Whether the query asks for tests ("Where are the tests for `x`?"): then a test file
/// named after the name is the answer, not the module it tests.
pub(crate) fn asks_for_tests(query: &str) -> bool {
    query.split(|c: char| !c.is_alphanumeric()).any(|w| {
        matches!(
            w.to_lowercase().as_str(),
            "test" | "tests" | "spec" | "specs"
        )
    })
}

/// Whether a listed path is a test file: `test`/`spec` a part of its stem between
/// separators (`test_meta.py`, `meta_test.go`, `meta.spec.ts`), a `FooTest.java`, or a
/// file under a `tests` folder.
pub(crate) fn is_test_file(line: &str) -> bool {
    let mut parts = line.split(['/', '\\']).rev();
    let file = parts.next().unwrap_or(line);
    let test = |w: &str| matches!(w, "test" | "tests" | "spec" | "specs" | "__tests__");
    file.split(['_', '.', '-']).any(|w| test(&w.to_lowercase()))
        || file
            .split('.')
            .next()
            .is_some_and(|s| s.ends_with("Test") || s.ends_with("Tests"))
        || parts.any(|dir| test(&dir.to_lowercase()))
}

/// Salience of a listed path whose file is named after a quoted name: 1 when the stem is
/// the name (`meta.py` for `meta`), 0.9 when it holds the name between separators
/// (`test_defaults.py`, `test__detect_program_name.py` for `_detect_program_name`). When
/// the query asks for tests, a test file is 1 and the module it tests 0.8: near the
/// answer, not it.
pub(crate) fn names_file(line: &str, quoted: &[&str], tests: bool) -> f64 {
    if quoted.is_empty() {
        return 0.0;
    }
    let file = line.rsplit(['/', '\\']).next().unwrap_or(line);
    let stem = file.split_once('.').map_or(file, |(stem, _)| stem);
    let within = |name: &str| {
        stem.match_indices(name).any(|(at, _)| {
            let before = stem[..at].chars().next_back();
            let after = stem[at + name.len()..].chars().next();
            let apart = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
            apart(before) && apart(after)
        })
    };
    if !quoted.iter().any(|&name| stem == name || within(name)) {
        return 0.0;
    }
    let exact = quoted.contains(&stem);
    match (tests, is_test_file(line)) {
        (true, true) => 1.0,
        (true, false) => 0.8,
        (false, _) if exact => 1.0,
        (false, _) => 0.9,
    }
}

/// Keywords that open a definition, in the languages agents search.
const DEFINES: [&str; 16] = [
    "class ",
    "def ",
    "async def ",
    "fn ",
    "struct ",
    "enum ",
    "trait ",
    "interface ",
    "type ",
    "function ",
    "func ",
    "module ",
    "impl ",
    "union ",
    "record ",
    "object ",
];

/// 1 when `content` defines a name the query mentions (0.8 when only the case differs).
pub(crate) fn defines(content: &str, names: &HashSet<String>) -> f64 {
    if names.is_empty() {
        return 0.0;
    }
    let mut t = content.trim_start();
    // A binding at the top of a file (`const NAME =`, JavaScript's `let`/`var`, Rust's
    // `const NAME: T =`) defines its name as much as `fn` does; an indented one is a
    // local variable.
    let top = t.len() == content.len();
    let mut binding = false;
    for prefix in [
        "export ",
        "default ",
        "pub(crate) ",
        "pub ",
        "public ",
        "private ",
        "protected ",
        "static ",
        "abstract ",
        "final ",
        "async ",
        "unsafe ",
        "const ",
        "let ",
        "var ",
    ] {
        if let Some(rest) = t.strip_prefix(prefix) {
            t = rest.trim_start();
            binding |= top && matches!(prefix, "const " | "let " | "var ");
        }
    }
    let (rest, keyword) = match DEFINES.iter().find_map(|k| t.strip_prefix(k)) {
        // Go's methods name their receiver first: `func (c *Command) Flags()`.
        Some(rest) => match rest.trim_start().strip_prefix('(') {
            Some(receiver) => (
                receiver.split_once(')').map_or("", |(_, after)| after),
                true,
            ),
            None => (rest, true),
        },
        None if binding => (t, false),
        None => return 0.0,
    };
    let rest = rest.trim_start();
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let bound = || {
        let after = rest[name.len()..].trim_start();
        after.starts_with('=') || after.starts_with(':')
    };
    if name.is_empty() || (!keyword && !bound()) {
        0.0
    } else if names.contains(&name) {
        1.0
    } else if names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
        0.8
    } else {
        0.0
    }
}

/// Whether a unit of a reference page opens the entry of a name the query asks about: it
/// starts with a call signature (`json.dumps(obj, …`, `Path.read_text(…`, `process(…`)
/// whose last name is one of `names`.
pub(crate) fn opens_entry(unit: &str, names: &HashSet<String>) -> bool {
    // A markdown heading's marks first (`#### pub fn truncate(…)`, html2text's rustdoc).
    let mut t = unit.trim_start().trim_start_matches('#').trim_start();
    // … and a code span's tick (`#### `url.pathToFileURL(path)`#`).
    t = t.strip_prefix('`').unwrap_or(t);
    // A declaration may lead with its keywords, as rustdoc's `pub const unsafe fn name<T>(`
    // or a manual's `func Name(` do.
    let mut declared = false;
    while let Some(rest) = ENTRY_KEYWORDS.iter().find_map(|k| t.strip_prefix(k)) {
        t = rest.trim_start();
        declared = true;
    }
    let len = t
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(t.len());
    let (path, rest) = t.split_at(len);
    (rest.starts_with('(') || (declared && rest.starts_with('<')))
        && path.starts_with(|c: char| c.is_alphabetic() || c == '_')
        && path.rsplit('.').next().is_some_and(|n| names.contains(n))
}

/// Keywords a declaration on a reference page may start with (see [`opens_entry`]).
const ENTRY_KEYWORDS: [&str; 10] = [
    "pub ",
    "pub(crate) ",
    "const ",
    "unsafe ",
    "async ",
    "extern ",
    "fn ",
    "def ",
    "function ",
    "func ",
];

/// Options the query names (`--stat`, `-acodec`, `` `--no-edit` ``): a word of one or two
/// dashes, a letter and at least one more letter, digit, `_` or `-`. A single letter
/// (`-n`) is left out: too many manuals and calls use one. A configuration file's
/// variables have no dashes before them (`diff-options`, `truncation-delimiter` of
/// tigrc): a hyphenated word counts too, and opens an entry only where a term line
/// starts with it (see [`option_term`]).
pub(crate) fn query_options(query: &str) -> HashSet<String> {
    query
        .split(|c: char| c.is_whitespace() || "\"'`(),;".contains(c))
        .map(|w| w.trim_end_matches(['?', '.', ':', '!']))
        .filter(|w| {
            let option = option_name(w).len() == w.len() && w.len() > 2 && !w.starts_with("---");
            (option && w.trim_start_matches('-').len() >= 2)
                || (!w.is_empty() && setting_name(w).len() == w.len())
        })
        .map(str::to_owned)
        .collect()
}

/// The variable name at the start of `t` (`diff-options` of `diff-options (string)`):
/// lowercase words of two letters or more joined by single dashes, or "" when `t` does
/// not start with one.
fn setting_name(t: &str) -> &str {
    let len = t
        .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        .unwrap_or(t.len());
    let name = &t[..len];
    let words = name.split('-').collect::<Vec<_>>();
    let word = |w: &&str| w.len() >= 2 && w.starts_with(|c: char| c.is_ascii_lowercase());
    if words.len() >= 2 && words.iter().all(word) {
        name
    } else {
        ""
    }
}

/// The option name at the start of `t` (`--stat` of `--stat[=<n>]`, `-c` of
/// `-c[:stream] codec`), or "" when `t` does not start with one.
fn option_name(t: &str) -> &str {
    let body = t.trim_start_matches('-');
    let dashes = t.len() - body.len();
    if !(1..=2).contains(&dashes) || !body.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return "";
    }
    let len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(body.len());
    &t[..dashes + len]
}

/// The names a manual's term line gives an option (`-h, -?, -help, --help [arg]`,
/// `\--stat[=<width>]`, `-acodec codec (input/output)`), or nothing when the unit's first
/// line is not a term: a term is a few words and no sentence.
pub(crate) fn option_term(unit: &str) -> Vec<&str> {
    let t = unit.trim_start();
    let line = t.split('\n').next().unwrap_or(t).trim_end();
    let line = line.strip_prefix('\\').unwrap_or(line);
    if line.len() > 100 || line.ends_with('.') || line.split_whitespace().count() > 6 {
        return Vec::new();
    }
    // A variable's term: its name, alone or before its type and values, maybe emphasised
    // (`_commit-order_ (enum) [auto|default]`).
    let plain = line.trim_start_matches(['_', '*', '`']);
    let setting = setting_name(plain);
    let after = plain[setting.len()..].trim_start_matches(['_', '*', '`']);
    if !setting.is_empty() && (after.is_empty() || after.starts_with([' ', '\t'])) {
        let rest = after.trim_start();
        if rest.is_empty() || rest.starts_with(['(', '[']) {
            return vec![setting];
        }
    }
    let mut names = Vec::new();
    for alias in line.split(", ") {
        let alias = alias.strip_prefix('\\').unwrap_or(alias);
        let name = option_name(alias);
        if !name.is_empty() {
            names.push(name);
        } else if names.is_empty() || !alias.starts_with('-') {
            break; // `-?` among aliases is passed over
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::salience::salience;
    use crate::segment::OutputKind;

    #[test]
    fn a_query_names_files_by_path_or_extension() {
        let q = "What does tsc still report for src/internal/Subject.ts? I changed `keys.py`, \
                 e.g. its lru (see notes). Bash {\"command\":\"gcc -Ic/include c/dec/*.c main.c\"}";
        assert_eq!(
            query_paths(q),
            ["src/internal/Subject.ts", "keys.py", "main.c"]
        );
        // A place in the file is not part of its name.
        assert_eq!(
            query_paths("See lz4hc.c:290:55 and (src/a.ts(3,7)), then C:\\w\\b.c:4."),
            ["lz4hc.c", "src/a.ts", "C:\\w\\b.c"]
        );
        assert!(is_named_file("C:\\w\\b.c", &["b.c"]));
        // A path printed from another folder is the same file; a longer name is not.
        assert!(is_named_file("src/internal/Subject.ts", &["Subject.ts"]));
        assert!(is_named_file("Subject.ts", &["/w/src/internal/Subject.ts"]));
        assert!(!is_named_file(
            "src/internal/AsyncSubject.ts",
            &["Subject.ts"]
        ));
        assert!(!is_named_file("lib/a.c", &["b/a.c"]));
    }

    #[test]
    fn definitions_in_other_languages() {
        let names = query_names("Where are Flags and parseOptions and MAX_LEN defined?");
        assert_eq!(
            defines("func (c *Command) Flags() *flag.FlagSet {", &names),
            1.0
        );
        assert_eq!(
            defines("export const parseOptions = (argv) => {", &names),
            1.0
        );
        assert_eq!(defines("pub const MAX_LEN: usize = 8;", &names), 1.0);
        assert_eq!(defines("var parseOptions = function (argv) {", &names), 1.0);
        // A local variable, a use and a comparison are not definitions.
        assert_eq!(defines("    const parseOptions = opts;", &names), 0.0);
        assert_eq!(defines("const x = parseOptions(argv);", &names), 0.0);
    }

    #[test]
    fn options_named_by_the_query_open_their_terms() {
        let options = query_options(
            "What does the -acodec option do? And `--no-edit`, --stat?\nBash {\"command\":\"ls -l\"}",
        );
        let want: HashSet<String> = ["-acodec", "--no-edit", "--stat"].map(String::from).into();
        assert_eq!(options, want);
        assert_eq!(option_term("-acodec codec (input/output)\n\n"), ["-acodec"]);
        assert_eq!(option_term("\\--stat[=<width>]\n"), ["--stat"]);
        assert_eq!(
            option_term("-h, -?, -help, --help [arg]\n"),
            ["-h", "-help", "--help"]
        );
        assert_eq!(option_term("  -h, --help [arg]\n"), ["-h", "--help"]);
        assert_eq!(
            option_term("-c[:stream_specifier] codec (output)\n"),
            ["-c"]
        );
        // A configuration file's variables, named with no dashes before them.
        let settings = query_options("What does the truncation-delimiter option of tigrc.5 do?");
        assert_eq!(settings, HashSet::from(["truncation-delimiter".to_owned()]));
        assert_eq!(
            option_term("truncation-delimiter (mixed) [utf-8|<string>]\n\n"),
            ["truncation-delimiter"]
        );
        assert_eq!(option_term("_diff-options_ (string)\n"), ["diff-options"]);
        assert_eq!(option_term("show-changes\n"), ["show-changes"]);
        // ... but not a sentence, a word with one letter between dashes, or a path.
        assert!(option_term("read-only files are skipped (see below)\n").is_empty());
        assert!(query_options("an x-ray of tigrc.5 and src/a-b.rs").is_empty());
        // Prose that starts with an option, a rule and a list item are no terms.
        assert!(option_term("-sn / -dn options can be used to skip inclusion of\n").is_empty());
        assert!(option_term("--------\n").is_empty());
        assert!(option_term("- an item\n").is_empty());
    }

    #[test]
    fn entries_open_with_the_asked_name_called() {
        let names = query_names("what does json's dumps() do?");
        assert!(opens_entry("json.dumps(obj, *, skipkeys=False,", &names));
        assert!(opens_entry(
            "pub const unsafe fn dumps<T>(v: T) -> String",
            &names
        ));
        assert!(opens_entry("def dumps(obj):", &names));
        assert!(opens_entry("#### pub fn dumps(&self)", &names));
        assert!(opens_entry("  dumps(obj)", &names));
        // A table of contents, an example and prose that mentions the name are not.
        assert!(!opens_entry("☆ dumps()", &names));
        assert!(!opens_entry(">>> json.dumps([1])", &names));
        assert!(!opens_entry("The dumps() function", &names));
        assert!(!opens_entry("dumps<10", &names));
        assert!(!opens_entry("json.loads(s)", &names));
    }

    #[test]
    fn a_definition_the_query_names() {
        let units = [
            "src/a.py:3:from rich.console import Console\n",
            "src/rich/console.py:585:class Console:\n",
            "src/rich/console.py:600:    def console_width(self):\n",
        ];
        let v = salience(
            OutputKind::Search,
            &units,
            Some("where is class Console defined?"),
        );
        // The last line gets the weight of a final word, not of a definition.
        assert!(v[1] == 1.0 && v[0] < 0.5 && v[2] < 0.6, "{v:?}");
    }

    #[test]
    fn a_listed_file_named_after_a_quoted_name() {
        let units = [
            "./tests/test_types/test_File.py\n",
            "./tests/test_defaults.py\n",
            "./tests/test_make_default_short_help.py\n",
            "./src/meta.py\n",
            "./src/metadata.py\n",
            "test__detect_program_name.py\n",
            "./uv.lock\n",
        ];
        let query = "Where are the tests for `defaults` and the `meta` module, and \
                     `_detect_program_name`? Give me the file path.";
        let v = salience(OutputKind::Listing, &units, Some(query));
        // It asks for tests: a test file named after a name is the answer, the module
        // it names only near it.
        assert_eq!((v[1], v[3], v[5]), (1.0, 0.8, 1.0), "{v:?}");
        let v = salience(
            OutputKind::Listing,
            &units,
            Some("Where is `meta` defined?"),
        );
        assert_eq!((v[3], v[4]), (1.0, 0.0), "{v:?}");
        let v = salience(
            OutputKind::Listing,
            &units,
            Some("Which file is `defaults`?"),
        );
        assert_eq!(v[1], 0.9, "{v:?}");
        assert!(is_test_file("src/meta_test.go") && is_test_file("MetaTest.java"));
        assert!(is_test_file("__tests__/meta.js") && is_test_file("meta.spec.ts"));
        assert!(!is_test_file("src/contest.py") && !is_test_file("attestation.rs"));
        // Words the query does not quote, and names inside longer words, are nothing.
        assert!(v[0] < 0.5 && v[2] < 0.5 && v[4] < 0.5, "{v:?}");
        // Only a listing reads quoted names as file names.
        let search = salience(OutputKind::Search, &units, Some(query));
        assert!(search[1] < 0.5, "{search:?}");
    }
}
