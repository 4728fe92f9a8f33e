//! Code-aware lexical terms: the vocabulary that BM25 and self-information count.
//!
//! Prose and code share one tokenizer. A *compound* is a run of word characters
//! (alphanumeric or `_`) that may be glued by `.`, `-` or `::` to further runs, as in
//! `os.path.join`, `well-known` or `std::io::Read`. Each compound yields, in text order:
//!
//! 1. the whole compound, lowercased and unstemmed, when it is more than one part
//!    (`os.path.join`, `snake_case`, `httpservererror`, `__init__`), so an exact
//!    identifier in a query matches the identifier in the code;
//! 2. for a joined compound, each of its runs likewise when that run is itself compound
//!    (`self.http_server` also yields `http_server`);
//! 3. every part — runs split at `_`, at lower→upper (`camelCase`), before the last capital
//!    of an acronym (`HTTPServer` → `HTTP`, `Server`) and between letters and digits —
//!    lowercased, English stopwords dropped, ASCII words Snowball-stemmed so `responses`
//!    matches `response` and `returned` matches `return`.
//!
//! Wholes are never dropped as stopwords (`is_empty` stays) and never stemmed: an
//! identifier is a name, not an English word.

use std::collections::HashMap;

use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashMap;

/// The lexical terms of `text`, lowercased, in text order (repeats kept).
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_term(text, |t| out.push(t.to_owned()));
    out
}

/// How many times each term of `text` occurs.
pub fn term_counts(text: &str) -> HashMap<String, u32> {
    let mut counts: HashMap<String, u32> = HashMap::new();
    for_each_term(text, |t| bump(&mut counts, t));
    counts
}

/// Calls `f` with every term of `text`, in the order [`terms`] returns them.
///
/// The borrowed form lets counters look a term up before allocating it, which keeps
/// tokenizing a large tree cheap. For many texts, [`TermSplitter`] stems each word once.
pub fn for_each_term(text: &str, f: impl FnMut(&str)) {
    TermSplitter::new().for_each_term(text, f);
}

/// Splits texts into terms like [`for_each_term`], remembering the stem of every word
/// it has seen: stemming is most of the work, and the units of one corpus (the lines of
/// a log above all) repeat their words many times over.
pub struct TermSplitter {
    stemmer: Stemmer,
    /// Stem of each lowercase ASCII word seen so far; `None` for a stopword.
    stems: FxHashMap<String, Option<String>>,
    /// Scratch space for lowercasing, reused so most terms cost no allocation.
    buf: String,
}

impl std::fmt::Debug for TermSplitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TermSplitter")
            .field("stems", &self.stems.len())
            .finish_non_exhaustive()
    }
}

impl Default for TermSplitter {
    fn default() -> Self {
        Self::new()
    }
}

impl TermSplitter {
    /// A splitter with the English stemmer.
    pub fn new() -> Self {
        Self {
            stemmer: Stemmer::create(Algorithm::English),
            stems: FxHashMap::default(),
            buf: String::new(),
        }
    }

    /// Calls `f` with every term of `text`, in the order [`terms`] returns them.
    pub fn for_each_term(&mut self, text: &str, mut f: impl FnMut(&str)) {
        let mut emit = Emitter {
            stemmer: &self.stemmer,
            stems: &mut self.stems,
            buf: &mut self.buf,
            f: &mut f,
        };
        let mut rest = text;
        while let Some(start) = rest.find(is_word_char) {
            rest = &rest[start..];
            let len = compound_len(rest);
            emit.compound(&rest[..len]);
            rest = &rest[len..];
        }
    }
}

