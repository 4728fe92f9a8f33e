//! Load: 500 concurrent streaming requests through the real `pith serve` binary, three
//! rounds. A local upstream streams an OpenAI-style SSE answer whose bytes are a pure
//! function of the request id, so every byte the client receives is checked against what
//! the upstream sent. Measures time to first byte and total time per request, and the
//! proxy's peak memory and open file descriptors round over round (a leak shows as
//! growth). Prints markdown tables for BENCHMARKS.md.
//!
//!     ulimit -n 4096; cargo bench --bench load
//!
//! `PITH_BENCH_NOFILE=1024` starts pith with that soft open-file limit (the common
//! default); `PITH_BENCH_QUICK=1` runs one round without the final idle wait;
//! `PITH_BENCH_ROUNDS=N` sets the number of rounds.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Concurrent requests per round.
const REQUESTS: usize = 500;
const ROUNDS: usize = 3;
/// SSE events per answer, each of `CHUNK_BYTES` random bytes (hex-encoded in it).
const CHUNKS: usize = 64;
const CHUNK_BYTES: usize = 48;
/// A round that takes longer than this failed.
const DEADLINE: Duration = Duration::from_secs(300);
/// reqwest closes a pooled connection idle for 90 s at its next sweep, and sweeps every
/// 90 s: after this long every upstream connection pith pooled is closed.
const IDLE_EVICTION_SECS: u64 = 185;

/// Deterministic pseudo-random bytes for request `id`, event `i` (splitmix64).
fn chunk_bytes(id: u64, i: usize) -> Vec<u8> {
    let mut state = id
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(i as u64 + 1);
    let mut out = Vec::with_capacity(CHUNK_BYTES);
    while out.len() < CHUNK_BYTES {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(CHUNK_BYTES);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SSE events the upstream sends for request `id`, in order.
fn events(id: u64) -> Vec<Bytes> {
    let mut out: Vec<Bytes> = (0..CHUNKS)
        .map(|i| {
            let event = json!({
                "id": format!("chatcmpl-{id}"), "object": "chat.completion.chunk",
                "model": "bench", "choices": [{"index": 0,
                    "delta": {"content": hex(&chunk_bytes(id, i))}, "finish_reason": null}]
            });
            Bytes::from(format!("data: {event}\n\n"))
        })
        .collect();
    out.push(Bytes::from_static(b"data: [DONE]\n\n"));
    out
}

fn expected_hash(id: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    for e in events(id) {
        h.update(&e);
    }
    h.finalize().into()
}

/// The upstream: reads the request id from `model` ("bench-<id>") and streams its events
/// with a small delay between them.
async fn upstream(body: Bytes) -> (StatusCode, HeaderMap, Body) {
    let id = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["model"].as_str().map(str::to_owned))
        .and_then(|m| m.strip_prefix("bench-").and_then(|n| n.parse::<u64>().ok()));
    let Some(id) = id else {
        return (StatusCode::BAD_REQUEST, HeaderMap::new(), Body::empty());
    };
    let stream = futures_util::stream::iter(events(id)).then(move |e| async move {
        tokio::time::sleep(Duration::from_millis(1 + id % 3)).await;
        Ok::<_, std::io::Error>(e)
    });
    let mut h = HeaderMap::new();
    h.insert(
        "content-type",
        axum::http::HeaderValue::from_static("text/event-stream"),
    );
    (StatusCode::OK, h, Body::from_stream(stream))
}

/// A tool result long enough (above min_chars) for the engine to compress: sentences
/// drawn from a fixed vocabulary, different per `seed`.
fn tool_text(seed: u64) -> String {
    const WORDS: [&str; 24] = [
        "the", "cache", "server", "request", "latency", "budget", "token", "stream", "proxy",
        "answer", "upstream", "memory", "file", "handle", "socket", "client", "retries", "timeout",
        "error", "config", "worker", "queue", "batch", "index",
    ];
    let mut s = String::new();
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    for sentence in 0..60 {
        for w in 0..12 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let word = WORDS[(x >> 33) as usize % WORDS.len()];
            s.push_str(if w == 0 { "The" } else { word });
            s.push(' ');
        }
        s.push_str(&format!("line {sentence}.\n"));
    }
    s
}

