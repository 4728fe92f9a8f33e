//! What a text says about how its tokens may be pruned, found before the model runs:
//! `<pith …>` markers that give a part its own rate or keep it whole, JSON whose syntax
//! must survive, and protected patterns (identifiers, numbers, URLs, paths, inline code)
//! that are kept or dropped whole, never split.

use std::ops::Range;

use regex::Regex;

use super::LinguaError;
use crate::spans::{self, Node};

/// The default protected patterns, tried left to right at each position.
pub const DEFAULT_PROTECT: &[&str] = &[
    // inline code
    r"`[^`\n]+`",
    // URLs and e-mail addresses
    r#"\b(?:https?|ftp|file)://[^\s<>"'`)\]]+"#,
    r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b",
    // paths: at least one slash between names, or a leading ./ ~/ /
    r"(?:~|\.{1,2})?/?(?:[\w.-]+/)+[\w.-]+",
    // numbers with their separators and units: 3.14, 1,000, 2024-01-05, 12:30, 50%
    r"[-+]?\d(?:[\d,._:/-]*\d)?%?",
    // identifiers: dotted or scoped names, snake_case, camelCase, letters with digits
    r"\b[A-Za-z_]\w*(?:(?:\.|::)[A-Za-z_]\w*)+\b",
    r"\b\w*(?:_|[a-z][A-Z]|[A-Za-z][0-9]|[0-9][A-Za-z])\w*\b",
    NAMES,
];

/// Names: two or more capitalised words in a row. A causal LM finds a known name's later
/// words predictable, so alone they would go first ("Wilhelm … Röntgen").
pub const NAMES: &str = r"\b\p{Lu}[\p{L}\p{M}'’-]*(?:[ \t]+\p{Lu}[\p{L}\p{M}'’-]*)+";

/// A part of the text marked with `<pith …>…</pith>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// The content between the tags.
    pub span: Range<usize>,
    /// Its own keep rate (`rate=0.3`), else the call's.
    pub rate: Option<f64>,
    /// `compress=false`: kept verbatim.
    pub compress: bool,
}

/// The analysis of one text.
#[derive(Debug, Clone, Default)]
pub struct Markup {
    /// Marker tags: never in the output, never seen by the model.
    pub tags: Vec<Range<usize>>,
    /// Marked parts, in order, not overlapping.
    pub segments: Vec<Segment>,
    /// Kept verbatim: JSON syntax, keys and non-string values.
    pub pinned: Vec<Range<usize>>,
    /// Kept or dropped whole: protected patterns and JSON string escapes.
    pub atomic: Vec<Range<usize>>,
}

/// Which analyses run.
#[derive(Debug, Clone)]
pub struct MarkupOptions {
    /// Honour `<pith …>` markers.
    pub markers: bool,
    /// Keep JSON valid: prune only inside string values.
    pub json: bool,
    /// One pattern made of the protected patterns (none: nothing is protected).
    pub protect: Option<Regex>,
}

impl MarkupOptions {
    /// Compiles `patterns` into one leftmost-first alternation.
    pub fn new(markers: bool, json: bool, patterns: &[String]) -> Result<Self, LinguaError> {
        for p in patterns {
            Regex::new(p).map_err(|e| LinguaError::Pattern {
                pattern: p.clone(),
                message: e.to_string(),
            })?;
        }
        let protect = if patterns.is_empty() {
            None
        } else {
            let joined = patterns
                .iter()
                .map(|p| format!("(?:{p})"))
                .collect::<Vec<_>>()
                .join("|");
            Some(Regex::new(&joined).map_err(|e| LinguaError::Pattern {
                pattern: joined.clone(),
                message: e.to_string(),
            })?)
        };
        Ok(Self {
            markers,
            json,
            protect,
        })
    }
}

