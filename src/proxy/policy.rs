//! Which parts of an LLM API request the proxy may compress, and with what query.
//!
//! This is the contract in DESIGN.md §"The proxy's contract" as a pure function of the
//! request body: [`plan`] lists the JSON string literals that may be rewritten, each with
//! the query that scores it and a hint of what kind of text it is. It never decides *how*
//! to compress (the caller does, see `rewrite::apply`), so it is deterministic and cheap.
//!
//! Compressed by default: tool results, Anthropic documents (text sources) and search
//! results, and user text inside `<pith>…</pith>` or `<LLMLINGUA>…</LLMLINGUA>` markers.
//! Never touched: system/developer messages and `instructions`, tool definitions, response
//! formats (none of these are walked at all), assistant turns and tool-call arguments,
//! thinking blocks, images and files, documents and search results with citations enabled,
//! outputs of the tools in [`PolicyOptions::exact_tools`], and the final user turn.
//!
//! Prompt caches: a block's plan depends only on the block and what precedes it, never on
//! later turns, so a block the client resends compresses to the same bytes every turn.
//! That is why `cache_control` breakpoints do not stop compression: what was forwarded
//! before the breakpoint is forwarded the same way again. The query follows the same rule:
//! for a tool result it is the user's task (the latest user text before the assistant
//! turn that made the call), the assistant's text before the call and the call itself
//! (see [`Block::query`]), each part bounded by [`QUERY_PART_CHARS`].
//!
//! The final user turn is the query, so its *own text* is never compressed — not even
//! inside markers. Tool results, documents and search results that travel in that same
//! message (an Anthropic agent loop sends every tool result in the final user message)
//! are not the query and stay compressible.

use std::collections::HashMap;
use std::ops::Range;

pub use crate::chat::{Content, classify, looks_like_code};
pub use crate::compress::QUERY_PART_CHARS;
use crate::compress::input::tail;
use crate::spans::{self, Node, SpanError};

/// The API a request body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// OpenAI `POST /v1/chat/completions`.
    ChatCompletions,
    /// OpenAI `POST /v1/responses`.
    Responses,
    /// Anthropic `POST /v1/messages`.
    Messages,
    /// Anthropic `POST /v1/messages/count_tokens` (same body as `Messages`).
    CountTokens,
}

/// What the policy lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOptions {
    /// Blocks with fewer characters are left alone (marked text is exempt: the user asked).
    pub min_chars: usize,
    /// Tools whose output stays exact, matched case-insensitively on the tool name.
    pub exact_tools: Vec<String>,
    /// Whether `<pith>`/`<LLMLINGUA>` markers in user text are honoured.
    pub compress_marked: bool,
}

/// File readers whose output an edit tool later matches exactly.
pub const DEFAULT_EXACT_TOOLS: [&str; 6] = [
    "Read",
    "read_file",
    "view",
    "cat",
    "str_replace_editor",
    "Edit",
];

impl Default for PolicyOptions {
    fn default() -> Self {
        Self {
            min_chars: 2000,
            exact_tools: DEFAULT_EXACT_TOOLS.iter().map(|s| s.to_string()).collect(),
            compress_marked: true,
        }
    }
}

/// Where a block comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The output of a tool call.
    ToolResult,
    /// A document block (Anthropic `document`).
    Document,
    /// A search result block (Anthropic `search_result`).
    SearchResult,
    /// User text with explicit markers; only the marked parts are compressed.
    Marked,
}

/// One marked part of a block's text: `outer` includes the tags, `inner` does not (byte
/// ranges in [`Block::text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marked {
    /// The part with its tags.
    pub outer: Range<usize>,
    /// The part's content alone.
    pub inner: Range<usize>,
}

/// A JSON string literal the proxy may replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Byte range of the literal in the body, quotes included.
    pub span: Range<usize>,
    /// The decoded string.
    pub text: String,
    /// Where it comes from.
    pub origin: Origin,
    /// Query for query-aware scoring. For a tool result: the user's task (the latest user
    /// text before the assistant turn that made the call), the assistant's text in that
    /// turn before the call, and the call (`name arguments`), one per line, empty parts
    /// left out. Otherwise: the user text of the block's own message, or the latest one
    /// before it. Marked parts are not user text. Fixed once the block is in history.
    pub query: String,
    /// What kind of text it holds.
    pub content: Content,
    /// Where it is, for headers and logs: `messages[3].content[0].content`.
    pub label: String,
    /// For [`Origin::Marked`]: the marked parts, in order; empty otherwise.
    pub marked: Vec<Marked>,
}

