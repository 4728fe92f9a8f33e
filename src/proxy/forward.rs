//! The pure parts of forwarding: which route is which API, which upstream a request goes
//! to, which headers cross the proxy, and the provider-shaped errors pith answers with
//! itself.
//!
//! Headers follow RFC 9110 §7.6.1: hop-by-hop headers (and those a `Connection` header
//! names) describe one connection, so they are dropped on both legs; everything else is
//! end-to-end and forwarded as is. `Host` and `Content-Length` are dropped from requests
//! because the HTTP client sets them for the upstream and the body it actually sends.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::policy::Api;

/// Which API family an upstream speaks; decides the error envelope too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// OpenAI-style APIs (`/v1/chat/completions`, `/v1/responses`, and the rest).
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
}

impl Provider {
    /// The routing rule for requests not on a known route: Anthropic-only paths
    /// (`/v1/messages…`, `/v1/complete`) and requests that carry Anthropic's own headers
    /// (`x-api-key`, `anthropic-version`) go to Anthropic; everything else to OpenAI.
    pub fn for_request(path: &str, headers: &HeaderMap) -> Self {
        let anthropic_path =
            path == "/v1/messages" || path.starts_with("/v1/messages/") || path == "/v1/complete";
        if anthropic_path
            || headers.contains_key("x-api-key")
            || headers.contains_key("anthropic-version")
        {
            Provider::Anthropic
        } else {
            Provider::OpenAi
        }
    }

    /// `openai` or `anthropic`.
    pub fn name(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
        }
    }
}

impl Api {
    /// The API a request is for, if it is on a compressible route.
    pub fn for_route(method: &Method, path: &str) -> Option<Api> {
        if method != Method::POST {
            return None;
        }
        match path {
            "/v1/chat/completions" => Some(Api::ChatCompletions),
            "/v1/responses" => Some(Api::Responses),
            "/v1/messages" => Some(Api::Messages),
            "/v1/messages/count_tokens" => Some(Api::CountTokens),
            _ => None,
        }
    }

    /// The provider that serves this API.
    pub fn provider(self) -> Provider {
        match self {
            Api::ChatCompletions | Api::Responses => Provider::OpenAi,
            Api::Messages | Api::CountTokens => Provider::Anthropic,
        }
    }

    /// The `route` label of the metrics.
    pub fn label(self) -> &'static str {
        match self {
            Api::ChatCompletions => "chat_completions",
            Api::Responses => "responses",
            Api::Messages => "messages",
            Api::CountTokens => "count_tokens",
        }
    }
}

/// Headers that describe one connection, never forwarded.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Prefix of pith's own control headers: read by the proxy, never forwarded.
pub(crate) const CONTROL_PREFIX: &str = "x-pith-";

fn is_hop_by_hop(name: &HeaderName, connection_named: &[String]) -> bool {
    let n = name.as_str();
    HOP_BY_HOP.contains(&n) || connection_named.iter().any(|c| c == n)
}

