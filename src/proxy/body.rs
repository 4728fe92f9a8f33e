//! Taking in a request body within the limits: its own size, and the body bytes all
//! requests hold at once; what is left of a refused body is drained so that the client
//! reads the answer instead of a reset.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::forward::ErrorKind;

/// Most bytes read and dropped from a refused body, and for how long: a client still
/// sending when the connection closes would see it reset instead of the answer.
const DRAIN_BYTES: usize = 16 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Reads the whole body, refusing more than `limit` bytes (early when Content-Length
/// already says so) with `TooLarge`, and more than `bodies` has permits for (the bytes
/// all requests hold at once) with `Overloaded`; what is left of a refused body is
/// drained. The permit returned holds one permit per byte read.
pub(super) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    bodies: &Arc<Semaphore>,
) -> Result<(Bytes, Option<OwnedSemaphorePermit>), ErrorKind> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut stream = body.into_data_stream();
    let mut held = None;
    let refused = match declared {
        Some(n) if n > limit as u64 => Some(ErrorKind::TooLarge),
        // Reserved before reading, so a client told "retry" has not sent the body yet.
        Some(n) if !reserve(bodies, &mut held, n as usize) => Some(ErrorKind::Overloaded),
        _ => None,
    };
    if let Some(kind) = refused {
        // A client waiting for `100 Continue` has sent nothing yet: let it not send.
        if !expects_continue(headers) {
            drain(stream).await;
        }
        return Err(kind);
    }
    // Capacity from the declared length, but not a promise of memory to a client that
    // has sent nothing yet.
    let mut out = bytes::BytesMut::with_capacity(declared.map_or(0, |n| n.min(8 << 20) as usize));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ErrorKind::InvalidRequest)?;
        let len = out.len() + chunk.len();
        let refused = if len > limit {
            Some(ErrorKind::TooLarge)
        } else if !reserve(bodies, &mut held, len) {
            Some(ErrorKind::Overloaded)
        } else {
            None
        };
        if let Some(kind) = refused {
            // Release what this body held before waiting on the rest of it.
            drop(held);
            drop(out);
            drain(stream).await;
            return Err(kind);
        }
        out.extend_from_slice(&chunk);
    }
    Ok((out.freeze(), held))
}

/// Grows `held` to `total` permits without waiting; false when `bodies` has too few.
fn reserve(bodies: &Arc<Semaphore>, held: &mut Option<OwnedSemaphorePermit>, total: usize) -> bool {
    loop {
        let have = held.as_ref().map_or(0, OwnedSemaphorePermit::num_permits);
        let Some(more) = total.checked_sub(have).filter(|&m| m > 0) else {
            return true;
        };
        // Permits are taken at most u32::MAX at a time.
        let step = u32::try_from(more).unwrap_or(u32::MAX);
        let Ok(permit) = bodies.clone().try_acquire_many_owned(step) else {
            return false;
        };
        match held {
            Some(h) => h.merge(permit),
            None => *held = Some(permit),
        }
    }
}

/// Whether the client waits for `100 Continue` before sending its body.
pub(super) fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Reads and drops up to [`DRAIN_BYTES`] for up to [`DRAIN_TIME`].
pub(super) async fn drain(mut stream: axum::body::BodyDataStream) {
    let mut left = DRAIN_BYTES;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(chunk)) = stream.next().await {
            match left.checked_sub(chunk.len()) {
                Some(l) => left = l,
                None => break,
            }
        }
    })
    .await;
}
