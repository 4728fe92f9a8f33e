//! Embeddings of texts by content hash: agent loops resend the same context, and an
//! evaluation packs the same repository for many queries, so each text is embedded once.
//!
//! Two levels: an LRU in memory, bounded by entry count, and an optional folder on disk
//! that survives the process (one small file per text, named by the SHA-256 of the model
//! name and the text, so a different model or text can never be served by mistake).
//! With the `cache` feature a third level may sit behind them: the [`SharedCache`] that
//! proxy replicas and CLI runs share, asked once per batch for what the first two miss.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use lru::LruCache;
use sha2::{Digest, Sha256};

#[cfg(feature = "cache")]
use crate::cache::Kind;
#[cfg(feature = "cache")]
pub use crate::cache::SharedCache;
pub use crate::vector::Vector;

/// Stands in for the shared cache when the `cache` feature is off.
#[cfg(not(feature = "cache"))]
#[derive(Debug)]
pub enum SharedCache {}

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
    shared: RwLock<Option<Arc<SharedCache>>>,
}

impl EmbeddingCache {
    /// A cache of at most `entries` vectors in memory, and, with `disk`, a folder.
    pub fn new(entries: usize, disk: Option<PathBuf>) -> Self {
        let cap = NonZeroUsize::new(entries.max(1)).unwrap_or(NonZeroUsize::MIN);
        Self {
            memory: Mutex::new(LruCache::new(cap)),
            disk,
            shared: RwLock::default(),
        }
    }

    /// Puts `shared` behind memory and disk (or takes it away with `None`).
    pub fn set_shared(&self, shared: Option<Arc<SharedCache>>) {
        *self.shared.write().unwrap_or_else(|e| e.into_inner()) = shared;
    }

    #[cfg(feature = "cache")]
    fn shared(&self) -> Option<Arc<SharedCache>> {
        self.shared
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// [`EmbeddingCache::get`] for many keys, with one round trip to the shared cache
    /// for all that memory and disk miss.
    pub fn get_many(&self, keys: &[Key], dim: usize) -> Vec<Option<Vector>> {
        let out: Vec<Option<Vector>> = keys.iter().map(|k| self.get(k, dim)).collect();
        self.fill_from_shared(keys, dim, out)
    }

    #[cfg(not(feature = "cache"))]
    fn fill_from_shared(
        &self,
        _: &[Key],
        _: usize,
        out: Vec<Option<Vector>>,
    ) -> Vec<Option<Vector>> {
        out
    }

    /// What memory and disk missed, from the shared cache (one round trip).
    #[cfg(feature = "cache")]
    fn fill_from_shared(
        &self,
        keys: &[Key],
        dim: usize,
        mut out: Vec<Option<Vector>>,
    ) -> Vec<Option<Vector>> {
        if let Some(shared) = self.shared() {
            let mut asked: Vec<[u8; 32]> = Vec::new();
            let mut at: std::collections::HashMap<Key, usize> = std::collections::HashMap::new();
            for (k, v) in keys.iter().zip(&out) {
                if v.is_none() && !at.contains_key(k) {
                    at.insert(*k, asked.len());
                    asked.push(k.0);
                }
            }
            let found: Vec<Option<Vector>> = shared
                .get_many(Kind::Vector, &asked)
                .into_iter()
                .map(|p| p.and_then(|p| from_bytes(&p, dim)))
                .collect();
            for (k, v) in keys.iter().zip(out.iter_mut()) {
                if v.is_none()
                    && let Some(found) = at.get(k).and_then(|&i| found[i].clone())
                {
                    self.lock().put(*k, found.clone());
                    *v = Some(found);
                }
            }
        }
        out
    }

    /// [`EmbeddingCache::put`] for many vectors, with one round trip to the shared cache.
    pub fn put_many(&self, entries: &[(Key, Vector)]) {
        for (k, v) in entries {
            self.write_disk(k, v);
            self.lock().put(*k, v.clone());
        }
        #[cfg(feature = "cache")]
        if let Some(shared) = self.shared() {
            let bytes: Vec<([u8; 32], Vec<u8>)> =
                entries.iter().map(|(k, v)| (k.0, to_bytes(v))).collect();
            let refs: Vec<([u8; 32], &[u8])> =
                bytes.iter().map(|(k, b)| (*k, b.as_slice())).collect();
            shared.put_many(Kind::Vector, &refs);
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
        from_bytes(&std::fs::read(self.path(key)?).ok()?, dim)
    }

    /// Best effort: a cache that cannot be written only costs time later. Written to a
    /// temporary name and renamed, so readers never see half a file.
    fn write_disk(&self, key: &Key, vector: &[f32]) {
        let Some(path) = self.path(key) else { return };
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let bytes = to_bytes(vector);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<Key, Vector>> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A vector as stored: its floats, little-endian.
fn to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Stored bytes of the wrong size (a partial write, another model) or with a value
/// that is not finite are no vector.
fn from_bytes(bytes: &[u8], dim: usize) -> Option<Vector> {
    if bytes.len() != dim * 4 {
        return None;
    }
    let v: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    v.iter().all(|x| x.is_finite()).then(|| v.into())
}