/// Analyses `text`.
pub fn analyse(text: &str, options: &MarkupOptions) -> Result<Markup, LinguaError> {
    let mut m = Markup::default();
    if options.markers {
        markers(text, &mut m)?;
    }
    if options.json {
        json_regions(text, &mut m);
    }
    if let Some(re) = &options.protect {
        m.atomic.extend(re.find_iter(text).map(|x| x.range()));
    }
    m.atomic.sort_by_key(|r| (r.start, r.end));
    m.pinned.sort_by_key(|r| (r.start, r.end));
    Ok(m)
}

/// `<pith rate=0.3>…</pith>` and `<pith compress=false>…</pith>`; `<pith>` alone marks a
/// part with the call's settings. Markers do not nest; an unclosed one runs to the end.
fn markers(text: &str, m: &mut Markup) -> Result<(), LinguaError> {
    static OPEN: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"(?i)<pith(\s[^<>]*)?>|</pith\s*>").expect("a constant pattern")
    });
    let mut open: Option<(usize, Option<f64>, bool)> = None;
    for tag in OPEN.find_iter(text) {
        let closing = tag.as_str().starts_with("</");
        match (&open, closing) {
            (None, false) => {
                let (rate, compress) = attributes(tag.as_str(), tag.start())?;
                open = Some((tag.end(), rate, compress));
            }
            (&Some((start, rate, compress)), true) => {
                m.segments.push(Segment {
                    span: start..tag.start(),
                    rate,
                    compress,
                });
                open = None;
            }
            (Some(_), false) => {
                return Err(LinguaError::Marker {
                    at: tag.start(),
                    message: "<pith> markers do not nest".into(),
                });
            }
            // A stray closing tag is markup all the same.
            (None, true) => {}
        }
        m.tags.push(tag.range());
    }
    if let Some((start, rate, compress)) = open {
        m.segments.push(Segment {
            span: start..text.len(),
            rate,
            compress,
        });
    }
    Ok(())
}

/// Reads `rate=…` and `compress=…` from an opening tag.
fn attributes(tag: &str, at: usize) -> Result<(Option<f64>, bool), LinguaError> {
    static ATTR: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r#"([A-Za-z_-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#)
            .expect("a constant pattern")
    });
    let bad = |message: String| LinguaError::Marker { at, message };
    let inner = tag.trim_start_matches(|c| c != ' ' && c != '\t' && c != '\n');
    let mut rate = None;
    let mut compress = true;
    let mut rest = inner.trim_end_matches('>').trim().to_owned();
    for cap in ATTR.captures_iter(inner) {
        let key = cap[1].to_ascii_lowercase();
        let value = cap
            .get(2)
            .or(cap.get(3))
            .or(cap.get(4))
            .map_or("", |v| v.as_str());
        match key.as_str() {
            "rate" => match value.parse::<f64>() {
                Ok(r) if r > 0.0 && r <= 1.0 => rate = Some(r),
                _ => {
                    return Err(bad(format!(
                        "rate must be a number in (0, 1], got {value:?}"
                    )));
                }
            },
            "compress" => match value.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => compress = true,
                "false" | "no" | "0" => compress = false,
                _ => {
                    return Err(bad(format!(
                        "compress must be true or false, got {value:?}"
                    )));
                }
            },
            other => {
                return Err(bad(format!(
                    "unknown attribute {other:?} (use rate or compress)"
                )));
            }
        }
        rest = rest.replacen(&cap[0], "", 1);
    }
    if !rest.trim().is_empty() {
        return Err(bad(format!("cannot read {:?}", rest.trim())));
    }
    Ok((rate, compress))
}