/// Increments `t`'s count, allocating only for a term not seen yet.
fn bump(counts: &mut HashMap<String, u32>, t: &str) {
    match counts.get_mut(t) {
        Some(c) => *c += 1,
        None => {
            counts.insert(t.to_owned(), 1);
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Byte length of the compound at the start of `s` (which starts with a word char).
/// A joiner only counts when a word char follows it, so a full stop ends a sentence.
fn compound_len(s: &str) -> usize {
    let mut end = 0;
    loop {
        end += s[end..].find(|c| !is_word_char(c)).unwrap_or(s.len() - end);
        let tail = &s[end..];
        let joiner = if tail.starts_with("::") {
            2
        } else if tail.starts_with(['.', '-']) {
            1
        } else {
            return end;
        };
        match tail[joiner..].chars().next() {
            Some(c) if is_word_char(c) => end += joiner,
            _ => return end,
        }
    }
}

/// Splits compounds into terms and hands them on, lowercased and stemmed.
struct Emitter<'a, F: FnMut(&str)> {
    stemmer: &'a Stemmer,
    stems: &'a mut FxHashMap<String, Option<String>>,
    buf: &'a mut String,
    f: &'a mut F,
}

impl<F: FnMut(&str)> Emitter<'_, F> {
    fn compound(&mut self, compound: &str) {
        let runs = || compound.split(['.', '-', ':']).filter(|r| !r.is_empty());
        if runs().nth(1).is_some() {
            self.whole(compound);
            for run in runs() {
                self.run(run);
            }
        } else {
            self.run(compound);
        }
    }

    /// One run of word characters: its whole when it is more than its single part,
    /// then its parts.
    fn run(&mut self, run: &str) {
        // A hash (`f8fcb7c3…`) is a name with no parts: split at letter/digit changes it
        // would yield a dozen fragments that match every other hash.
        if is_hex_id(run) {
            self.whole(run);
            return;
        }
        let mut parts = 0;
        let mut part_len = 0;
        for_each_part(run, |p| {
            parts += 1;
            part_len = p.len();
        });
        if parts == 0 {
            return; // only underscores: no name to keep
        }
        if parts > 1 || part_len != run.len() {
            self.whole(run);
        }
        for_each_part(run, |p| self.part(p));
    }

    fn whole(&mut self, s: &str) {
        lowercase_into(self.buf, s);
        (self.f)(self.buf);
    }

    fn part(&mut self, p: &str) {
        lowercase_into(self.buf, p);
        // Snowball English is only meant for English words; other scripts and numbers
        // are kept as they are. Stopwords are English words too, so only those are
        // looked up (and remembered, with their stems).
        if !self.buf.bytes().all(|b| b.is_ascii_alphabetic()) {
            (self.f)(self.buf);
            return;
        }
        // One lookup for a word seen before (most of a log's words).
        let stem = match self.stems.get(self.buf.as_str()) {
            Some(stem) => stem,
            None => {
                let stem =
                    (!is_stopword(self.buf)).then(|| self.stemmer.stem(self.buf).into_owned());
                self.stems.entry(self.buf.clone()).or_insert(stem)
            }
        };
        match stem {
            None => {} // a stopword
            Some(stem) if !stem.is_empty() => (self.f)(stem),
            Some(_) => (self.f)(self.buf),
        }
    }
}

/// A commit hash, object id or similar: seven or more hex digits, letters and digits mixed.
fn is_hex_id(run: &str) -> bool {
    run.len() >= 7
        && run.bytes().all(|b| b.is_ascii_hexdigit())
        && run.bytes().any(|b| b.is_ascii_digit())
        && run.bytes().any(|b| b.is_ascii_alphabetic())
}

fn lowercase_into(buf: &mut String, s: &str) {
    buf.clear();
    if s.is_ascii() {
        buf.push_str(s);
        buf.make_ascii_lowercase();
    } else {
        buf.extend(s.chars().flat_map(char::to_lowercase));
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Upper,
    /// Lowercase letters and letters without case (CJK, etc.).
    Lower,
    Digit,
}

fn class(c: char) -> Class {
    if c.is_uppercase() {
        Class::Upper
    } else if c.is_numeric() {
        Class::Digit
    } else {
        Class::Lower
    }
}

/// Calls `f` with each part of a run of word characters: split at `_`, at lower→upper,
/// before the capital that starts a word after an acronym, and at letter/digit changes.
fn for_each_part(run: &str, mut f: impl FnMut(&str)) {
    for seg in run.split('_').filter(|s| !s.is_empty()) {
        let mut start = 0;
        let mut chars = seg.char_indices().peekable();
        let Some((_, first)) = chars.next() else {
            continue;
        };
        let mut prev = class(first);
        while let Some((i, c)) = chars.next() {
            let cur = class(c);
            let boundary = match (prev, cur) {
                (Class::Lower, Class::Upper) => true,
                (Class::Digit, other) | (other, Class::Digit) => other != Class::Digit,
                // `HTTPServer`: the `S` starts a new word because a lowercase follows.
                (Class::Upper, Class::Upper) => {
                    matches!(chars.peek(), Some(&(_, n)) if class(n) == Class::Lower)
                }
                _ => false,
            };
            if boundary {
                f(&seg[start..i]);
                start = i;
            }
            prev = cur;
        }
        f(&seg[start..]);
    }
}

/// Function words that carry no topic, plus contraction tails (`don't` → `don`, `t`).
/// Sorted for binary search.
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any",
    "are", "as", "at", "be", "because", "been", "before", "being", "below", "between",
    "both", "but", "by", "can", "could", "d", "did", "do", "does", "doing", "don", "down",
    "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he",
    "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "itself", "just", "ll", "m", "me", "more", "most", "my",
    "myself", "no", "nor", "not", "of", "off", "on", "once", "only", "or", "other", "our",
    "ours", "ourselves", "out", "over", "own", "re", "s", "same", "she", "should", "so", "some",
    "such", "t", "than", "that", "the", "their", "theirs", "them", "themselves", "then",
    "there", "these", "they", "this", "those", "through", "to", "too", "under", "until",
    "up", "ve", "very", "was", "we", "were", "what", "when", "where", "which", "while",
    "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself",
    "yourselves",
];

/// Whether `word` (lowercase) is an English stopword.
pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.binary_search(&word).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopword_list_is_sorted_for_binary_search() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn stopwords_are_ascii_letters() {
        // `part` only looks up words of ASCII letters.
        assert!(
            STOPWORDS
                .iter()
                .all(|w| w.bytes().all(|b| b.is_ascii_lowercase()))
        );
    }
}
