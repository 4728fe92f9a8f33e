//! How a total token budget for a request (`x-pith-budget`) becomes a budget per block,
//! without ever changing what was forwarded before.
//!
//! Agents resend their history every turn, and prompt caches hash the bytes: a block's
//! budget may depend only on the block and what precedes it. So the blocks of a turn are
//! compressed by the ratio that would bring the request *as it stood when that turn was
//! the newest* down to the budget, were every block in it compressed by that ratio. A turn
//! runs up to the next assistant message (Responses: the next item the model produced);
//! later turns are never counted. For a request of one turn this is the excess taken from
//! its blocks in proportion to their size. `cache_control` members are not counted either:
//! clients move their breakpoints every turn, and that must not move a block's budget.

use std::ops::Range;

use super::policy::{Api, Block};
use crate::TokenCounter;
use crate::spans::{self, Node};

/// The budget of each block (in the tokens of its decoded text, `tokens`) for a request
/// `body` to `api` that should fit `total` tokens. `blocks` are in body order.
pub fn split(
    api: Api,
    body: &[u8],
    blocks: &[Block],
    tokens: &[usize],
    total: usize,
    counter: &dyn TokenCounter,
) -> Vec<usize> {
    let turns = Turns::of(api, body);
    // What follows the messages/input array, and each piece of the body up to a turn's
    // end, is counted once.
    let after = turns.count(body, turns.tail..body.len(), counter);
    let (mut counted, mut prefix) = (0, 0);
    let mut literals: Vec<usize> = Vec::with_capacity(blocks.len());
    let mut budgets = Vec::with_capacity(blocks.len());
    for (b, &t) in blocks.iter().zip(tokens) {
        let end = turns.end_of(b.span.end);
        if end > counted {
            prefix += turns.count(body, counted..end, counter);
            counted = end;
        }
        let excess = (prefix + after).saturating_sub(total);
        // The blocks of the request as it stood come first; what they take in the body is
        // counted as it is there, escapes and all.
        let upto = blocks.partition_point(|o| o.span.end <= end);
        while literals.len() < upto {
            let span = blocks[literals.len()].span.clone();
            literals.push(turns.count(body, span, counter));
        }
        let compressible: usize = literals[..upto].iter().sum();
        let share = (excess as f64 * t as f64 / compressible.max(1) as f64).ceil() as usize;
        budgets.push(t.saturating_sub(share));
    }
    budgets
}

/// Where the turns of a request end, and what is not counted.
#[derive(Debug, Default)]
struct Turns {
    /// End of the last item before each item the model produced, in order, then the end
    /// of the last item.
    ends: Vec<usize>,
    /// Where the array's closing bracket is (the body's end if there is no array).
    tail: usize,
    /// `cache_control` members with their comma, in body order.
    skips: Vec<Range<usize>>,
}

impl Turns {
    fn of(api: Api, body: &[u8]) -> Self {
        let key = match api {
            Api::Responses => "input",
            _ => "messages",
        };
        let Ok(root) = spans::parse(body) else {
            return Self {
                tail: body.len(),
                ..Self::default()
            };
        };
        let mut skips = Vec::new();
        breakpoints(&root, body, &mut skips);
        skips.sort_by_key(|r| r.start);
        let Some(Node::Array { span, items }) = root.get(key) else {
            return Self {
                tail: body.len(),
                skips,
                ..Self::default()
            };
        };
        let mut ends: Vec<usize> = items
            .windows(2)
            .filter(|pair| is_model_output(&pair[1]))
            .map(|pair| pair[0].span().end)
            .collect();
        ends.extend(items.last().map(|i| i.span().end));
        Self {
            ends,
            tail: span.end.saturating_sub(1),
            skips,
        }
    }

    /// The end of the turn holding the byte `at`.
    fn end_of(&self, at: usize) -> usize {
        self.ends
            .iter()
            .copied()
            .find(|&end| end >= at)
            .unwrap_or(self.tail)
    }

    /// Tokens of `body[range]` without the `cache_control` members in it.
    fn count(&self, body: &[u8], range: Range<usize>, counter: &dyn TokenCounter) -> usize {
        let mut kept = Vec::with_capacity(range.len());
        let mut at = range.start;
        for skip in &self.skips {
            if skip.end <= at || skip.start >= range.end {
                continue;
            }
            kept.extend_from_slice(body.get(at..skip.start.max(at)).unwrap_or(&[]));
            at = skip.end.min(range.end);
        }
        kept.extend_from_slice(body.get(at..range.end).unwrap_or(&[]));
        counter.count(&String::from_utf8_lossy(&kept))
    }
}

/// An assistant message or a Responses item the model produced (a call, reasoning).
fn is_model_output(item: &Node) -> bool {
    let role = item.get("role").and_then(Node::as_str);
    let kind = item.get("type").and_then(Node::as_str).unwrap_or("");
    role == Some("assistant") || kind == "reasoning" || kind.ends_with("_call")
}

