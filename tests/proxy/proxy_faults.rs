//! `pith serve` in front of an upstream that misbehaves on purpose. The upstream is raw
//! `tokio::net::TcpListener` code writing HTTP/1.1 bytes by hand, so every fault is exact:
//! error statuses, connections closed or reset before or during a response, an upstream
//! that never answers, a slow drip, a chunked stream without its end, a body shorter than
//! its Content-Length.
//!
//! For each fault a client's observation through pith (status, relayed headers, body bytes,
//! whether the body broke off) must equal its observation straight from the upstream.
//! Where a difference is inherent — a direct client gets a connection error where a proxy
//! must answer something — the test asserts pith's documented answer instead. After every
//! fault pith still serves.
#![allow(clippy::unwrap_used)]

// support.rs is written for the mock upstream; only its client side is used here.
use crate::support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pith::proxy::config::Config;
use pith::proxy::server::Identity;
use serde_json::Value;
use support::{client, metrics_text, post_on};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

// ---- the faulty upstream ----------------------------------------------------------------

/// An upstream on 127.0.0.1 that reads one request per connection and then does what the
/// request's `x-fault` header says (pith forwards that header like any other).
struct Faulty {
    addr: SocketAddr,
    /// Requests read in full.
    requests: Arc<AtomicUsize>,
    /// Lets a stream that is to be reset go on to the reset, once the client has read
    /// what came before it (a reset can discard bytes the peer has not read yet).
    cut: Arc<Notify>,
}

impl Faulty {
    async fn start() -> Faulty {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let cut = Arc::new(Notify::new());
        let (r, c) = (requests.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (r, c) = (r.clone(), c.clone());
                tokio::spawn(async move {
                    let _ = serve_one(stream, r, c).await;
                });
            }
        });
        Faulty {
            addr,
            requests,
            cut,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The provider-style error body the upstream sends with a 5xx.
fn provider_error(status: u16) -> String {
    format!(
        "{{\"error\":{{\"message\":\"upstream says {status}\",\"type\":\"server_error\",\"param\":null,\"code\":null}}}}"
    )
}

const OK_BODY: &str = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"finish_reason\":\"stop\"}]}";

/// Server-sent events of a streamed answer, as the upstream sends them.
fn sse_events() -> Vec<String> {
    (0..6)
        .map(|i| {
            format!(
                "data: {{\"id\":\"chatcmpl-1\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"part {i} \"}}}}]}}\n\n"
            )
        })
        .chain(["data: [DONE]\n\n".to_owned()])
        .collect()
}

fn chunk(data: &str) -> String {
    format!("{:x}\r\n{data}\r\n", data.len())
}

const SSE_HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nx-request-id: req_sse\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";

/// Reads the request head and its Content-Length body; returns the `x-fault` value.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            l.strip_prefix(&format!("{name}:"))
                .map(|v| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length").map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await?;
    Ok(header("x-fault").unwrap_or_default())
}

/// Closes with a TCP reset instead of an orderly FIN.
fn reset(stream: TcpStream) {
    #[allow(deprecated)] // SO_LINGER 0 never blocks: the reset is immediate.
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

async fn serve_one(
    mut stream: TcpStream,
    requests: Arc<AtomicUsize>,
    cut: Arc<Notify>,
) -> std::io::Result<()> {
    let fault = read_request(&mut stream).await?;
    requests.fetch_add(1, Ordering::SeqCst);
    match fault.as_str() {
        "" => {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-request-id: req_ok\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                OK_BODY.len()
            );
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(OK_BODY.as_bytes()).await?;
        }
        "500" | "502" | "503" => {
            let body = provider_error(fault.parse().unwrap());
            let reason = match fault.as_str() {
                "500" => "Internal Server Error",
                "502" => "Bad Gateway",
                _ => "Service Unavailable",
            };
            let head = format!(
                "HTTP/1.1 {fault} {reason}\r\ncontent-type: application/json\r\nretry-after: 3\r\nx-request-id: req_{fault}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(body.as_bytes()).await?;
        }
        "close" => {}
        "reset" => {
            reset(stream);
            return Ok(());
        }
        "reset-stream" => {
            stream.write_all(SSE_HEAD.as_bytes()).await?;
            for event in &sse_events()[..3] {
                stream.write_all(chunk(event).as_bytes()).await?;
            }
            stream.flush().await?;
            // Bounded: if the client never reads, the reset still comes.
            let _ = tokio::time::timeout(Duration::from_secs(20), cut.notified()).await;
            reset(stream);
            return Ok(());
        }
        "hang" => {
            // Never answers; reads until the peer gives up and closes.
            let mut sink = [0u8; 64];
            while stream.read(&mut sink).await? > 0 {}
        }
        "drip" => {
            stream.write_all(SSE_HEAD.as_bytes()).await?;
            let all = sse_events().concat();
            for piece in all.as_bytes().chunks(24) {
                stream
                    .write_all(chunk(std::str::from_utf8(piece).unwrap()).as_bytes())
                    .await?;
                stream.flush().await?;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            stream.write_all(b"0\r\n\r\n").await?;
        }
        "truncated" => {
            stream.write_all(SSE_HEAD.as_bytes()).await?;
            for event in &sse_events()[..4] {
                stream.write_all(chunk(event).as_bytes()).await?;
            }
            // No `0\r\n\r\n`: an orderly close in the middle of the chunked body.
        }
        "short" => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n";
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&OK_BODY.as_bytes()[..60]).await?;
        }
        other => panic!("unknown fault {other}"),
    }
    stream.shutdown().await?;
    Ok(())
}

// ---- pith in front of it ----------------------------------------------------------------

/// pith that forwards what it gets unchanged, so the upstream's faults are all it adds.
async fn start_proxy(config: Config) -> String {
    support::start_proxy(config, Arc::new(Identity)).await
}

fn config_for(upstream: &Faulty) -> Config {
    Config {
        openai_upstream: upstream.url(),
        anthropic_upstream: upstream.url(),
        ..Config::default()
    }
}

/// What a client sees of one exchange.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    /// No response at all: the request failed (connection error or the client's timeout).
    NoResponse,
    Response {
        status: u16,
        /// The end-to-end headers a client may act on.
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        /// The body broke off (reset, truncated, short) instead of ending cleanly.
        body_failed: bool,
    },
}