/// A request: every third one bypasses pith's engine, every other carries a tool result
/// to compress (half of those resent, so the memo serves them), the rest a short chat.
fn request_body(id: u64) -> (Vec<u8>, bool) {
    let bypass = id.is_multiple_of(3);
    let messages = if id.is_multiple_of(2) {
        let seed = if id.is_multiple_of(4) { 7 } else { id };
        json!([
            {"role": "user", "content": "What does the log say about timeouts?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "fetch_log", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": tool_text(seed)},
            {"role": "user", "content": "Summarise the timeouts."}
        ])
    } else {
        json!([{"role": "user", "content": format!("Hello number {id}")}])
    };
    let body = json!({"model": format!("bench-{id}"), "stream": true, "messages": messages});
    (serde_json::to_vec(&body).unwrap_or_default(), bypass)
}

/// What one request measured.
struct Sample {
    first_byte: Duration,
    total: Duration,
}

async fn one(client: &reqwest::Client, url: &str, id: u64) -> Result<Sample, String> {
    let (body, bypass) = request_body(id);
    let start = Instant::now();
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", "Bearer bench")
        .body(body);
    if bypass {
        request = request.header("x-pith-bypass", "true");
    }
    let response = request.send().await.map_err(|e| format!("{id}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{id}: status {}", response.status()));
    }
    let mut stream = response.bytes_stream();
    let mut hash = Sha256::new();
    let mut first_byte = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("{id}: {e}"))?;
        first_byte.get_or_insert_with(|| start.elapsed());
        hash.update(&chunk);
    }
    let total = start.elapsed();
    let got: [u8; 32] = hash.finalize().into();
    if got != expected_hash(id) {
        return Err(format!(
            "{id}: the bytes differ from what the upstream sent"
        ));
    }
    Ok(Sample {
        first_byte: first_byte.ok_or(format!("{id}: empty body"))?,
        total,
    })
}

/// Peak and current resident memory (kB) and open descriptors of a process, and how
/// many of them are TCP connections on the listening port (from clients) or to the
/// upstream's port.
#[derive(Debug, Clone, Copy)]
struct Usage {
    hwm_kb: u64,
    rss_kb: u64,
    fds: usize,
    from_clients: usize,
    to_upstream: usize,
}

/// (local port, remote port) of every TCP socket on this machine, by inode.
fn tcp_ports() -> std::collections::HashMap<u64, (u16, u16)> {
    let mut out = std::collections::HashMap::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let port = |addr: &str| {
                addr.rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
            };
            if let (Some(local), Some(remote), Some(inode)) = (
                f.get(1).and_then(|a| port(a)),
                f.get(2).and_then(|a| port(a)),
                f.get(9).and_then(|i| i.parse().ok()),
            ) {
                out.insert(inode, (local, remote));
            }
        }
    }
    out
}