/// Collects the byte ranges of every `cache_control` member in `node`.
fn breakpoints(node: &Node, body: &[u8], out: &mut Vec<Range<usize>>) {
    match node {
        Node::Object { members, .. } => {
            for (key, value) in members {
                let range = (key == "cache_control").then(|| member(body, value.span()));
                match range.flatten() {
                    Some(range) => out.push(range),
                    None => breakpoints(value, body, out),
                }
            }
        }
        Node::Array { items, .. } => items.iter().for_each(|v| breakpoints(v, body, out)),
        _ => {}
    }
}

/// The member whose value is `value`, key and a separating comma included — so that what
/// is left is the object as the client writes it without that member. `None` when the key
/// is spelled with escapes (then it is simply counted).
fn member(body: &[u8], value: Range<usize>) -> Option<Range<usize>> {
    const KEY: &[u8] = b"\"cache_control\"";
    let back = |mut i: usize| {
        while i > 0 && body[i - 1].is_ascii_whitespace() {
            i -= 1;
        }
        i
    };
    let colon = back(value.start);
    if colon == 0 || body[colon - 1] != b':' {
        return None;
    }
    let key_end = back(colon - 1);
    let key_start = key_end.checked_sub(KEY.len())?;
    if body.get(key_start..key_end)? != KEY {
        return None;
    }
    let before = back(key_start);
    if before > 0 && body[before - 1] == b',' {
        return Some(before - 1..value.end);
    }
    // The first member: take the comma after it instead.
    let mut after = value.end;
    while after < body.len() && body[after].is_ascii_whitespace() {
        after += 1;
    }
    match body.get(after) {
        Some(b',') => Some(key_start..after + 1),
        _ => Some(key_start..value.end),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Tiktoken;
    use crate::proxy::policy::{PolicyOptions, plan};

    /// Tokens and budgets of the blocks of an Anthropic loop of `turns` turns, the newest
    /// block marked as the client's breakpoint.
    fn budgets(turns: usize, total: usize) -> (Vec<usize>, Vec<usize>) {
        let mut messages = vec![r#"{"role":"user","content":"Why is it slow?"}"#.to_string()];
        for t in 0..turns {
            let result = format!("line {t}: the request took {t} ms\n").repeat(100 + 40 * t);
            let marker = if t + 1 == turns {
                r#","cache_control":{"type":"ephemeral"}"#
            } else {
                ""
            };
            messages.push(format!(
                r#"{{"role":"assistant","content":[{{"type":"tool_use","id":"t{t}","name":"logs","input":{{}}}}]}}"#
            ));
            messages.push(format!(
                r#"{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"t{t}","content":{}{marker}}}]}}"#,
                serde_json::to_string(&result).unwrap()
            ));
        }
        let body = format!(
            r#"{{"model":"m","messages":[{}],"max_tokens":9}}"#,
            messages.join(",")
        );
        let body = body.as_bytes();
        let p = plan(Api::Messages, body, &PolicyOptions::default()).unwrap();
        let counter = Tiktoken::default();
        let tokens: Vec<usize> = p.blocks.iter().map(|b| counter.count(&b.text)).collect();
        assert_eq!(p.blocks.len(), turns);
        let budgets = split(Api::Messages, body, &p.blocks, &tokens, total, &counter);
        (tokens, budgets)
    }

    #[test]
    fn later_turns_and_moved_breakpoints_leave_earlier_budgets_alone() {
        let (tokens, last) = budgets(5, 600);
        for turns in 1..5 {
            assert_eq!(budgets(turns, 600).1[..], last[..turns], "{turns} turns");
        }
        // Each turn is cut by a larger ratio than the one before.
        let ratios: Vec<f64> = tokens
            .iter()
            .zip(&last)
            .map(|(&t, &b)| t as f64 / b as f64)
            .collect();
        assert!(ratios[0] > 1.0, "{ratios:?}");
        assert!(ratios.windows(2).all(|w| w[1] > w[0]), "{ratios:?}");
        // A budget above the request cuts nothing.
        let (tokens, whole) = budgets(3, 1 << 30);
        assert_eq!(whole, tokens);
        assert_eq!(budgets(3, usize::MAX).1, tokens);
    }

    #[test]
    fn cache_control_members_are_cut_with_their_comma() {
        let body = br#"{"a": [{"type": "text", "cache_control": {"type": "ephemeral"}},
            {"cache_control" : null , "text": "x"}, {"cache_control":{}}]}"#;
        let root = spans::parse(body).unwrap();
        let mut skips = Vec::new();
        breakpoints(&root, body, &mut skips);
        skips.sort_by_key(|r| r.start);
        let mut kept = Vec::new();
        let mut at = 0;
        for s in &skips {
            kept.extend_from_slice(&body[at..s.start]);
            at = s.end;
        }
        kept.extend_from_slice(&body[at..]);
        assert_eq!(
            String::from_utf8(kept).unwrap(),
            "{\"a\": [{\"type\": \"text\"},\n            { \"text\": \"x\"}, {}]}"
        );
    }
}
