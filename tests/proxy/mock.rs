//! The mock upstream of tests/proxy/proxy_server.rs: an axum server on 127.0.0.1:0 that records
//! every request and answers like the OpenAI or Anthropic API would (JSON, errors, or SSE
//! sent in delayed chunks), enough for the official SDKs to parse.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Clone, Default)]
pub struct MockState {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Lets the "slow" stream send its remaining chunks.
    pub release: Arc<Notify>,
    /// Counts response streams dropped before they finished (the connection closed).
    pub closed: Arc<AtomicUsize>,
    pub closed_notify: Arc<Notify>,
}

pub struct Mock {
    pub addr: SocketAddr,
    pub state: MockState,
}

impl Mock {
    pub async fn start() -> Mock {
        let state = MockState::default();
        let app = Router::new()
            .fallback(mock_handler)
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Mock { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

/// Sets `closed` when dropped before `done` (hyper drops the body when the peer leaves).
struct DropGuard {
    state: MockState,
    done: bool,
}

impl DropGuard {
    fn finish(&mut self) {
        self.done = true;
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if !self.done {
            self.state.closed.fetch_add(1, Ordering::SeqCst);
            self.state.closed_notify.notify_waiters();
        }
    }
}

/// Server-sent events of one streamed answer "Hello", in the API's own event format.
pub fn sse_chunks(path: &str) -> Vec<String> {
    let event = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    if path.starts_with("/v1/messages") {
        vec![
            event(
                "message_start",
                json!({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-test","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}),
            ),
            event(
                "content_block_start",
                json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
            ),
            event(
                "content_block_delta",
                json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}),
            ),
            event(
                "content_block_delta",
                json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}),
            ),
            event(
                "content_block_stop",
                json!({"type":"content_block_stop","index":0}),
            ),
            event(
                "message_delta",
                json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}),
            ),
            event("message_stop", json!({"type":"message_stop"})),
        ]
    } else if path == "/v1/responses" {
        let delta = |seq: u32, d: &str| {
            event(
                "response.output_text.delta",
                json!({"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":d,"sequence_number":seq}),
            )
        };
        vec![
            event(
                "response.created",
                json!({"type":"response.created","sequence_number":0,"response":response_object("in_progress", &[])}),
            ),
            delta(1, "Hel"),
            delta(2, "lo"),
            event(
                "response.completed",
                json!({"type":"response.completed","sequence_number":3,"response":response_object("completed", &["Hello"])}),
            ),
        ]
    } else {
        let chunk = |delta: Value, finish: Value| {
            let c = json!({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-test","choices":[{"index":0,"delta":delta,"finish_reason":finish}]});
            format!("data: {c}\n\n")
        };
        vec![
            chunk(json!({"role":"assistant","content":"Hel"}), Value::Null),
            chunk(json!({"content":"lo"}), Value::Null),
            chunk(json!({}), json!("stop")),
            "data: [DONE]\n\n".to_owned(),
        ]
    }
}

fn response_object(status: &str, texts: &[&str]) -> Value {
    let output: Vec<Value> = texts
        .iter()
        .map(|t| json!({"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":t,"annotations":[]}]}))
        .collect();
    json!({"id":"resp_1","object":"response","created_at":1,"status":status,"model":"gpt-test","output":output,"parallel_tool_calls":true,"tool_choice":"auto","tools":[],"usage":{"input_tokens":3,"output_tokens":2,"total_tokens":5,"input_tokens_details":{"cached_tokens":0},"output_tokens_details":{"reasoning_tokens":0}}})
}