/// The blocks of a request that may be compressed, in body order (non-overlapping).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The blocks, in body order.
    pub blocks: Vec<Block>,
}

/// The body is not a request this policy understands; the caller forwards it unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The body is not valid JSON.
    #[error(transparent)]
    Json(#[from] SpanError),
    /// The JSON is not shaped like a request to the API.
    #[error("unexpected request shape: {0}")]
    Shape(&'static str),
}

/// Lists what may be compressed in `body`, a request to `api`.
pub fn plan(api: Api, body: &[u8], options: &PolicyOptions) -> Result<Plan, PolicyError> {
    let root = spans::parse(body)?;
    if !matches!(root, Node::Object { .. }) {
        return Err(PolicyError::Shape("the body is not a JSON object"));
    }
    let mut walk = Walk {
        body,
        options,
        calls: HashMap::new(),
        cands: Vec::new(),
        user_text: String::new(),
        said: String::new(),
    };
    match api {
        Api::ChatCompletions => walk.chat(array_field(&root, "messages")?),
        Api::Messages | Api::CountTokens => walk.anthropic(array_field(&root, "messages")?),
        Api::Responses => match root.get("input") {
            // A bare string is the final user turn and nothing else.
            Some(Node::String { .. }) => return Ok(Plan::default()),
            Some(Node::Array { items, .. }) => walk.responses(items),
            _ => return Err(PolicyError::Shape("`input` is not a string or an array")),
        },
    }
    Ok(walk.finish())
}

fn array_field<'a>(root: &'a Node, key: &'static str) -> Result<&'a [Node], PolicyError> {
    root.get(key)
        .and_then(Node::as_array)
        .ok_or(PolicyError::Shape("`messages` is not an array"))
}

/// A tool call: its name, its arguments as JSON text, and the query of its result.
#[derive(Debug, Clone)]
struct Call {
    name: String,
    args: String,
    query: String,
}

impl Call {
    /// `task` is the latest user text before the turn, `said` the assistant's text in the
    /// turn before the call.
    fn new(name: &str, args: &str, task: &str, said: &str) -> Self {
        let query = crate::tool_query(task, said, name, args);
        Self {
            name: name.to_string(),
            args: args.to_string(),
            query,
        }
    }
}

/// A string literal that may become a block, before the request-wide rules apply.
#[derive(Debug)]
struct Cand<'a> {
    node: &'a Node,
    label: String,
    origin: Origin,
    /// The call that produced it (found when it was walked: a later call reusing the id
    /// must not change it).
    call: Option<Call>,
    /// Its query when it has no call.
    query: String,
}

struct Walk<'a> {
    body: &'a [u8],
    options: &'a PolicyOptions,
    /// Tool calls by id, from the assistant turns walked so far.
    calls: HashMap<String, Call>,
    cands: Vec<Cand<'a>>,
    /// The latest user text walked so far (outside markers).
    user_text: String,
    /// The assistant's text in the turn being walked, before the next call.
    said: String,
}

impl<'a> Walk<'a> {
    fn push(&mut self, node: &'a Node, label: String, origin: Origin, call: Option<Call>) {
        if matches!(node, Node::String { .. }) {
            self.cands.push(Cand {
                node,
                label,
                origin,
                call,
                query: tail(self.user_text.trim(), QUERY_PART_CHARS).to_string(),
            });
        }
    }

    /// User text outside the final turn may carry markers.
    fn user_text(&mut self, node: &'a Node, label: String, is_final: bool) {
        if !is_final && self.options.compress_marked {
            self.push(node, label, Origin::Marked, None);
        }
    }

