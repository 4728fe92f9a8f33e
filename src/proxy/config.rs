//! What `pith serve` is told: where to listen, which upstreams to forward to, and the
//! limits. Read from a TOML file, then overridden by flags or environment variables (the
//! CLI merges those in); the upstreams come only from here, never from a request.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::cache::{CacheError, CacheOptions, SharedCache};

/// Configuration of the proxy. Every field has a default, so an empty file is valid.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Base URL of the OpenAI-style upstream (scheme, host, optional path prefix).
    pub openai_upstream: String,
    /// Base URL of the Anthropic-style upstream.
    pub anthropic_upstream: String,
    /// When compression was due but did not happen, answer with an error instead of
    /// forwarding the original: 400 for an unreadable body, 503 for a timeout or no free
    /// slot, 500 for a compressor failure.
    pub fail_closed: bool,
    /// When set, clients must send this value in `x-pith-key`.
    pub proxy_key: Option<String>,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub max_body: usize,
    /// Request body bytes held at once over all requests; a request that would go past
    /// it gets 503 (retryable), so concurrent large bodies cannot exhaust memory.
    pub max_inflight_bytes: usize,
    /// Log request bodies (they may hold secrets and personal data: off by default).
    pub log_bodies: bool,
    /// Seconds to wait for a connection to an upstream.
    pub connect_timeout_secs: u64,
    /// Seconds an upstream exchange may take in total, streaming included.
    pub timeout_secs: u64,
    /// Milliseconds a request may spend waiting for and running compression; past it the
    /// original is forwarded (or, fail-closed, a 503 answered).
    pub compress_timeout_ms: u64,
    /// Compressions running at once. A timed-out compression keeps its CPU until it
    /// finishes, so this, not the timeout, is what bounds the work in flight.
    pub max_compressions: usize,
    /// Each compressible block is cut to its tokens divided by this, unless a request
    /// sets `x-pith-ratio` or `x-pith-budget`.
    pub ratio: f64,
    /// Blocks with fewer characters are left alone.
    pub min_chars: usize,
    /// Tools whose output stays exact (an edit tool matches it later).
    pub exact_tools: Vec<String>,
    /// Token encoding that budgets and savings are counted in.
    pub encoding: crate::Encoding,
    /// Preset for prose and JSON blocks (a request's `x-pith-preset` overrides it).
    /// `auto`: `rag-neural` for a prose block when the embedder is installed and the
    /// block is expected to embed within `neural_within_ms`, else `rag`.
    pub prose_preset: String,
    /// Preset for code blocks; `auto`: `code-neural` or `code`, as for prose.
    pub code_preset: String,
    /// With `auto`: milliseconds embedding one block may be expected to take for the
    /// neural preset to run on it.
    pub neural_within_ms: u64,
    /// An LLMLingua-2 token classifier (a folder with model.onnx and tokenizer.json):
    /// words inside kept prose are pruned after coarse selection.
    pub prune_model: Option<std::path::PathBuf>,
    /// A Redis (or Valkey) server that replicas share compressed blocks and embedding
    /// vectors through, e.g. `redis://:password@cache:6379/0`; none: each keeps its own.
    pub cache_url: Option<CacheUrl>,
    /// Milliseconds one shared-cache call may take before the work is done locally.
    pub cache_timeout_ms: u64,
    /// Seconds a shared-cache entry lives.
    pub cache_ttl_secs: u64,
}

/// A URL that may hold a password: read like a string, never printed.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct CacheUrl(pub String);

impl std::fmt::Debug for CacheUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", crate::cache::redacted(&self.0))
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            openai_upstream: "https://api.openai.com".into(),
            anthropic_upstream: "https://api.anthropic.com".into(),
            fail_closed: false,
            proxy_key: None,
            max_body: 100 * 1024 * 1024,
            max_inflight_bytes: 1024 * 1024 * 1024,
            log_bodies: false,
            connect_timeout_secs: 10,
            timeout_secs: 600,
            compress_timeout_ms: 10_000,
            max_compressions: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ratio: 2.0,
            min_chars: 2000,
            exact_tools: super::policy::DEFAULT_EXACT_TOOLS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            encoding: crate::Encoding::default(),
            prose_preset: crate::auto::AUTO.into(),
            code_preset: crate::auto::AUTO.into(),
            neural_within_ms: 500,
            prune_model: None,
            cache_url: None,
            cache_timeout_ms: CacheOptions::DEFAULT_TIMEOUT.as_millis() as u64,
            cache_ttl_secs: CacheOptions::DEFAULT_TTL.as_secs(),
        }
    }
}