/// The canned JSON answer for a non-streaming request.
pub fn json_answer(path: &str, req: &Value) -> Value {
    let has_tools = req.get("tools").is_some();
    match path {
        "/v1/messages/count_tokens" => json!({"input_tokens": 7}),
        "/v1/messages" => {
            let last = req["messages"]
                .as_array()
                .and_then(|m| m.last())
                .map_or(&Value::Null, |m| &m["content"]);
            let result = last.as_array().and_then(|blocks| {
                blocks
                    .iter()
                    .find(|b| b["type"] == "tool_result")
                    .and_then(|b| b["content"].as_str().map(str::to_owned))
            });
            let (content, stop) = match (result, has_tools) {
                (Some(r), _) => (
                    json!([{"type":"text","text":format!("tool said: {r}")}]),
                    "end_turn",
                ),
                (None, true) => (
                    json!([{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]),
                    "tool_use",
                ),
                (None, false) => (json!([{"type":"text","text":"Hello"}]), "end_turn"),
            };
            json!({"id":"msg_1","type":"message","role":"assistant","model":"claude-test","content":content,"stop_reason":stop,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":2}})
        }
        "/v1/responses" => response_object("completed", &["Hello"]),
        "/v1/chat/completions" => {
            let last = req["messages"]
                .as_array()
                .and_then(|m| m.last())
                .unwrap_or(&Value::Null);
            let message = if last["role"] == "tool" {
                json!({"role":"assistant","content":format!("tool said: {}", last["content"].as_str().unwrap_or(""))})
            } else if has_tools {
                json!({"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]})
            } else {
                json!({"role":"assistant","content":"Hello"})
            };
            json!({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-test","choices":[{"index":0,"message":message,"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})
        }
        _ => json!({"object":"list","data":[]}),
    }
}

pub fn error_answer(path: &str, status: u16) -> Value {
    if path.starts_with("/v1/messages") {
        let kind = match status {
            400 => "invalid_request_error",
            401 => "authentication_error",
            429 => "rate_limit_error",
            529 => "overloaded_error",
            _ => "api_error",
        };
        json!({"type":"error","error":{"type":kind,"message":format!("mock {status}")}})
    } else {
        json!({"error":{"message":format!("mock {status}"),"type":"mock_error","param":null,"code":format!("code_{status}")}})
    }
}

async fn mock_handler(State(state): State<MockState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let path = parts.uri.path().to_owned();
    state.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = req["model"].as_str().unwrap_or("");
    let builder = Response::builder()
        .header("x-upstream", "mock")
        .header("x-request-id", "req_1");
    // Like the real APIs: a POST to an API route whose body is not a JSON object is a 400.
    let api_route = [
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/messages",
        "/v1/messages/count_tokens",
    ]
    .contains(&path.as_str());
    if api_route && parts.method == "POST" && !req.is_object() {
        return builder
            .status(400)
            .header("content-type", "application/json")
            .body(Body::from(error_answer(&path, 400).to_string()))
            .unwrap();
    }
    if let Some(status) = model.strip_prefix("status-") {
        let status: u16 = status.parse().unwrap();
        return builder
            .status(status)
            .header("content-type", "application/json")
            .header("retry-after", "7")
            .body(Body::from(error_answer(&path, status).to_string()))
            .unwrap();
    }
    if req["stream"] != Value::Bool(true) {
        return builder
            .header("content-type", "application/json")
            .body(Body::from(json_answer(&path, &req).to_string()))
            .unwrap();
    }
    let chunks = sse_chunks(&path);
    let (slow, hang) = (model == "slow", model == "hang");
    let stream = async_stream(state, chunks, slow, hang);
    builder
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// The chunks one by one, 20 ms apart; "slow" waits for `release` after the first, "hang"
/// never sends more than the first.
fn async_stream(
    state: MockState,
    chunks: Vec<String>,
    slow: bool,
    hang: bool,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let guard = DropGuard { state, done: false };
    futures_util::stream::unfold((0, guard), move |(i, mut guard)| {
        let chunks = chunks.clone();
        async move {
            if i >= chunks.len() {
                guard.finish();
                return None;
            }
            if i == 1 && slow {
                guard.state.release.notified().await;
            } else if i == 1 && hang {
                std::future::pending::<()>().await;
            } else if i > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Some((Ok(Bytes::from(chunks[i].clone())), (i + 1, guard)))
        }
    })
}
