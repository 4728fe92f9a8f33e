//! Applies a [`Plan`] to a request body by splicing new string literals into it.
//!
//! Only the planned literals change; every other byte is copied from the original, so
//! whatever the client sent (key order, spacing, escapes) reaches the upstream as sent.
//! The compressor is a closure, which keeps this module pure: the proxy passes one backed
//! by `pith::Compressor`, tests pass simple functions.

use super::policy::{Block, Origin, Plan};

/// A rewritten body and what changed in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    /// The new body; the original bytes exactly when `changed` is empty.
    pub body: Vec<u8>,
    /// `(label, chars before, chars after)` for each replaced literal, in body order.
    pub changed: Vec<(String, usize, usize)>,
}

/// Replaces each block whose compressed text is strictly shorter (in characters) with
/// that text as a JSON string literal. For [`Origin::Marked`] blocks each marked part is
/// compressed on its own and the markers are removed, whether or not the part shrank.
///
/// `compress(block, text)` returns the compressed `text`, or `None` to keep it. Blocks
/// whose span is out of range, not a string literal, or overlaps an earlier block are
/// skipped (a plan made by `policy::plan` for this body has none).
pub fn apply(
    body: &[u8],
    plan: &Plan,
    compress: &mut dyn FnMut(&Block, &str) -> Option<String>,
) -> Rewritten {
    let mut blocks: Vec<&Block> = plan.blocks.iter().collect();
    blocks.sort_by_key(|b| b.span.start);
    let mut out = Vec::with_capacity(body.len());
    let mut changed = Vec::new();
    let mut copied = 0; // body[..copied] is already in `out`
    for block in blocks {
        let span = block.span.clone();
        let is_literal = body
            .get(span.clone())
            .is_some_and(|s| s.len() >= 2 && s[0] == b'"' && s[s.len() - 1] == b'"');
        if span.start < copied || !is_literal {
            continue;
        }
        let Some(text) = new_text(block, compress) else {
            continue;
        };
        let Ok(literal) = serde_json::to_string(&text) else {
            continue;
        };
        out.extend_from_slice(&body[copied..span.start]);
        out.extend_from_slice(literal.as_bytes());
        copied = span.end;
        changed.push((
            block.label.clone(),
            block.text.chars().count(),
            text.chars().count(),
        ));
    }
    if changed.is_empty() {
        return Rewritten {
            body: body.to_vec(),
            changed,
        };
    }
    out.extend_from_slice(&body[copied..]);
    Rewritten { body: out, changed }
}

/// The replacement text of a block, or `None` to leave it as it is.
fn new_text(
    block: &Block,
    compress: &mut dyn FnMut(&Block, &str) -> Option<String>,
) -> Option<String> {
    if block.origin != Origin::Marked {
        return compress(block, &block.text)
            .filter(|c| c.chars().count() < block.text.chars().count());
    }
    if block.marked.is_empty() {
        return None; // nothing to remove
    }
    let text = &block.text;
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for mark in &block.marked {
        // Marks come from `policy::find_marked`; guard against a hand-made plan anyway.
        let (Some(before), Some(inner)) = (
            text.get(pos..mark.outer.start),
            text.get(mark.inner.clone()),
        ) else {
            return None;
        };
        out.push_str(before);
        match compress(block, inner) {
            Some(c) if c.chars().count() < inner.chars().count() => out.push_str(&c),
            _ => out.push_str(inner),
        }
        pos = mark.outer.end;
    }
    out.push_str(text.get(pos..)?);
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::proxy::policy::{Content, find_marked};

    fn block(body: &str, needle: &str, origin: Origin) -> Block {
        let start = body.find(needle).unwrap();
        let text: String = serde_json::from_str(needle).unwrap();
        Block {
            span: start..start + needle.len(),
            marked: if origin == Origin::Marked {
                find_marked(&text)
            } else {
                Vec::new()
            },
            text,
            origin,
            query: String::new(),
            content: Content::Prose,
            label: "x".into(),
        }
    }

    #[test]
    fn splices_only_the_block_and_keeps_the_rest() {
        let body = r#"{ "a" :"keep\u0041",  "b": "long long text" }"#;
        let plan = Plan {
            blocks: vec![block(body, r#""long long text""#, Origin::ToolResult)],
        };
        let r = apply(body.as_bytes(), &plan, &mut |_, t| Some(t[..4].to_string()));
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            r#"{ "a" :"keep\u0041",  "b": "long" }"#
        );
        assert_eq!(r.changed, vec![("x".to_string(), 14, 4)]);
    }

    #[test]
    fn marked_parts_lose_their_tags_even_when_kept() {
        let body = r#"{"t": "see <pith>abc def</pith> and <pith>xy</pith>!"}"#;
        let plan = Plan {
            blocks: vec![block(body, &body[6..body.len() - 1], Origin::Marked)],
        };
        let r = apply(body.as_bytes(), &plan, &mut |_, t| {
            (t.len() > 3).then(|| "abc".to_string())
        });
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            r#"{"t": "see abc and xy!"}"#
        );
    }

    #[test]
    fn no_shorter_text_means_identical_bytes() {
        let body = r#"{"b": "text"}"#;
        let plan = Plan {
            blocks: vec![block(body, r#""text""#, Origin::Document)],
        };
        let r = apply(body.as_bytes(), &plan, &mut |_, t| Some(format!("{t}!")));
        assert_eq!(r.body, body.as_bytes());
        assert!(r.changed.is_empty());
    }
}
