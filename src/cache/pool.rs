//! Connections to the server, each call within a deadline, and what happens when the
//! server is slow or gone: the call gives up (the caller works locally), the failure is
//! counted, a log line says so at most every [`LOG_EVERY`], and calls are not even tried
//! for [`BACKOFF`] after a connection failed, so a dead server costs one deadline per
//! second rather than one per lookup.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long calls are skipped after the server could not be reached.
pub const BACKOFF: Duration = Duration::from_secs(1);
/// At most one log line about an unavailable server in this time.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Idle connections kept (one per concurrent caller is plenty: calls are short).
const IDLE: usize = 16;

pub(super) struct Pool {
    client: redis::Client,
    timeout: Duration,
    /// `host:port` (or the socket path): what logs may name. Never the URL, which may
    /// hold a password.
    address: String,
    password: Option<String>,
    idle: Mutex<Vec<redis::Connection>>,
    /// Calls are skipped until then.
    down_until: Mutex<Option<Instant>>,
    log: Mutex<LogState>,
    pub(super) errors: AtomicU64,
    pub(super) skipped: AtomicU64,
}

#[derive(Default)]
struct LogState {
    last: Option<Instant>,
    unlogged: u64,
    down: bool,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("address", &self.address)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Pool {
    pub(super) fn new(client: redis::Client, timeout: Duration) -> Self {
        let info = client.get_connection_info();
        let address = info.addr().to_string();
        let password = info
            .redis_settings()
            .password()
            .filter(|p| !p.is_empty())
            .map(str::to_owned);
        Self {
            client,
            timeout,
            address,
            password,
            idle: Mutex::default(),
            down_until: Mutex::default(),
            log: Mutex::default(),
            errors: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    pub(super) fn address(&self) -> &str {
        &self.address
    }

    /// Runs `call` on a connection within the deadline; `None` if the server is backed
    /// off, unreachable, slow or answers with an error.
    pub(super) fn run<T>(
        &self,
        call: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Option<T> {
        if lock(&self.down_until).is_some_and(|until| Instant::now() < until) {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let mut con = match self.connection() {
            Ok(c) => c,
            Err(e) => {
                self.failed(&e, true);
                return None;
            }
        };
        match call(&mut con) {
            Ok(v) => {
                let mut idle = lock(&self.idle);
                if idle.len() < IDLE {
                    idle.push(con);
                }
                drop(idle);
                self.recovered();
                Some(v)
            }
            Err(e) => {
                // A timed-out connection may still deliver the late answer: never reuse it.
                // A server error (out of memory under `noeviction`) leaves it usable.
                let broken = e.is_io_error() || e.is_timeout() || e.is_connection_dropped();
                if !broken {
                    lock(&self.idle).push(con);
                }
                self.failed(&e, broken);
                None
            }
        }
    }

    fn connection(&self) -> redis::RedisResult<redis::Connection> {
        if let Some(c) = lock(&self.idle).pop() {
            return Ok(c);
        }
        let con = self.client.get_connection_with_timeout(self.timeout)?;
        con.set_read_timeout(Some(self.timeout))?;
        con.set_write_timeout(Some(self.timeout))?;
        Ok(con)
    }

    fn failed(&self, e: &redis::RedisError, unreachable: bool) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if unreachable {
            *lock(&self.down_until) = Some(Instant::now() + BACKOFF);
            // Connections opened before the failure are likely dead too.
            lock(&self.idle).clear();
        }
        let mut log = lock(&self.log);
        log.down = true;
        if log.last.is_some_and(|t| t.elapsed() < LOG_EVERY) {
            log.unlogged += 1;
            return;
        }
        let more = match std::mem::take(&mut log.unlogged) {
            0 => String::new(),
            n => format!("; {n} more failures since the last message"),
        };
        log.last = Some(Instant::now());
        drop(log);
        eprintln!(
            "pith: shared cache at {} unavailable ({}); working locally{more}",
            self.address,
            self.redact(&e.to_string())
        );
    }

    fn recovered(&self) {
        *lock(&self.down_until) = None;
        let mut log = lock(&self.log);
        if std::mem::take(&mut log.down) {
            log.unlogged = 0;
            drop(log);
            eprintln!("pith: shared cache at {} reachable again", self.address);
        }
    }

    /// An error text with the password (should the client ever quote it) blanked out.
    fn redact(&self, text: &str) -> String {
        match &self.password {
            Some(p) => text.replace(p.as_str(), "***"),
            None => text.to_owned(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