/// The configuration could not be read or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The default ratio is below 1.
    #[error("ratio must be at least 1 (got {0})")]
    Ratio(f64),
    /// The config file cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The read error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for [`Config`].
    #[error("parsing {path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// The parse error.
        source: Box<toml::de::Error>,
    },
    /// An upstream base URL is not a plain http(s) URL.
    #[error("{name} must be an http:// or https:// URL without query or fragment (got {value:?})")]
    Upstream {
        /// The setting (`openai_upstream`, …).
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// A setting that must be positive is zero.
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    /// The in-flight byte limit cannot hold even one largest body.
    #[error("max_inflight_bytes ({inflight}) must be at least max_body ({body})")]
    Inflight {
        /// `max_inflight_bytes`.
        inflight: usize,
        /// `max_body`.
        body: usize,
    },
    /// A preset setting names no preset.
    #[error("{key}: {source}")]
    Preset {
        /// The setting.
        key: &'static str,
        /// Why the preset cannot be had.
        source: crate::preset::PresetError,
    },
    /// `cache_url` is not a Redis URL pith can use.
    #[error("cache_url: {0}")]
    Cache(#[from] CacheError),
    /// A preset's models cannot be loaded.
    #[error("{key}: {source}")]
    Model {
        /// The setting.
        key: &'static str,
        /// Each model that failed.
        source: crate::compress::BuildError,
    },
}

impl Config {
    /// Reads a TOML file; missing keys keep their defaults.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source: Box::new(source),
        })
    }

    /// Parses TOML text; missing keys keep their defaults.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Checks what serde cannot: upstream URLs and non-zero limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_upstream("openai_upstream", &self.openai_upstream)?;
        check_upstream("anthropic_upstream", &self.anthropic_upstream)?;
        if self.max_body == 0 {
            return Err(ConfigError::Zero("max_body"));
        }
        if self.max_inflight_bytes < self.max_body {
            return Err(ConfigError::Inflight {
                inflight: self.max_inflight_bytes,
                body: self.max_body,
            });
        }
        if self.connect_timeout_secs == 0 {
            return Err(ConfigError::Zero("connect_timeout_secs"));
        }
        if self.timeout_secs == 0 {
            return Err(ConfigError::Zero("timeout_secs"));
        }
        if self.compress_timeout_ms == 0 {
            return Err(ConfigError::Zero("compress_timeout_ms"));
        }
        if self.max_compressions == 0 {
            return Err(ConfigError::Zero("max_compressions"));
        }
        if !(self.ratio >= 1.0 && self.ratio.is_finite()) {
            return Err(ConfigError::Ratio(self.ratio));
        }
        if let Some(options) = self.cache_options() {
            SharedCache::open(&options)?;
        }
        // A preset that needs a model is checked now, so that a missing model stops the
        // server at start with the command that installs it, not every request later.
        for (key, name) in [
            ("prose_preset", &self.prose_preset),
            ("code_preset", &self.code_preset),
        ] {
            // `auto` falls back to the lexical preset when a model is missing.
            if name == crate::auto::AUTO {
                continue;
            }
            let mut preset = crate::Preset::resolve(name)
                .map_err(|source| ConfigError::Preset { key, source })?;
            let key = match &self.prune_model {
                Some(model) => {
                    preset = preset.with_prune_model(model.clone());
                    "prune_model"
                }
                None => key,
            };
            if preset.needs_embedder() || preset.prune.is_some() || preset.lm.is_some() {
                crate::Compressor::builder()
                    .preset(preset)
                    .models(crate::models::ModelStore::discover())
                    .try_build()
                    .map_err(|source| ConfigError::Model { key, source })?;
            }
        }
        Ok(())
    }

    /// The compression engine this configuration asks for.
    pub fn engine(&self) -> super::engine::Engine {
        let config = super::engine::EngineConfig {
            policy: super::policy::PolicyOptions {
                min_chars: self.min_chars,
                exact_tools: self.exact_tools.clone(),
                compress_marked: true,
            },
            default_ratio: self.ratio,
            prose_preset: self.prose_preset.clone(),
            code_preset: self.code_preset.clone(),
            prune_model: self.prune_model.clone(),
            shared: self.shared_cache(),
            neural_within: Duration::from_millis(self.neural_within_ms),
            ..Default::default()
        };
        super::engine::Engine::new(
            config,
            std::sync::Arc::new(crate::Tiktoken::new(self.encoding)),
        )
    }

    /// How to reach the shared cache, if one is configured.
    pub fn cache_options(&self) -> Option<CacheOptions> {
        self.cache_url.as_ref().map(|url| CacheOptions {
            url: url.0.clone(),
            timeout: Duration::from_millis(self.cache_timeout_ms),
            ttl: Duration::from_secs(self.cache_ttl_secs),
        })
    }

    /// The shared cache, also put behind this process's embedders. `None` without a
    /// `cache_url` (or with an invalid one, which [`Config::validate`] reports).
    pub fn shared_cache(&self) -> Option<std::sync::Arc<SharedCache>> {
        let cache = std::sync::Arc::new(SharedCache::open(&self.cache_options()?).ok()?);
        #[cfg(feature = "neural")]
        crate::neural::shared::use_shared_cache(Some(cache.clone()));
        Some(cache)
    }

    /// `connect_timeout_secs` as a duration.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }

    /// `timeout_secs` as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// `compress_timeout_ms` as a duration.
    pub fn compress_timeout(&self) -> Duration {
        Duration::from_millis(self.compress_timeout_ms)
    }
}

