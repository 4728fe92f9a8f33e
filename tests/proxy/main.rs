//! The proxy: its policy and rewrite engine, and `pith serve` in front of a mock upstream
//! (bad input, faults, secrets, agent loops, socket options, the official Python SDKs).
//! One test binary (issue 17); each `proxy_*` module was a test file of its own.

#[path = "../common/prereq.rs"]
mod prereq;

#[allow(dead_code, clippy::unwrap_used)]
mod mock;
#[allow(dead_code, clippy::unwrap_used)]
#[path = "redis.rs"]
mod redis_server;
#[allow(dead_code, clippy::unwrap_used)]
mod support;

mod chat;
mod proxy_agent_loop;
mod proxy_bad_input;
mod proxy_cache;
mod proxy_engine;
mod proxy_faults;
#[cfg(target_os = "linux")]
mod proxy_nodelay;
mod proxy_policy;
mod proxy_rewrite;
mod proxy_secrets;
mod proxy_server;
mod proxy_spans;

/// What the tests here need besides the crate (see `prereq`).
const NEEDS: prereq::Needs = prereq::Needs {
    eval: "proxy_agent_loop, proxy_engine and proxy_server",
    tiktoken_cache: "",
    models: (&[], ""),
    python: (&["openai", "anthropic"], "proxy_server's SDK tests"),
};
