//! Source code as a file-reading tool returns it: every line led by its number
//! (`cat -n`'s `     1\tuse std::io;`, or `     1→use std::io;`). Such a text is code
//! with a margin: the code's own chunker cuts it once the numbers are set aside, and each
//! chunk's span is mapped back onto the numbered text, so the kept lines keep the numbers
//! an agent edits by.

use std::ops::Range;

use super::{Chunk, Chunker};

/// A numbered text with its numbers set aside.
#[derive(Debug)]
pub struct Numbered {
    /// The code without its margin.
    pub code: String,
    /// Per line, where it starts in the numbered text and in `code`, and how long its
    /// margin is.
    lines: Vec<(usize, usize, usize)>,
    /// Length of the numbered text.
    len: usize,
}

/// The width of a line's margin (spaces, a number, then a tab or `→`), if it has one.
fn margin(line: &str) -> Option<usize> {
    let digits_at = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[digits_at..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let sep = rest[digits..]
        .chars()
        .next()
        .filter(|&c| c == '\t' || c == '→')?;
    Some(digits_at + digits + sep.len_utf8())
}

/// The number a line's margin gives it.
fn number(line: &str, margin: usize) -> Option<u64> {
    line[..margin]
        .trim_matches(|c: char| c == ' ' || c == '\t' || c == '→')
        .parse()
        .ok()
}

/// Each line of `body` with its margin's width, when every line has a margin and the
/// numbers count up by one (at least three lines: a short text says too little).
fn margins(body: &str) -> Option<Vec<(&str, usize)>> {
    let mut lines = Vec::new();
    let mut last = None;
    for line in body.split('\n') {
        let width = margin(line)?;
        let n = number(line, width)?;
        if last.is_some_and(|l: u64| l + 1 != n) {
            return None;
        }
        last = Some(n);
        lines.push((line, width));
    }
    (lines.len() >= 3).then_some(lines)
}

impl Numbered {
    /// Whether `text` is numbered throughout, without setting the numbers aside.
    pub fn is_numbered(text: &str) -> bool {
        margins(text.strip_suffix('\n').unwrap_or(text)).is_some()
    }

    /// The text without its margin, when it is numbered throughout.
    pub fn strip(text: &str) -> Option<Self> {
        let mut code = String::with_capacity(text.len());
        let mut lines = Vec::new();
        let mut at = 0;
        for (line, width) in margins(text.strip_suffix('\n').unwrap_or(text))? {
            lines.push((at, code.len(), width));
            code.push_str(&line[width..]);
            code.push('\n');
            at += line.len() + 1;
        }
        if !text.ends_with('\n') {
            code.pop();
        }
        Some(Self {
            code,
            lines,
            len: text.len(),
        })
    }

    /// Where an offset of `code` is in the numbered text: a line's start maps to its
    /// margin's start, so a chunk that begins a line takes the line's number with it.
    pub fn map(&self, offset: usize) -> usize {
        if offset >= self.code.len() {
            return self.len;
        }
        let i = self.lines.partition_point(|&(_, c, _)| c <= offset) - 1;
        let (start, code_start, width) = self.lines[i];
        match offset - code_start {
            0 => start,
            col => start + width + col,
        }
    }

    fn map_span(&self, span: &Range<usize>) -> Range<usize> {
        self.map(span.start)..self.map(span.end)
    }
}

/// Chunks a numbered text with `inner`, the chunker of the code it numbers; `None` when
/// the text is not numbered.
pub fn chunk_numbered(text: &str, inner: &dyn Chunker) -> Option<Vec<Chunk>> {
    let numbered = Numbered::strip(text)?;
    let chunks = inner
        .chunk(&numbered.code)
        .into_iter()
        .map(|mut c| {
            c.span = numbered.map_span(&c.span);
            c
        })
        .collect();
    Some(chunks)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::segment::{CodeChunker, Lang, check_tiling};
    use proptest::prelude::*;

    proptest! {
        /// Whatever the code, its numbered form is chunked into spans that tile it, and
        /// setting the numbers aside gives the code back.
        #[test]
        fn numbered_chunks_tile_the_numbered_text(
            lines in proptest::collection::vec("[ a-z():=é→\t]{0,12}", 3..30),
            first in 1u64..2000,
            arrow in any::<bool>(),
            end in any::<bool>(),
        ) {
            let code = lines.join("\n") + if end { "\n" } else { "" };
            let sep = if arrow { "→" } else { "\t" };
            let numbered: Vec<String> = lines
                .iter()
                .enumerate()
                .map(|(i, l)| format!("{:>6}{sep}{l}", first + i as u64))
                .collect();
            let text = numbered.join("\n") + if end { "\n" } else { "" };
            let n = Numbered::strip(&text).unwrap();
            prop_assert_eq!(&n.code, &code);
            let chunks = chunk_numbered(&text, &CodeChunker::new(Lang::Python)).unwrap();
            prop_assert!(check_tiling(&text, &chunks).is_ok(), "{:?}", check_tiling(&text, &chunks));
        }
    }

    const READ: &str = "     1\timport os\n     2\t\n     3\t\n     4\tdef a():\n     5\t    return os.sep\n     6\t\n     7\t\n     8\tdef b():\n     9\t    return 2\n";

    #[test]
    fn a_numbered_file_is_chunked_as_its_code_and_keeps_its_numbers() {
        let chunks = chunk_numbered(READ, &CodeChunker::new(Lang::Python)).unwrap();
        check_tiling(READ, &chunks).unwrap();
        let b = chunks
            .iter()
            .find(|c| c.name.as_deref() == Some("b"))
            .unwrap();
        assert_eq!(
            b.text(READ),
            "     8\tdef b():\n     9\t    return 2\n",
            "{chunks:?}"
        );
    }

    #[test]
    fn only_a_text_numbered_throughout_is_numbered() {
        let arrow = READ.replace('\t', "→");
        assert!(Numbered::strip(&arrow).is_some() && Numbered::is_numbered(&arrow));
        // A gap in the numbers, a line without one, or too few lines.
        assert!(Numbered::strip(&READ.replace("     5\t", "     6\t")).is_none());
        assert!(Numbered::strip(&format!("{READ}plain\n")).is_none());
        assert!(Numbered::strip("     1\ta\n     2\tb\n").is_none());
        // grep -n's `12:` is no margin.
        assert!(Numbered::strip("1:a\n2:b\n3:c\n").is_none());
        assert!(!Numbered::is_numbered("1:a\n2:b\n3:c\n"));
    }

    #[test]
    fn offsets_map_onto_the_numbered_text() {
        let n = Numbered::strip(READ).unwrap();
        assert_eq!(
            n.code,
            "import os\n\n\ndef a():\n    return os.sep\n\n\ndef b():\n    return 2\n"
        );
        assert_eq!(n.map(0), 0);
        // `def a` starts line 4: its margin comes with it; `a` itself is after it.
        let def_a = n.code.find("def a").unwrap();
        assert_eq!(&READ[n.map(def_a)..n.map(def_a) + 13], "     4\tdef a(");
        assert_eq!(&READ[n.map(def_a + 4)..n.map(def_a + 5)], "a");
        assert_eq!(n.map(n.code.len()), READ.len());
    }
}