/// An upstream base must be a plain http(s) URL: the request's path and query are
/// appended to it, so a query or fragment of its own would corrupt every request.
fn check_upstream(name: &'static str, value: &str) -> Result<(), ConfigError> {
    let bad = || ConfigError::Upstream {
        name,
        value: value.to_owned(),
    };
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || value.contains(['?', '#', ' ']) {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default() {
        assert_eq!(Config::from_toml("").ok(), Some(Config::default()));
    }

    #[test]
    fn keys_override_defaults_and_unknown_keys_are_rejected() {
        let c = Config::from_toml(
            "listen = \"0.0.0.0:9000\"\nopenai_upstream = \"http://localhost:1/x\"\nmax_body = 5\n",
        )
        .expect("valid");
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.openai_upstream, "http://localhost:1/x");
        assert_eq!(c.max_body, 5);
        assert!(c.validate().is_ok());
        assert!(Config::from_toml("upstream = \"http://x\"").is_err());
    }

    #[test]
    fn upstreams_must_be_plain_http_urls() {
        for bad in [
            "ftp://x",
            "http://",
            "http://x/?a=1",
            "x.com",
            "https://x#f",
        ] {
            let c = Config {
                anthropic_upstream: bad.into(),
                ..Config::default()
            };
            assert!(c.validate().is_err(), "{bad} accepted");
        }
        let zero = Config {
            max_body: 0,
            ..Config::default()
        };
        assert!(zero.validate().is_err());
        // A body the in-flight limit could never admit is a configuration error.
        let c = Config::from_toml(
            "max_body = 2000
max_inflight_bytes = 1999
",
        )
        .expect("parses");
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Inflight {
                inflight: 1999,
                body: 2000
            })
        ));
        let c = Config::from_toml(
            "max_body = 2000
max_inflight_bytes = 2000
",
        )
        .expect("parses");
        assert!(c.validate().is_ok());
    }

    #[test]
    fn compression_limits_are_read_and_must_be_positive() {
        let c =
            Config::from_toml("compress_timeout_ms = 250\nmax_compressions = 3\n").expect("valid");
        assert_eq!(c.compress_timeout(), Duration::from_millis(250));
        assert_eq!(c.max_compressions, 3);
        assert!(c.validate().is_ok());
        assert!(Config::default().max_compressions >= 1);
        for text in ["compress_timeout_ms = 0", "max_compressions = 0"] {
            let c = Config::from_toml(text).expect("parses");
            assert!(c.validate().is_err(), "{text} accepted");
        }
    }
}
