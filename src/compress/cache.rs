//! Memo of segmented documents by content hash: agents resend the same context, and an
//! evaluation packs the same repository for many queries, so a document is cut and
//! counted once. Bounded in entries and in bytes (a proxy sees documents of any size):
//! when full it is emptied, which keeps it simple and the memory flat; results never
//! depend on what is cached.

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

impl Segmented {
    /// Heap bytes held, near enough to bound the cache by.
    fn bytes(&self) -> usize {
        let names: usize = self
            .chunks
            .iter()
            .filter_map(|c| c.name.as_ref().map(String::capacity))
            .sum();
        self.chunks.capacity() * std::mem::size_of::<Chunk>()
            + names
            + self.tokens.capacity() * std::mem::size_of::<usize>()
    }
}

#[derive(Debug, Default)]
pub(crate) struct ChunkCache {
    segmented: Mutex<Entries>,
    /// Token counts of whole rendered documents.
    counts: Mutex<HashMap<(u64, usize), usize>>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<(u64, usize), Arc<Segmented>>,
    /// Sum of `Segmented::bytes` over `map`.
    bytes: usize,
}

/// Most documents kept; a repository of a few thousand files fits.
const CAPACITY: usize = 8192;
/// Most bytes of chunk lists kept. A repository's worth is a few MiB.
const CAPACITY_BYTES: usize = 64 << 20;
/// A document whose chunk list is bigger than this is cut again when it comes back,
/// rather than emptying the memo for it.
const MAX_ENTRY_BYTES: usize = CAPACITY_BYTES / 4;

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
        if let Some(hit) = self.lock().map.get(&k) {
            return hit.clone();
        }
        let value = Arc::new(make());
        let size = value.bytes();
        if size > MAX_ENTRY_BYTES {
            return value;
        }
        let mut entries = self.lock();
        if entries.map.len() >= CAPACITY || entries.bytes + size > CAPACITY_BYTES {
            entries.map.clear();
            entries.bytes = 0;
        }
        if let Some(old) = entries.map.insert(k, value.clone()) {
            // Another thread cut the same document meanwhile.
            entries.bytes -= old.bytes();
        }
        entries.bytes += size;
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // No panic can happen between the updates of `map` and `bytes`, so a poisoned
        // lock still guards a consistent memo.
        self.segmented.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::ChunkKind;

    fn segmented(chunks: usize) -> Segmented {
        Segmented {
            chunks: (0..chunks)
                .map(|i| Chunk::new(i..i + 1, ChunkKind::Lines))
                .collect(),
            tokens: vec![1; chunks],
        }
    }

    /// Live bytes and entries stay within bounds whatever the documents' sizes, and the
    /// bookkeeping matches what is held.
    #[test]
    fn bounded_in_bytes_and_entries() {
        let cache = ChunkCache::default();
        let per_chunk = segmented(1).bytes();
        // Each document just under the single-entry limit: a handful fill the memo.
        let big = MAX_ENTRY_BYTES / per_chunk - 1;
        for i in 0..20 {
            let text = format!("document {i}");
            let got = cache.get_or_insert(DocKind::Prose, &text, || segmented(big));
            assert_eq!(got.chunks.len(), big);
            let entries = cache.lock();
            assert!(entries.bytes <= CAPACITY_BYTES, "{} bytes", entries.bytes);
            let held: usize = entries.map.values().map(|s| s.bytes()).sum();
            assert_eq!(entries.bytes, held);
        }
        // Too big to keep: returned, not cached, the memo untouched.
        let before = cache.lock().map.len();
        let huge = cache.get_or_insert(DocKind::Prose, "huge", || segmented(big * 2));
        assert_eq!(huge.chunks.len(), big * 2);
        assert_eq!(cache.lock().map.len(), before);
        // Many small ones: bounded by count.
        for i in 0..CAPACITY + 10 {
            cache.get_or_insert(DocKind::Prose, &format!("small {i}"), || segmented(1));
            assert!(cache.lock().map.len() <= CAPACITY);
        }
    }

    /// A cached document is served from the memo, not cut again.
    #[test]
    fn hit_does_not_recompute() {
        let cache = ChunkCache::default();
        cache.get_or_insert(DocKind::Prose, "same", || segmented(3));
        let again = cache.get_or_insert(DocKind::Prose, "same", || panic!("recomputed"));
        assert_eq!(again.chunks.len(), 3);
    }
}
