//! Replicas of `pith serve` sharing one Redis: what one replica compressed (and embedded)
//! another serves from the shared cache, byte for byte; a Redis that stops never fails a
//! request and sharing resumes when it is back; a corrupt value and one written by
//! another pith version are ignored. Real parts only: a `redis-server` on a free loopback
//! port with a throwaway config (`.ci/run` installs it), real `pith serve` processes and
//! a real mock upstream.
//!
//! Without `redis-server` on the PATH every test here says so and passes as skipped; the
//! neural test also needs the installed embedder (`pith models install`, or
//! `PITH_MODELS_DIR`).
#![allow(clippy::unwrap_used)]

use crate::{mock, redis_server, support};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mock::Mock;
use redis_server::{PASSWORD, Redis};
use serde_json::json;
use support::{Answer, Served, metrics_text, pith_serve_with, post};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A Chat Completions request whose one tool result is `output`.
fn request(task: &str, output: &str) -> String {
    json!({
        "model": "gpt-test",
        "messages": [
            {"role": "user", "content": task},
            {"role": "assistant", "content": "Let me look.", "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "fetch_page", "arguments": "{\"url\": \"https://example.org/a\"}"}
            }]},
            {"role": "tool", "tool_call_id": "call_1", "content": output},
        ]
    })
    .to_string()
}

/// A replica with the shared cache and `more` arguments.
fn replica(upstream: &Mock, redis: &Redis, more: &[&str]) -> Served {
    let url = upstream.url();
    let cache = redis.url();
    let mut args = vec![
        "--openai-upstream",
        &url,
        "--anthropic-upstream",
        &url,
        "--cache-url",
        &cache,
    ];
    args.extend_from_slice(more);
    pith_serve_with(&args, &[])
}

