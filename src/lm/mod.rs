//! A small causal LM (SmolLM2-135M-Instruct, converted from GGUF at install time) and
//! what pith does with it: contrastive perplexity for LongCodeZip's function ranking and
//! LongLLMLingua's document ranking, and per-token surprisal for pruning when no
//! LLMLingua-2 classifier is installed.

pub mod contrast;
pub mod model;
pub mod shared;

pub use contrast::{Contrast, contrast, line_surprisal};
pub use model::{CausalLm, LmConfig, Tokens};
pub use shared::{DEFAULT_LM, shared_lm};
