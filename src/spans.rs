//! A JSON parser that remembers where every value sits in the raw bytes.
//!
//! The proxy edits a request by splicing new string literals into the original body, so
//! that everything it does not touch — key order, whitespace, number spellings, escapes —
//! reaches the upstream byte for byte (prompt caches hash those bytes). serde_json's
//! `Value` forgets all of that, hence this small recursive-descent parser: strict RFC 8259
//! (what serde_json accepts, it accepts), every node carries its byte span, strings are
//! decoded. Nesting is bounded so a hostile body gets an error, not a stack overflow.

use std::ops::Range;

/// Deepest nesting of arrays and objects accepted (serde_json's default limit too).
pub const MAX_DEPTH: usize = 128;

/// A parsed JSON value and its span in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Members in body order; duplicate keys are kept (lookups take the last, like
    /// serde_json does).
    Object {
        /// Braces included.
        span: Range<usize>,
        /// Decoded keys and their values.
        members: Vec<(String, Node)>,
    },
    /// Items in body order.
    Array {
        /// Brackets included.
        span: Range<usize>,
        /// The items.
        items: Vec<Node>,
    },
    /// `span` includes the quotes; `value` is decoded.
    String {
        /// Quotes included.
        span: Range<usize>,
        /// The decoded string.
        value: String,
    },
    /// A number, `true`, `false` or `null`: read its text with [`Node::raw`].
    Other {
        /// The literal.
        span: Range<usize>,
    },
}

impl Node {
    /// The bytes of the body this value covers.
    pub fn span(&self) -> Range<usize> {
        match self {
            Node::Object { span, .. }
            | Node::Array { span, .. }
            | Node::String { span, .. }
            | Node::Other { span } => span.clone(),
        }
    }

    /// The value of `key` if this is an object holding it (the last one if repeated).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object { members, .. } => {
                members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    /// The decoded text if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::String { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The items if this is an array.
    pub fn as_array(&self) -> Option<&[Node]> {
        match self {
            Node::Array { items, .. } => Some(items),
            _ => None,
        }
    }

    /// The raw text of this value in `body` (the body it was parsed from).
    pub fn raw<'a>(&self, body: &'a [u8]) -> &'a str {
        body.get(self.span())
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// Whether this is the literal `true`.
    pub fn is_true(&self, body: &[u8]) -> bool {
        matches!(self, Node::Other { .. }) && self.raw(body) == "true"
    }

    /// The equivalent serde_json value (numbers are re-read from their text in `body`).
    pub fn to_value(&self, body: &[u8]) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Object { members, .. } => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value(body)))
                    .collect(),
            ),
            Node::Array { items, .. } => {
                Value::Array(items.iter().map(|v| v.to_value(body)).collect())
            }
            Node::String { value, .. } => Value::String(value.clone()),
            Node::Other { .. } => serde_json::from_str(self.raw(body)).unwrap_or(Value::Null),
        }
    }
}

/// The body is not valid JSON (or nests deeper than [`MAX_DEPTH`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at byte {offset}: {what}")]
pub struct SpanError {
    /// Byte offset of the error in the body.
    pub offset: usize,
    /// What was expected or found there.
    pub what: &'static str,
}

/// Parses a whole JSON text (surrounding whitespace allowed, nothing else).
pub fn parse(body: &[u8]) -> Result<Node, SpanError> {
    // JSON text is UTF-8; checking once up front lets string decoding slice safely.
    let text = std::str::from_utf8(body).map_err(|e| SpanError {
        offset: e.valid_up_to(),
        what: "not UTF-8",
    })?;
    let mut p = Parser {
        text,
        b: body,
        pos: 0,
    };
    p.ws();
    let node = p.value(0)?;
    p.ws();
    if p.pos != p.b.len() {
        return Err(p.err("trailing characters after the value"));
    }
    Ok(node)
}

/// Parses the one JSON value that `text` starts with; whatever follows it is left
/// alone (the value's span says where it ends).
pub fn parse_prefix(text: &str) -> Result<Node, SpanError> {
    Parser {
        text,
        b: text.as_bytes(),
        pos: 0,
    }
    .value(0)
}

