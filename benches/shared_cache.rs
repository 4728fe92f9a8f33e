//! Two `pith serve` replicas behind an alternating "load balancer", with and without one
//! shared Redis: a 12-turn agent loop with a neural preset (each turn adds one tool
//! result, an essay of ../shared/eval/niah cut to 6,000 characters, and resends the
//! history), turns 1, 3, 5… to replica A and 2, 4, 6… to B. Reports the CPU time of both
//! replica processes over the loop, the time they spent compressing (their
//! `pith_compress_seconds_sum`), the embedder's forward passes and where blocks came
//! from; then what one shared-cache call costs (a miss on a live server, a write, and a
//! call to a server that is gone). Prints markdown for BENCHMARKS.md.
//!
//!     cargo bench --bench shared_cache
//!
//! Needs `redis-server` and the embedder (`pith models install`, or `PITH_MODELS_DIR`).
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../tests/proxy/mock.rs"]
mod mock;

#[allow(dead_code)]
#[path = "../tests/proxy/support.rs"]
mod support;

#[allow(dead_code)]
#[path = "../tests/proxy/redis.rs"]
mod redis_server;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mock::Mock;
use redis_server::Redis;
use serde_json::{Value, json};
use support::{Served, metrics_text, pith_serve_with, post};

const TURNS: usize = 12;
const ESSAY_CHARS: usize = 6000;

/// User + system CPU seconds of a process so far (Linux: /proc/PID/stat).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after `state`.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // Clock ticks per second: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)).
    ticks / 100.0
}

fn series(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#') && l.starts_with(name))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

fn essays() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/niah");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    names.sort();
    names
        .into_iter()
        .take(TURNS)
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let text: String = std::fs::read_to_string(&p)
                .unwrap()
                .chars()
                .take(ESSAY_CHARS)
                .collect();
            (name, text)
        })
        .collect()
}

/// What one configuration cost over the loop.
struct Run {
    cpu: f64,
    compress: f64,
    passes: f64,
    blocks: [f64; 3],
    forwarded: Vec<Vec<u8>>,
}

async fn agent_loop(upstream: &Mock, cache: Option<&str>) -> Run {
    let url = upstream.url();
    let mut args = vec![
        "--openai-upstream",
        &url,
        "--anthropic-upstream",
        &url,
        "--prose-preset",
        "rag-neural",
        "--compress-timeout-ms",
        "600000",
    ];
    if let Some(cache) = cache {
        args.extend(["--cache-url", cache]);
    }
    let replicas: [Served; 2] = [pith_serve_with(&args, &[]), pith_serve_with(&args, &[])];
    let pids = replicas.each_ref().map(|r| r.child.id());
    let cpu_before: f64 = pids.iter().map(|&p| cpu_seconds(p)).sum();
    let mut messages: Vec<Value> = vec![json!({
        "role": "user",
        "content": "Summarise what these essays say about how to do good work.",
    })];
    let mut forwarded = Vec::new();
    for (turn, (name, text)) in essays().into_iter().enumerate() {
        let id = format!("call_{turn}");
        messages.push(json!({
            "role": "assistant", "content": format!("Reading {name}."),
            "tool_calls": [{"id": id, "type": "function", "function": {
                "name": "fetch_page",
                "arguments": json!({"url": format!("https://example.org/{name}")}).to_string(),
            }}],
        }));
        messages.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
        let body = json!({"model": "gpt-test", "messages": messages}).to_string();
        let replica = &replicas[turn % 2];
        let answer = post(format!("{}/v1/chat/completions", replica.url), &[], body).await;
        assert_eq!(answer.status, 200);
        assert!(answer.headers.get("x-pith-error").is_none());
        forwarded.push(upstream.seen().last().unwrap().body.to_vec());
    }
    let cpu = pids.iter().map(|&p| cpu_seconds(p)).sum::<f64>() - cpu_before;
    let mut run = Run {
        cpu,
        compress: 0.0,
        passes: 0.0,
        blocks: [0.0; 3],
        forwarded,
    };
    for r in &replicas {
        let m = metrics_text(&r.url).await;
        run.compress += series(&m, "pith_compress_seconds_sum");
        run.passes += series(&m, "pith_embed_forward_passes_total{");
        for (i, result) in ["hit", "shared_hit", "miss"].iter().enumerate() {
            run.blocks[i] += series(
                &m,
                &format!("pith_cache_blocks_total{{result=\"{result}\"}}"),
            );
        }
    }
    run
}

