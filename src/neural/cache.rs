//! Embeddings of texts by content hash: agent loops resend the same context, and an
//! evaluation packs the same repository for many queries, so each text is embedded once.
//!
//! Two levels: an LRU in memory, bounded by entry count, and an optional folder on disk
//! that survives the process (one small file per text, named by the SHA-256 of the model
//! name and the text, so a different model or text can never be served by mistake).

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Mutex;

use lru::LruCache;
use sha2::{Digest, Sha256};

pub use crate::vector::Vector;

/// The content key of a text under one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key([u8; 32]);

impl Key {
    /// sha256 of the model's name and the text.
    pub fn new(model: &str, text: &str) -> Self {
        let mut h = Sha256::new();
        h.update(model.as_bytes());
        h.update([0u8]);
        h.update(text.as_bytes());
        Self(h.finalize().into())
    }

    fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Embeddings by content key: an LRU in memory and, optionally, a folder that keeps them
/// across runs.
#[derive(Debug)]
pub struct EmbeddingCache {
    memory: Mutex<LruCache<Key, Vector>>,
    disk: Option<PathBuf>,
}

impl EmbeddingCache {
    /// A cache of at most `entries` vectors in memory, and, with `disk`, a folder.
    pub fn new(entries: usize, disk: Option<PathBuf>) -> Self {
        let cap = NonZeroUsize::new(entries.max(1)).unwrap_or(NonZeroUsize::MIN);
        Self {
            memory: Mutex::new(LruCache::new(cap)),
            disk,
        }
    }

    /// The vector for `key`, from memory or else the folder (a file not of `dim`
    /// values counts as absent).
    pub fn get(&self, key: &Key, dim: usize) -> Option<Vector> {
        if let Some(v) = self.lock().get(key) {
            return Some(v.clone());
        }
        let v = self.read_disk(key, dim)?;
        self.lock().put(*key, v.clone());
        Some(v)
    }

    /// Stores a vector in memory and in the folder.
    pub fn put(&self, key: Key, vector: Vector) {
        self.write_disk(&key, &vector);
        self.lock().put(key, vector);
    }

    /// Vectors held in memory.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no vector is held in memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn path(&self, key: &Key) -> Option<PathBuf> {
        let hex = key.hex();
        Some(
            self.disk
                .as_ref()?
                .join(&hex[..2])
                .join(format!("{hex}.f32")),
        )
    }

    /// A file of the wrong size (a partial write, another model) is a miss.
    fn read_disk(&self, key: &Key, dim: usize) -> Option<Vector> {
        let bytes = std::fs::read(self.path(key)?).ok()?;
        if bytes.len() != dim * 4 {
            return None;
        }
        let v: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        v.iter().all(|x| x.is_finite()).then(|| v.into())
    }

    /// Best effort: a cache that cannot be written only costs time later. Written to a
    /// temporary name and renamed, so readers never see half a file.
    fn write_disk(&self, key: &Key, vector: &[f32]) {
        let Some(path) = self.path(key) else { return };
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<Key, Vector>> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }
}
