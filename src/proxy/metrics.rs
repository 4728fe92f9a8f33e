//! Prometheus metrics, rendered in the text exposition format (version 0.0.4).
//!
//! Rendered here from atomics and one small map rather than through the `metrics` crate
//! and its Prometheus exporter: the series are few and fixed (routes are a closed set, so
//! label cardinality is bounded), and the exporter would add metrics-util, quanta and a
//! sketch library to the build for nothing this needs.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds, in seconds, of the compression-time histogram buckets.
const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// Why a request was not compressed although its route is compressible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The body or a control value is not something the rewriter understands.
    Invalid,
    /// The compressor failed (or panicked).
    Error,
    /// Compression took longer than `compress_timeout_ms`.
    Timeout,
    /// No compression slot came free within `compress_timeout_ms`.
    Busy,
}

impl Failure {
    const ALL: [Failure; 4] = [
        Failure::Invalid,
        Failure::Error,
        Failure::Timeout,
        Failure::Busy,
    ];

    /// The `reason` label of the failure counter.
    pub fn label(self) -> &'static str {
        match self {
            Failure::Invalid => "invalid",
            Failure::Error => "error",
            Failure::Timeout => "timeout",
            Failure::Busy => "busy",
        }
    }
}

/// Counters of the proxy; shared by all requests.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (route, status) → requests.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    tokens_before: AtomicU64,
    tokens_after: AtomicU64,
    compressed: AtomicU64,
    /// Indexed like [`Failure::ALL`].
    failures: [AtomicU64; 4],
    upstream_errors: AtomicU64,
    compress_micros_sum: AtomicU64,
    compress_count: AtomicU64,
    compress_buckets: [AtomicU64; BUCKETS.len()],
}

impl Metrics {
    /// All counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// One request answered on `route` with `status`.
    pub fn request(&self, route: &'static str, status: u16) {
        // A poisoned lock only means another thread panicked mid-increment; the map
        // itself is still a valid map, so keep counting.
        let mut map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry((route, status)).or_insert(0) += 1;
    }

    /// One run of the rewriter, successful or not, took `elapsed`.
    pub fn compress_time(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        self.compress_count.fetch_add(1, Ordering::Relaxed);
        self.compress_micros_sum
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        for (bound, bucket) in BUCKETS.iter().zip(&self.compress_buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A request body was rewritten from `before` to `after` tokens.
    pub fn tokens(&self, before: usize, after: usize) {
        self.compressed.fetch_add(1, Ordering::Relaxed);
        self.tokens_before
            .fetch_add(before as u64, Ordering::Relaxed);
        self.tokens_after.fetch_add(after as u64, Ordering::Relaxed);
    }

    /// A request on a compressible route was not compressed, for `why`.
    pub fn failure(&self, why: Failure) {
        self.failures[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The upstream could not be reached or broke off before answering.
    pub fn upstream_error(&self) {
        self.upstream_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        out.push_str("# HELP pith_requests_total Requests answered, by route and status.\n");
        out.push_str("# TYPE pith_requests_total counter\n");
        let map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        for ((route, status), n) in map.iter() {
            let _ = writeln!(
                out,
                "pith_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        drop(map);
        let before = load(&self.tokens_before);
        let after = load(&self.tokens_after);
        let counters = [
            (
                "pith_compressed_requests_total",
                "Requests whose body was rewritten.",
                load(&self.compressed),
            ),
            (
                "pith_tokens_before_total",
                "Tokens of rewritten bodies before compression.",
                before,
            ),
            (
                "pith_tokens_after_total",
                "Tokens of rewritten bodies after compression.",
                after,
            ),
            (
                "pith_tokens_saved_total",
                "Tokens removed by compression.",
                before.saturating_sub(after),
            ),
            (
                "pith_upstream_errors_total",
                "Upstream exchanges that failed before a response.",
                load(&self.upstream_errors),
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        let name = "pith_compress_failures_total";
        let _ = writeln!(
            out,
            "# HELP {name} Requests not compressed, by reason (the original was forwarded unless fail-closed).\n# TYPE {name} counter"
        );
        for why in Failure::ALL {
            let _ = writeln!(
                out,
                "{name}{{reason=\"{}\"}} {}",
                why.label(),
                load(&self.failures[why as usize])
            );
        }
        let name = "pith_compress_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time spent in the rewriter.\n# TYPE {name} histogram"
        );
        for (bound, bucket) in BUCKETS.iter().zip(&self.compress_buckets) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", load(bucket));
        }
        let count = load(&self.compress_count);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = load(&self.compress_micros_sum) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::new();
        m.request("chat_completions", 200);
        m.request("chat_completions", 200);
        m.request("passthrough", 404);
        m.tokens(100, 40);
        m.compress_time(Duration::from_millis(3));
        m.compress_time(Duration::from_secs(10));
        m.failure(Failure::Timeout);
        m.failure(Failure::Timeout);
        m.failure(Failure::Busy);
        let text = m.render();
        assert!(text.contains("pith_compress_failures_total{reason=\"timeout\"} 2\n"));
        assert!(text.contains("pith_compress_failures_total{reason=\"busy\"} 1\n"));
        assert!(text.contains("pith_compress_failures_total{reason=\"error\"} 0\n"));
        assert!(
            text.contains("pith_requests_total{route=\"chat_completions\",status=\"200\"} 2\n")
        );
        assert!(text.contains("pith_requests_total{route=\"passthrough\",status=\"404\"} 1\n"));
        assert!(text.contains("pith_tokens_saved_total 60\n"));
        assert!(text.contains("pith_compress_seconds_bucket{le=\"0.001\"} 0\n"));
        assert!(text.contains("pith_compress_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("pith_compress_seconds_bucket{le=\"5\"} 1\n"));
        assert!(text.contains("pith_compress_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("pith_compress_seconds_count 2\n"));
        // Every sample line is `name{labels} value` or `name value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().expect("value");
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
