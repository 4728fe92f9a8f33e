//! Elision markers: what replaces a run of dropped chunks.
//!
//! Code gets one comment in the file's own syntax naming what was dropped and where
//! (`# … 3 functions omitted (lines 120–188)`), indented like the code it replaces, so the
//! output still reads as the language. Prose gets a short marker followed by the
//! whitespace the dropped run ended with, so paragraphs stay paragraphs. JSON gets a
//! placeholder entry in the container the run was cut from, so the output still parses.

use std::collections::HashSet;
use std::ops::Range;

use super::view::View;
pub use super::view::{LineIndex, Shapes};
use crate::document::DocKind;
use crate::segment::{ChunkKind, Lang};

/// The marker for the dropped chunks `run` of `view`. `quoted` holds the line shapes the
/// document's earlier tool-output markers quoted, which are not quoted again; it starts
/// empty for each document.
pub fn marker(
    view: &View<'_>,
    run: Range<usize>,
    prose_marker: &str,
    quoted: &mut HashSet<String>,
) -> String {
    match view.doc.kind {
        DocKind::Code(lang) => code_marker(view, run, Some(lang.line_comment()), Some(lang)),
        DocKind::Lines(comment) => code_marker(view, run, comment, None),
        DocKind::Prose | DocKind::Whole => prose(view, run, prose_marker),
        DocKind::Json => json(view, run),
        DocKind::Output(_) => output(view, run, quoted),
    }
}

/// The marker of a short gap in tool output: one token, where `… 3 lines omitted` costs
/// six. Between the failures of a test run or the frames of a traceback the gaps are a
/// few lines each, and their counts tell the reader little; the tokens they cost are
/// another failure's error line.
pub const SHORT: &str = "…\n";

/// Runs of at most this many dropped lines of tool output get the short marker; longer
/// runs keep their count, and their shape when most of them share one.
const SHORT_GAP: usize = 8;

/// The longest run of dropped units a document of `kind` marks with [`SHORT`] (0: none).
pub fn short_gap(kind: DocKind) -> usize {
    match kind {
        DocKind::Output(_) => SHORT_GAP,
        _ => 0,
    }
}

/// Longest template quoted in a tool-output marker, in characters.
const TEMPLATE_CHARS: usize = 72;

/// A marker for dropped lines of tool output, on a line of its own: [`SHORT`] for a
/// short run. When most of a longer run has one shape, it names it: `… 2,402 more lines
/// like "… PASSED [ n%]"`; otherwise `… 37 lines omitted`. A shape an earlier marker of the document quoted is not quoted
/// again: the reader has it, and between twenty `FAILED` lines of a test run twenty
/// quotes of the passing lines' shape cost more than a failure's values.
fn output(view: &View<'_>, run: Range<usize>, quoted: &mut HashSet<String>) -> String {
    let text = &view.doc.text;
    let lines = run.len();
    let first = &view.chunks[run.start];
    let lead = if first.span.start > 0 && !text[..first.span.start].ends_with('\n') {
        "\n"
    } else {
        ""
    };
    if lines <= short_gap(view.doc.kind) {
        return format!("{lead}{SHORT}");
    }
    // Without shapes made for the whole text, make them for the run alone.
    let own;
    let (shapes, at) = match view.shapes {
        Some(shapes) => (shapes, run.clone()),
        None => {
            own = Shapes::new(text, &view.chunks[run.clone()]);
            (&own, 0..lines)
        }
    };
    let top = shapes.top(at);
    let n = thousands(lines);
    let unit = if lines == 1 { "line" } else { "lines" };
    match top {
        Some((shape, count))
            if lines >= 2
                && count * 10 >= lines * 6
                && !quoted.contains(shape)
                && quoted.insert(shape.to_owned()) =>
        {
            let mut shape: String = shape.chars().take(TEMPLATE_CHARS).collect();
            if shape.chars().count() == TEMPLATE_CHARS {
                shape.push('…');
            }
            let more = if view.kept[..run.start].iter().any(|&k| k) {
                "more "
            } else {
                ""
            };
            format!("{lead}… {n} {more}{unit} like \"{shape}\"\n")
        }
        _ => format!("{lead}… {n} {unit} omitted\n"),
    }
}

