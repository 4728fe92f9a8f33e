//! Latency that `pith serve` adds on loopback: the same requests straight to a mock
//! upstream and through pith (with its real compression engine), interleaved so both see
//! the same machine noise. Non-streaming: full round trip; streaming: time to the first
//! byte of the body. Prints a markdown table for BENCHMARKS.md.
//!
//!     cargo bench --bench proxy_latency

#[allow(dead_code, clippy::unwrap_used)]
#[path = "../tests/sdk/mock.rs"]
mod mock;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use pith::proxy::config::Config;
use serde_json::json;

const ROUNDS: usize = 300;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

/// Time of one request: the whole response, or only up to its first body chunk.
async fn once(client: &reqwest::Client, url: &str, body: &[u8], first_byte: bool) -> Duration {
    let start = Instant::now();
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", "Bearer test")
        .body(body.to_vec())
        .send()
        .await
        .expect("request");
    let mut stream = response.bytes_stream();
    let first = stream.next().await;
    assert!(first.is_some_and(|c| c.is_ok()), "no body");
    let at_first = start.elapsed();
    while stream.next().await.is_some() {}
    if first_byte {
        at_first
    } else {
        start.elapsed()
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let upstream = mock::Mock::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let proxy = format!("http://{}", listener.local_addr().expect("addr"));
    let config = Config {
        openai_upstream: upstream.url(),
        anthropic_upstream: upstream.url(),
        ..Config::default()
    };
    let engine = Arc::new(config.engine());
    tokio::spawn(pith::proxy::server::serve_on(listener, config, engine));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let essay = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/eval/niah/founders.txt"
    ))
    .expect("../shared/eval beside the repository");
    let chat = |stream: bool, tool: &str| {
        serde_json::to_vec(&json!({
            "model": "gpt-test", "stream": stream,
            "messages": [
                {"role": "user", "content": "What does it say about determination?"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "fetch", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": tool},
                {"role": "user", "content": "Summarise."}
            ]
        }))
        .expect("json")
    };
    // (label, stream, tool text, a new text every request so the memo never hits)
    let cases = [
        (
            "non-streaming, small body (nothing to compress)",
            false,
            "sunny",
            false,
        ),
        (
            "non-streaming, 4.5 KB tool result, resent (memo hit)",
            false,
            essay.as_str(),
            false,
        ),
        (
            "non-streaming, 4.5 KB tool result, new each time",
            false,
            essay.as_str(),
            true,
        ),
        (
            "streaming, small body: time to first byte",
            true,
            "sunny",
            false,
        ),
        (
            "streaming, 4.5 KB tool result, resent: time to first byte",
            true,
            essay.as_str(),
            false,
        ),
    ];
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4)
        .build()
        .expect("client");
    println!("| request | direct p50 | direct p99 | via pith p50 | via pith p99 | added p50 |");
    println!("|---|---|---|---|---|---|");
    for (label, first_byte, tool, fresh) in cases {
        let body_for = |i: usize| {
            if fresh {
                chat(first_byte, &format!("{tool}\n\nRequest {i}."))
            } else {
                chat(first_byte, tool)
            }
        };
        let body = &body_for(0);
        let direct_url = format!("{}/v1/chat/completions", upstream.url());
        let proxy_url = format!("{proxy}/v1/chat/completions");
        // Warm connections and the memo.
        for _ in 0..10 {
            once(&client, &direct_url, body, first_byte).await;
            once(&client, &proxy_url, body, first_byte).await;
        }
        let (mut direct, mut via) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
        for i in 1..=ROUNDS {
            let body = body_for(i);
            direct.push(once(&client, &direct_url, &body, first_byte).await);
            via.push(once(&client, &proxy_url, &body, first_byte).await);
        }
        direct.sort();
        via.sort();
        let (d50, d99, v50, v99) = (
            percentile(&direct, 0.5),
            percentile(&direct, 0.99),
            percentile(&via, 0.5),
            percentile(&via, 0.99),
        );
        println!(
            "| {label} | {d50:.2} ms | {d99:.2} ms | {v50:.2} ms | {v99:.2} ms | {:.2} ms |",
            v50 - d50
        );
    }
}
