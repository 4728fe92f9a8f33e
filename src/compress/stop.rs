//! When a long compression should give up: a deadline, a flag the caller sets, or both.
//! Checked between stages (after preparing, between refinements, before selection) and
//! while the output is fitted to the budget; a stage already running finishes first.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A deadline and/or a cancellation flag for [`crate::Compressor::compress_until`].
#[derive(Debug, Clone, Default)]
pub struct Stop {
    deadline: Option<Instant>,
    flag: Option<Arc<AtomicBool>>,
}

impl Stop {
    /// Never stops.
    pub fn never() -> Self {
        Self::default()
    }

    /// Stops at `deadline`.
    pub fn at(deadline: Instant) -> Self {
        Self {
            deadline: Some(deadline),
            flag: None,
        }
    }

    /// Stops `limit` from now.
    pub fn after(limit: Duration) -> Self {
        Self::at(Instant::now() + limit)
    }

    /// Also stops once `flag` is set (by another thread: a client hung up).
    pub fn or_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.flag = Some(flag);
        self
    }

    /// Whether the compression should stop now.
    pub fn is_stopped(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
            || self
                .flag
                .as_ref()
                .is_some_and(|f| f.load(Ordering::Relaxed))
    }

    /// `Err(Stopped)` once stopped.
    pub(crate) fn check(&self) -> Result<(), super::CompressError> {
        if self.is_stopped() {
            Err(super::CompressError::Stopped)
        } else {
            Ok(())
        }
    }
}
