//! `pith serve`: a drop-in proxy in front of OpenAI- and Anthropic-style APIs.
//!
//! [`policy`] decides which parts of a request may be compressed (a pure function of the
//! body, with [`spans`] keeping every value's byte range); [`engine`] compresses them
//! with the core pipeline (a request's total budget split by [`budget`]) and [`rewrite`] splices the results into the original bytes;
//! [`server`] and [`forward`] relay requests and responses byte for byte; [`config`] and
//! [`metrics`] are what their names say.

pub mod budget;
pub mod config;
pub mod engine;
pub mod forward;
pub mod metrics;
pub mod policy;
pub mod rewrite;
pub mod server;
pub mod spans;
