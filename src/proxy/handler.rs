//! One request through the proxy: check it (path, key, control headers), take in its
//! body within the limits, let the rewriter shrink it on the compressible routes, forward
//! it upstream and relay the answer; then count it and log one line.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header, request::Parts};
use axum::response::Response;

use super::body::{drain, expects_continue, read_body};
use super::forward::{self, ErrorKind, Provider};
use super::policy::Api;
use super::rewriter::Control;
use super::slots::run_rewriter;
use super::state::AppState;
use super::upstream;

/// What the log line and metrics need to know about one request.
#[derive(Debug, Default)]
struct Outcome {
    saved: usize,
    error: Option<String>,
    body_log: Option<String>,
    /// The body was refused part-way (too large): the rest of it was drained or dropped.
    body_refused: bool,
}

/// Every request but `/healthz` and `/metrics`: handled, then counted and logged.
pub(super) async fn proxy(State(state): State<AppState>, request: Request) -> Response {
    let start = Instant::now();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let api = Api::for_route(&parts.method, &path);
    let provider = api.map_or_else(
        || Provider::for_request(&path, &parts.headers),
        Api::provider,
    );
    let route = match api {
        Some(api) => api.label(),
        None if path.starts_with("/v1/") => "passthrough",
        None => "other",
    };
    let method = parts.method.clone();
    let expects_continue = expects_continue(&parts.headers);
    let mut outcome = Outcome::default();
    let mut body = Some(body);
    let mut response = handle(&state, parts, &mut body, api, provider, &mut outcome).await;
    // Answered without reading the body (or not all of it): the connection cannot carry
    // another request. Read what the client is still sending (bounded) so that it gets
    // this answer rather than a reset, and tell it to reconnect rather than have its next
    // request fail on a connection the server is closing.
    if outcome.body_refused || body.is_some() {
        if let Some(unread) = body.take().filter(|_| !expects_continue) {
            drain(unread.into_data_stream()).await;
        }
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let status = response.status().as_u16();
    state.metrics.request(route, status);
    // Path only: queries may carry keys; headers and bodies never appear unless asked.
    let mut line = format!(
        "pith: {method} {path} {status} {}ms saved={}",
        start.elapsed().as_millis(),
        outcome.saved
    );
    if let Some(e) = &outcome.error {
        line.push_str(&format!(" error={e:?}"));
    }
    if let Some(b) = &outcome.body_log {
        line.push_str(&format!(" body={b:?}"));
    }
    eprintln!("{line}");
    response
}

/// The answer to one request; `outcome` says what the log line and metrics need.
async fn handle(
    state: &AppState,
    parts: Parts,
    body: &mut Option<Body>,
    api: Option<Api>,
    provider: Provider,
    outcome: &mut Outcome,
) -> Response {
    let config = &state.config;
    if !parts.uri.path().starts_with("/v1/") {
        return forward::error_response(provider, ErrorKind::NotFound, "pith serves only /v1/*");
    }
    if escapes_path(parts.uri.path()) {
        return forward::error_response(
            provider,
            ErrorKind::InvalidRequest,
            "pith: paths with '.' or '..' segments or backslashes are refused",
        );
    }
    if let Some(key) = &config.proxy_key {
        let given = parts.headers.get("x-pith-key").map(HeaderValue::as_bytes);
        if !given.is_some_and(|g| constant_time_eq(g, key.as_bytes())) {
            return forward::error_response(
                provider,
                ErrorKind::Authentication,
                "pith: missing or wrong x-pith-key",
            );
        }
    }
    let control = match Control::from_headers(&parts.headers) {
        Ok(c) => c,
        Err(e) => return forward::error_response(provider, ErrorKind::InvalidRequest, &e),
    };
    let body = body.take().unwrap_or_default();
    // The permit is held until the upstream has answered (or this returns otherwise).
    let (bytes, _held) = match read_body(body, &parts.headers, config.max_body, &state.bodies).await
    {
        Ok(b) => b,
        Err(kind) => {
            outcome.body_refused = true;
            let message = match kind {
                ErrorKind::TooLarge => format!(
                    "pith: request body exceeds the limit of {} bytes",
                    config.max_body
                ),
                ErrorKind::Overloaded => format!(
                    "pith: request bodies in flight would exceed {} bytes; retry later",
                    config.max_inflight_bytes
                ),
                _ => "pith: could not read the request body".to_owned(),
            };
            outcome.error = Some(message.clone());
            return forward::error_response(provider, kind, &message);
        }
    };
    let headers = forward::request_headers(&parts.headers);
    let mut pith_headers: Vec<(&'static str, String)> = Vec::new();
    let mut send = bytes.clone();
    if let Some(api) = api.filter(|_| !control.bypass) {
        let started = Instant::now();
        let result = run_rewriter(state, api, control, &headers, &bytes).await;
        let elapsed = started.elapsed();
        state.metrics.compress_time(elapsed);
        pith_headers.push(("x-pith-compress-ms", elapsed.as_millis().to_string()));
        if let Ok((_, Some(cache))) = &result {
            pith_headers.push(("x-pith-cache", cache.label().to_owned()));
        }
        match result {
            Ok((None, _)) => {}
            Ok((Some(rw), _)) => {
                state.metrics.tokens(rw.tokens_before, rw.tokens_after);
                outcome.saved = rw.tokens_before.saturating_sub(rw.tokens_after);
                pith_headers.push(("x-pith-tokens-before", rw.tokens_before.to_string()));
                pith_headers.push(("x-pith-tokens-after", rw.tokens_after.to_string()));
                pith_headers.push(("x-pith-tokens-saved", outcome.saved.to_string()));
                pith_headers.push(("x-pith-compressed", rw.blocks.join(",")));
                pith_headers.push(("x-pith-presets", rw.presets.join(",")));
                send = rw.body;
            }
            Err(failure) => {
                state.metrics.failure(failure.metric());
                let message = failure.message(config.compress_timeout_ms);
                outcome.error = Some(message.clone());
                if config.fail_closed {
                    return forward::error_response(
                        provider,
                        failure.fail_closed_kind(),
                        &format!("pith: {message}"),
                    );
                }
                pith_headers.push(("x-pith-error", message));
            }
        }
    }
    if config.log_bodies {
        outcome.body_log = Some(String::from_utf8_lossy(&send).into_owned());
    }
    let base = match provider {
        Provider::OpenAi => &config.openai_upstream,
        Provider::Anthropic => &config.anthropic_upstream,
    };
    match upstream::send(&state.client, base, &parts, headers, send).await {
        Ok(answer) => upstream::relay(answer, pith_headers),
        Err(e) => {
            state.metrics.upstream_error();
            let (kind, message) = upstream::failure(provider, e);
            outcome.error = Some(message.clone());
            forward::error_response(provider, kind, &message)
        }
    }
}

/// Whether a path has a `.` or `..` segment (also percent-encoded) or a backslash. The
/// URL parser resolves those when the path is joined to the upstream base, which would let
/// a request climb out of a base's path prefix (`https://gw/openai` + `/v1/../../admin`).
fn escapes_path(path: &str) -> bool {
    path.contains('\\')
        || path.split('/').any(|segment| {
            let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
            decoded == "." || decoded == ".."
        })
}

/// Compares secrets without an early exit that would leak the matching prefix length.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_and_backslashes_are_caught() {
        for bad in [
            "/v1/../admin",
            "/v1/./x",
            "/v1/%2e%2E/x",
            "/v1/.%2e",
            "/v1\\..\\x",
        ] {
            assert!(escapes_path(bad), "{bad}");
        }
        for ok in [
            "/v1/models",
            "/v1/files/a.b",
            "/v1/..x/y",
            "/v1/x..",
            "/v1//x",
        ] {
            assert!(!escapes_path(ok), "{ok}");
        }
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
