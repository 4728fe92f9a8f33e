//! pith cuts the context of LLM requests down to a token budget while keeping what the
//! task needs.
//!
//! The pipeline (see ARCHITECTURE.md): [`segment`] a document into chunks that know their
//! byte spans, [`score`] each chunk, [`select`] chunks under the budget, and [`render`]
//! the kept spans in their original order with elision markers for what was dropped.
//! [`Compressor`] ties the stages together; the budget is counted by a [`TokenCounter`]
//! in the target model's tokens and the output never exceeds it.

pub mod ann;
pub mod compress;
pub mod document;
pub mod eval;
pub mod lingua;
pub mod lm;
pub mod models;
pub mod neural;
pub mod pack;
pub mod preset;
pub mod proxy;
pub mod render;
pub mod score;
pub mod segment;
pub mod select;
pub mod spans;
pub mod tokens;

pub use compress::{
    BuildError, CompressError, Compressed, Compressor, CompressorBuilder, Input, tool_query,
};
pub use document::{DocKind, Document};
pub use preset::Preset;
pub use render::Format;
pub use segment::Lang;
pub use tokens::{Encoding, Tiktoken, TokenCounter};
