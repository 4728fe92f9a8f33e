//! A cache shared by processes: proxy replicas behind a load balancer, and CLI runs of a
//! CI job and a developer, keep compressed blocks and embedding vectors in one Redis (or a
//! protocol-compatible server such as Valkey), so what one computed the others read.
//!
//! It is an accelerator, never a dependency: every call has a short deadline, and a slow,
//! full or absent server means the caller computes locally (the failure is counted, and
//! logged at most every few seconds without the URL's secrets). Values are sealed with a
//! checksum and the pith version that wrote them ([`envelope`]); anything else under a
//! key is ignored. Keys are `pith:<version>:<kind>:<hex of SHA-256>`; entries expire after
//! the configured time, and the server's `maxmemory` policy bounds the total.

pub mod envelope;
mod pool;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};

use envelope::Reject;
use pool::Pool;

pub use pool::{BACKOFF, LOG_EVERY};

/// The pith version that keys and seals every value.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How to reach the server and how long to wait for it.
#[derive(Clone, PartialEq, Eq)]
pub struct CacheOptions {
    /// `redis://[:password@]host[:port][/db]` (or `rediss://` is refused: no TLS is built
    /// in; use a local TLS tunnel).
    pub url: String,
    /// Most time one call may take (connecting included) before the caller goes on
    /// without it.
    pub timeout: Duration,
    /// How long an entry lives.
    pub ttl: Duration,
}

impl CacheOptions {
    /// Deadline of each call to the server: a slow one means local work, not a slow request.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(20);
    /// How long an entry lives: a week.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

    /// `url` with the default deadline and lifetime.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            timeout: Self::DEFAULT_TIMEOUT,
            ttl: Self::DEFAULT_TTL,
        }
    }
}

/// The URL may carry a password: it is never printed.
impl std::fmt::Debug for CacheOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheOptions")
            .field("url", &redacted(&self.url))
            .field("timeout", &self.timeout)
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// `url` without what sits between `//` and `@` (user and password).
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// The shared cache could not be set up. Only its options can be wrong: an unreachable
/// server is not an error (calls fall back to local work until it is back).
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The message never quotes the URL (it may hold a password).
    #[error("cache URL: {0}")]
    Url(String),
    /// A timeout or TTL of zero.
    #[error("cache timeout and ttl must be greater than zero")]
    Zero,
}

/// What is stored: the two kinds never share a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A compressed block of the proxy.
    Block,
    /// An embedding vector.
    Vector,
}

impl Kind {
    const ALL: [Kind; 2] = [Kind::Block, Kind::Vector];

    /// Its name in `/metrics` labels.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Block => "block",
            Kind::Vector => "vector",
        }
    }

    fn tag(self) -> char {
        match self {
            Kind::Block => 'b',
            Kind::Vector => 'v',
        }
    }
}

/// Counters of one kind.
#[derive(Debug, Default)]
struct KindCounters {
    hits: AtomicU64,
    misses: AtomicU64,
    rejected: AtomicU64,
    writes: AtomicU64,
}

/// A snapshot of the counters, for `/metrics` and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindStats {
    /// Keys found with a valid value.
    pub hits: u64,
    /// Keys asked for and not found (lookups that failed are not counted here).
    pub misses: u64,
    /// Values found but ignored: corrupt, or written by another pith version.
    pub rejected: u64,
    /// Values sent to the server.
    pub writes: u64,
}

/// The cache. Calls block for at most the deadline; call them from blocking threads.
#[derive(Debug)]
pub struct SharedCache {
    pool: Pool,
    ttl_secs: u64,
    kinds: [KindCounters; 2],
}

impl SharedCache {
    /// Checks the options; connects on first use.
    pub fn open(options: &CacheOptions) -> Result<Self, CacheError> {
        if options.timeout.is_zero() || options.ttl.as_secs() == 0 {
            return Err(CacheError::Zero);
        }
        if !(options.url.starts_with("redis://") || options.url.starts_with("unix://")) {
            return Err(CacheError::Url(
                "must start with redis:// or unix:// (no TLS is built in)".into(),
            ));
        }
        // The client's own message may quote the URL: say only what kind of error it is.
        let client = redis::Client::open(options.url.as_str())
            .map_err(|e| CacheError::Url(format!("not a valid Redis URL ({:?})", e.kind())))?;
        Ok(Self {
            pool: Pool::new(client, options.timeout),
            ttl_secs: options.ttl.as_secs(),
            kinds: Default::default(),
        })
    }

    /// `host:port` of the server, safe to log.
    pub fn address(&self) -> &str {
        self.pool.address()
    }

    /// The server key of a digest.
    pub fn key(kind: Kind, digest: &[u8; 32]) -> String {
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("pith:{VERSION}:{}:{hex}", kind.tag())
    }

