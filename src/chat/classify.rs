//! What kind of text a block of a conversation holds — JSON, tool output, code or prose —
//! told from its content (and, for code, the file a tool call names), so it gets the
//! segmenter that fits. The proxy and [`super::Message`] compression both use it.

use std::path::Path;

use crate::Lang;
use crate::document::{DocKind, looks_like_json};
use crate::segment::OutputKind;

/// What kind of text a block holds, to choose a segmenter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Content {
    /// Sentences and paragraphs.
    Prose,
    /// A JSON object or array.
    Json,
    /// Tool output of a kind its content shows (a test run, a traceback, grep hits…).
    Output(OutputKind),
    /// Source code; the language when the tool call names a file with a known extension.
    Code(Option<Lang>),
}

impl Content {
    /// The document kind a block of this content is cut as.
    pub fn doc_kind(self) -> DocKind {
        match self {
            Content::Json => DocKind::Json,
            Content::Code(Some(lang)) => DocKind::Code(lang),
            Content::Code(None) => DocKind::Lines(None),
            Content::Prose => DocKind::Prose,
            Content::Output(kind) => DocKind::Output(kind),
        }
    }
}

/// JSON if it parses as an object or array; code of the file a tool call names when its
/// lines are numbered (a file-reading tool's output); tool output if its content shows a kind (see
/// [`crate::segment::output::detect`]); code if it looks like code (see
/// [`looks_like_code`]), with the language of a file path named in the tool arguments;
/// prose otherwise.
pub fn classify(text: &str, tool_args: &str) -> Content {
    if looks_like_json(text) {
        Content::Json
    } else if let Some(lang) = path_lang(tool_args)
        && crate::segment::numbered::Numbered::is_numbered(text)
    {
        // A file read with its lines numbered (`cat -n`, an agent's file tool): its code.
        Content::Code(Some(lang))
    } else if let Some(kind) = crate::segment::output::detect(text) {
        Content::Output(kind)
    } else if looks_like_code(text) {
        Content::Code(path_lang(tool_args))
    } else {
        Content::Prose
    }
}

/// The language of the first token of `args` that is a path with a known extension.
fn path_lang(args: &str) -> Option<Lang> {
    args.split(|c: char| c.is_whitespace() || "\"'`,{}[]()=:;<>|".contains(c))
        .find_map(|tok| Lang::from_path(Path::new(tok)))
}

/// Keywords that open a line of code in the languages pith parses (and a few more).
const CODE_STARTS: [&str; 24] = [
    "def ",
    "fn ",
    "pub ",
    "class ",
    "import ",
    "from ",
    "use ",
    "let ",
    "const ",
    "var ",
    "function ",
    "return",
    "if (",
    "for (",
    "while (",
    "#include",
    "package ",
    "func ",
    "public ",
    "private ",
    "impl ",
    "struct ",
    "export ",
    "async ",
];

/// A simple heuristic: at least three non-blank lines, and at least 30% of the first 200
/// look like code — they end with `{`, `}`, `;`, `)` or `=>`, or start (after
/// indentation) with a keyword such as `def`, `fn`, `class`, `import`, or a `@decorator`.
/// Prose lines rarely do either; wrapped prose ends in words and periods. A line that ends
/// in a markdown link (`* [Assertion testing](assert.html)`) is prose: a page's table of
/// contents is no code.
pub fn looks_like_code(text: &str) -> bool {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(200)
        .collect();
    if lines.len() < 3 {
        return false;
    }
    let code = lines
        .iter()
        .filter(|l| {
            (["{", "}", ";", ")", "=>", "):"]
                .iter()
                .any(|e| l.ends_with(e))
                && !ends_in_link(l))
                || CODE_STARTS.iter().any(|k| l.starts_with(k))
                || (l.starts_with('@') && !l.contains(' '))
        })
        .count();
    code * 10 >= lines.len() * 3
}

/// Whether a line ends with a markdown link or image, `[text](target)`.
fn ends_in_link(line: &str) -> bool {
    line.strip_suffix(')')
        .and_then(|l| l.rfind("]("))
        .is_some_and(|at| line[..at].contains('['))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_of_links_is_prose_and_code_is_code() {
        let toc = "* [About this documentation](documentation.html)\n* [Usage and example](synopsis.html)\n\n* * *\n\n* [Assertion testing](assert.html)\n* [Buffer](buffer.html)\n* [C++ addons](addons.html)\n\nThe URL module provides utilities for URL resolution and parsing.\n";
        assert!(!looks_like_code(toc));
        assert_eq!(
            classify(toc, r#"{"command":"python -m html2text url.html"}"#),
            Content::Prose
        );
        let js = "const url = new URL(input);\nif (url.protocol === 'file:') {\n  return fileURLToPath(url);\n}\nconsole.log(url.href);\n";
        assert!(looks_like_code(js));
    }
}