/// JSON objects and arrays that start a line: their syntax, keys and non-string values
/// are pinned; only the words inside string values may go, so the JSON stays valid.
fn json_regions(text: &str, m: &mut Markup) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // The first non-blank byte of a line.
        let line_start = i == 0 || bytes[i - 1] == b'\n';
        if line_start {
            let mut j = i;
            while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                j += 1;
            }
            if j < bytes.len()
                && (bytes[j] == b'{' || bytes[j] == b'[')
                && let Ok(value) = spans::parse_prefix(&text[j..])
            {
                let mut pinned_from = j;
                string_values(&value, &mut |s| {
                    // Inside the quotes: prunable, escapes kept or dropped whole.
                    let inner = j + s.start + 1..j + s.end - 1;
                    if !inner.is_empty() {
                        m.pinned.push(pinned_from..inner.start);
                        m.atomic.extend(escapes(text, inner.clone()));
                        pinned_from = inner.end;
                    }
                });
                let end = j + value.span().end;
                m.pinned.push(pinned_from..end);
                i = end;
                continue;
            }
        }
        i += 1;
    }
}

/// Calls `f` with the span of every string value (not key) in `node`, in order.
fn string_values(node: &Node, f: &mut impl FnMut(Range<usize>)) {
    match node {
        Node::String { span, .. } => f(span.clone()),
        Node::Object { members, .. } => members.iter().for_each(|(_, v)| string_values(v, f)),
        Node::Array { items, .. } => items.iter().for_each(|v| string_values(v, f)),
        Node::Other { .. } => {}
    }
}

/// The escape sequences (`\n`, `\"`, `\u00e9`) inside a JSON string's contents.
fn escapes(text: &str, inner: Range<usize>) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = inner.start;
    while i < inner.end {
        if bytes[i] == b'\\' {
            let len = if bytes.get(i + 1) == Some(&b'u') {
                6
            } else {
                2
            };
            out.push(i..(i + len).min(inner.end));
            i += len;
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> MarkupOptions {
        let p: Vec<String> = DEFAULT_PROTECT.iter().map(|s| (*s).to_owned()).collect();
        MarkupOptions::new(true, true, &p).expect("default patterns compile")
    }

    #[test]
    fn markers_give_segments_and_tags() {
        let t = "a <pith rate=0.3>b c</pith> d <pith compress=false>e</pith>";
        let m = analyse(t, &opts()).expect("valid markers");
        assert_eq!(m.segments.len(), 2);
        assert_eq!(&t[m.segments[0].span.clone()], "b c");
        assert_eq!(m.segments[0].rate, Some(0.3));
        assert!(!m.segments[1].compress);
        assert_eq!(m.tags.len(), 4);
    }

    #[test]
    fn bad_markers_are_errors() {
        for t in [
            "<pith rate=2>x</pith>",
            "<pith rate=abc>x</pith>",
            "<pith foo=1>x</pith>",
            "<pith compress=maybe>x</pith>",
            "<pith><pith>x</pith>",
        ] {
            assert!(analyse(t, &opts()).is_err(), "{t}");
        }
    }

    #[test]
    fn json_keys_and_syntax_are_pinned_values_free() {
        let t = "see:\n{\"name\": \"a long value here\", \"n\": 3, \"e\": \"x\\ny\"}\nend";
        let m = analyse(t, &opts()).expect("no markers");
        let free: Vec<&str> = {
            let mut v = Vec::new();
            let mut prev = m.pinned[0].end;
            for p in &m.pinned[1..] {
                v.push(&t[prev..p.start]);
                prev = p.end;
            }
            v
        };
        assert_eq!(free, ["a long value here", "x\\ny"]);
        assert!(m.atomic.iter().any(|r| &t[r.clone()] == "\\n"));
    }

    #[test]
    fn protected_patterns_cover_whole_tokens() {
        let t =
            "call get_user_id() at https://x.io/a?b=1 on 2024-01-05, see src/main.rs and `x + y`";
        let m = analyse(t, &opts()).expect("no markers");
        let found: Vec<&str> = m.atomic.iter().map(|r| &t[r.clone()]).collect();
        for want in [
            "get_user_id",
            "https://x.io/a?b=1",
            "2024-01-05",
            "src/main.rs",
            "`x + y`",
        ] {
            assert!(found.contains(&want), "{want} not in {found:?}");
        }
    }
}
