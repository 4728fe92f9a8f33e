//! The HTTP server of `pith serve`: receives a provider-style request, lets the
//! [`Rewriter`] shrink its body on the compressible routes, forwards it to the configured
//! upstream, and relays the answer byte-for-byte as it arrives.
//!
//! Everything that decides *what* to compress lives behind [`Rewriter`]; the server only
//! moves bytes, enforces limits, and reports what happened (headers, metrics, one log
//! line per request). This file is the routes and the serve loop; one request's path
//! through them is in `handler.rs`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use super::config::Config;
use super::handler;
pub use super::policy::Api;
pub use super::rewriter::{CacheStatus, Control, Identity, Rewrite, RewriteError, Rewriter};
pub use super::state::{AppState, ServeError};

/// The proxy's routes; serve it with any listener, or call it in tests without one.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .fallback(handler::proxy)
        .with_state(state)
}

/// Binds `config.listen` and serves until Ctrl-C or SIGTERM.
pub async fn serve(config: Config, rewriter: Arc<dyn Rewriter>) -> Result<(), ServeError> {
    let addr = config.listen;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    serve_on(listener, config, rewriter).await
}

/// Serves on a bound listener (port 0 in tests); prints the address it listens on.
pub async fn serve_on(
    listener: TcpListener,
    config: Config,
    rewriter: Arc<dyn Rewriter>,
) -> Result<(), ServeError> {
    let state = AppState::new(config, rewriter)?;
    let local = listener.local_addr()?;
    // The cache URL may hold a password: only its redacted form is printed.
    let shared = state
        .config
        .cache_url
        .as_ref()
        .map_or(String::new(), |url| {
            format!(", shared cache {}", crate::cache::redacted(&url.0))
        });
    eprintln!(
        "pith: listening on http://{local} (openai → {}, anthropic → {}{shared})",
        state.config.openai_upstream, state.config.anthropic_upstream
    );
    axum::serve(listener.tap_io(no_delay), app(state))
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

/// Turns Nagle's algorithm off on an accepted client connection. pith relays an answer
/// as it arrives, so the head and the body (or one SSE event and the next) often leave in
/// separate writes; with Nagle on, each write after the first waits until the client has
/// acknowledged the one before, and clients delay that ACK by up to 40 ms.
fn no_delay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        eprintln!("pith: could not set TCP_NODELAY on a client connection: {e}");
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render() + &state.rewriter.render_metrics(),
    )
        .into_response()
}
