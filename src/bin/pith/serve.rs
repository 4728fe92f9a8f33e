//! `pith serve`: the configuration from a file, flags and environment variables, then the
//! proxy on its own runtime.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;

use crate::common::usage;

/// Flags override environment variables, which override the --config file.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// TOML configuration file (keys: listen, openai_upstream, anthropic_upstream,
    /// fail_closed, proxy_key, max_body, max_inflight_bytes, log_bodies,
    /// connect_timeout_secs, timeout_secs, compress_timeout_ms, max_compressions, ratio,
    /// min_chars, exact_tools, encoding, prose_preset, code_preset, neural_within_ms,
    /// prune_model, cache_url, cache_timeout_ms, cache_ttl_secs).
    #[arg(long, env = "PITH_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8787].
    #[arg(long, env = "PITH_LISTEN")]
    listen: Option<std::net::SocketAddr>,
    /// Base URL of the OpenAI-style upstream.
    #[arg(long, env = "PITH_OPENAI_UPSTREAM")]
    openai_upstream: Option<String>,
    /// Base URL of the Anthropic-style upstream.
    #[arg(long, env = "PITH_ANTHROPIC_UPSTREAM")]
    anthropic_upstream: Option<String>,
    /// Answer with an error when compression fails instead of forwarding the original.
    #[arg(long)]
    fail_closed: bool,
    /// Require clients to send this key in x-pith-key.
    #[arg(long, env = "PITH_PROXY_KEY", hide_env_values = true)]
    proxy_key: Option<String>,
    /// Largest request body accepted, in bytes [default: 100 MB].
    #[arg(long, value_name = "BYTES")]
    max_body: Option<usize>,
    /// Request body bytes held at once over all requests; past it a request gets 503
    /// [default: 1 GiB].
    #[arg(long, value_name = "BYTES", env = "PITH_MAX_INFLIGHT_BYTES")]
    max_inflight_bytes: Option<usize>,
    /// Time a request may spend on compression before the original is forwarded
    /// [default: 10000].
    #[arg(long, value_name = "MS", env = "PITH_COMPRESS_TIMEOUT_MS")]
    compress_timeout_ms: Option<u64>,
    /// Compressions running at once [default: the number of CPUs].
    #[arg(long, value_name = "N", env = "PITH_MAX_COMPRESSIONS")]
    max_compressions: Option<usize>,
    /// Log request bodies (they may contain secrets and personal data).
    #[arg(long)]
    log_bodies: bool,
    /// Preset for prose and JSON blocks, e.g. rag [default: auto: rag-neural when the
    /// embedder is installed and the block embeds within --neural-within-ms, else rag].
    #[arg(long, env = "PITH_PROSE_PRESET")]
    prose_preset: Option<String>,
    /// Preset for code blocks, e.g. code [default: auto: code-neural or code, as for prose].
    #[arg(long, env = "PITH_CODE_PRESET")]
    code_preset: Option<String>,
    /// With the preset auto: time embedding one block may be expected to take for the
    /// neural preset to run on it [default: 500].
    #[arg(long, value_name = "MS", env = "PITH_NEURAL_WITHIN_MS")]
    neural_within_ms: Option<u64>,
    /// LLMLingua-2 token classifier (folder with model.onnx and tokenizer.json): prunes
    /// words inside the prose that coarse selection keeps.
    #[arg(long, value_name = "DIR", env = "PITH_PRUNE_MODEL")]
    prune_model: Option<PathBuf>,
    /// Redis (or Valkey) server that replicas share compressed blocks and embedding
    /// vectors through, e.g. redis://:PASSWORD@HOST:6379/0.
    #[arg(
        long,
        value_name = "URL",
        env = "PITH_CACHE_URL",
        hide_env_values = true
    )]
    cache_url: Option<String>,
    /// Time one shared-cache call may take before the work is done locally [default: 20].
    #[arg(long, value_name = "MS", env = "PITH_CACHE_TIMEOUT_MS")]
    cache_timeout_ms: Option<u64>,
    /// Seconds a shared-cache entry lives [default: 604800, a week].
    #[arg(long, value_name = "SECS", env = "PITH_CACHE_TTL_SECS")]
    cache_ttl_secs: Option<u64>,
}

pub fn run(args: ServeArgs) -> Result<()> {
    use pith::proxy::config::Config;
    let mut config = match &args.config {
        Some(path) => Config::from_file(path).map_err(|e| usage(e.to_string()))?,
        None => Config::default(),
    };
    // Flags and environment variables (clap reads both) override the file.
    macro_rules! set {
        ($($field:ident),* ; wrapped in Some: $($optional:ident),*) => {
            $(if let Some(v) = args.$field { config.$field = v; })*
            $(if let Some(v) = args.$optional { config.$optional = Some(v); })*
        };
    }
    set!(
        listen, openai_upstream, anthropic_upstream, prose_preset, code_preset, max_body,
        max_inflight_bytes, compress_timeout_ms, max_compressions, cache_timeout_ms,
        cache_ttl_secs, neural_within_ms;
        wrapped in Some: proxy_key, prune_model
    );
    if let Some(url) = args.cache_url {
        config.cache_url = Some(pith::proxy::config::CacheUrl(url));
    }
    config.fail_closed |= args.fail_closed;
    config.log_bodies |= args.log_bodies;
    config.validate().map_err(|e| usage(e.to_string()))?;
    // A panic message can quote the request being compressed: log where, not what.
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| l.to_string()).unwrap_or_default();
        eprintln!(
            "pith: internal error (a bug) at {at}; its message is withheld: it may quote a request"
        );
    }));
    raise_open_files_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let engine = Arc::new(config.engine());
    let served = runtime.block_on(pith::proxy::server::serve(config, engine));
    // Compressions that outlived their requests must not hold up the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served?;
    Ok(())
}

/// Every stream through the proxy holds two sockets (client and upstream), so the common
/// default soft limit of 1024 open files caps it near 500 concurrent streams, after which
/// upstream connections fail. The hard limit is the one the administrator set: raise the
/// soft limit to it (capped), as every Go program has done since Go 1.19. Best effort.
fn raise_open_files_limit() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        let want = limit.maximum.map_or(1 << 16, |hard| hard.min(1 << 20));
        if limit.current.is_some_and(|soft| soft < want) {
            let _ = setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(want),
                    maximum: limit.maximum,
                },
            );
        }
    }
}
