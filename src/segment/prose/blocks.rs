//! Markdown block structure, line by line: headings, fences and tables become whole
//! chunks; everything else is grouped into paragraphs (a run of lines between blank
//! lines, list items and block quotes) that the sentence scanner then splits.
//!
//! The output is a list of chunk *starts*, each at a non-whitespace byte; a chunk runs
//! to the next start, so whitespace after a block or sentence stays with it.

use super::sentences::sentence_ends;
use crate::segment::ChunkKind;

/// A chunk start: byte offset (of a non-whitespace char) and the chunk's kind.
pub(super) type Start = (usize, ChunkKind);

/// Scans `text` and returns the chunk starts in increasing order.
pub(super) fn block_starts(text: &str) -> Vec<Start> {
    let mut scan = Scanner {
        text,
        starts: Vec::new(),
        para: None,
    };
    let mut mode = Mode::Normal;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        mode = match mode {
            Mode::Fence { ch, len } => {
                if is_fence_close(line, ch, len) {
                    Mode::Normal
                } else {
                    Mode::Fence { ch, len }
                }
            }
            Mode::Table { pipeless } if is_table_row(line, pipeless) => Mode::Table { pipeless },
            Mode::Table { .. } | Mode::Normal => scan.line(start, line),
        };
    }
    scan.flush();
    scan.starts
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    Normal,
    /// Inside a fenced block opened by `len` copies of `ch`.
    Fence {
        ch: u8,
        len: usize,
    },
    /// Inside a table; `pipeless` tables (`a | b` over `--|--`) continue while lines hold
    /// a `|`, the others while lines start with one.
    Table {
        pipeless: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParaKind {
    Plain,
    List,
    Quote,
}

/// One line of an open paragraph: its span, and how many leading bytes are markup
/// (`> `, `- `, `12. `) the sentence scanner must not read as text.
#[derive(Debug, Clone, Copy)]
struct ParaLine {
    start: usize,
    end: usize,
    prefix: usize,
}

#[derive(Debug)]
struct Para {
    kind: ParaKind,
    lines: Vec<ParaLine>,
}

struct Scanner<'a> {
    text: &'a str,
    starts: Vec<Start>,
    para: Option<Para>,
}

