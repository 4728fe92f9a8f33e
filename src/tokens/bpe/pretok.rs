//! tiktoken's pre-tokenizer patterns as hand-written scanners.
//!
//! The patterns (kept below as text, the reference the tests run through `fancy-regex`)
//! need a backtracking engine for one lookahead, and running it was about a third of
//! pith's time on a long log. Every alternative is simple enough to scan directly: at
//! each position the pieces start where the previous one ended (every character begins
//! some alternative), so a piece is "the first alternative that matches here, with the
//! length backtracking would give it". The character classes come from `regex-syntax`,
//! the tables the regex engine itself uses, so both agree on every Unicode character.

use std::sync::LazyLock;

use regex_syntax::hir::{Class, HirKind};

/// cl100k_base's pre-tokenizer, as in tiktoken (`tiktoken_ext/openai_public.py`).
#[cfg(test)]
pub(crate) const CL100K_PATTERN: &str = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s";

/// o200k_base's pre-tokenizer, as in tiktoken.
#[cfg(test)]
pub(crate) const O200K_PATTERN: &str = concat!(
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    "|",
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    "|",
    r"\p{N}{1,3}",
    "|",
    r" ?[^\s\p{L}\p{N}]+[\r\n/]*",
    "|",
    r"\s*[\r\n]+",
    "|",
    r"\s+(?!\S)",
    "|",
    r"\s+",
);

/// Which encoding's pattern to scan with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pattern {
    O200k,
    Cl100k,
}

/// Gives `f` each piece of `text` the pattern cuts it into, in order; together they tile
/// the text.
pub(crate) fn pieces<'t>(pattern: Pattern, text: &'t str, mut f: impl FnMut(&'t [u8])) {
    let scan = Scan { text };
    let mut at = 0;
    while at < text.len() {
        let end = match pattern {
            Pattern::O200k => scan.o200k(at),
            Pattern::Cl100k => scan.cl100k(at),
        };
        f(&text.as_bytes()[at..end]);
        at = end;
    }
}

// Class bits of a character.
/// `\p{L}`
const LETTER: u8 = 1;
/// `\p{N}`
const NUMBER: u8 = 2;
/// `\s` (Unicode White_Space)
const SPACE: u8 = 4;
/// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`: o200k's leading run of a word.
const UPPER: u8 = 8;
/// `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`: o200k's trailing run of a word.
const LOWER: u8 = 16;

/// Classes of the first 64k code points by table, the rest by their ranges.
struct Classes {
    bmp: Vec<u8>,
    ranges: Vec<(u8, Vec<(u32, u32)>)>,
}

static CLASSES: LazyLock<Classes> = LazyLock::new(Classes::new);

impl Classes {
    fn new() -> Self {
        let ranges: Vec<(u8, Vec<(u32, u32)>)> = [
            (LETTER, r"\p{L}"),
            (NUMBER, r"\p{N}"),
            (SPACE, r"\s"),
            (UPPER, r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]"),
            (LOWER, r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]"),
        ]
        .into_iter()
        .map(|(bit, class)| (bit, unicode_ranges(class)))
        .collect();
        let mut bmp = vec![0u8; 0x1_0000];
        for (bit, list) in &ranges {
            for &(a, b) in list {
                for c in a..=b.min(0xFFFF) {
                    bmp[c as usize] |= bit;
                }
            }
        }
        Self { bmp, ranges }
    }

    fn of(&self, c: char) -> u8 {
        let c = c as u32;
        if let Some(&bits) = self.bmp.get(c as usize) {
            return bits;
        }
        let mut bits = 0;
        for (bit, list) in &self.ranges {
            let i = list.partition_point(|&(_, end)| end < c);
            if list.get(i).is_some_and(|&(start, _)| start <= c) {
                bits |= bit;
            }
        }
        bits
    }
}

/// The code point ranges of a Unicode character class, as the regex engine reads it.
fn unicode_ranges(class: &str) -> Vec<(u32, u32)> {
    let hir = regex_syntax::Parser::new()
        .parse(class)
        .expect("a Unicode class parses");
    match hir.kind() {
        HirKind::Class(Class::Unicode(set)) => set
            .ranges()
            .iter()
            .map(|r| (r.start() as u32, r.end() as u32))
            .collect(),
        other => unreachable!("{class} is not a Unicode class: {other:?}"),
    }
}

/// A text being scanned. Positions are byte offsets on character boundaries.
struct Scan<'t> {
    text: &'t str,
}

