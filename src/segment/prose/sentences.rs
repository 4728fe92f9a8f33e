//! Sentence boundaries inside one paragraph.
//!
//! The scanner sees a paragraph whose markdown line prefixes (`> `, `- `, `1. `) were
//! blanked to spaces, so a list number is never mistaken for a sentence end. It is one
//! forward pass; every look-behind (the word before a period) and look-ahead (the next
//! word) is bounded or covers text no other candidate covers, so the whole is linear.

use std::collections::HashMap;
use std::ops::Range;

/// Byte offsets in `para` just past each sentence's terminator and closing quotes, for
/// every sentence that is followed by more text in the paragraph. The caller starts the
/// next chunk at the first non-whitespace byte at or after each offset.
pub(super) fn sentence_ends(para: &str) -> Vec<usize> {
    let code = code_spans(para);
    let mut ends = Vec::new();
    let mut next_code = 0;
    let mut i = 0;
    while i < para.len() {
        // No boundary inside an inline code span: `os.path.join()`. Skip it whole.
        while next_code < code.len() && code[next_code].end <= i {
            next_code += 1;
        }
        if let Some(span) = code.get(next_code).filter(|s| s.start <= i) {
            i = span.end;
            continue;
        }
        let Some(c) = para[i..].chars().next() else {
            break;
        };
        if is_terminator(c) {
            let run_end = skip_while(para, i, is_terminator);
            let closed = skip_while(para, run_end, is_closer);
            if let Some(end) = latin_boundary(para, i, run_end, closed) {
                ends.push(end);
            }
            i = run_end;
        } else if is_cjk_terminator(c) {
            // CJK text has no spaces between sentences: the stop itself ends one.
            let run_end = skip_while(para, i, is_cjk_terminator);
            let closed = skip_while(para, run_end, |c| is_closer(c) || is_cjk_closer(c));
            if para[closed..].chars().any(|c| !c.is_whitespace()) {
                ends.push(closed);
            }
            i = closed;
        } else {
            i += c.len_utf8();
        }
    }
    ends
}

/// Decides whether the terminator run `para[start..run_end]`, followed by closing quotes
/// up to `closed`, ends a sentence; returns where the sentence ends.
fn latin_boundary(para: &str, start: usize, run_end: usize, closed: usize) -> Option<usize> {
    let after = para[closed..].chars().next()?;
    let single_period = &para[start..run_end] == ".";
    if !after.is_whitespace() {
        // Scraped text often loses the space between sentences ("it.The way"); accept
        // that only for a plain lowercase word glued to a capitalised one, which rules
        // out decimals, versions, domains, paths and most identifiers.
        let glued = run_end - start == 1 && closed == run_end && glued_words(para, start, closed);
        return glued.then_some(run_end);
    }
    let next = closed + para[closed..].find(|c: char| !c.is_whitespace())?;
    let next_word = &para[next..];
    if !starts_sentence(next_word) {
        return None;
    }
    if single_period {
        match abbreviation(word_before(para, start)) {
            Abbrev::Never => return None,
            Abbrev::Ambiguous if !is_common_starter(next_word) => return None,
            Abbrev::Ambiguous | Abbrev::No => {}
        }
    }
    Some(closed)
}

/// Sentence-ending punctuation that needs whitespace after it.
fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…' | '؟' | '।' | '‼')
}

/// CJK sentence stops, which end a sentence with or without whitespace after them.
fn is_cjk_terminator(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '｡')
}

/// Closing quotes, brackets and markdown emphasis that stay with the sentence they close.
fn is_closer(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '”' | '’' | '»' | '›' | ')' | ']' | '}' | '*' | '_'
    )
}

fn is_cjk_closer(c: char) -> bool {
    matches!(c, '」' | '』' | '）' | '】' | '〕' | '〉' | '》' | '〗')
}

/// Openers that may precede a sentence's first letter.
fn is_opener(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '“' | '‘' | '«' | '‹' | '(' | '[' | '{' | '¿' | '¡' | '*' | '_' | '`'
    ) || matches!(c, '「' | '『' | '（' | '【' | '〔' | '〈' | '《')
}