/// Mean and 99th percentile, in microseconds, of `n` timed calls of `f`.
fn time_calls(n: usize, mut f: impl FnMut(usize)) -> (f64, f64) {
    let mut t: Vec<Duration> = (0..n)
        .map(|i| {
            let start = Instant::now();
            f(i);
            start.elapsed()
        })
        .collect();
    t.sort();
    let mean = t.iter().sum::<Duration>().as_secs_f64() / n as f64 * 1e6;
    let p99 = t[(n * 99 / 100).min(n - 1)].as_secs_f64() * 1e6;
    (mean, p99)
}

fn call_costs(redis: &Redis) {
    use pith::cache::{CacheOptions, Kind, SharedCache};
    let live = SharedCache::open(&CacheOptions::new(redis.url())).unwrap();
    let digest = |i: usize| pith::cache::digest(&[b"bench", &i.to_le_bytes()]);
    let vector = vec![7u8; 384 * 4];
    println!("\n| call (live server on loopback) | mean µs | p99 µs |\n|---|---:|---:|");
    let (m, p) = time_calls(2000, |i| {
        assert!(live.get(Kind::Block, &digest(i)).is_none());
    });
    println!("| GET of a missing key | {m:.0} | {p:.0} |");
    let (m, p) = time_calls(2000, |i| live.put(Kind::Vector, &digest(i), &vector));
    println!("| SET of a 1,536-byte vector | {m:.0} | {p:.0} |");
    let keys: Vec<[u8; 32]> = (0..200).map(digest).collect();
    let (m, p) = time_calls(200, |_| {
        assert_eq!(live.get_many(Kind::Vector, &keys).len(), 200);
    });
    println!("| MGET of 200 vectors (hits) | {m:.0} | {p:.0} |");
    // A server that is gone: a closed port (refused at once) …
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = SharedCache::open(&CacheOptions::new(format!("redis://127.0.0.1:{port}"))).unwrap();
    let (m, _) = time_calls(1, |i| assert!(gone.get(Kind::Block, &digest(i)).is_none()));
    println!("| server gone (port closed): first call | {m:.0} | |");
    let (m, p) = time_calls(2000, |i| {
        assert!(gone.get(Kind::Block, &digest(i)).is_none());
    });
    println!("| server gone: calls within the back-off | {m:.1} | {p:.1} |");
    // … and one that accepts connections but never answers (a hung server): the call
    // waits out the 20 ms deadline once, then the back-off skips the rest.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", hung.local_addr().unwrap());
    let silent = SharedCache::open(&CacheOptions::new(url)).unwrap();
    let (m, _) = time_calls(1, |i| {
        assert!(silent.get(Kind::Block, &digest(i)).is_none())
    });
    println!("| server hung (accepts, never answers): first call | {m:.0} | |");
    drop(hung);
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if pith::models::ModelStore::discover()
        .locate("minilm")
        .is_err()
    {
        eprintln!("shared_cache: skipped: the embedder is not installed");
        return;
    }
    let Some(redis) = Redis::start("shared_cache") else {
        return;
    };
    let upstream = Mock::start().await;
    let used_memory = || -> u64 {
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query(&mut redis.connection())
            .unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let empty = used_memory();
    let without = agent_loop(&upstream, None).await;
    let url = redis.url();
    let with = agent_loop(&upstream, Some(&url)).await;
    assert_eq!(
        with.forwarded, without.forwarded,
        "the shared cache changed what was forwarded"
    );
    println!(
        "| {TURNS}-turn loop, rag-neural, A/B alternating | CPU s (both replicas) | compressing s | embedder forward passes | blocks hit / shared-hit / miss |"
    );
    println!("|---|---:|---:|---:|---|");
    for (label, r) in [
        ("without a shared cache", &without),
        ("with one Redis", &with),
    ] {
        println!(
            "| {label} | {:.1} | {:.1} | {} | {} / {} / {} |",
            r.cpu, r.compress, r.passes, r.blocks[0], r.blocks[1], r.blocks[2]
        );
    }
    let used = used_memory() - empty;
    let keys: u64 = redis::cmd("DBSIZE").query(&mut redis.connection()).unwrap();
    let blocks = redis.block_keys().len();
    println!(
        "\nRedis after the loop: {keys} keys ({blocks} blocks, {} vectors), {used} bytes of used_memory over the empty server ({} bytes a key)",
        keys as usize - blocks,
        used / keys.max(1)
    );
    call_costs(&redis);
}
