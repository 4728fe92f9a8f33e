//! Memo of segmented documents by content hash: agents resend the same context, and an
//! evaluation packs the same repository for many queries, so a document is cut and
//! counted once. Bounded: when full it is emptied, which keeps it simple and the memory
//! flat; results never depend on what is cached.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use crate::document::DocKind;
use crate::segment::Chunk;

/// A document's chunks and the tokens of each.
#[derive(Debug)]
pub(crate) struct Segmented {
    pub chunks: Vec<Chunk>,
    pub tokens: Vec<usize>,
}

#[derive(Debug, Default)]
pub(crate) struct ChunkCache {
    map: Mutex<HashMap<(u64, usize), Arc<Segmented>>>,
    /// Token counts of whole rendered documents.
    counts: Mutex<HashMap<(u64, usize), usize>>,
}

/// Most documents kept; a repository of a few thousand files fits.
const CAPACITY: usize = 8192;

fn key(kind: Option<DocKind>, text: &str) -> (u64, usize) {
    // SipHash with fixed keys: the same text gives the same key in every run.
    let mut h = std::hash::DefaultHasher::new();
    format!("{kind:?}").hash(&mut h);
    text.hash(&mut h);
    (h.finish(), text.len())
}

impl ChunkCache {
    pub fn get_or_insert(
        &self,
        kind: DocKind,
        text: &str,
        make: impl FnOnce() -> Segmented,
    ) -> Arc<Segmented> {
        let k = key(Some(kind), text);
        if let Some(hit) = self.lock().get(&k) {
            return hit.clone();
        }
        let value = Arc::new(make());
        let mut map = self.lock();
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(k, value.clone());
        value
    }

    /// The token count of `text`, counted once.
    pub fn count(&self, text: &str, count: impl FnOnce() -> usize) -> usize {
        let k = key(None, text);
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&n) = counts.get(&k) {
            return n;
        }
        drop(counts);
        let n = count();
        counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= CAPACITY {
            counts.clear();
        }
        counts.insert(k, n);
        n
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(u64, usize), Arc<Segmented>>> {
        // A panic while holding the lock leaves a map that is still consistent.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}
