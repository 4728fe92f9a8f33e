//! Compression off the async threads, within bounds: the rewriter runs on a blocking
//! thread, within `compress_timeout_ms`, holding one of `max_compressions` slots.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::HeaderMap;

use super::forward::ErrorKind;
use super::metrics::Failure;
use super::policy::Api;
use super::rewriter::{CacheStatus, Control, Rewrite, RewriteError};
use super::state::AppState;

/// Why [`run_rewriter`] produced no rewrite.
#[derive(Debug)]
pub(super) enum Failed {
    Rewriter(RewriteError),
    /// The rewriter panicked. Its message is not kept: a panic message can quote the
    /// text being worked on, and this one would reach a header, a body and the log.
    Panicked,
    /// Still running past the limit; its slot is freed when it really ends.
    TimedOut,
    /// No slot came free within the limit.
    Busy,
}

impl Failed {
    pub(super) fn metric(&self) -> Failure {
        match self {
            Failed::Rewriter(RewriteError::Invalid(_)) => Failure::Invalid,
            Failed::Rewriter(RewriteError::Failed(_)) | Failed::Panicked => Failure::Error,
            Failed::TimedOut => Failure::Timeout,
            Failed::Busy => Failure::Busy,
        }
    }

    /// The `x-pith-error` value and log text.
    pub(super) fn message(&self, limit_ms: u64) -> String {
        match self {
            Failed::Rewriter(RewriteError::Invalid(e)) => format!("request not compressed: {e}"),
            Failed::Rewriter(RewriteError::Failed(e)) => format!("compression failed: {e}"),
            Failed::Panicked => "compression failed: the compressor panicked".to_owned(),
            Failed::TimedOut => format!("compression timed out after {limit_ms} ms"),
            Failed::Busy => {
                format!("compression skipped: no free compression slot within {limit_ms} ms")
            }
        }
    }

    /// What a fail-closed proxy answers instead of forwarding.
    pub(super) fn fail_closed_kind(&self) -> ErrorKind {
        match self {
            Failed::Rewriter(RewriteError::Invalid(_)) => ErrorKind::InvalidRequest,
            Failed::Rewriter(RewriteError::Failed(_)) | Failed::Panicked => ErrorKind::Internal,
            Failed::TimedOut | Failed::Busy => ErrorKind::Overloaded,
        }
    }
}

/// Runs the rewriter on a blocking thread, within `compress_timeout_ms` counted from the
/// call (waiting for a slot included). A blocking task cannot be stopped, so one that
/// times out keeps its slot until it ends: `max_compressions` bounds the CPU work in
/// flight however many requests gave up on theirs.
pub(super) async fn run_rewriter(
    state: &AppState,
    api: Api,
    control: Control,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Option<Rewrite>, Option<CacheStatus>), Failed> {
    let deadline = tokio::time::Instant::now() + state.config.compress_timeout();
    let slot =
        match tokio::time::timeout_at(deadline, Arc::clone(&state.slots).acquire_owned()).await {
            Ok(Ok(slot)) => slot,
            // Elapsed, or the semaphore closed (it never is): no slot either way.
            _ => return Err(Failed::Busy),
        };
    let rewriter = Arc::clone(&state.rewriter);
    let (headers, body) = (headers.clone(), body.clone());
    let task = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        rewriter.rewrite_traced(api, &control, &headers, &body)
    });
    match tokio::time::timeout_at(deadline, task).await {
        Err(_) => Err(Failed::TimedOut),
        Ok(Err(_)) => Err(Failed::Panicked),
        Ok(Ok(result)) => result.map_err(Failed::Rewriter),
    }
}