fn skip_while(s: &str, from: usize, pred: impl Fn(char) -> bool) -> usize {
    s[from..]
        .find(|c: char| !pred(c))
        .map_or(s.len(), |n| from + n)
}

/// Whether text starting at `s` plausibly begins a sentence: after any opening quotes or
/// brackets, a letter that is not lowercase (so uppercase, or a script without case such
/// as CJK), a digit, or — after an opener — anything but a lowercase letter.
fn starts_sentence(s: &str) -> bool {
    let body = s.trim_start_matches(is_opener);
    let opened = body.len() < s.len();
    match body.chars().next() {
        // A lone `*` or quote with space after it is punctuation, not an opener.
        Some(c) if c.is_whitespace() => false,
        Some(c) if c.is_alphabetic() => !c.is_lowercase(),
        Some(c) if c.is_numeric() => true,
        Some(c) => opened || matches!(c, '$' | '€' | '£' | '¥' | '#' | '@'),
        None => false,
    }
}

/// The run of ASCII letters and inner dots just before byte `end` ("U.S", "e.g", "Mr").
fn word_before(para: &str, end: usize) -> &str {
    let bytes = para.as_bytes();
    let mut start = end;
    // Abbreviations are short; a bound keeps pathological input linear.
    while start > 0 && end - start < 32 {
        let b = bytes[start - 1];
        if b.is_ascii_alphabetic() || b == b'.' {
            start -= 1;
        } else {
            break;
        }
    }
    // An abbreviation is a word of its own: "x2." or the "d" ending a URL's "?c=d." is not.
    if end - start >= 32 {
        return "";
    }
    let mut before = para[..start].chars().rev();
    match (before.next(), before.next()) {
        (None, _) => {}
        (Some(c), _) if c.is_whitespace() => {}
        // An opening quote or bracket, unless it is an apostrophe: the "t" of "don't."
        (Some(c), prev) if is_opener(c) && !prev.is_some_and(char::is_alphanumeric) => {}
        _ => return "",
    }
    para[start..end].trim_start_matches('.')
}

/// Whether the `.`/`!`/`?` at `at` sits between a lowercase word of two or more letters
/// and a capitalised word, inside a token that is not a URL, path or identifier.
fn glued_words(para: &str, at: usize, after: usize) -> bool {
    let word = word_before(para, at);
    let lower = word.len() >= 2 && word.bytes().all(|b| b.is_ascii_lowercase());
    let mut next = para[after..].chars();
    let capital = matches!((next.next(), next.next()), (Some(a), Some(b))
        if a.is_ascii_uppercase() && b.is_ascii_lowercase());
    if !lower || !capital {
        return false;
    }
    // The token around the stop, bounded: reject it if it looks like code or an address.
    let token_start = para[..at]
        .char_indices()
        .rev()
        .take(64)
        .take_while(|(_, c)| !c.is_whitespace())
        .last()
        .map_or(at, |(i, _)| i);
    let token_end = para[after..]
        .char_indices()
        .take(64)
        .find(|(_, c)| c.is_whitespace())
        .map_or(para.len().min(after + 256), |(i, _)| after + i);
    let token_end = floor_boundary(para, token_end);
    let token = &para[token_start..token_end];
    let stops = token
        .bytes()
        .filter(|b| matches!(b, b'.' | b'!' | b'?'))
        .count();
    stops == 1 && !token.contains(['/', '@', ':', '\\', '_', '(', '=', '`', '#', '<'])
}