/// Lower-cased header names listed in `Connection` headers.
fn connection_named(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// The headers to send upstream: end-to-end ones only, minus `Host`, `Content-Length`
/// and every `x-pith-*` header. Repeated headers keep their order.
pub(crate) fn request_headers(incoming: &HeaderMap) -> HeaderMap {
    let named = connection_named(incoming);
    let mut out = HeaderMap::with_capacity(incoming.len());
    for (name, value) in incoming {
        if is_hop_by_hop(name, &named)
            || name == header::HOST
            || name == header::CONTENT_LENGTH
            || name.as_str().starts_with(CONTROL_PREFIX)
        {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// The upstream's response headers to relay: all but hop-by-hop ones. `Content-Length`
/// stays: the body is relayed unchanged, so the upstream's length is still right.
pub(crate) fn response_headers(upstream: &HeaderMap) -> HeaderMap {
    let named = connection_named(upstream);
    let mut out = HeaderMap::with_capacity(upstream.len());
    for (name, value) in upstream {
        if !is_hop_by_hop(name, &named) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// The upstream URL: the configured base (without a trailing slash) plus the request's
/// path and query, so a base with a path prefix (`https://gw/openai`) works.
pub fn upstream_url(base: &str, path_and_query: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), path_and_query)
}

/// What went wrong, in the words of the provider's error types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed (400).
    InvalidRequest,
    /// No or bad credentials (401).
    Authentication,
    /// No such route (404).
    NotFound,
    /// The body is over `max_body` (413).
    TooLarge,
    /// The upstream could not be reached or failed (502).
    Upstream,
    /// The upstream took too long (504).
    Timeout,
    /// pith itself cannot take the request now (no compression slot, or compression
    /// timed out under fail-closed): worth a retry, which SDKs do on 503.
    Overloaded,
    /// pith failed (500).
    Internal,
}

impl ErrorKind {
    /// The HTTP status answered for it.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Authentication => StatusCode::UNAUTHORIZED,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Upstream => StatusCode::BAD_GATEWAY,
            ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// `(OpenAI type, OpenAI code, Anthropic type)`, the values those APIs use for the
    /// same condition, so SDKs map them to the exceptions they already know.
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            ErrorKind::InvalidRequest => (
                "invalid_request_error",
                "invalid_request",
                "invalid_request_error",
            ),
            ErrorKind::Authentication => (
                "invalid_request_error",
                "invalid_api_key",
                "authentication_error",
            ),
            ErrorKind::NotFound => ("invalid_request_error", "not_found", "not_found_error"),
            ErrorKind::TooLarge => (
                "invalid_request_error",
                "request_too_large",
                "request_too_large",
            ),
            ErrorKind::Upstream => ("server_error", "upstream_error", "api_error"),
            ErrorKind::Timeout => ("server_error", "upstream_timeout", "timeout_error"),
            ErrorKind::Overloaded => ("server_error", "pith_overloaded", "overloaded_error"),
            ErrorKind::Internal => ("server_error", "internal_error", "api_error"),
        }
    }
}

/// The JSON body of an error pith produces, in the provider's envelope.
pub(crate) fn error_body(provider: Provider, kind: ErrorKind, message: &str) -> String {
    let (openai_type, openai_code, anthropic_type) = kind.names();
    let value = match provider {
        Provider::OpenAi => serde_json::json!({
            "error": {"message": message, "type": openai_type, "param": null, "code": openai_code}
        }),
        Provider::Anthropic => serde_json::json!({
            "type": "error",
            "error": {"type": anthropic_type, "message": message}
        }),
    };
    value.to_string()
}

/// A complete error response, marked as pith's own with `x-pith-error`.
pub(crate) fn error_response(provider: Provider, kind: ErrorKind, message: &str) -> Response {
    let mut response = (
        kind.status(),
        [(header::CONTENT_TYPE, "application/json")],
        error_body(provider, kind, message),
    )
        .into_response();
    let short: String = message
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if let Ok(v) = HeaderValue::from_str(&short) {
        response.headers_mut().insert("x-pith-error", v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    #[test]
    fn request_headers_keep_end_to_end_and_drop_the_rest() {
        let h = map(&[
            ("authorization", "Bearer sk"),
            ("x-api-key", "k"),
            ("anthropic-beta", "a"),
            ("anthropic-beta", "b"),
            ("x-stainless-os", "Linux"),
            ("connection", "keep-alive, X-Drop-Me"),
            ("x-drop-me", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("host", "proxy:8787"),
            ("content-length", "12"),
            ("x-pith-budget", "100"),
            ("x-pith-key", "secret"),
            ("accept-encoding", "gzip, br"),
        ]);
        let out = request_headers(&h);
        let names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "authorization",
                "x-api-key",
                "anthropic-beta",
                "x-stainless-os",
                "accept-encoding"
            ]
        );
        let betas: Vec<_> = out.get_all("anthropic-beta").iter().collect();
        assert_eq!(betas, ["a", "b"]);
        assert_eq!(out["accept-encoding"], "gzip, br");
    }

    #[test]
    fn response_headers_keep_content_length_but_not_hop_by_hop() {
        let h = map(&[
            ("content-length", "3"),
            ("transfer-encoding", "chunked"),
            ("connection", "close"),
            ("retry-after", "7"),
            ("x-request-id", "r1"),
        ]);
        let out = response_headers(&h);
        let names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["content-length", "retry-after", "x-request-id"]);
    }

    #[test]
    fn routing_rule() {
        let none = HeaderMap::new();
        assert_eq!(Provider::for_request("/v1/models", &none), Provider::OpenAi);
        assert_eq!(
            Provider::for_request("/v1/messages/batches", &none),
            Provider::Anthropic
        );
        assert_eq!(
            Provider::for_request("/v1/messagesx", &none),
            Provider::OpenAi
        );
        let anthropic = map(&[("anthropic-version", "2023-06-01")]);
        assert_eq!(
            Provider::for_request("/v1/models", &anthropic),
            Provider::Anthropic
        );
    }

    #[test]
    fn error_envelopes_have_the_provider_shape() {
        let o: serde_json::Value =
            serde_json::from_str(&error_body(Provider::OpenAi, ErrorKind::TooLarge, "big"))
                .expect("json");
        assert_eq!(o["error"]["message"], "big");
        assert_eq!(o["error"]["type"], "invalid_request_error");
        assert!(o["error"]["param"].is_null());
        assert_eq!(o["error"]["code"], "request_too_large");
        let a: serde_json::Value = serde_json::from_str(&error_body(
            Provider::Anthropic,
            ErrorKind::Authentication,
            "no",
        ))
        .expect("json");
        assert_eq!(a["type"], "error");
        assert_eq!(a["error"]["type"], "authentication_error");
        assert_eq!(a["error"]["message"], "no");
    }

    #[test]
    fn upstream_url_joins_base_and_path() {
        assert_eq!(
            upstream_url("http://h:1/", "/v1/models?x=1"),
            "http://h:1/v1/models?x=1"
        );
        assert_eq!(upstream_url("https://gw/oa", "/v1/a"), "https://gw/oa/v1/a");
    }

    proptest! {
        // Invariant: nothing hop-by-hop, Host or x-pith-* ever crosses, and every other
        // header crosses with all its values in order.
        #[test]
        fn filtering_is_exact(
            names in proptest::collection::vec(
                prop_oneof![
                    Just("connection".to_owned()), Just("te".to_owned()), Just("host".to_owned()),
                    Just("x-pith-ratio".to_owned()), Just("upgrade".to_owned()),
                    "[a-z][a-z0-9-]{0,12}",
                ],
                0..12,
            ),
        ) {
            let mut h = HeaderMap::new();
            for (i, n) in names.iter().enumerate() {
                let name = HeaderName::from_bytes(n.as_bytes()).expect("name");
                h.append(name, HeaderValue::from_str(&format!("v{i}")).expect("value"));
            }
            let out = request_headers(&h);
            let named = connection_named(&h);
            for (name, _) in &h {
                let dropped = is_hop_by_hop(name, &named)
                    || name == header::HOST
                    || name == header::CONTENT_LENGTH
                    || name.as_str().starts_with(CONTROL_PREFIX);
                let sent: Vec<_> = out.get_all(name).iter().collect();
                if dropped {
                    prop_assert!(sent.is_empty());
                } else {
                    let had: Vec<_> = h.get_all(name).iter().collect();
                    prop_assert_eq!(sent, had);
                }
            }
        }
    }

    #[test]
    fn only_post_on_the_four_routes_is_compressible() {
        assert_eq!(
            Api::for_route(&Method::POST, "/v1/messages/count_tokens"),
            Some(Api::CountTokens)
        );
        assert_eq!(Api::for_route(&Method::GET, "/v1/messages"), None);
        assert_eq!(
            Api::for_route(&Method::POST, "/v1/chat/completions/x"),
            None
        );
    }
}