    /// Makes the text of this user turn, if it has any (marked parts are context, not the
    /// ask), the latest user text.
    fn note_user_text(&mut self, parts: &[(&'a Node, String)]) {
        let texts: Vec<String> = parts
            .iter()
            .filter_map(|(n, _)| n.as_str())
            .map(|t| match self.options.compress_marked {
                true => unmarked(t),
                false => t.to_string(),
            })
            .filter(|t| !t.trim().is_empty())
            .collect();
        if !texts.is_empty() {
            self.user_text = texts.join("\n");
        }
    }

    /// The call `id` names, as walked so far.
    fn call(&self, id: Option<&str>) -> Option<Call> {
        id.and_then(|id| self.calls.get(id)).cloned()
    }

    fn chat(&mut self, messages: &'a [Node]) {
        let last_user = last_index_with_role(messages, "user");
        for (i, m) in messages.iter().enumerate() {
            let label = format!("messages[{i}].content");
            let content = m.get("content");
            match m.get("role").and_then(Node::as_str) {
                Some("assistant") => {
                    self.said = said_text(content);
                    for tc in m.get("tool_calls").and_then(Node::as_array).unwrap_or(&[]) {
                        let f = tc.get("function");
                        let name = f.and_then(|f| f.get("name")).and_then(Node::as_str);
                        let args = f.and_then(|f| f.get("arguments")).and_then(Node::as_str);
                        if let (Some(id), Some(name)) = (tc.get("id").and_then(Node::as_str), name)
                        {
                            let call =
                                Call::new(name, args.unwrap_or(""), &self.user_text, &self.said);
                            self.calls.insert(id.to_string(), call);
                        }
                    }
                }
                Some(role @ ("tool" | "function")) => {
                    // Legacy `function` messages name their function directly.
                    let by_name = m
                        .get("name")
                        .and_then(Node::as_str)
                        .map(|n| Call::new(n, "", &self.user_text, &self.said));
                    let id = m.get("tool_call_id").and_then(Node::as_str);
                    let call = match (role, id) {
                        ("tool", Some(_)) => self.call(id),
                        _ => by_name,
                    };
                    for (node, label) in text_parts(content, label) {
                        self.push(node, label, Origin::ToolResult, call.clone());
                    }
                }
                Some("user") => {
                    let parts = text_parts(content, label);
                    self.note_user_text(&parts);
                    for (node, label) in parts {
                        self.user_text(node, label, Some(i) == last_user);
                    }
                }
                _ => {}
            }
        }
    }

    fn anthropic(&mut self, messages: &'a [Node]) {
        let last_user = last_index_with_role(messages, "user");
        for (i, m) in messages.iter().enumerate() {
            let label = format!("messages[{i}].content");
            let is_final = Some(i) == last_user;
            let Some(content) = m.get("content") else {
                continue;
            };
            match m.get("role").and_then(Node::as_str) {
                Some("assistant") => {
                    // The text blocks before each call are what the assistant said first.
                    let mut said = Vec::new();
                    for b in content.as_array().unwrap_or(&[]) {
                        match block_type(b) {
                            Some("text") => said.extend(b.get("text").and_then(Node::as_str)),
                            Some("tool_use") => {
                                let id = b.get("id").and_then(Node::as_str);
                                let name = b.get("name").and_then(Node::as_str);
                                if let (Some(id), Some(name)) = (id, name) {
                                    let args = b.get("input").map_or("", |n| n.raw(self.body));
                                    let call =
                                        Call::new(name, args, &self.user_text, &said.join("\n"));
                                    self.calls.insert(id.to_string(), call);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Some("user") => {
                    // Tool results answer calls made before this message: its own text
                    // (which comes after them) is no part of their query.
                    let before = self.user_text.clone();
                    let texts = text_parts(Some(content), label.clone());
                    self.note_user_text(&texts);
                    for (node, label) in texts {
                        self.user_text(node, label, is_final);
                    }
                    for (j, b) in content.as_array().unwrap_or(&[]).iter().enumerate() {
                        let label = format!("{label}[{j}]");
                        match block_type(b) {
                            Some("tool_result") => self.tool_result(b, label, &before),
                            Some("document") => self.document(b, label, None),
                            Some("search_result") => self.search_result(b, label, None),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// An Anthropic `tool_result`: string content, or text / document / search result
    /// sub-blocks (images inside are left alone). Without a known call, the query is the
    /// user text `before` its message.
    fn tool_result(&mut self, b: &'a Node, label: String, before: &str) {
        let id = b.get("tool_use_id").and_then(Node::as_str);
        let call = self.call(id).unwrap_or_else(|| Call {
            name: String::new(),
            args: String::new(),
            query: tail(before.trim(), QUERY_PART_CHARS).to_string(),
        });
        let label = format!("{label}.content");
        for (node, label) in text_parts(b.get("content"), label.clone()) {
            self.push(node, label, Origin::ToolResult, Some(call.clone()));
        }
        for (k, sub) in b
            .get("content")
            .and_then(Node::as_array)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let call = Some(call.clone());
            match block_type(sub) {
                Some("document") => self.document(sub, format!("{label}[{k}]"), call),
                Some("search_result") => self.search_result(sub, format!("{label}[{k}]"), call),
                _ => {}
            }
        }
    }

    /// A document with a plain-text (or text-blocks) source and citations off; `call` is
    /// the tool call whose result holds it, if any.
    fn document(&mut self, b: &'a Node, label: String, call: Option<Call>) {
        if cites(b, self.body) {
            return;
        }
        let Some(source) = b.get("source") else {
            return;
        };
        match source.get("type").and_then(Node::as_str) {
            Some("text") => {
                if let Some(data) = source.get("data") {
                    let label = format!("{label}.source.data");
                    self.push(data, label, Origin::Document, call);
                }
            }
            Some("content") => {
                let label = format!("{label}.source.content");
                for (node, label) in text_parts(source.get("content"), label) {
                    self.push(node, label, Origin::Document, call.clone());
                }
            }
            // base64 (PDF), url, file: not text we can see.
            _ => {}
        }
    }

    fn search_result(&mut self, b: &'a Node, label: String, call: Option<Call>) {
        if cites(b, self.body) {
            return;
        }
        let label = format!("{label}.content");
        for (node, label) in text_parts(b.get("content"), label) {
            self.push(node, label, Origin::SearchResult, call.clone());
        }
    }

    fn responses(&mut self, items: &'a [Node]) {
        let last_user = items
            .iter()
            .rposition(|m| m.get("role").and_then(Node::as_str) == Some("user"));
        for (i, item) in items.iter().enumerate() {
            let kind = block_type(item).or(item.get("role").map(|_| "message"));
            let role = item.get("role").and_then(Node::as_str);
            match kind {
                Some("function_call" | "custom_tool_call") => {
                    let id = item.get("call_id").and_then(Node::as_str);
                    let name = item.get("name").and_then(Node::as_str);
                    let args = item.get("arguments").or(item.get("input"));
                    if let (Some(id), Some(name)) = (id, name) {
                        let args = args.and_then(Node::as_str).unwrap_or("");
                        let call = Call::new(name, args, &self.user_text, &self.said);
                        self.calls.insert(id.to_string(), call);
                    }
                }
                Some("function_call_output" | "custom_tool_call_output") => {
                    // The client's turn: what the assistant says next is a new turn's.
                    self.said.clear();
                    let call = self.call(item.get("call_id").and_then(Node::as_str));
                    let label = format!("input[{i}].output");
                    for (node, label) in text_parts(item.get("output"), label) {
                        self.push(node, label, Origin::ToolResult, call.clone());
                    }
                }
                Some("message") if role == Some("assistant") => {
                    let text = said_text(item.get("content"));
                    if !text.is_empty() {
                        self.said = [std::mem::take(&mut self.said), text]
                            .into_iter()
                            .filter(|t| !t.is_empty())
                            .collect::<Vec<_>>()
                            .join("\n");
                    }
                }
                Some("message") if role == Some("user") => {
                    self.said.clear();
                    let parts = text_parts(item.get("content"), format!("input[{i}].content"));
                    self.note_user_text(&parts);
                    for (node, label) in parts {
                        self.user_text(node, label, Some(i) == last_user);
                    }
                }
                _ => {}
            }
        }
    }

    /// Applies the request-wide rules to the candidates.
    fn finish(self) -> Plan {
        let exact: Vec<String> = self
            .options
            .exact_tools
            .iter()
            .map(|t| t.to_lowercase())
            .collect();
        let mut blocks = Vec::new();
        for cand in self.cands {
            let Node::String { span, value } = cand.node else {
                continue;
            };
            if let Some(call) = &cand.call
                && cand.origin == Origin::ToolResult
                && exact.contains(&call.name.to_lowercase())
            {
                continue;
            }
            let marked = if cand.origin == Origin::Marked {
                let marked = find_marked(value);
                if marked.is_empty() {
                    continue;
                }
                marked
            } else {
                if value.chars().count() < self.options.min_chars {
                    continue;
                }
                Vec::new()
            };
            let (query, args) = match cand.call {
                Some(c) => (c.query, c.args),
                None => (cand.query, String::new()),
            };
            blocks.push(Block {
                span: span.clone(),
                text: value.clone(),
                origin: cand.origin,
                query,
                content: classify(value, &args),
                label: cand.label,
                marked,
            });
        }
        blocks.sort_by_key(|b| b.span.start);
        Plan { blocks }
    }
}

/// The text of an assistant message's content: the string, or its text parts joined.
fn said_text(content: Option<&Node>) -> String {
    match content {
        Some(Node::String { value, .. }) => value.clone(),
        Some(Node::Array { items, .. }) => items
            .iter()
            .filter(|p| matches!(block_type(p), Some("text" | "output_text")))
            .filter_map(|p| p.get("text").and_then(Node::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// `text` without its marked parts (tags included).
fn unmarked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for m in find_marked(text) {
        out.push_str(&text[pos..m.outer.start]);
        pos = m.outer.end;
    }
    out.push_str(&text[pos..]);
    out
}

fn last_index_with_role(messages: &[Node], role: &str) -> Option<usize> {
    messages
        .iter()
        .rposition(|m| m.get("role").and_then(Node::as_str) == Some(role))
}

fn block_type(b: &Node) -> Option<&str> {
    b.get("type").and_then(Node::as_str)
}

/// Whether citations are enabled: cited text must stay what the citations point into.
fn cites(b: &Node, body: &[u8]) -> bool {
    b.get("citations")
        .and_then(|c| c.get("enabled"))
        .is_some_and(|e| e.is_true(body))
}

/// The text literals of a content field: the string itself, or the `text` of each
/// `text` / `input_text` part of an array (other parts — images, files — are skipped).
fn text_parts(content: Option<&Node>, label: String) -> Vec<(&Node, String)> {
    match content {
        Some(node @ Node::String { .. }) => vec![(node, label)],
        Some(Node::Array { items, .. }) => items
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(block_type(p), Some("text" | "input_text")))
            .filter_map(|(j, p)| Some((p.get("text")?, format!("{label}[{j}].text"))))
            .filter(|(n, _)| matches!(n, Node::String { .. }))
            .collect(),
        _ => Vec::new(),
    }
}

const MARKERS: [(&str, &str); 2] = [("<pith>", "</pith>"), ("<llmlingua>", "</llmlingua>")];

/// The `<pith>…</pith>` and `<LLMLINGUA>…</LLMLINGUA>` parts of `text` (tags matched
/// ASCII-case-insensitively, not nested; an unclosed tag marks nothing).
pub(crate) fn find_marked(text: &str) -> Vec<Marked> {
    // ASCII lowercasing keeps every byte offset.
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let next = MARKERS
            .iter()
            .filter_map(|&(open, close)| Some((pos + lower[pos..].find(open)?, open, close)))
            .min_by_key(|&(at, ..)| at);
        let Some((start, open, close)) = next else {
            break;
        };
        let inner_start = start + open.len();
        let Some(len) = lower[inner_start..].find(close) else {
            break;
        };
        let inner_end = inner_start + len;
        let end = inner_end + close.len();
        out.push(Marked {
            outer: start..end,
            inner: inner_start..inner_end,
        });
        pos = end;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Lang;
    use crate::compress::input::head;

    #[test]
    fn markers_are_found_case_insensitively_and_unclosed_ones_ignored() {
        let t = "a <pith>b</pith> c <LLMLINGUA>dd</LLMLINGUA> <pith>e";
        let m = find_marked(t);
        assert_eq!(m.len(), 2);
        assert_eq!(&t[m[0].inner.clone()], "b");
        assert_eq!(&t[m[0].outer.clone()], "<pith>b</pith>");
        assert_eq!(&t[m[1].inner.clone()], "dd");
    }

    #[test]
    fn query_parts_are_cut_at_character_boundaries() {
        assert_eq!(tail("déjà vu", 4), "à vu");
        assert_eq!(tail("ab", 5), "ab");
        assert_eq!(head("déjà vu", 3), "déj");
        assert_eq!(head("ab", 5), "ab");
        let call = Call::new("grep", "{}", "  task\n", "");
        assert_eq!(call.query, "task\ngrep {}");
        assert_eq!(
            unmarked("a <pith>b</pith> c <LLMLINGUA>d</LLMLINGUA>"),
            "a  c "
        );
    }

    #[test]
    fn classify_tells_json_code_and_prose_apart() {
        assert_eq!(classify("{\"a\": [1, 2]}", ""), Content::Json);
        let py = "import os\n\ndef main():\n    x = 1\n    return x\n";
        assert_eq!(
            classify(py, r#"{"path": "src/app.py"}"#),
            Content::Code(Some(Lang::Python))
        );
        assert_eq!(classify(py, "ls"), Content::Code(None));
        let prose = "The quick brown fox.\nIt jumped over the dog.\nThen it slept.\n";
        assert_eq!(classify(prose, r#"{"path": "a.rs"}"#), Content::Prose);
    }
}
