//! pith cuts the context of LLM requests down to a token budget while keeping what the
//! task needs.
//!
//! The budget is a promise: the output never has more tokens than the budget, counted in
//! the target model's tokenizer (o200k_base by default, cl100k_base, or any Hugging Face
//! `tokenizer.json` with the `hf` feature), exactly as tiktoken counts them. The same core
//! serves the `pith` CLI (`pith pack`, `pith compress`, `pith count`), this library, and
//! the HTTP proxy `pith serve` in front of OpenAI- and Anthropic-style APIs.
//!
//! # Pipeline
//!
//! The pipeline (see ARCHITECTURE.md): [`segment`] a document into chunks that know their
//! byte spans, [`score`] each chunk, [`select`] chunks under the budget, and [`render`]
//! the kept spans in their original order with elision markers for what was dropped.
//! [`Compressor`] ties the stages together; the budget is counted by a [`TokenCounter`]
//! in the target model's tokens and the output never exceeds it. A [`Preset`] holds the
//! settings of every stage (`code`, `rag`, `chat`, and neural variants).
//!
//! # Compressing one text for a query
//!
//! ```
//! use pith::{Compressor, Input, Lang};
//!
//! let source = r#"
//! def parse_header(data):
//!     """Reads the magic number and the version from the first bytes."""
//!     magic, version = data[:4], data[4]
//!     if magic != b"PITH":
//!         raise ValueError("not a pith file")
//!     return version
//!
//! def render_table(rows):
//!     widths = [max(len(str(c)) for c in col) for col in zip(*rows)]
//!     for row in rows:
//!         print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
//!
//! def send_report(address, body):
//!     import smtplib
//!     with smtplib.SMTP("localhost") as smtp:
//!         smtp.sendmail("pith@localhost", [address], body)
//! "#;
//!
//! let budget = 90; // of 152 tokens
//! let compressor = Compressor::builder().build(); // code preset, o200k_base, bare text
//! let out = compressor.compress(Input::code(source, Lang::Python).query("parse the header"), budget)?;
//! assert!(out.tokens_after <= budget);
//! assert!(out.text.contains("def parse_header"));
//! for (_, dropped) in out.dropped() {
//!     println!("dropped {:?} {:?}, lines {:?}", dropped.kind, dropped.name, dropped.lines);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Compressed`] reports the tokens before and after, every dropped chunk (kind, name,
//! lines) per document, and the text.
//!
//! # Packing several documents
//!
//! Several documents share one budget; a layout ([`Format::layout`]) frames each with its
//! path, and its frames count against the budget like any other text.
//!
//! ```
//! use pith::{Compressor, Document, Format, Input, Preset};
//!
//! let docs = vec![
//!     Document::from_path_text("docs/install.md", "Install with cargo. The build needs a C compiler for the grammars.\n"),
//!     Document::from_path_text("docs/budget.md", "The budget is counted in the target model's tokens. The output never exceeds it.\n"),
//!     Document::from_path_text("docs/history.md", "The project started as a script. It was rewritten in Rust a year later.\n"),
//! ];
//! let compressor = Compressor::builder()
//!     .preset(Preset::named("rag")?)
//!     .boxed_layout(Format::Markdown.layout())
//!     .build();
//! let out = compressor.compress(Input::documents(docs).query("how is the budget counted"), 40)?;
//! assert!(out.tokens_after <= 40);
//! assert!(out.text.contains("The budget is counted"));
//! assert_eq!(out.documents.len(), 3); // one report per input document
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Cargo features
//!
//! One crate; features switch the faces and the heavy stages on. Without default features
//! (`cargo add pith --no-default-features`) it builds the core alone: segmenting, scoring,
//! selection, rendering, the exact tiktoken counters and [`Compressor`], with none of the
//! CLI, the proxy or ONNX Runtime.
//!
//! | feature | adds |
//! |---|---|
//! | `hf` | `tokens::HfTokenizer`: counts in any Hugging Face `tokenizer.json` |
//! | `neural` (with `hf`) | `neural`, `lingua`, `lm`, `models`: embeddings, word pruning, causal-LM ranking through ONNX Runtime, and the HNSW index in [`ann`] |
//! | `proxy` | `proxy`: the HTTP proxy |
//! | `eval` (with `neural`) | `eval`: the evaluation tasks |
//! | `cli` (default: all of the above) | the `pith` binary |
//!
//! # Models
//!
//! A neural preset (`*-neural`, `*-lm`, `rag-prune`) needs models, and the library never
//! looks for them on its own: pass a models folder.
//! [`try_build`](CompressorBuilder::try_build) loads every model the preset needs and, if
//! any cannot be loaded, returns all the failures ([`BuildError::failures`], each naming
//! the command that installs the model); [`build`](CompressorBuilder::build) runs without
//! each missing stage and puts the reasons in every result's `warnings`.
//! Without the `neural` feature such a preset builds the same way, without those stages.
//!
//! ```no_run
//! # #[cfg(feature = "neural")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Not run: the models may not be installed (`pith models install minilm`).
//! use pith::{Compressor, Preset, models::ModelStore};
//!
//! let compressor = Compressor::builder()
//!     .preset(Preset::named("rag-neural")?)
//!     .models(ModelStore::discover()) // $PITH_MODELS_DIR, the checkout, ~/.cache/pith/models
//!     .try_build()?; // the error names `pith models install minilm` when it is missing
//! # let _ = compressor;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "neural"))]
//! # fn main() {}
//! ```

pub mod ann;
#[cfg(feature = "neural")]
pub mod auto;
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