impl Seen {
    fn body_json(&self) -> Value {
        match self {
            Seen::Response { body, .. } => serde_json::from_slice(body).unwrap(),
            Seen::NoResponse => panic!("no response"),
        }
    }
}

fn client_with_timeout(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .unwrap()
}

/// Sends the chat request with `fault` to `base` and records what comes back. When
/// `cut` is given, it is notified once `cut_after` body bytes arrived.
async fn observe(
    base: &str,
    fault: &str,
    timeout: Duration,
    cut: Option<(&Notify, usize)>,
) -> Seen {
    let mut request = client_with_timeout(timeout)
        .post(format!("{base}/v1/chat/completions"))
        .header("content-type", "application/json")
        .body("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    if !fault.is_empty() {
        request = request.header("x-fault", fault);
    }
    let Ok(mut response) = request.send().await else {
        return Seen::NoResponse;
    };
    let status = response.status().as_u16();
    let headers = [
        "content-type",
        "content-length",
        "retry-after",
        "x-request-id",
    ]
    .iter()
    .filter_map(|name| {
        let v = response.headers().get(*name)?;
        Some((name.to_string(), v.to_str().unwrap().to_owned()))
    })
    .collect();
    let mut body = Vec::new();
    let mut body_failed = false;
    loop {
        match response.chunk().await {
            Ok(Some(c)) => {
                body.extend_from_slice(&c);
                if let Some((notify, after)) = cut
                    && body.len() >= after
                {
                    notify.notify_one();
                }
            }
            Ok(None) => break,
            Err(_) => {
                body_failed = true;
                break;
            }
        }
    }
    Seen::Response {
        status,
        headers,
        body,
        body_failed,
    }
}

/// Generous upper bound for an exchange that should finish: only catches hangs.
const HANG: Duration = Duration::from_secs(60);