impl Scan<'_> {
    /// The character at `at`, its class bits and its length; `None` at the end.
    fn at(&self, at: usize) -> Option<(char, u8, usize)> {
        let b = *self.text.as_bytes().get(at)?;
        let c = if b < 0x80 {
            b as char
        } else {
            self.text[at..].chars().next()?
        };
        Some((c, CLASSES.of(c), c.len_utf8()))
    }

    /// The end of the longest run from `at` of characters that satisfy `keep`.
    fn run(&self, mut at: usize, keep: impl Fn(char, u8) -> bool) -> usize {
        while let Some((c, bits, n)) = self.at(at) {
            if !keep(c, bits) {
                break;
            }
            at += n;
        }
        at
    }

    /// `\p{N}{1,3}` from `at`, which holds a number.
    fn digits(&self, mut at: usize) -> usize {
        for _ in 0..3 {
            match self.at(at) {
                Some((_, bits, n)) if bits & NUMBER != 0 => at += n,
                _ => break,
            }
        }
        at
    }

    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at `at` (the same set as cl100k's
    /// `'(?i:[sdmt]|ll|ve|re)`): its end, if it is there.
    fn contraction(&self, at: usize) -> Option<usize> {
        let rest = self.text[at..].strip_prefix('\'')?;
        let mut chars = rest.chars();
        let fold = |c: Option<char>| match c {
            Some('ſ') => Some('s'),
            Some(c) => Some(c.to_ascii_lowercase()),
            None => None,
        };
        let first = chars.next();
        let len = match (fold(first)?, fold(chars.next())) {
            ('s' | 't' | 'm' | 'd', _) => first?.len_utf8(),
            ('r', Some('e')) | ('v', Some('e')) | ('l', Some('l')) => 2,
            _ => return None,
        };
        Some(at + 1 + len)
    }

    /// The end of a contraction at `at`, else `at`.
    fn after_contraction(&self, at: usize) -> usize {
        self.contraction(at).unwrap_or(at)
    }

    /// o200k's first word rule from `p`, `[UPPER]*[LOWER]+`, as backtracking gives it:
    /// the longest UPPER run, then the LOWER run after it; else, giving back UPPER
    /// characters, the last one that is LOWER too ends the word.
    fn cased_lower(&self, p: usize) -> Option<usize> {
        let k = self.run(p, |_, bits| bits & UPPER != 0);
        if self.at(k).is_some_and(|(_, bits, _)| bits & LOWER != 0) {
            return Some(self.run(k, |_, bits| bits & LOWER != 0));
        }
        self.text[p..k]
            .char_indices()
            .rev()
            .find(|&(_, c)| CLASSES.of(c) & LOWER != 0)
            .map(|(i, c)| p + i + c.len_utf8())
    }

    /// o200k's second word rule from `p`, `[UPPER]+[LOWER]*`.
    fn cased_upper(&self, p: usize) -> Option<usize> {
        let k = self.run(p, |_, bits| bits & UPPER != 0);
        (k > p).then(|| self.run(k, |_, bits| bits & LOWER != 0))
    }

    /// `\s` runs, the whitespace rules of both patterns: `newline_first` for o200k
    /// (`\s*[\r\n]+` before the end-of-text case), else cl100k (`\s++$` first).
    fn space(&self, at: usize, newline_first: bool) -> usize {
        let end = self.run(at, |_, bits| bits & SPACE != 0);
        let run = &self.text[at..end];
        let newline = run.bytes().rposition(|b| b == b'\r' || b == b'\n');
        if end == self.text.len() && !newline_first {
            return end;
        }
        if let Some(i) = newline {
            return at + i + 1;
        }
        if end == self.text.len() {
            return end;
        }
        // `\s+(?!\S)`: all but the last character, when that leaves one; else `\s`/`\s+`.
        match run.char_indices().next_back() {
            Some((last, _)) if last > 0 => at + last,
            _ => end,
        }
    }

    /// One piece of o200k_base from `at`.
    fn o200k(&self, at: usize) -> usize {
        let Some((c0, bits0, n0)) = self.at(at) else {
            return at;
        };
        // `[^\r\n\p{L}\p{N}]?` before a word: tried taken, then empty.
        let prefix = !matches!(c0, '\r' | '\n') && bits0 & (LETTER | NUMBER) == 0;
        let starts = if prefix {
            [Some(at + n0), Some(at)]
        } else {
            [Some(at), None]
        };
        for p in starts.into_iter().flatten() {
            if let Some(end) = self.cased_lower(p) {
                return self.after_contraction(end);
            }
        }
        for p in starts.into_iter().flatten() {
            if let Some(end) = self.cased_upper(p) {
                return self.after_contraction(end);
            }
        }
        if bits0 & NUMBER != 0 {
            return self.digits(at);
        }
        if let Some(end) = self.punctuation(at, c0, |c| matches!(c, '\r' | '\n' | '/')) {
            return end;
        }
        self.space(at, true)
    }

    /// One piece of cl100k_base from `at`.
    fn cl100k(&self, at: usize) -> usize {
        let Some((c0, bits0, n0)) = self.at(at) else {
            return at;
        };
        if let Some(end) = self.contraction(at) {
            return end;
        }
        // `[^\r\n\p{L}\p{N}]?+\p{L}++`: a prefix, once taken, is not given back.
        let prefix = !matches!(c0, '\r' | '\n') && bits0 & (LETTER | NUMBER) == 0;
        let p = if prefix { at + n0 } else { at };
        let end = self.run(p, |_, bits| bits & LETTER != 0);
        if end > p {
            return end;
        }
        if bits0 & NUMBER != 0 {
            return self.digits(at);
        }
        if let Some(end) = self.punctuation(at, c0, |c| matches!(c, '\r' | '\n')) {
            return end;
        }
        self.space(at, false)
    }

    /// ` ?[^\s\p{L}\p{N}]+` then a run of `tail` characters, if it matches at `at`.
    fn punctuation(&self, at: usize, c0: char, tail: impl Fn(char) -> bool) -> Option<usize> {
        let other = |_, bits: u8| bits & (SPACE | LETTER | NUMBER) == 0;
        let p = if c0 == ' ' { at + 1 } else { at };
        let end = self.run(p, other);
        (end > p).then(|| self.run(end, |c, _| tail(c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scanned(pattern: Pattern, text: &str) -> Vec<&[u8]> {
        let mut out = Vec::new();
        pieces(pattern, text, |p| out.push(p));
        out
    }

    /// The pieces `fancy-regex` finds with tiktoken's own pattern.
    fn reference(pattern: Pattern, text: &str) -> Vec<&[u8]> {
        static O200K: LazyLock<fancy_regex::Regex> =
            LazyLock::new(|| fancy_regex::Regex::new(O200K_PATTERN).expect("compiles"));
        static CL100K: LazyLock<fancy_regex::Regex> =
            LazyLock::new(|| fancy_regex::Regex::new(CL100K_PATTERN).expect("compiles"));
        let regex = match pattern {
            Pattern::O200k => &*O200K,
            Pattern::Cl100k => &*CL100K,
        };
        regex
            .find_iter(text)
            .map(|m| m.expect("within the backtrack limit").as_str().as_bytes())
            .collect()
    }

    /// Case folding of the contraction letters, as `(?i)` reads them.
    #[test]
    fn contractions_fold_as_the_regex_does() {
        for letter in ["s", "t", "r", "e", "v", "m", "l", "d"] {
            let folded: Vec<char> = unicode_ranges(&format!("(?i:[{letter}])"))
                .into_iter()
                .flat_map(|(a, b)| a..=b)
                .filter_map(char::from_u32)
                .collect();
            for c in folded {
                let text = format!("'{c}");
                let want = letter != "r" && letter != "e" && letter != "v" && letter != "l";
                let scan = Scan { text: &text };
                assert_eq!(scan.contraction(0).is_some(), want, "{c:?}");
            }
        }
    }

    /// Characters where the classes meet: cased letters of every kind, marks, modifier
    /// and other letters, numbers of every kind, every whitespace, apostrophes and `ſ`.
    fn tricky() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-zA-Z]{1,6}",
            "['’][sStTrRvVmMlLdDeEſK]{0,2}",
            "[ \t\n\r\u{b}\u{c}\u{85}\u{a0}\u{1680}\u{2000}\u{2028}\u{2029}\u{202f}\u{3000}]{1,4}",
            "[\u{301}\u{308}\u{94d}\u{20dd}ǅǈᾈᾼʰʲˠ々ㄱ东ß]{1,4}",
            "[0-9٣௫Ⅻ½²①\u{1d7d8}]{1,5}",
            "[-.,;:!?/\\\\()'\"_#]{1,3}",
            "[\u{10400}\u{10428}\u{1d400}\u{1d41a}\u{16f93}𝓐]{1,3}",
            "\\PC{1,3}",
            "\\p{M}{1,2}",
        ];
        proptest::collection::vec(piece, 0..20).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn pieces_are_the_patterns_pieces(text in tricky()) {
            for pattern in [Pattern::O200k, Pattern::Cl100k] {
                prop_assert_eq!(scanned(pattern, &text), reference(pattern, &text), "{:?}", pattern);
            }
        }

        #[test]
        fn pieces_of_any_text(text in any::<String>()) {
            for pattern in [Pattern::O200k, Pattern::Cl100k] {
                prop_assert_eq!(scanned(pattern, &text), reference(pattern, &text), "{:?}", pattern);
            }
        }
    }
}