async fn send(replica: &Served, body: &str, headers: &[(&str, &str)]) -> Answer {
    let answer = post(
        format!("{}/v1/chat/completions", replica.url),
        headers,
        body.to_owned(),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(
        answer.headers.get("x-pith-error").is_none(),
        "{:?}",
        answer.headers.get("x-pith-error")
    );
    answer
}

fn cache_header(answer: &Answer) -> &str {
    answer
        .headers
        .get("x-pith-cache")
        .map_or("(none)", |v| v.to_str().unwrap())
}

/// The body the upstream received last.
fn last_forwarded(upstream: &Mock) -> Vec<u8> {
    upstream.seen().last().unwrap().body.to_vec()
}

/// The value of a series in a /metrics text, summed over its label sets when `name`
/// leaves labels open (`name{` … matches every series of that name).
fn series(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#') && l.starts_with(name))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64)
        .sum()
}

fn assert_no_secret(replica_log: &[String], metrics: &str) {
    assert!(!metrics.contains(PASSWORD), "the password is in /metrics");
    for line in replica_log {
        assert!(
            !line.contains(PASSWORD),
            "the password is in the log: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_block_compressed_on_one_replica_is_served_by_another() {
    let Some(redis) = Redis::start("a_block_compressed_on_one_replica_is_served_by_another") else {
        return;
    };
    let upstream = Mock::start().await;
    let a = replica(&upstream, &redis, &[]);
    let b = replica(&upstream, &redis, &[]);
    let body = request(
        "How is the proxy laid out?",
        &read(&repo().join("ARCHITECTURE.md")),
    );

    let first = send(&a, &body, &[]).await;
    assert_eq!(cache_header(&first), "miss");
    assert!(first.headers.get("x-pith-compressed").is_some());
    let through_a = last_forwarded(&upstream);
    assert!(through_a.len() < body.len());

    let second = send(&b, &body, &[]).await;
    assert_eq!(cache_header(&second), "shared-hit");
    assert_eq!(
        last_forwarded(&upstream),
        through_a,
        "B forwarded other bytes"
    );
    for h in ["x-pith-tokens-before", "x-pith-tokens-after"] {
        assert_eq!(first.headers.get(h), second.headers.get(h), "{h}");
    }

    // Now B's own memo has it.
    assert_eq!(cache_header(&send(&b, &body, &[]).await), "hit");
    assert_eq!(last_forwarded(&upstream), through_a);

    let m = metrics_text(&b.url).await;
    assert_eq!(
        series(&m, "pith_cache_blocks_total{result=\"shared_hit\"}"),
        1
    );
    assert_eq!(series(&m, "pith_cache_blocks_total{result=\"hit\"}"), 1);
    assert_eq!(series(&m, "pith_cache_blocks_total{result=\"miss\"}"), 0);
    assert_eq!(
        series(
            &m,
            "pith_shared_cache_lookups_total{kind=\"block\",result=\"hit\"}"
        ),
        1
    );
    assert_eq!(series(&m, "pith_shared_cache_errors_total"), 0);
    let ma = metrics_text(&a.url).await;
    assert_eq!(
        series(&ma, "pith_shared_cache_writes_total{kind=\"block\"}"),
        1
    );
    assert_eq!(redis.block_keys().len(), 1);
    assert_no_secret(&a.stop(), &ma);
    assert_no_secret(&b.stop(), &m);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_neural_preset_the_second_replica_runs_no_forward_pass() {
    let test = "with_a_neural_preset_the_second_replica_runs_no_forward_pass";
    if let Err(e) = pith::models::ModelStore::discover().locate("minilm") {
        eprintln!("{test}: skipped: the embedder is not installed ({e})");
        return;
    }
    let Some(redis) = Redis::start(test) else {
        return;
    };
    let upstream = Mock::start().await;
    let neural = ["--prose-preset", "rag-neural"];
    let a = replica(&upstream, &redis, &neural);
    let b = replica(&upstream, &redis, &neural);
    let essay = read(&repo().join("../shared/eval/niah/founders.txt"));
    let body = request("What do founders get wrong about hiring?", &essay);
    let passes = |m: &str| series(m, "pith_embed_forward_passes_total{");

    assert_eq!(cache_header(&send(&a, &body, &[]).await), "miss");
    let through_a = last_forwarded(&upstream);
    let ma = metrics_text(&a.url).await;
    assert!(passes(&ma) > 0, "A embedded nothing:\n{ma}");

    assert_eq!(cache_header(&send(&b, &body, &[]).await), "shared-hit");
    assert_eq!(last_forwarded(&upstream), through_a);
    let mb = metrics_text(&b.url).await;
    assert!(
        mb.contains("pith_embed_forward_passes_total{"),
        "B has no embedder loaded:\n{mb}"
    );
    assert_eq!(passes(&mb), 0, "B ran the model:\n{mb}");

    // Another budget is another block result, computed on B: its vectors (every unit's
    // and the query's) are A's, so B still runs no forward pass.
    let other = send(&b, &body, &[("x-pith-ratio", "3")]).await;
    assert_eq!(cache_header(&other), "miss");
    let mb = metrics_text(&b.url).await;
    assert_eq!(passes(&mb), 0, "B ran the model:\n{mb}");
    assert!(
        series(
            &mb,
            "pith_shared_cache_lookups_total{kind=\"vector\",result=\"hit\"}"
        ) > 0
    );
    assert_eq!(
        series(
            &mb,
            "pith_shared_cache_lookups_total{kind=\"vector\",result=\"miss\"}"
        ),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_outage_fails_no_request_and_sharing_resumes() {
    let Some(mut redis) = Redis::start("a_redis_outage_fails_no_request_and_sharing_resumes")
    else {
        return;
    };
    let upstream = Mock::start().await;
    let a = replica(&upstream, &redis, &[]);
    let b = replica(&upstream, &redis, &[]);
    let text = |path: &str| read(&repo().join(path));
    let bodies = [
        request("How is the proxy laid out?", &text("ARCHITECTURE.md")),
        request(
            "What does the policy compress?",
            &text("src/proxy/policy.rs"),
        ),
        request("How do I deploy it?", &text("README.md")),
    ];

    assert_eq!(cache_header(&send(&a, &bodies[0], &[]).await), "miss");
    let first = last_forwarded(&upstream);

    redis.stop();
    // Redis is gone: B computes what A had shared, to the same bytes.
    assert_eq!(cache_header(&send(&b, &bodies[0], &[]).await), "miss");
    assert_eq!(last_forwarded(&upstream), first);
    assert_eq!(cache_header(&send(&b, &bodies[1], &[]).await), "miss");
    let second = last_forwarded(&upstream);
    assert_eq!(cache_header(&send(&a, &bodies[1], &[]).await), "miss");
    assert_eq!(last_forwarded(&upstream), second);
    let mb = metrics_text(&b.url).await;
    let failed = series(&mb, "pith_shared_cache_errors_total")
        + series(&mb, "pith_shared_cache_skipped_total");
    assert!(failed >= 2, "no failure counted:\n{mb}");

    redis.restart();
    // Past the back-off, both replicas use the server again.
    std::thread::sleep(pith::cache::BACKOFF + Duration::from_millis(300));
    assert_eq!(cache_header(&send(&a, &bodies[2], &[]).await), "miss");
    let third = last_forwarded(&upstream);
    assert_eq!(cache_header(&send(&b, &bodies[2], &[]).await), "shared-hit");
    assert_eq!(last_forwarded(&upstream), third);

    let mb = metrics_text(&b.url).await;
    let log = b.stop();
    assert!(
        log.iter()
            .any(|l| l.contains("shared cache at 127.0.0.1:") && l.contains("unavailable")),
        "{log:#?}"
    );
    assert!(
        log.iter().any(|l| l.contains("reachable again")),
        "{log:#?}"
    );
    // Rate-limited: one message for the outage, however many calls failed.
    assert_eq!(
        log.iter().filter(|l| l.contains("unavailable")).count(),
        1,
        "{log:#?}"
    );
    assert_no_secret(&log, &mb);
    assert_no_secret(&a.stop(), "");
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_and_foreign_values_are_ignored() {
    let Some(redis) = Redis::start("corrupt_and_foreign_values_are_ignored") else {
        return;
    };
    let upstream = Mock::start().await;
    let body = request(
        "How is the proxy laid out?",
        &read(&repo().join("ARCHITECTURE.md")),
    );
    let a = replica(&upstream, &redis, &[]);
    assert_eq!(cache_header(&send(&a, &body, &[]).await), "miss");
    let expected = last_forwarded(&upstream);
    let keys = redis.block_keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let key = &keys[0];
    let mut con = redis.connection();
    let stored: Vec<u8> = redis::cmd("GET").arg(key).query(&mut con).unwrap();
    let set = |con: &mut redis::Connection, value: &[u8]| {
        redis::cmd("SET")
            .arg(key)
            .arg(value)
            .query::<()>(con)
            .unwrap();
    };
    let fresh_replica_sends = async |label: &str| {
        let r = replica(&upstream, &redis, &[]);
        let answer = send(&r, &body, &[]).await;
        let m = metrics_text(&r.url).await;
        let rejected = series(
            &m,
            "pith_shared_cache_lookups_total{kind=\"block\",result=\"rejected\"}",
        );
        eprintln!("{label}: {}", cache_header(&answer));
        (
            cache_header(&answer).to_owned(),
            last_forwarded(&upstream),
            rejected,
        )
    };

    // One flipped byte in the stored text.
    let mut corrupt = stored.clone();
    *corrupt.last_mut().unwrap() ^= 0x01;
    set(&mut con, &corrupt);
    let (status, forwarded, rejected) = fresh_replica_sends("corrupt").await;
    assert_eq!((status.as_str(), rejected), ("miss", 1));
    assert_eq!(forwarded, expected);

    // A well-formed value under this key, sealed by another version, with other text.
    let payload = [&[1u8][..], b"FOREIGN TEXT"].concat();
    set(
        &mut con,
        &pith::cache::envelope::seal(key, "0.0.0-elsewhere", &payload),
    );
    let (status, forwarded, rejected) = fresh_replica_sends("foreign").await;
    assert_eq!((status.as_str(), rejected), ("miss", 1));
    assert_eq!(forwarded, expected);

    // The same value sealed by this version is used: the key and the path are live, so
    // the two rejections above are the envelope's doing.
    set(
        &mut con,
        &pith::cache::envelope::seal(key, pith::cache::VERSION, &payload),
    );
    let (status, forwarded, rejected) = fresh_replica_sends("valid").await;
    assert_eq!((status.as_str(), rejected), ("shared-hit", 0));
    assert!(
        String::from_utf8_lossy(&forwarded).contains("FOREIGN TEXT"),
        "the valid value was not used"
    );
}

/// The numbers of `pith … --stats`'s shared-cache line: vectors read, missing, written,
/// and the embedder's forward passes.
fn cli_cache_line(stderr: &str) -> (u64, u64, u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("shared cache "))
        .unwrap_or_else(|| panic!("no shared-cache line in {stderr}"));
    assert!(!line.contains(PASSWORD), "{line}");
    let number_before = |word: &str| -> u64 {
        let at = line
            .find(word)
            .unwrap_or_else(|| panic!("{word} in {line}"));
        line[..at]
            .split_whitespace()
            .last()
            .unwrap()
            .parse()
            .unwrap()
    };
    (
        number_before(" vectors read"),
        number_before(" missing"),
        number_before(" written"),
        number_before(" embedder forward passes"),
    )
}

#[test]
fn pack_and_compress_share_vectors_with_the_next_run() {
    let test = "pack_and_compress_share_vectors_with_the_next_run";
    if let Err(e) = pith::models::ModelStore::discover().locate("minilm") {
        eprintln!("{test}: skipped: the embedder is not installed ({e})");
        return;
    }
    let Some(redis) = Redis::start(test) else {
        return;
    };
    // Small inputs: a debug build on a busy machine embeds slowly.
    let dir = tempfile::tempdir().unwrap();
    let essay = dir.path().join("wisdom.txt");
    let text = read(&repo().join("../shared/eval/niah/wisdom.txt"));
    std::fs::write(&essay, text.chars().take(5000).collect::<String>()).unwrap();
    let runs: [Vec<String>; 2] = [
        vec![
            "compress".into(),
            essay.display().to_string(),
            "--preset".into(),
            "rag-neural".into(),
            "--ratio".into(),
            "3".into(),
            "-q".into(),
            "what is wisdom".into(),
        ],
        vec![
            "pack".into(),
            repo().join("src/cache/envelope.rs").display().to_string(),
            "--preset".into(),
            "code-neural".into(),
            "--budget".into(),
            "500".into(),
            "-q".into(),
            "how are values sealed".into(),
        ],
    ];
    for args in runs {
        // A CI job, then a developer: two processes, one server.
        let run = || {
            let out = Command::new(env!("CARGO_BIN_EXE_pith"))
                .env("PITH_NO_CACHE", "1")
                .args(&args)
                .args(["--stats", "--cache-url", &redis.url()])
                .env_remove("PITH_EMBED_CACHE")
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(out.status.success(), "{args:?}: {stderr}");
            (out.stdout, cli_cache_line(&stderr))
        };
        let (first, (read, _, written, passes)) = run();
        assert!(written > 0 && passes > 0, "{args:?}: nothing embedded");
        assert_eq!(read, 0, "{args:?}: the server was not empty");
        let (second, (read, missing, written, passes)) = run();
        assert_eq!(second, first, "{args:?}: another output");
        assert_eq!((missing, written, passes), (0, 0, 0), "{args:?}");
        assert!(read > 0, "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_or_full_redis_means_local_work() {
    let Some(redis) = Redis::start("a_slow_or_full_redis_means_local_work") else {
        return;
    };
    let upstream = Mock::start().await;
    let text = |path: &str| read(&repo().join(path));
    let bodies = [
        request("How is the proxy laid out?", &text("ARCHITECTURE.md")),
        request(
            "What does the policy compress?",
            &text("src/proxy/policy.rs"),
        ),
    ];
    let errors = async |r: &Served| {
        series(
            &metrics_text(&r.url).await,
            "pith_shared_cache_errors_total",
        )
    };

    // Slow: the server is busy for two seconds (DEBUG SLEEP blocks it); the replica's
    // lookup gives up at its deadline and compresses locally.
    let a = replica(&upstream, &redis, &[]);
    let mut con = redis.connection();
    let sleeper = std::thread::spawn(move || {
        redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg(2)
            .query::<()>(&mut con)
            .unwrap();
    });
    std::thread::sleep(Duration::from_millis(200));
    let answer = send(&a, &bodies[0], &[]).await;
    assert_eq!(cache_header(&answer), "miss");
    assert!(answer.headers.get("x-pith-compressed").is_some());
    eprintln!(
        "compressed beside a sleeping Redis in {:?} ms",
        answer.headers.get("x-pith-compress-ms")
    );
    assert!(errors(&a).await >= 1, "the timeout was not counted");
    sleeper.join().unwrap();
    let first = last_forwarded(&upstream);

    // Full: no memory left and no eviction, so every write is refused; reads still work.
    let held = redis.block_keys();
    let mut con = redis.connection();
    for (key, value) in [("maxmemory-policy", "noeviction"), ("maxmemory", "1")] {
        redis::cmd("CONFIG")
            .arg("SET")
            .arg(key)
            .arg(value)
            .query::<()>(&mut con)
            .unwrap();
    }
    let b = replica(&upstream, &redis, &[]);
    assert_eq!(cache_header(&send(&b, &bodies[0], &[]).await), "miss");
    assert_eq!(last_forwarded(&upstream), first);
    assert_eq!(cache_header(&send(&b, &bodies[1], &[]).await), "miss");
    let m = metrics_text(&b.url).await;
    assert!(series(&m, "pith_shared_cache_errors_total") >= 1, "{m}");
    assert_eq!(
        series(&m, "pith_shared_cache_writes_total{kind=\"block\"}"),
        0,
        "{m}"
    );
    assert_eq!(redis.block_keys(), held);
}

#[test]
fn the_startup_line_names_the_cache_without_its_password() {
    use std::io::BufRead;
    // No server needed: a replica starts (and serves) without reaching Redis.
    let url = format!("redis://:{PASSWORD}@127.0.0.1:9");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pith"))
        .env("PITH_NO_CACHE", "1")
        .args(["serve", "--listen", "127.0.0.1:0", "--cache-url", &url])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.contains("shared cache redis://***@127.0.0.1:9"),
        "{first}"
    );
    assert!(!first.contains(PASSWORD), "{first}");
}