/// pith still answers /healthz and relays a normal request after a fault.
async fn still_serves(proxy: &str, upstream: &Faulty) {
    let health = client()
        .get(format!("{proxy}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok\n");
    let direct = observe(&upstream.url(), "", HANG, None).await;
    let through = observe(proxy, "", HANG, None).await;
    assert_eq!(through, direct);
    assert!(matches!(through, Seen::Response { status: 200, .. }));
}

/// The fault seen directly and through pith must be the same, and pith must survive it.
async fn same_both_ways(fault: &str) -> Seen {
    let upstream = Faulty::start().await;
    let proxy = start_proxy(config_for(&upstream)).await;
    let direct = observe(&upstream.url(), fault, HANG, None).await;
    let through = observe(&proxy, fault, HANG, None).await;
    assert_eq!(through, direct, "{fault}");
    still_serves(&proxy, &upstream).await;
    through
}

// ---- the faults -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_relayed_unchanged() {
    for status in ["500", "502", "503"] {
        let seen = same_both_ways(status).await;
        let Seen::Response {
            status: got,
            headers,
            body,
            body_failed,
        } = &seen
        else {
            panic!("{status}: no response");
        };
        assert_eq!(got.to_string(), status);
        assert_eq!(body, provider_error(got.to_owned()).as_bytes());
        assert!(!body_failed);
        assert!(headers.contains(&("retry-after".into(), "3".into())));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_drip_arrives_whole_and_in_order() {
    let seen = same_both_ways("drip").await;
    let Seen::Response {
        status,
        body,
        body_failed,
        ..
    } = seen
    else {
        panic!("no response");
    };
    assert_eq!((status, body_failed), (200, false));
    assert_eq!(body, sse_events().concat().as_bytes());
}

#[tokio::test(flavor = "multi_thread")]
async fn truncated_stream_breaks_off_after_the_same_bytes() {
    let seen = same_both_ways("truncated").await;
    let Seen::Response {
        body, body_failed, ..
    } = seen
    else {
        panic!("no response");
    };
    assert!(
        body_failed,
        "a chunked body without its end must not look complete"
    );
    assert_eq!(body, sse_events()[..4].concat().as_bytes());
}

#[tokio::test(flavor = "multi_thread")]
async fn body_shorter_than_its_content_length_breaks_off() {
    let seen = same_both_ways("short").await;
    let Seen::Response {
        headers,
        body,
        body_failed,
        ..
    } = seen
    else {
        panic!("no response");
    };
    assert!(body_failed);
    assert_eq!(body, &OK_BODY.as_bytes()[..60]);
    // The upstream's length is relayed, so the client can tell the body is short.
    assert!(headers.contains(&("content-length".into(), "1000".into())));
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_during_a_stream_breaks_off_after_the_same_bytes() {
    let upstream = Faulty::start().await;
    let proxy = start_proxy(config_for(&upstream)).await;
    let sent = sse_events()[..3].concat();
    let cut = Some((upstream.cut.as_ref(), sent.len()));
    let direct = observe(&upstream.url(), "reset-stream", HANG, cut).await;
    let through = observe(&proxy, "reset-stream", HANG, cut).await;
    assert_eq!(through, direct);
    let Seen::Response {
        status,
        body,
        body_failed,
        ..
    } = through
    else {
        panic!("no response");
    };
    assert_eq!((status, body_failed), (200, true));
    assert_eq!(body, sent.as_bytes());
    still_serves(&proxy, &upstream).await;
}

/// Closed (FIN) or reset (RST) right after the request, before any response byte. A
/// direct client gets a connection error; pith cannot answer with nothing, so it answers
/// the documented 502 in the provider's shape. The request reached the upstream once
/// each way: pith does not retry a POST on its own.
#[tokio::test(flavor = "multi_thread")]
async fn connection_lost_before_the_response_is_a_502() {
    for fault in ["close", "reset"] {
        let upstream = Faulty::start().await;
        let proxy = start_proxy(config_for(&upstream)).await;
        let direct = observe(&upstream.url(), fault, HANG, None).await;
        assert_eq!(direct, Seen::NoResponse, "{fault}");
        let through = observe(&proxy, fault, HANG, None).await;
        let Seen::Response {
            status, headers, ..
        } = &through
        else {
            panic!("{fault}: pith gave no response");
        };
        assert_eq!(*status, 502, "{fault}");
        assert!(headers.contains(&("content-type".into(), "application/json".into())));
        let v = through.body_json();
        assert_eq!(v["error"]["type"], "server_error");
        assert_eq!(v["error"]["code"], "upstream_error");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("pith: openai upstream failed"),
            "{v}"
        );
        assert_eq!(upstream.requests.load(Ordering::SeqCst), 2, "{fault}");
        still_serves(&proxy, &upstream).await;
    }
}

/// An upstream that never answers: a direct client waits until its own timeout; pith
/// answers 504 in the provider's shape once `timeout_secs` has passed.
#[tokio::test(flavor = "multi_thread")]
async fn upstream_that_never_answers_is_a_504_after_the_timeout() {
    let upstream = Faulty::start().await;
    let proxy = start_proxy(Config {
        timeout_secs: 1,
        ..config_for(&upstream)
    })
    .await;
    let direct = observe(&upstream.url(), "hang", Duration::from_secs(1), None).await;
    assert_eq!(direct, Seen::NoResponse);
    let through = observe(&proxy, "hang", HANG, None).await;
    let Seen::Response { status, .. } = &through else {
        panic!("pith gave no response");
    };
    assert_eq!(*status, 504);
    let v = through.body_json();
    assert_eq!(v["error"]["code"], "upstream_timeout");
    assert_eq!(v["error"]["type"], "server_error");
    // The Anthropic routes get Anthropic's envelope for the same fault.
    let anthropic = post_on(
        &client_with_timeout(HANG),
        format!("{proxy}/v1/messages"),
        &[("x-fault", "hang")],
        "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[]}",
    )
    .await;
    assert_eq!(anthropic.status, 504);
    let v = anthropic.json();
    assert_eq!(
        (v["type"].as_str(), v["error"]["type"].as_str()),
        (Some("error"), Some("timeout_error"))
    );
    still_serves(&proxy, &upstream).await;
}

/// /metrics counts the upstream failures pith answered for itself.
#[tokio::test(flavor = "multi_thread")]
async fn upstream_failures_are_counted() {
    let upstream = Faulty::start().await;
    let proxy = start_proxy(config_for(&upstream)).await;
    for fault in ["reset", "close", "500"] {
        observe(&proxy, fault, HANG, None).await;
    }
    let text = metrics_text(&proxy).await;
    assert!(text.contains("pith_upstream_errors_total 2\n"), "{text}");
    assert!(
        text.contains("pith_requests_total{route=\"chat_completions\",status=\"502\"} 2\n"),
        "{text}"
    );
    assert!(
        text.contains("pith_requests_total{route=\"chat_completions\",status=\"500\"} 1\n"),
        "{text}"
    );
}
