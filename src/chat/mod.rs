//! Compressing a conversation given as typed turns — what the proxy does to request bodies,
//! for an agent framework that holds its messages in memory. The rules are the proxy's
//! (DESIGN.md §"The proxy's contract"): tool results and documents are compressed, each
//! for its own query; system and assistant turns and user text never are. A block's query
//! and result depend only on it and the turns before it, so a conversation that grows
//! turn by turn compresses its history to the same text every time (a prompt cache keeps
//! hitting).

mod classify;

pub use classify::{Content, classify, looks_like_code};

use std::collections::HashMap;

use crate::compress::input::tail;
use crate::compress::{CompressError, Compressor, Input, QUERY_PART_CHARS, tool_query};
use crate::document::Document;

/// Who a turn is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// System or developer instructions: never compressed.
    System,
    /// The user; tool results may travel in user turns (Anthropic's way).
    User,
    /// The model: its text and calls are never compressed.
    Assistant,
    /// A tool's answer (OpenAI's `tool` role).
    Tool,
}

/// One piece of a turn.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// Text said by the turn's author.
    Text(String),
    /// A call the assistant made: `arguments` as it sent them (JSON text).
    ToolCall {
        /// The id its result refers to.
        id: String,
        /// The tool's name.
        name: String,
        /// The arguments, verbatim.
        arguments: String,
    },
    /// What a tool returned for the call `call_id`.
    ToolResult {
        /// The id of the call it answers.
        call_id: String,
        /// The output.
        text: String,
    },
    /// A document the user attached.
    Document {
        /// The text.
        text: String,
    },
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// Who it is from.
    pub role: Role,
    /// What it holds, in order.
    pub parts: Vec<Part>,
}

impl Message {
    /// A turn of `role` with `parts`.
    pub fn new(role: Role, parts: Vec<Part>) -> Self {
        Self { role, parts }
    }

    /// A turn of `role` that is one text.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self::new(role, vec![Part::Text(text.into())])
    }
}

/// Which blocks are compressed, and how far.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChatOptions {
    /// Each block is compressed to its tokens divided by this (at least 1).
    pub ratio: f64,
    /// Blocks with fewer characters are left alone.
    pub min_chars: usize,
    /// Tools whose output stays exact (matched case-insensitively): file readers whose
    /// text an edit tool later matches.
    pub exact_tools: Vec<String>,
}

impl Default for ChatOptions {
    /// The proxy's defaults: ratio 2, blocks of 2,000 characters or more, file readers exact.
    fn default() -> Self {
        Self {
            ratio: 2.0,
            min_chars: 2000,
            exact_tools: [
                "Read",
                "read_file",
                "view",
                "cat",
                "str_replace_editor",
                "Edit",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        }
    }
}

/// A compressed conversation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CompressedChat {
    /// The turns, with compressed blocks in place.
    pub messages: Vec<Message>,
    /// Tokens of the compressed blocks before…
    pub tokens_before: usize,
    /// …and after.
    pub tokens_after: usize,
    /// Which parts were compressed: (turn, part) indexes.
    pub compressed: Vec<(usize, usize)>,
}

/// A block that may be compressed: where it is, its query, and the arguments of the call
/// that produced it.
struct Block {
    at: (usize, usize),
    query: String,
    args: String,
}

/// The blocks of `messages` the rules let through, in order.
fn blocks(messages: &[Message], options: &ChatOptions) -> Vec<Block> {
    // Calls walked so far: id → (name, arguments, query).
    let mut calls: HashMap<&str, (&str, &str, String)> = HashMap::new();
    let exact: Vec<String> = options
        .exact_tools
        .iter()
        .map(|t| t.to_lowercase())
        .collect();
    let mut user_text = String::new();
    let mut out = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        match m.role {
            Role::System => {}
            Role::Assistant => {
                // The text before each call is what the assistant said first.
                let mut said: Vec<&str> = Vec::new();
                for p in &m.parts {
                    match p {
                        Part::Text(t) => said.push(t),
                        Part::ToolCall {
                            id,
                            name,
                            arguments,
                        } => {
                            let query = tool_query(&user_text, &said.join("\n"), name, arguments);
                            calls.insert(id, (name, arguments, query));
                        }
                        _ => {}
                    }
                }
            }
            Role::User | Role::Tool => {
                // Tool results answer calls made before this turn: its own text (which
                // comes after them) is no part of their query.
                let before = user_text.clone();
                let texts: Vec<&str> = m
                    .parts
                    .iter()
                    .filter_map(|p| match p {
                        Part::Text(t) if !t.trim().is_empty() => Some(t.as_str()),
                        _ => None,
                    })
                    .collect();
                if m.role == Role::User && !texts.is_empty() {
                    user_text = texts.join("\n");
                }
                for (j, p) in m.parts.iter().enumerate() {
                    let (text, query, args) = match p {
                        Part::ToolResult { call_id, text } => match calls.get(call_id.as_str()) {
                            Some((name, _, _)) if exact.contains(&name.to_lowercase()) => {
                                continue;
                            }
                            Some((_, args, query)) => (text, query.clone(), args.to_string()),
                            None => (
                                text,
                                tail(before.trim(), QUERY_PART_CHARS).to_owned(),
                                String::new(),
                            ),
                        },
                        Part::Document { text } => (
                            text,
                            tail(user_text.trim(), QUERY_PART_CHARS).to_owned(),
                            String::new(),
                        ),
                        _ => continue,
                    };
                    if text.chars().count() >= options.min_chars {
                        out.push(Block {
                            at: (i, j),
                            query,
                            args,
                        });
                    }
                }
            }
        }
    }
    out
}

impl Compressor {
    /// Compresses the tool results and documents of a conversation, each to its tokens
    /// divided by `options.ratio`, for its own query: a tool result's is the user's task
    /// before the call, the assistant's text before it and the call itself
    /// ([`tool_query`]); a document's, the user's latest text. A block that would not get
    /// smaller stays as it is. Same rules, same text as `pith serve` forwards for the same
    /// turns with this compressor's preset.
    pub fn compress_messages(
        &self,
        messages: &[Message],
        options: &ChatOptions,
    ) -> Result<CompressedChat, CompressError> {
        self.preset().validate()?;
        let ratio = if options.ratio >= 1.0 && options.ratio.is_finite() {
            options.ratio
        } else {
            1.0
        };
        let mut out = CompressedChat {
            messages: messages.to_vec(),
            tokens_before: 0,
            tokens_after: 0,
            compressed: Vec::new(),
        };
        for block in blocks(messages, options) {
            let (i, j) = block.at;
            let text = match &messages[i].parts[j] {
                Part::ToolResult { text, .. } | Part::Document { text } => text,
                _ => continue,
            };
            let kind = classify(text, &block.args).doc_kind();
            let before = self.counter().count(text);
            let budget = (before as f64 / ratio).floor() as usize;
            let input =
                Input::documents(vec![Document::new(text.as_str(), kind)]).query(block.query);
            // Not smaller, or not even the markers fit: the block stays as it was.
            let Ok(done) = self.compress(input, budget) else {
                continue;
            };
            // Selective augmentation's empty answer, or markers alone when no unit fitted
            // the budget, would lose the block: never.
            if done.nothing_relevant || done.kept_nothing() || done.text.len() >= text.len() {
                continue;
            }
            out.tokens_before += before;
            out.tokens_after += done.tokens_after;
            match &mut out.messages[i].parts[j] {
                Part::ToolResult { text, .. } | Part::Document { text } => *text = done.text,
                _ => continue,
            }
            out.compressed.push((i, j));
        }
        Ok(out)
    }
}