fn floor_boundary(s: &str, mut at: usize) -> usize {
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[derive(Debug, PartialEq, Eq)]
enum Abbrev {
    /// Not an abbreviation: the period may end the sentence.
    No,
    /// Never ends a sentence: titles and Latin shorthands that precede what they qualify.
    Never,
    /// Ends a sentence only when a common sentence opener follows ("Apple Inc. The
    /// company…" splits; "Apple Inc. Chairman…" and "St. Louis" do not).
    Ambiguous,
}

/// Titles and shorthands that are always followed by the word they qualify.
const NEVER: &[&str] = &[
    "Mr", "Mrs", "Ms", "Mx", "Messrs", "Dr", "Prof", "Rev", "Hon", "Gen", "Col", "Lt", "Capt",
    "Sgt", "Cmdr", "Adm", "Gov", "Sen", "Rep", "Pres", "Fr", "Mt", "Ft", "vs", "Vs", "cf", "Cf",
    "e.g", "E.g", "i.e", "I.e", "viz", "al", "No", "Nos", "Nr", "Vol", "Vols", "Fig", "Figs",
    "fig", "figs", "Eq", "Eqs", "eq", "pp", "Pp", "Ch", "ch", "Sec", "sec", "Op", "approx",
    "Approx", "ca", "Ref", "Refs", "ed", "eds", "Ed", "Eds", "Art",
];

/// Abbreviations that often end a sentence too (suffixes, places, months).
const AMBIGUOUS: &[&str] = &[
    "etc", "Inc", "Ltd", "Co", "Corp", "Jr", "Sr", "Bros", "St", "Ste", "Ave", "Rd", "Blvd",
    "Dept", "Univ", "Assn", "Est", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept",
    "Oct", "Nov", "Dec", "Mon", "Tue", "Tues", "Wed", "Thu", "Thurs", "Fri", "Sat", "Sun",
];

fn abbreviation(word: &str) -> Abbrev {
    if word.is_empty() {
        Abbrev::No
    } else if NEVER.contains(&word) || word.len() == 1 && word.as_bytes()[0].is_ascii_lowercase() {
        // A single lowercase letter is a shorthand: "p. 5", "c. 1900", "v. Wade".
        Abbrev::Never
    } else if AMBIGUOUS.contains(&word) || word.len() == 1 || is_dotted_acronym(word) {
        // Single capitals are initials ("J. R. R. Tolkien") unless a sentence opener
        // follows ("vitamin C. The"); dotted acronyms likewise ("the U.S. The …").
        Abbrev::Ambiguous
    } else {
        Abbrev::No
    }
}

/// "U.S", "a.m", "Ph.D", "U.S.A": letter groups of at most three joined by dots.
fn is_dotted_acronym(word: &str) -> bool {
    word.contains('.') && word.split('.').all(|p| (1..=3).contains(&p.len()))
}

/// Capitalised words that usually open a sentence; decides ambiguous abbreviations.
const STARTERS: &[&str] = &[
    "The",
    "A",
    "An",
    "It",
    "Its",
    "He",
    "She",
    "They",
    "We",
    "I",
    "You",
    "This",
    "That",
    "These",
    "Those",
    "There",
    "Here",
    "In",
    "On",
    "At",
    "But",
    "And",
    "Or",
    "So",
    "If",
    "When",
    "While",
    "As",
    "However",
    "His",
    "Her",
    "Their",
    "Our",
    "My",
    "After",
    "Before",
    "Then",
    "Now",
    "For",
    "To",
    "What",
    "Why",
    "How",
    "Who",
    "Which",
    "Some",
    "Many",
    "Most",
    "All",
    "Not",
    "One",
    "Both",
    "Each",
    "Since",
    "Although",
    "Though",
    "Also",
    "Yet",
    "Still",
    "Thus",
    "Therefore",
    "Because",
    "During",
    "Today",
    "By",
    "From",
    "With",
];

fn is_common_starter(s: &str) -> bool {
    let body = s.trim_start_matches(is_opener);
    let word = body
        .find(|c: char| !c.is_ascii_alphabetic())
        .map_or(body, |n| &body[..n]);
    STARTERS.contains(&word)
}

/// Inline code spans: a run of N backticks up to the next run of exactly N backticks
/// (CommonMark). Unmatched runs are literal. Linear: one cursor per run length.
fn code_spans(s: &str) -> Vec<Range<usize>> {
    let bytes = s.as_bytes();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let start = i;
            while i < bytes.len() && bytes[i] == b'`' {
                i += 1;
            }
            runs.push((start, i - start));
        } else {
            i += 1;
        }
    }
    if runs.len() < 2 {
        return Vec::new();
    }
    // For each run length, the indices of runs with that length, and a cursor into them.
    let mut by_len: HashMap<usize, (Vec<usize>, usize)> = HashMap::new();
    for (r, &(_, len)) in runs.iter().enumerate() {
        by_len.entry(len).or_default().0.push(r);
    }
    let mut spans = Vec::new();
    let mut r = 0;
    while r < runs.len() {
        let (start, len) = runs[r];
        let closing = by_len.get_mut(&len).and_then(|(list, cursor)| {
            while *cursor < list.len() && list[*cursor] <= r {
                *cursor += 1;
            }
            list.get(*cursor).copied()
        });
        match closing {
            Some(m) => {
                spans.push(start..runs[m].0 + len);
                r = m + 1;
            }
            None => r += 1,
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(p: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut at = 0;
        for e in sentence_ends(p) {
            out.push(p[at..e].trim());
            at = e;
        }
        out.push(p[at..].trim());
        out
    }

    #[test]
    fn code_spans_match_equal_runs_only() {
        let s = "a `b` c ``d`e`` f ` g";
        let spans: Vec<&str> = code_spans(s).into_iter().map(|r| &s[r]).collect();
        assert_eq!(spans, ["`b`", "``d`e``"]);
    }

    #[test]
    fn abbreviation_classes() {
        assert_eq!(abbreviation("Mr"), Abbrev::Never);
        assert_eq!(abbreviation("e.g"), Abbrev::Never);
        assert_eq!(abbreviation("p"), Abbrev::Never);
        assert_eq!(abbreviation("U.S"), Abbrev::Ambiguous);
        assert_eq!(abbreviation("J"), Abbrev::Ambiguous);
        assert_eq!(abbreviation("etc"), Abbrev::Ambiguous);
        assert_eq!(abbreviation("house"), Abbrev::No);
        assert_eq!(abbreviation("example.com"), Abbrev::No);
        assert_eq!(abbreviation("no"), Abbrev::No);
    }

    #[test]
    fn word_before_stops_at_non_letters() {
        assert_eq!(word_before("see (e.g.", 8), "e.g");
        assert_eq!(word_before("in 1901.", 7), "");
        assert_eq!(word_before("x2Mr.", 4), "");
        assert_eq!(word_before("Mr.", 2), "Mr");
        assert_eq!(word_before("don't.", 5), "");
        assert_eq!(word_before("('e.g.", 5), "e.g");
        assert_eq!(word_before("?c=d.", 4), "");
        assert_eq!(
            word_before(
                "a very long word indeed abcdefghijklmnopqrstuvwxyzabcdefgh.",
                59
            ),
            ""
        );
    }

    #[test]
    fn ambiguous_abbreviations_split_before_sentence_openers() {
        assert_eq!(
            split("He lives in the U.S. The weather is fine."),
            ["He lives in the U.S.", "The weather is fine."]
        );
        assert_eq!(
            split("The U.S. Army is large."),
            ["The U.S. Army is large."]
        );
        assert_eq!(
            split("Apples, pears, etc. These are fruit."),
            ["Apples, pears, etc.", "These are fruit."]
        );
        assert_eq!(split("He visited St. Louis."), ["He visited St. Louis."]);
    }

    #[test]
    fn glued_sentences_split_only_between_plain_words() {
        assert_eq!(
            split("that it's broken.The way"),
            ["that it's broken.", "The way"]
        );
        assert_eq!(split("open docs/it.Then now"), ["open docs/it.Then now"]);
        assert_eq!(split("mail bob@it.Com now"), ["mail bob@it.Com now"]);
        assert_eq!(split("it.The end"), ["it.", "The end"]);
        assert_eq!(split("see a.b.Cd here"), ["see a.b.Cd here"]);
        assert_eq!(split("v1.Two"), ["v1.Two"]);
    }

    #[test]
    fn openers_and_closers() {
        assert_eq!(
            split("He said \"Stop.\" Then he left."),
            ["He said \"Stop.\"", "Then he left."]
        );
        assert_eq!(
            split("It ended (badly.) (see below)"),
            ["It ended (badly.) (see below)"]
        );
        assert_eq!(split("**Note.** Read it."), ["**Note.**", "Read it."]);
    }
}
