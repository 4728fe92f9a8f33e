//! What a token model says about a text: scores on byte spans, and the windows a long
//! text is read in. Shared by the classifier and surprisal scorers and by the pruner.

use std::ops::Range;

/// One text's model tokens: byte spans in the text (whitespace trimmed off) and one score
/// each, in the model's own terms (keep probability, or surprisal in nats).
#[derive(Debug, Clone, Default)]
pub(super) struct TokenScores {
    pub spans: Vec<Range<usize>>,
    pub values: Vec<f32>,
}

/// Token spans narrowed past leading and trailing whitespace (SentencePiece's `▁` and
/// some normalizers cover the space before a word).
pub(super) fn trim_space(text: &str, span: Range<usize>) -> Range<usize> {
    let Some(s) = text.get(span.clone()) else {
        return span.start..span.start;
    };
    let start = span.start + (s.len() - s.trim_start().len());
    let end = span.end - (s.len() - s.trim_end().len());
    start..end.max(start)
}

/// Windows of at most `max` tokens, each ending at the last token that ends a sentence
/// or a line when there is one in its second half.
pub(super) fn cut_windows(text: &str, spans: &[Range<usize>], max: usize) -> Vec<Range<usize>> {
    let ends_chunk = |i: usize| {
        let t = &text[spans[i].clone()];
        matches!(t, "." | "!" | "?" | ";")
            || spans
                .get(i + 1)
                .and_then(|n| text.get(spans[i].end..n.start))
                .is_some_and(|gap| gap.contains('\n'))
    };
    let mut out = Vec::new();
    let mut st = 0;
    while st < spans.len() {
        let mut ed = (st + max).min(spans.len());
        if ed < spans.len()
            && let Some(cut) = (st + max / 2..ed).rev().find(|&i| ends_chunk(i))
        {
            ed = cut + 1;
        }
        out.push(st..ed);
        st = ed;
    }
    out
}
