//! A line's shape: what is left of it once the parts that differ between alike lines
//! (paths, numbers, ids, quoted text, a name with its version) are masked. Lines of one
//! shape are "alike" in tool output: a run of them collapses into one exemplar and a
//! count, and the first line of each shape is worth keeping.

/// A line's shape: every word that holds a path becomes `…`, and so does a name followed
/// by its version (cargo's `Compiling serde v1.0.219`); runs of digits become `n`, long
/// hex ids `#`, quoted text `"…"`, runs of one mark one mark; words are joined by single
/// spaces. A test's verdict (`✓ name 3ms`) is its mark alone. Lines with one template are "alike": a run of them collapses to one kept
/// exemplar and a count (`… 270 more lines like "Checking … v…"`).
pub fn template(line: &str) -> String {
    // A test's verdict (jest's and vitest's `✓ parses dates 3ms`): its name is its id.
    let t = line.trim_start();
    if let Some(mark) = ["✓ ", "✕ ", "× "].iter().find(|m| t.starts_with(**m)) {
        return format!("{mark}…");
    }
    let mut out = String::with_capacity(line.len().min(160));
    let mut words = line.split_whitespace().peekable();
    let mut i = 0;
    while let Some(word) = words.next() {
        if i > 0 {
            out.push(' ');
        }
        i += 1;
        let versioned = words.peek().is_some_and(|next| is_version(next)) && is_name(word);
        if i > 1 && is_version(word) {
            // Versions differ in their build and pre-release parts too: one shape.
            out.push_str(if word.starts_with('v') { "v…" } else { "…" });
            continue;
        }
        if versioned || holds_path(word) {
            out.push('…');
            // Keep what closes the word (`[ 5%]`'s `]`) out of the path.
            continue;
        }
        let hexish = word.len() >= 8
            && word.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
            && word.bytes().any(|b| b.is_ascii_digit());
        if hexish {
            out.push('#');
            continue;
        }
        let mut quote = None;
        let mut last_digit = false;
        let mut last = None;
        for ch in word.chars() {
            // Runs of one mark (`^^^^^^`, `=====`) are one mark, whatever their length.
            if !ch.is_alphanumeric() && last == Some(ch) && quote.is_none() {
                continue;
            }
            last = Some(ch);
            if let Some(q) = quote {
                if ch == q {
                    out.push('…');
                    out.push(ch);
                    quote = None;
                }
                continue;
            }
            if ch == '"' || ch == '\'' {
                quote = Some(ch);
                out.push(ch);
                continue;
            }
            if ch.is_ascii_digit() {
                if !last_digit {
                    out.push('n');
                }
                last_digit = true;
                continue;
            }
            last_digit = false;
            out.push(ch);
        }
        if quote.is_some() {
            out.push('…');
        }
    }
    out
}

/// A word with `/`, `::` or a backslash in it: a path or a qualified name (one pass).
fn holds_path(word: &str) -> bool {
    let b = word.as_bytes();
    b.iter()
        .enumerate()
        .any(|(i, &c)| c == b'/' || c == b'\\' || (c == b':' && b.get(i + 1) == Some(&b':')))
}

/// `v1.0.219`, `1.2.3`, `0.19`, `v0.23.0-rc.1`, `v1.2.2+spec-1.1.0`: two or more numbers
/// joined by dots, then perhaps a pre-release or build part (`0.01s` is a duration).
fn is_version(word: &str) -> bool {
    let v = word.strip_prefix('v').unwrap_or(word);
    // Most words are not: they do not start with a digit (checked first, for speed).
    if !v.starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    let core = v.split(['-', '+']).next().unwrap_or_default();
    core.contains('.')
        && core
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
}

/// A package's name: letters, digits, `-` and `_`, with a letter.
fn is_name(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_alphabetic())
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_is_its_mark() {
        assert_eq!(template("   ✓ parses dates 3ms"), "✓ …");
        assert_eq!(template("  ✕ adds 0 + 2 (5 ms)"), "✕ …");
        assert_eq!(template("× length checks 13ms"), template("× trim 1ms"));
    }

    #[test]
    fn templates_mask_paths_numbers_and_ids() {
        assert_eq!(
            template("tests/test_basic.py::test_choice[a-b] PASSED [ 12%]"),
            "… PASSED [ n%]"
        );
        assert_eq!(
            template("2024-01-02 10:11:12 INFO request 4f3a9c2e1b done in 12ms"),
            "# n:n:n INFO request # done in nms"
        );
        assert_eq!(template("KeyError: 'alpha'"), "KeyError: '…'");
        // cargo's progress: one shape for every crate, whatever its name and version.
        assert_eq!(template("   Compiling serde v1.0.219"), "Compiling … v…");
        assert_eq!(
            template("    Checking toml v1.2.2+spec-1.1.0"),
            template("    Checking mio v1.2.5")
        );
        // A word before a number that is no version stays.
        assert_eq!(template("Ran 3 tests in 0.01s"), "Ran n tests in n.ns");
    }
}