impl Scanner<'_> {
    /// Handles one line outside fences and tables; returns the mode for the next line.
    fn line(&mut self, start: usize, line: &str) -> Mode {
        let end = start + line.len();
        if line.trim().is_empty() {
            self.flush();
            return Mode::Normal;
        }
        if let Some((ch, len)) = fence_open(line) {
            self.block(start, line, ChunkKind::CodeFence);
            return Mode::Fence { ch, len };
        }
        if is_atx_heading(line) {
            self.block(start, line, ChunkKind::Heading);
            return Mode::Normal;
        }
        // Setext headings and pipe-less tables claim the previous line of a plain
        // paragraph: `Title` over `=====`, `a | b` over `--|--`.
        let plain_last = self
            .para
            .as_ref()
            .filter(|p| p.kind == ParaKind::Plain)
            .and_then(|p| p.lines.last().copied());
        if let Some(last) = plain_last {
            let last_text = &self.text[last.start..last.end];
            let kind = if is_setext_underline(line) {
                Some(ChunkKind::Heading)
            } else if is_delimiter_row(line) && last_text.contains('|') {
                Some(ChunkKind::Table)
            } else {
                None
            };
            if let Some(kind) = kind {
                if let Some(p) = self.para.as_mut() {
                    p.lines.pop();
                }
                self.block(last.start, last_text, kind);
                return match kind {
                    ChunkKind::Table => Mode::Table { pipeless: true },
                    _ => Mode::Normal,
                };
            }
        }
        if is_pipe_row(line) {
            self.block(start, line, ChunkKind::Table);
            return Mode::Table { pipeless: false };
        }
        if is_thematic_break(line) {
            self.block(start, line, ChunkKind::Sentence);
            return Mode::Normal;
        }
        if let Some(quote) = quote_prefix(line) {
            let rest = &line[quote..];
            let in_quote = self
                .para
                .as_ref()
                .is_some_and(|p| p.kind == ParaKind::Quote);
            if rest.trim().is_empty() {
                if in_quote {
                    // A bare `>` is a blank line inside the quote: it ends the paragraph.
                    self.flush();
                } else {
                    // A quote opening with a bare `>` starts its first paragraph there.
                    self.open(ParaKind::Quote, start, end, line.len());
                }
            } else if let Some(marker) = list_marker(rest) {
                self.open(ParaKind::Quote, start, end, quote + marker.len);
            } else if in_quote {
                self.append(start, end, quote);
            } else {
                self.open(ParaKind::Quote, start, end, quote);
            }
            return Mode::Normal;
        }
        if let Some(marker) = list_marker(line) {
            // As in CommonMark, only an ordered list starting at 1 may interrupt a plain
            // paragraph, so wrapped text with "2009. After that" at a line start stays put.
            let interrupts = match &self.para {
                Some(p) if p.kind == ParaKind::Plain => marker.number.is_none_or(|n| n == 1),
                _ => true,
            };
            if interrupts {
                self.open(ParaKind::List, start, end, marker.len);
                return Mode::Normal;
            }
        }
        match &self.para {
            // Lazy continuation of a quote is not followed: the reply after a quote is
            // its own paragraph.
            Some(p) if p.kind != ParaKind::Quote => self.append(start, end, 0),
            _ => self.open(ParaKind::Plain, start, end, 0),
        }
        Mode::Normal
    }

    /// Starts a whole-block chunk at the first non-whitespace byte of `line`.
    fn block(&mut self, start: usize, line: &str, kind: ChunkKind) {
        self.flush();
        self.push(start + leading_ws(line), kind);
    }

    fn open(&mut self, kind: ParaKind, start: usize, end: usize, prefix: usize) {
        self.flush();
        self.para = Some(Para {
            kind,
            lines: vec![ParaLine { start, end, prefix }],
        });
    }

    fn append(&mut self, start: usize, end: usize, prefix: usize) {
        match self.para.as_mut() {
            Some(p) => p.lines.push(ParaLine { start, end, prefix }),
            None => self.open(ParaKind::Plain, start, end, prefix),
        }
    }

    /// Ends the open paragraph: one start at its first non-whitespace byte, then one per
    /// sentence boundary the scanner finds in its text with markup blanked out.
    fn flush(&mut self) {
        let Some(para) = self.para.take() else {
            return;
        };
        let (Some(first), Some(last)) = (para.lines.first(), para.lines.last()) else {
            return;
        };
        let (base, para_end) = (first.start, last.end);
        let Some(lead) = self.text[base..para_end].find(|c: char| !c.is_whitespace()) else {
            return;
        };
        self.push(base + lead, ChunkKind::Sentence);
        // Markup bytes are ASCII, so blanking them to spaces keeps every offset valid.
        let mut blanked = String::with_capacity(para_end - base);
        for l in &para.lines {
            let prefix = l.prefix.min(l.end - l.start);
            blanked.extend(std::iter::repeat_n(' ', prefix));
            blanked.push_str(&self.text[l.start + prefix..l.end]);
        }
        for end in sentence_ends(&blanked) {
            let from = base + end;
            let next = self.text[from..para_end].find(|c: char| !c.is_whitespace());
            if let Some(n) = next {
                self.push(from + n, ChunkKind::Sentence);
            }
        }
    }

    /// Records a start, keeping starts strictly increasing.
    fn push(&mut self, at: usize, kind: ChunkKind) {
        if self.starts.last().is_none_or(|&(last, _)| at > last) {
            self.starts.push((at, kind));
        }
    }
}

fn leading_ws(line: &str) -> usize {
    line.find(|c: char| !c.is_whitespace())
        .unwrap_or(line.len())
}

/// Spaces/tabs before the first other byte; markdown lets block markup be indented by
/// up to three spaces.
fn indent(line: &str) -> usize {
    line.bytes()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count()
}

/// The line with up to three spaces of indentation removed, or `None` if indented more.
fn block_body(line: &str) -> Option<&str> {
    let n = indent(line);
    (n <= 3).then(|| &line[n..])
}

/// An opening fence: three or more backticks or tildes, at any indentation (fences in
/// list items are indented). A backtick fence's info string may not hold a backtick.
fn fence_open(line: &str) -> Option<(u8, usize)> {
    let body = &line[indent(line)..];
    let ch = *body
        .as_bytes()
        .first()
        .filter(|&&b| b == b'`' || b == b'~')?;
    let len = body.bytes().take_while(|&b| b == ch).count();
    let valid = len >= 3 && (ch == b'~' || !body[len..].contains('`'));
    valid.then_some((ch, len))
}

fn is_fence_close(line: &str, ch: u8, len: usize) -> bool {
    let body = line.trim();
    body.len() >= len && body.bytes().all(|b| b == ch)
}

/// `#` to `######` followed by whitespace or the end of the line.
fn is_atx_heading(line: &str) -> bool {
    let Some(body) = block_body(line) else {
        return false;
    };
    let hashes = body.bytes().take_while(|&b| b == b'#').count();
    (1..=6).contains(&hashes)
        && body[hashes..]
            .chars()
            .next()
            .is_none_or(char::is_whitespace)
}

fn is_pipe_row(line: &str) -> bool {
    block_body(line).is_some_and(|b| b.starts_with('|'))
}

fn is_table_row(line: &str, pipeless: bool) -> bool {
    if pipeless {
        !line.trim().is_empty() && line.contains('|')
    } else {
        is_pipe_row(line)
    }
}