/// `2402` as `2,402`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn code_marker(
    view: &View<'_>,
    run: Range<usize>,
    comment: Option<&str>,
    lang: Option<Lang>,
) -> String {
    let text = &view.doc.text;
    let first = &view.chunks[run.start];
    let last = &view.chunks[run.end - 1];
    let indent = indentation(first.text(text));
    let from = view.lines.line(first.span.start);
    // The last line is the one holding the run's last non-newline byte.
    let to = view
        .lines
        .line(trim_end_newline(text, last.span.clone()).max(first.span.start));
    let what = summary(view, run, lang);
    let lines = if from == to {
        format!("line {from}")
    } else {
        format!("lines {from}–{to}")
    };
    let prefix = comment.map(|c| format!("{c} ")).unwrap_or_default();
    // A marker always sits on its own line: start one if the kept text before it did not.
    let lead = if first.span.start > 0 && !text[..first.span.start].ends_with('\n') {
        "\n"
    } else {
        ""
    };
    format!("{lead}{indent}{prefix}… {what} omitted ({lines})\n")
}

/// Leading spaces/tabs of the first non-blank line.
pub(crate) fn indentation(text: &str) -> &str {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    &line[..line.len() - line.trim_start().len()]
}

/// Offset of the last byte of `span` that is not a trailing newline.
fn trim_end_newline(text: &str, span: Range<usize>) -> usize {
    let s = &text[span.clone()];
    let trimmed = s.trim_end_matches(['\n', '\r', ' ', '\t']);
    span.start + trimmed.len().saturating_sub(1)
}

/// "3 functions, 1 class" — what a run holds, counting a container once.
fn summary(view: &View<'_>, run: Range<usize>, lang: Option<Lang>) -> String {
    let (mut functions, mut types, mut containers, mut other) = (0, 0, 0, false);
    for i in run.clone() {
        let c = &view.chunks[i];
        // Members of a container that is dropped in the same run are counted as that
        // container, not one by one.
        if c.parent.is_some_and(|p| run.contains(&p)) {
            continue;
        }
        match c.kind {
            ChunkKind::Function => functions += 1,
            ChunkKind::Type => types += 1,
            ChunkKind::Header => containers += 1,
            _ => other = true,
        }
    }
    let container = match lang {
        Some(Lang::Rust) => "block",
        _ => "class",
    };
    let mut parts = Vec::new();
    for (n, one) in [
        (functions, "function"),
        (containers, container),
        (types, "type"),
    ] {
        match n {
            0 => {}
            1 => parts.push(format!("1 {one}")),
            n => parts.push(format!(
                "{n} {one}{}",
                if one.ends_with('s') { "es" } else { "s" }
            )),
        }
    }
    match (parts.is_empty(), other) {
        (true, _) => "code".into(),
        (false, false) => parts.join(", "),
        (false, true) => format!("{} and other code", parts.join(", ")),
    }
}

fn prose(view: &View<'_>, run: Range<usize>, prose_marker: &str) -> String {
    let text = &view.doc.text;
    let last = view.chunks[run.end - 1].text(text);
    let trailing = &last[last.trim_end().len()..];
    // Keep the paragraph structure the run ended with, in at most two newlines.
    let sep = match trailing.matches('\n').count() {
        0 if trailing.is_empty() && run.end < view.chunks.len() => " ",
        0 if trailing.is_empty() => "",
        0 => " ",
        1 => "\n",
        _ => "\n\n",
    };
    format!("{prose_marker}{sep}")
}

