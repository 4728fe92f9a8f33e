//! JSON: one chunk per member of the top-level object or array, so a compressor can drop
//! entries and the renderer can stand in for them with placeholder entries that keep the
//! output valid JSON (see `render::marker`).
//!
//! Layout of the chunks for `{\n  "a": 1,\n  "b": 2\n}\n`:
//!
//! ```text
//! Header  `{\n  `          the opening bracket, with the whitespace around it
//! Member  `"a": 1,\n  `    a member with its trailing comma and whitespace
//! Member  `"b": 2\n`       the last member has no comma
//! Footer  `}\n`            the closing bracket and trailing whitespace
//! ```
//!
//! A member larger than [`JsonChunker::split_bytes`] whose value is an object or array is
//! split the same way: a nested header (`"key": {` and the whitespace after it), its
//! members, and a footer that also holds the member's trailing comma. The spans come from
//! a small hand-written scanner because byte positions are the point; it is lenient inside
//! values and strict about the structure it splits. Anything it cannot split — scalars,
//! JSON Lines, invalid or truncated text — falls back to blocks of lines.

use super::lines::line_blocks;
use super::{Chunk, ChunkKind, Chunker};

/// Deepest nesting that is split; deeper members stay whole (and the recursion bounded).
const MAX_SPLIT_DEPTH: usize = 16;

/// Chunks JSON text by the members of its containers.
#[derive(Debug, Clone)]
pub struct JsonChunker {
    /// A member larger than this (in bytes) whose value is a container is split into its
    /// own members.
    pub split_bytes: usize,
    /// Most lines per block when the text is not splittable JSON.
    pub fallback_lines: usize,
}

impl Default for JsonChunker {
    fn default() -> Self {
        Self {
            split_bytes: 2000,
            fallback_lines: 40,
        }
    }
}

impl Chunker for JsonChunker {
    fn chunk(&self, text: &str) -> Vec<Chunk> {
        let mut scanner = Scanner {
            text,
            b: text.as_bytes(),
            pos: 0,
            split_bytes: self.split_bytes.max(1),
            chunks: Vec::new(),
        };
        match scanner.document() {
            Some(()) => scanner.chunks,
            None => line_blocks(text, 0, self.fallback_lines),
        }
    }
}

struct Scanner<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    split_bytes: usize,
    chunks: Vec<Chunk>,
}