/// `===` or `---` (at least two dashes: a lone `-` reads as a list bullet).
fn is_setext_underline(line: &str) -> bool {
    let Some(body) = block_body(line) else {
        return false;
    };
    let body = body.trim_end();
    let Some(first) = body.bytes().next() else {
        return false;
    };
    let min = if first == b'=' { 1 } else { 2 };
    (first == b'=' || first == b'-') && body.len() >= min && body.bytes().all(|b| b == first)
}

/// A table's delimiter row, such as `|:--|--:|` or `--- | ---`.
fn is_delimiter_row(line: &str) -> bool {
    let body = line.trim();
    body.contains('|')
        && body.contains('-')
        && body
            .bytes()
            .all(|b| matches!(b, b'|' | b':' | b'-' | b' ' | b'\t'))
}

/// `***`, `- - -`, `___`: three or more of one of those, spaces allowed between.
fn is_thematic_break(line: &str) -> bool {
    let Some(body) = block_body(line) else {
        return false;
    };
    let mut marks = body.bytes().filter(|b| !b.is_ascii_whitespace());
    let Some(first) = marks.next() else {
        return false;
    };
    matches!(first, b'*' | b'-' | b'_') && marks.clone().count() >= 2 && marks.all(|b| b == first)
}

/// Length of a block-quote prefix (`> `, `>> `, `> > `), if the line starts with one.
fn quote_prefix(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut at = indent(line);
    if at > 3 || bytes.get(at) != Some(&b'>') {
        return None;
    }
    while bytes.get(at) == Some(&b'>') {
        at += 1;
        if matches!(bytes.get(at), Some(b' ' | b'\t')) {
            at += 1;
        }
        let spaces = bytes[at..].iter().take_while(|&&b| b == b' ').count();
        if bytes.get(at + spaces) == Some(&b'>') {
            at += spaces;
        }
    }
    Some(at)
}

#[derive(Debug, Clone, Copy)]
struct ListMarker {
    /// Indentation, marker and the whitespace after it.
    len: usize,
    /// The number of an ordered item.
    number: Option<u64>,
}

/// A list item's marker: `-`, `*`, `+`, or 1–9 digits with `.` or `)`, then whitespace.
fn list_marker(line: &str) -> Option<ListMarker> {
    let bytes = line.as_bytes();
    let at = indent(line);
    let digits = bytes[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let (marker_end, number) = match bytes.get(at) {
        Some(b'-' | b'*' | b'+') => (at + 1, None),
        Some(b'0'..=b'9') if digits <= 9 && matches!(bytes.get(at + digits), Some(b'.' | b')')) => {
            (at + digits + 1, line[at..at + digits].parse().ok())
        }
        _ => return None,
    };
    if !matches!(bytes.get(marker_end), Some(b' ' | b'\t')) {
        return None;
    }
    let len = marker_end + indent(&line[marker_end..]);
    Some(ListMarker { len, number })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_classifiers() {
        assert_eq!(fence_open("```rust\n"), Some((b'`', 3)));
        assert_eq!(fence_open("  ~~~~\n"), Some((b'~', 4)));
        assert_eq!(fence_open("``` a`b\n"), None);
        assert_eq!(fence_open("``x\n"), None);
        assert!(is_fence_close("````\r\n", b'`', 3));
        assert!(!is_fence_close("``\n", b'`', 3));
        assert!(!is_fence_close("~~~\n", b'`', 3));
        assert!(is_atx_heading("## Title\n"));
        assert!(is_atx_heading("#\n"));
        assert!(!is_atx_heading("#hashtag\n"));
        assert!(!is_atx_heading("####### seven\n"));
        assert!(!is_atx_heading("    # indented code\n"));
        assert!(is_setext_underline("=====\n"));
        assert!(is_setext_underline("---\r\n"));
        assert!(!is_setext_underline("-\n"));
        assert!(!is_setext_underline("--=\n"));
        assert!(is_delimiter_row("|:--|--:|\n"));
        assert!(is_delimiter_row("--- | ---\n"));
        assert!(!is_delimiter_row("----\n"));
        assert!(is_thematic_break("* * *\n"));
        assert!(is_thematic_break("___\n"));
        assert!(!is_thematic_break("**\n"));
        assert!(!is_thematic_break("*-*\n"));
        assert_eq!(quote_prefix("> a"), Some(2));
        assert_eq!(quote_prefix("> > a"), Some(4));
        assert_eq!(quote_prefix(">>a"), Some(2));
        assert_eq!(quote_prefix("a > b"), None);
    }

    #[test]
    fn list_markers() {
        let m = |s| list_marker(s).map(|m| (m.len, m.number));
        assert_eq!(m("- a"), Some((2, None)));
        assert_eq!(m("  *   a"), Some((6, None)));
        assert_eq!(m("12. a"), Some((4, Some(12))));
        assert_eq!(m("1) a"), Some((3, Some(1))));
        assert_eq!(m("-a"), None);
        assert_eq!(m("3.14 is pi"), None);
        assert_eq!(m("1234567890. a"), None);
    }
}
