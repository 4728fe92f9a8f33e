//! `pith serve`: a drop-in proxy in front of OpenAI- and Anthropic-style APIs.
//!
//! [`policy`] decides which parts of a request may be compressed (a pure function of the
//! body, with [`spans`] keeping every value's byte range); [`engine`] compresses them
//! with the core pipeline (a request's total budget split by [`budget`]) and [`rewrite`]
//! splices the results into the original bytes.
//!
//! The HTTP side knows the engine only as a [`rewriter::Rewriter`]: [`server`] has the
//! routes and the serve loop, `handler` takes one request through its checks, the body
//! limits (`body`) and the compression slots (`slots`), and `upstream` relays it byte
//! for byte; [`forward`] holds the pure rules of what crosses, `state` what the handlers
//! share. [`config`] builds the engine without knowing the server, so dependencies among
//! these files point one way. [`metrics`] is what its name says.

pub mod budget;
pub mod config;
pub mod engine;
pub mod forward;
pub mod metrics;
pub mod policy;
pub mod rewrite;
pub mod rewriter;
pub mod server;

mod body;
mod handler;
mod slots;
mod state;
mod upstream;

/// The JSON parser that keeps byte spans is core (lingua reads JSON with it too); this
/// path stays for the proxy's tests and fuzz checks.
pub use crate::spans;
