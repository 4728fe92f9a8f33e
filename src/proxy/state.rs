//! What every request handler shares ([`AppState`]), and why the proxy could not start.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::config::{Config, ConfigError};
use super::metrics::Metrics;
use super::rewriter::Rewriter;
use super::upstream;

/// The proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The upstream HTTP client cannot be built.
    #[error("building the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The listen address cannot be bound.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Serving stopped on an I/O error.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// What every request handler shares: configuration, one pooled upstream client, the
/// rewriter, the compression slots and the metrics. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(super) config: Arc<Config>,
    pub(super) client: reqwest::Client,
    pub(super) rewriter: Arc<dyn Rewriter>,
    /// `max_compressions` permits; a compression holds one until it really ends, even
    /// after its request stopped waiting for it.
    pub(super) slots: Arc<Semaphore>,
    /// `max_inflight_bytes` permits, one per byte of request body held.
    pub(super) bodies: Arc<Semaphore>,
    pub(super) metrics: Arc<Metrics>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Validates the configuration and builds the upstream client.
    pub fn new(config: Config, rewriter: Arc<dyn Rewriter>) -> Result<Self, ServeError> {
        config.validate()?;
        let client = upstream::client(&config).map_err(ServeError::Client)?;
        Ok(Self {
            slots: Arc::new(Semaphore::new(
                config.max_compressions.min(Semaphore::MAX_PERMITS),
            )),
            bodies: Arc::new(Semaphore::new(
                config.max_inflight_bytes.min(Semaphore::MAX_PERMITS),
            )),
            config: Arc::new(config),
            client,
            rewriter,
            metrics: Arc::new(Metrics::new()),
        })
    }

    /// The proxy's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The proxy's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}
