//! pith cuts the context of LLM requests down to a token budget while keeping what the
//! task needs.
//!
//! The pipeline (see ARCHITECTURE.md): [`segment`] a document into chunks that know their
//! byte spans, [`score`] each chunk, [`select`] chunks under the budget, and [`render`]
//! the kept spans in their original order with elision markers for what was dropped.
//! [`Compressor`] ties the stages together; the budget is counted by a [`TokenCounter`]
//! in the target model's tokens and the output never exceeds it.

pub mod ann;
#[cfg(feature = "cache")]
pub mod cache;
pub mod chat;
pub mod compress;
pub mod document;
#[cfg(feature = "eval")]
pub mod eval;
#[cfg(feature = "neural")]
pub mod lingua;
#[cfg(feature = "neural")]
pub mod lm;
#[cfg(feature = "neural")]
pub mod models;
#[cfg(feature = "neural")]
pub mod neural;
pub mod pack;
pub(crate) mod parallel;
pub mod preset;
#[cfg(feature = "proxy")]
pub mod proxy;
pub mod render;
pub mod score;
pub mod segment;
pub mod select;
pub mod spans;
pub mod tokens;
pub mod vector;

pub use compress::{
    BuildError, CompressError, Compressed, Compressor, CompressorBuilder, Input, tool_query,
};
pub use document::{DocKind, Document};
pub use preset::Preset;
pub use render::Format;
pub use segment::Lang;
pub use tokens::{Encoding, Tiktoken, TokenCounter};
