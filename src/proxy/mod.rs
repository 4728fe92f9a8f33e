//! `pith serve`: a proxy in front of OpenAI- and Anthropic-style APIs that compresses
//! what it may in request bodies and relays everything else byte-for-byte.

pub mod config;
pub mod forward;
pub mod metrics;
pub mod server;