fn usage(pid: u32, ports: Ports) -> Usage {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let links: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .map(|l| l.to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let tcp = tcp_ports();
    let sockets: Vec<(u16, u16)> = links
        .iter()
        .filter_map(|l| l.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok())
        .filter_map(|inode: u64| tcp.get(&inode).copied())
        .collect();
    Usage {
        hwm_kb: field("VmHWM:"),
        rss_kb: field("VmRSS:"),
        fds: links.len(),
        from_clients: sockets
            .iter()
            .filter(|s| s.0 == ports.listen && s.1 != 0)
            .count(),
        to_upstream: sockets.iter().filter(|s| s.1 == ports.upstream).count(),
    }
}

/// pith's listening port and the upstream's.
#[derive(Debug, Clone, Copy)]
struct Ports {
    listen: u16,
    upstream: u16,
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

/// Kills the proxy when the bench ends, however it ends.
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `pith serve` on a free port in front of `upstream`; returns it and its URL.
/// With `PITH_BENCH_NOFILE=N` pith starts with a soft open-file limit of N (through
/// `prlimit`), as on systems whose default is 1024.
fn start_pith(upstream: &str) -> (Proxy, String) {
    let mut command = match std::env::var("PITH_BENCH_NOFILE") {
        Ok(soft) => {
            let hard = open_files_hard_limit();
            let mut c = Command::new("prlimit");
            c.arg(format!("--nofile={soft}:{hard}"))
                .arg("--")
                .arg(env!("CARGO_BIN_EXE_pith"));
            c
        }
        Err(_) => Command::new(env!("CARGO_BIN_EXE_pith")),
    };
    let mut child = command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--openai-upstream",
            upstream,
            "--anthropic-upstream",
            upstream,
        ])
        .env("PITH_MODELS_DIR", "/nonexistent")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting pith serve: {e}"));
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let proxy = Proxy(child);
    // "pith: listening on http://127.0.0.1:PORT (...)"; the rest of the log is drained.
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(rest) = line.strip_prefix("pith: listening on ") {
                    break rest.split_whitespace().next().unwrap_or("").to_owned();
                }
                eprintln!("{line}");
            }
            _ => panic!("pith serve exited before listening"),
        }
    };
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line.contains("panic") || line.contains("Too many open files") {
                eprintln!("pith serve: {line}");
            }
        }
    });
    (proxy, url)
}

/// A process's limits of open files: (soft, hard).
fn open_files_limits(pid: &str) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap_or_default();
    let mut fields = line
        .split_whitespace()
        .skip(3)
        .map(|v| v.parse().unwrap_or(0));
    (fields.next().unwrap_or(0), fields.next().unwrap_or(0))
}

/// This process's soft limit of open files (pith inherits it).
fn open_files_limit() -> u64 {
    open_files_limits("self").0
}