impl Scanner<'_> {
    /// The whole text: whitespace, one container, whitespace.
    fn document(&mut self) -> Option<()> {
        self.skip_ws();
        if !matches!(self.peek()?, b'{' | b'[') {
            return None;
        }
        let open = self.pos;
        let close = self.skip_value()? - 1;
        self.skip_ws();
        if self.pos != self.b.len() {
            return None;
        }
        self.container(0, open, close, self.b.len(), None, None, 0)
    }

    /// Chunks the container whose brackets are at `open` and `close`: a header from
    /// `start` through the opening bracket and the whitespace after it, its members, and a
    /// footer from the closing bracket to `end`.
    #[allow(clippy::too_many_arguments)]
    fn container(
        &mut self,
        start: usize,
        open: usize,
        close: usize,
        end: usize,
        parent: Option<usize>,
        name: Option<String>,
        depth: usize,
    ) -> Option<()> {
        let is_object = self.b[open] == b'{';
        let closing = if is_object { b'}' } else { b']' };
        self.pos = open + 1;
        self.skip_ws();
        let header = self.chunks.len();
        self.chunks.push(Chunk {
            span: start..self.pos,
            kind: ChunkKind::Header,
            name,
            parent,
        });
        while self.pos < close {
            let member_start = self.pos;
            let key = if is_object { Some(self.key()?) } else { None };
            let value_start = self.pos;
            let value_end = self.skip_value()?;
            self.skip_ws();
            if self.peek() == Some(b',') {
                self.pos += 1;
                self.skip_ws();
            } else if self.pos != close {
                return None;
            }
            let member_end = self.pos;
            if member_end > close {
                return None;
            }
            let splittable = member_end - member_start > self.split_bytes
                && matches!(self.b[value_start], b'{' | b'[')
                && depth + 1 < MAX_SPLIT_DEPTH;
            let before = self.chunks.len();
            let split = splittable
                && self
                    .container(
                        member_start,
                        value_start,
                        value_end - 1,
                        member_end,
                        Some(header),
                        key.clone(),
                        depth + 1,
                    )
                    .is_some();
            if !split {
                // The nested value did not split cleanly: keep the member whole.
                self.chunks.truncate(before);
                self.chunks.push(Chunk {
                    span: member_start..member_end,
                    kind: ChunkKind::Member,
                    name: key,
                    parent: Some(header),
                });
            }
            self.pos = member_end;
        }
        if self.pos != close || self.b[close] != closing {
            return None;
        }
        self.chunks.push(Chunk {
            span: close..end,
            kind: ChunkKind::Footer,
            name: None,
            parent: Some(header),
        });
        Some(())
    }

    /// An object key and its colon, with the whitespace after each; returns the key.
    fn key(&mut self) -> Option<String> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.pos;
        self.skip_string()?;
        let raw = &self.text[start..self.pos];
        self.skip_ws();
        if self.peek()? != b':' {
            return None;
        }
        self.pos += 1;
        self.skip_ws();
        // Names are for reports and matching; an undecodable key keeps its raw text.
        Some(
            serde_json::from_str::<String>(raw)
                .unwrap_or_else(|_| raw[1..raw.len() - 1].to_owned()),
        )
    }

    /// Skips one value (its contents checked only for balanced brackets and closed
    /// strings); returns where it ends.
    fn skip_value(&mut self) -> Option<usize> {
        let mut stack: Vec<u8> = Vec::new();
        let start = self.pos;
        loop {
            let c = *self.b.get(self.pos)?;
            match c {
                b'"' => self.skip_string()?,
                b'{' | b'[' => {
                    stack.push(if c == b'{' { b'}' } else { b']' });
                    self.pos += 1;
                }
                b'}' | b']' => {
                    if stack.pop()? != c {
                        return None;
                    }
                    self.pos += 1;
                }
                _ if stack.is_empty() => {
                    // A scalar: everything up to a delimiter.
                    while let Some(&c) = self.b.get(self.pos) {
                        if matches!(c, b',' | b'}' | b']' | b':' | b'"' | b'{' | b'[') || is_ws(c) {
                            break;
                        }
                        self.pos += 1;
                    }
                    return (self.pos > start).then_some(self.pos);
                }
                _ => self.pos += 1,
            }
            if stack.is_empty() {
                return Some(self.pos);
            }
        }
    }

    /// Skips a string starting at its opening quote, through its closing quote.
    fn skip_string(&mut self) -> Option<()> {
        self.pos += 1;
        loop {
            match *self.b.get(self.pos)? {
                b'"' => {
                    self.pos += 1;
                    return Some(());
                }
                // The escaped byte is never a quote that ends the string; any multi-byte
                // char it starts is finished by the continuation bytes that follow.
                b'\\' => self.pos += 2,
                _ => self.pos += 1,
            }
        }
    }

    fn skip_ws(&mut self) {
        while self.b.get(self.pos).is_some_and(|&c| is_ws(c)) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::check_tiling;

    fn kinds(text: &str, chunker: &JsonChunker) -> Vec<(ChunkKind, String, Option<usize>)> {
        let chunks = chunker.chunk(text);
        check_tiling(text, &chunks).expect("tiles");
        chunks
            .iter()
            .map(|c| (c.kind, c.text(text).to_owned(), c.parent))
            .collect()
    }

    #[test]
    fn pretty_object_members_carry_their_comma_and_whitespace() {
        let text = "{\n  \"a\": 1,\n  \"b\": [1, 2]\n}\n";
        let got = kinds(text, &JsonChunker::default());
        assert_eq!(
            got,
            vec![
                (ChunkKind::Header, "{\n  ".into(), None),
                (ChunkKind::Member, "\"a\": 1,\n  ".into(), Some(0)),
                (ChunkKind::Member, "\"b\": [1, 2]\n".into(), Some(0)),
                (ChunkKind::Footer, "}\n".into(), Some(0)),
            ]
        );
        let names: Vec<_> = JsonChunker::default()
            .chunk(text)
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, vec![None, Some("a".into()), Some("b".into()), None]);
    }

    #[test]
    fn large_members_split_into_nested_containers() {
        let chunker = JsonChunker {
            split_bytes: 10,
            fallback_lines: 40,
        };
        let text = r#"[1, {"k": "a long string value", "j": 2}, 3]"#;
        let got = kinds(text, &chunker);
        assert_eq!(
            got,
            vec![
                (ChunkKind::Header, "[".into(), None),
                (ChunkKind::Member, "1, ".into(), Some(0)),
                (ChunkKind::Header, "{".into(), Some(0)),
                (
                    ChunkKind::Member,
                    "\"k\": \"a long string value\", ".into(),
                    Some(2)
                ),
                (ChunkKind::Member, "\"j\": 2".into(), Some(2)),
                (ChunkKind::Footer, "}, ".into(), Some(2)),
                (ChunkKind::Member, "3".into(), Some(0)),
                (ChunkKind::Footer, "]".into(), Some(0)),
            ]
        );
    }

    #[test]
    fn escaped_quotes_and_brackets_in_strings_do_not_confuse_the_scanner() {
        let text = r#"{"a\"}": "x\\", "b": "]{["}"#;
        let got = kinds(text, &JsonChunker::default());
        assert_eq!(got.len(), 4);
        assert_eq!(got[1].1, r#""a\"}": "x\\", "#);
    }

    #[test]
    fn scalars_and_broken_text_fall_back_to_lines() {
        for text in [
            "42",
            "\"s\"",
            "{\"a\": 1",
            "{\"a\" 1}",
            "[1,,2]",
            "{} {}",
            "[1] x",
        ] {
            let chunks = JsonChunker::default().chunk(text);
            check_tiling(text, &chunks).expect("tiles");
            assert!(
                chunks.iter().all(|c| c.kind == ChunkKind::Lines),
                "{text:?} gave {chunks:?}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_split_only_to_a_bounded_depth() {
        let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let chunker = JsonChunker {
            split_bytes: 1,
            fallback_lines: 40,
        };
        let chunks = chunker.chunk(&text);
        check_tiling(&text, &chunks).expect("tiles");
        let headers = chunks
            .iter()
            .filter(|c| c.kind == ChunkKind::Header)
            .count();
        assert_eq!(headers, MAX_SPLIT_DEPTH);
    }

    #[test]
    fn empty_containers_are_a_header_and_a_footer() {
        let got = kinds(" { } ", &JsonChunker::default());
        assert_eq!(
            got,
            vec![
                (ChunkKind::Header, " { ".into(), None),
                (ChunkKind::Footer, "} ".into(), Some(0)),
            ]
        );
    }
}