/// A placeholder for dropped JSON members: `"…": "3 entries omitted"` in an object,
/// `"… 3 items omitted"` in an array, counting a dropped nested container as one entry.
///
/// Every member chunk carries its own trailing comma, so the placeholder takes a comma
/// exactly when the run's last chunk had one (the run stops before the container's last
/// member); when it does not, a kept member before the run that ends with a comma is
/// followed by the placeholder, which makes it valid again. The renderer only sees
/// masks where a kept member has its headers and footers kept, so a run lies within one
/// container — or, starting at the top-level header, is the whole document.
fn json(view: &View<'_>, run: Range<usize>) -> String {
    let text = &view.doc.text;
    let chunks = view.chunks;
    let first = &chunks[run.start];
    if first.kind == ChunkKind::Lines {
        // Not splittable JSON: the chunker fell back to lines, and so do the markers.
        return code_marker(view, run, None, None);
    }
    let (container, whole) = match first.parent {
        Some(p) => (p, false),
        None => (run.start, true),
    };
    let is_object = chunks[container].text(text).trim_end().ends_with('{');
    let n = run
        .clone()
        .filter(|&i| {
            chunks[i].parent == Some(container)
                && matches!(chunks[i].kind, ChunkKind::Member | ChunkKind::Header)
        })
        .count();
    let placeholder = match (is_object, n) {
        (true, 1) => "\"…\": \"1 entry omitted\"".to_owned(),
        (true, n) => format!("\"…\": \"{n} entries omitted\""),
        (false, 1) => "\"… 1 item omitted\"".to_owned(),
        (false, n) => format!("\"… {n} items omitted\""),
    };
    let last = chunks[run.end - 1].text(text);
    let body = last.trim_end();
    let trailing = &last[body.len()..];
    if whole {
        let (open, close) = if is_object { ('{', '}') } else { ('[', ']') };
        return format!("{open}{placeholder}{close}{trailing}");
    }
    let comma = if body.ends_with(',') { "," } else { "" };
    format!("{placeholder}{comma}{trailing}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Document;
    use crate::segment::OutputKind;
    use proptest::prelude::*;

    /// Lines of a few shapes, so that runs often have a dominant one, and ties.
    fn log() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            "tests/test_[a-z]{1,3}\\.py::test_[a-z]{1,4} (PASSED|FAILED) \\[ ?[0-9]{1,2}%\\]",
            "[A-Z][a-z]{2,5}Error: '[a-z]{1,5}'",
            "  File \"[a-z]{1,4}\\.py\", line [0-9]{1,3}, in [a-z]{1,4}",
            "[a-z ]{0,12}",
            "",
        ];
        proptest::collection::vec(line, 1..40).prop_map(|v| v.join("\n") + "\n")
    }

    /// A view of `doc` with nothing replaced.
    fn view<'a>(
        doc: &'a Document,
        chunks: &'a [crate::segment::Chunk],
        kept: &'a [bool],
        lines: &'a LineIndex,
        shapes: Option<&'a Shapes>,
    ) -> View<'a> {
        View {
            doc,
            chunks,
            kept,
            lines,
            replaced: None,
            shapes,
        }
    }

    #[test]
    fn a_shape_is_quoted_once_a_document() {
        let mut text = String::new();
        for i in 0..40 {
            let verdict = if i % 10 == 9 { "FAILED" } else { "PASSED" };
            text.push_str(&format!("tests/test_a.py::test_{i} {verdict} [ {i}%]\n"));
        }
        let doc = Document::new(text, DocKind::Output(OutputKind::TestRun));
        let chunks = doc.kind.chunk(&doc.text, &Default::default());
        let kept: Vec<bool> = chunks
            .iter()
            .map(|c| c.text(&doc.text).contains("FAILED"))
            .collect();
        let lines = LineIndex::new(&doc.text);
        let shapes = Shapes::new(&doc.text, &chunks);
        let view = view(&doc, &chunks, &kept, &lines, Some(&shapes));
        let body = crate::render::render_body(&view, "…");
        let markers: Vec<&str> = body.lines().filter(|l| l.starts_with('…')).collect();
        assert_eq!(
            markers,
            [
                "… 9 lines like \"… PASSED [ n%]\"",
                "… 9 lines omitted",
                "… 9 lines omitted",
                "… 9 lines omitted"
            ],
            "{body}"
        );
    }

    #[test]
    fn a_short_gap_is_one_ellipsis() {
        let mut text = String::new();
        for i in 0..=SHORT_GAP + 2 {
            text.push_str(&format!("tests/test_a.py::test_{i} PASSED [ {i}%]\n"));
        }
        let doc = Document::new(text, DocKind::Output(OutputKind::TestRun));
        let chunks = doc.kind.chunk(&doc.text, &Default::default());
        let lines = LineIndex::new(&doc.text);
        // The first and the last line kept: a gap of SHORT_GAP lines, then one longer.
        for (kept_last, expected) in [
            (SHORT_GAP + 1, SHORT.to_owned()),
            (
                SHORT_GAP + 2,
                format!("… {} more lines like \"… PASSED [ n%]\"\n", SHORT_GAP + 1),
            ),
        ] {
            let kept: Vec<bool> = (0..chunks.len())
                .map(|i| i == 0 || i == kept_last)
                .collect();
            let view = view(&doc, &chunks, &kept, &lines, None);
            assert_eq!(output(&view, 1..kept_last, &mut HashSet::new()), expected);
        }
    }

    proptest! {
        /// Shapes made once give every marker the text made on the spot would.
        #[test]
        fn shapes_made_once_mark_as_shapes_made_each_time(
            text in log(),
            mask in proptest::collection::vec(any::<bool>(), 40),
        ) {
            let doc = Document::new(text, DocKind::Output(OutputKind::Log));
            let chunks = doc.kind.chunk(&doc.text, &Default::default());
            let kept: Vec<bool> = (0..chunks.len()).map(|i| mask[i % mask.len()]).collect();
            let lines = LineIndex::new(&doc.text);
            let shapes = Shapes::new(&doc.text, &chunks);
            let view = |shapes| view(&doc, &chunks, &kept, &lines, shapes);
            for start in 0..chunks.len() {
                for end in start + 1..=chunks.len() {
                    prop_assert_eq!(
                        output(&view(Some(&shapes)), start..end, &mut HashSet::new()),
                        output(&view(None), start..end, &mut HashSet::new())
                    );
                }
            }
        }
    }
}