fn open_files_hard_limit() -> u64 {
    open_files_limits("self").1
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // Client and upstream both live here: two descriptors per request, plus pith's own.
    let limit = open_files_limit();
    if limit < (REQUESTS as u64) * 3 {
        panic!(
            "open-file limit is {limit}: run `ulimit -n 4096` first (the bench holds {} sockets)",
            REQUESTS * 2
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let upstream_url = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let app = Router::new().route("/v1/chat/completions", post(upstream));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let (proxy, url) = start_pith(&upstream_url);
    let pid = proxy.0.id();
    let ports = Ports {
        listen: port_of(&url),
        upstream: port_of(&upstream_url),
    };
    let endpoint = format!("{url}/v1/chat/completions");
    // reqwest is built without a TLS provider of its own; pith installs ring the same way.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let new_client = || {
        reqwest::Client::builder()
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"))
    };
    // One warm-up request so the start-up allocations are not counted as growth.
    if let Err(e) = one(&new_client(), &endpoint, 1).await {
        panic!("warm-up: {e}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start_usage = usage(pid, ports);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "pith pid {pid}, open-file limits {:?} (soft, hard); load average at start: {}",
        open_files_limits(&pid.to_string()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!();
    println!(
        "| round | wall | ok | TTFB p50 | TTFB p95 | TTFB p99 | total p50 | total p95 | total p99 | pith peak RSS | RSS idle | fds before | fds peak (clients/upstream) | fds idle 3 s (clients/upstream) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut failures = 0;
    // PITH_BENCH_QUICK=1: one round and no wait for idle eviction, for trying things.
    let quick = std::env::var_os("PITH_BENCH_QUICK").is_some();
    let rounds = std::env::var("PITH_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if quick { 1 } else { ROUNDS });
    for round in 0..rounds {
        let before = usage(pid, ports);
        // A client per round: dropping it closes its connections, so what pith still
        // holds afterwards is its own.
        let client = new_client();
        let done = Arc::new(AtomicUsize::new(0));
        // The most descriptors pith holds during the round, sampled every 25 ms.
        let peak = {
            let done = done.clone();
            tokio::task::spawn_blocking(move || {
                let mut peak = usage(pid, ports);
                while done.load(Ordering::Relaxed) < REQUESTS {
                    let u = usage(pid, ports);
                    if u.fds > peak.fds {
                        peak = u;
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
                peak
            })
        };
        let started = Instant::now();
        let tasks: Vec<_> = (0..REQUESTS)
            .map(|i| {
                let (client, endpoint, done) = (client.clone(), endpoint.clone(), done.clone());
                // The same requests every round: caches are warm after the first, so
                // memory that still grows after it is a leak.
                let id = (i + 10) as u64;
                tokio::spawn(async move {
                    let r = one(&client, &endpoint, id).await;
                    done.fetch_add(1, Ordering::Relaxed);
                    r
                })
            })
            .collect();
        let all = tokio::time::timeout(DEADLINE, futures_util::future::join_all(tasks)).await;
        let wall = started.elapsed();
        let results = match all {
            Ok(r) => r,
            Err(_) => panic!(
                "round {round}: only {} of {REQUESTS} requests finished within {DEADLINE:?}",
                done.load(Ordering::Relaxed)
            ),
        };
        let peak = peak.await.unwrap_or_else(|e| panic!("sampler: {e}"));
        drop(client);
        let mut ttfb = Vec::new();
        let mut total = Vec::new();
        for r in results {
            match r {
                Ok(Ok(s)) => {
                    ttfb.push(s.first_byte);
                    total.push(s.total);
                }
                Ok(Err(e)) => {
                    failures += 1;
                    eprintln!("round {round}: {e}");
                }
                Err(e) => {
                    failures += 1;
                    eprintln!("round {round}: task: {e}");
                }
            }
        }
        // Idle: the client's connections are closed; pith keeps its pooled upstream
        // connections until reqwest evicts them (see IDLE_EVICTION_SECS).
        tokio::time::sleep(Duration::from_secs(3)).await;
        let idle = usage(pid, ports);
        ttfb.sort();
        total.sort();
        let ok = ttfb.len();
        let p = |v: &[Duration], q: f64| {
            if v.is_empty() {
                "–".to_owned()
            } else {
                format!("{:.0} ms", percentile(v, q))
            }
        };
        println!(
            "| {} | {:.2} s | {ok}/{REQUESTS} | {} | {} | {} | {} | {} | {} | {:.1} MB | {:.1} MB | {} | {} ({}/{}) | {} ({}/{}) |",
            round + 1,
            wall.as_secs_f64(),
            p(&ttfb, 0.5),
            p(&ttfb, 0.95),
            p(&ttfb, 0.99),
            p(&total, 0.5),
            p(&total, 0.95),
            p(&total, 0.99),
            idle.hwm_kb as f64 / 1024.0,
            idle.rss_kb as f64 / 1024.0,
            before.fds,
            peak.fds,
            peak.from_clients,
            peak.to_upstream,
            idle.fds,
            idle.from_clients,
            idle.to_upstream,
        );
    }
    // After reqwest's idle eviction pith's pooled upstream connections are gone too: what
    // is left should be what it held before the first round.
    let idle_secs = if quick { 0 } else { IDLE_EVICTION_SECS };
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let end = usage(pid, ports);
    println!();
    println!(
        "pith after warm-up: RSS {:.1} MB, {} fds; {idle_secs} s after the last round: RSS {:.1} MB, peak {:.1} MB, {} fds ({} from clients, {} to the upstream)",
        start_usage.rss_kb as f64 / 1024.0,
        start_usage.fds,
        end.rss_kb as f64 / 1024.0,
        end.hwm_kb as f64 / 1024.0,
        end.fds,
        end.from_clients,
        end.to_upstream
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average at end: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert_eq!(failures, 0, "{failures} requests failed or differed");
}