    /// The payloads stored under `digests`, in order, in one round trip. `None` for a key
    /// not found, a value that is not valid, and every key when the call failed.
    pub fn get_many(&self, kind: Kind, digests: &[[u8; 32]]) -> Vec<Option<Vec<u8>>> {
        if digests.is_empty() {
            return Vec::new();
        }
        let keys: Vec<String> = digests.iter().map(|d| Self::key(kind, d)).collect();
        let values: Option<Vec<Option<Vec<u8>>>> = self
            .pool
            .run(|con| redis::cmd("MGET").arg(&keys).query(con))
            .filter(|v: &Vec<_>| v.len() == keys.len());
        let Some(values) = values else {
            return vec![None; digests.len()];
        };
        let c = &self.kinds[kind as usize];
        keys.iter()
            .zip(values)
            .map(|(key, value)| {
                let Some(value) = value else {
                    c.misses.fetch_add(1, Ordering::Relaxed);
                    return None;
                };
                match envelope::open(key, VERSION, &value) {
                    Ok(payload) => {
                        c.hits.fetch_add(1, Ordering::Relaxed);
                        Some(payload.to_vec())
                    }
                    Err(Reject::Corrupt | Reject::Foreign) => {
                        c.rejected.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                }
            })
            .collect()
    }

    /// One payload; see [`SharedCache::get_many`].
    pub fn get(&self, kind: Kind, digest: &[u8; 32]) -> Option<Vec<u8>> {
        self.get_many(kind, std::slice::from_ref(digest)).pop()?
    }

    /// Stores payloads in one round trip, each to expire after the ttl. Best effort: a
    /// failed write only means someone computes it again.
    pub fn put_many(&self, kind: Kind, entries: &[([u8; 32], &[u8])]) {
        if entries.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for (digest, payload) in entries {
            let key = Self::key(kind, digest);
            let value = envelope::seal(&key, VERSION, payload);
            pipe.cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("EX")
                .arg(self.ttl_secs)
                .ignore();
        }
        if self.pool.run(|con| pipe.query::<()>(con)).is_some() {
            self.kinds[kind as usize]
                .writes
                .fetch_add(entries.len() as u64, Ordering::Relaxed);
        }
    }

    /// One payload; see [`SharedCache::put_many`].
    pub fn put(&self, kind: Kind, digest: &[u8; 32], payload: &[u8]) {
        self.put_many(kind, &[(*digest, payload)]);
    }

    /// The counters of one kind so far.
    pub fn stats(&self, kind: Kind) -> KindStats {
        let c = &self.kinds[kind as usize];
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        KindStats {
            hits: load(&c.hits),
            misses: load(&c.misses),
            rejected: load(&c.rejected),
            writes: load(&c.writes),
        }
    }

    /// Calls that failed: timeouts, connection failures, errors from the server.
    pub fn errors(&self) -> u64 {
        self.pool.errors.load(Ordering::Relaxed)
    }

    /// Calls not tried because the server failed within the last [`BACKOFF`].
    pub fn skipped(&self) -> u64 {
        self.pool.skipped.load(Ordering::Relaxed)
    }

    /// The counters in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let name = "pith_shared_cache_lookups_total";
        let _ = writeln!(
            out,
            "# HELP {name} Keys looked up in the shared cache, by kind and result (rejected: corrupt or another version's).\n# TYPE {name} counter"
        );
        for kind in Kind::ALL {
            let s = self.stats(kind);
            for (result, n) in [
                ("hit", s.hits),
                ("miss", s.misses),
                ("rejected", s.rejected),
            ] {
                let _ = writeln!(
                    out,
                    "{name}{{kind=\"{}\",result=\"{result}\"}} {n}",
                    kind.label()
                );
            }
        }
        let name = "pith_shared_cache_writes_total";
        let _ = writeln!(
            out,
            "# HELP {name} Values written to the shared cache.\n# TYPE {name} counter"
        );
        for kind in Kind::ALL {
            let _ = writeln!(
                out,
                "{name}{{kind=\"{}\"}} {}",
                kind.label(),
                self.stats(kind).writes
            );
        }
        for (name, help, value) in [
            (
                "pith_shared_cache_errors_total",
                "Shared-cache calls that failed (timeout, unreachable, server error); the work was done locally.",
                self.errors(),
            ),
            (
                "pith_shared_cache_skipped_total",
                "Shared-cache calls not tried while the server was backed off after a failure.",
                self.skipped(),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        out
    }
}

/// SHA-256 over `parts`, each length-prefixed so that no two lists of parts collide.
pub fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_and_checked_without_quoting_them() {
        assert_eq!(
            redacted("redis://:s3cret@db:6379/0"),
            "redis://***@db:6379/0"
        );
        assert_eq!(redacted("redis://db:6379"), "redis://db:6379");
        let o = CacheOptions::new("redis://user:s3cret@db:6379");
        assert!(!format!("{o:?}").contains("s3cret"));
        let e = SharedCache::open(&CacheOptions::new("http://:s3cret@db")).expect_err("not redis");
        assert!(!e.to_string().contains("s3cret"));
        let e = SharedCache::open(&CacheOptions::new("redis://:s3cret@db:notaport"))
            .expect_err("bad port");
        assert!(!e.to_string().contains("s3cret"), "{e}");
        let c = SharedCache::open(&CacheOptions::new("redis://:s3cret@db:6379")).expect("valid");
        assert_eq!(c.address(), "db:6379");
    }

    #[test]
    fn digests_separate_their_parts() {
        assert_ne!(digest(&[b"ab", b"c"]), digest(&[b"a", b"bc"]));
        assert_eq!(digest(&[b"ab", b"c"]), digest(&[b"ab", b"c"]));
    }
}