struct Parser<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, what: &'static str) -> SpanError {
        SpanError {
            offset: self.pos,
            what,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), SpanError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, SpanError> {
        let start = self.pos;
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => {
                let value = self.string()?;
                Ok(Node::String {
                    span: start..self.pos,
                    value,
                })
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            None => Err(self.err("unexpected end of input")),
            Some(_) => Err(self.err("expected a value")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node, SpanError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        let start = self.pos;
        self.pos += 1;
        let mut members = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Node::Object {
                span: start..self.pos,
                members,
            });
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a string key"));
            }
            let key = self.string()?;
            self.ws();
            self.expect(b':', "expected ':' after a key")?;
            self.ws();
            let value = self.value(depth)?;
            members.push((key, value));
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Node::Object {
                        span: start..self.pos,
                        members,
                    });
                }
                _ => return Err(self.err("expected ',' or '}' in an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Node, SpanError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        let start = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Node::Array {
                span: start..self.pos,
                items,
            });
        }
        loop {
            self.ws();
            items.push(self.value(depth)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Node::Array {
                        span: start..self.pos,
                        items,
                    });
                }
                _ => return Err(self.err("expected ',' or ']' in an array")),
            }
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<Node, SpanError> {
        let start = self.pos;
        if self.b[start..].starts_with(word) {
            self.pos += word.len();
            Ok(Node::Other {
                span: start..self.pos,
            })
        } else {
            Err(self.err("invalid literal"))
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<Node, SpanError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.err("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("expected a digit after '.'"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("expected a digit in the exponent"));
            }
            self.digits();
        }
        Ok(Node::Other {
            span: start..self.pos,
        })
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    /// Decodes a string literal starting at the opening quote; leaves `pos` after the
    /// closing one.
    fn string(&mut self) -> Result<String, SpanError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            // Copy the run of plain characters in one go (the common case).
            let run = self.pos;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // `run..pos` ends before an ASCII byte or at the end, so it is on char
            // boundaries of the already validated UTF-8 text.
            out.push_str(&self.text[run..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(self.err("control character in a string")),
                None => return Err(self.err("unterminated string")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), SpanError> {
        let c = self.peek().ok_or_else(|| self.err("unterminated escape"))?;
        self.pos += 1;
        match c {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let unit = self.hex4()?;
                let code = match unit {
                    0xD800..=0xDBFF => {
                        // A high surrogate must be followed by an escaped low one.
                        if !self.b[self.pos..].starts_with(b"\\u") {
                            return Err(self.err("lone leading surrogate"));
                        }
                        self.pos += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(self.err("invalid trailing surrogate"));
                        }
                        0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(self.err("lone trailing surrogate")),
                    _ => unit,
                };
                out.push(char::from_u32(code).ok_or_else(|| self.err("invalid code point"))?);
            }
            _ => {
                self.pos -= 1;
                return Err(self.err("invalid escape"));
            }
        }
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, SpanError> {
        let digits = self
            .b
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("short \\u escape"))?;
        let mut v = 0u32;
        for &d in digits {
            let n = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.err("invalid hex digit in \\u escape"))?;
            v = v * 16 + n;
        }
        self.pos += 4;
        Ok(v)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_values_and_strings_decode() {
        let body = br#" {"a": [1, "x\u00e9\ud83d\ude00\n"], "b": {"c": null}} "#;
        let node = parse(body).unwrap();
        assert_eq!(node.span(), 1..body.len() - 1);
        let a = node.get("a").unwrap().as_array().unwrap();
        assert_eq!(a[0].raw(body), "1");
        assert_eq!(a[1].as_str(), Some("x\u{e9}\u{1F600}\n"));
        assert_eq!(a[1].raw(body), r#""x\u00e9\ud83d\ude00\n""#);
        assert_eq!(node.get("b").unwrap().get("c").unwrap().raw(body), "null");
    }

    #[test]
    fn rejects_invalid_json_with_an_offset() {
        for bad in [
            &b""[..],
            b"{",
            b"[1,]",
            b"{\"a\" 1}",
            b"01",
            b"1.",
            b"\"\\ud800\"",
            b"\"\\udc00\"",
            b"\"a\nb\"",
            b"\"\\x\"",
            b"tru",
            b"[] []",
            b"\xff",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
            assert!(serde_json::from_slice::<serde_json::Value>(bad).is_err());
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert_eq!(
            parse(deep.as_bytes()).unwrap_err().what,
            "nested too deeply"
        );
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
    }
}
