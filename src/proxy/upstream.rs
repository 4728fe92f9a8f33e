//! The upstream leg: one pooled HTTP client, the request sent on it, and the answer
//! relayed back as it arrives, byte for byte.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use axum::response::Response;
use futures_util::StreamExt;

use super::config::Config;
use super::forward::{self, ErrorKind, Provider};

/// The client every request goes upstream on, with the configured timeouts.
pub(super) fn client(config: &Config) -> Result<reqwest::Client, reqwest::Error> {
    // reqwest is built without a bundled crypto provider; ring is ours. Installing
    // fails only when a provider is already installed, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(config.connect_timeout())
        .timeout(config.timeout())
        // reqwest's default too, said here because it matters: the request head and
        // body may leave in separate writes (see `no_delay` in the server).
        .tcp_nodelay(true)
        // Redirects are the client's business: relay them, do not follow them.
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Sends the request to `base` with the client's path and query, the forwarded
/// `headers` and `body`.
pub(super) async fn send(
    client: &reqwest::Client,
    base: &str,
    parts: &Parts,
    headers: HeaderMap,
    body: Bytes,
) -> Result<reqwest::Response, reqwest::Error> {
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |p| p.as_str());
    let mut request = client
        .request(
            parts.method.clone(),
            forward::upstream_url(base, path_and_query),
        )
        .headers(headers);
    // A bodiless GET stays bodiless; anything that came with a body (even an empty one
    // with Content-Length: 0) is sent with one.
    if !body.is_empty() || parts.headers.contains_key(header::CONTENT_LENGTH) {
        request = request.body(body);
    }
    request.send().await
}

/// What pith answers when the upstream could not be reached or did not answer in time.
pub(super) fn failure(provider: Provider, e: reqwest::Error) -> (ErrorKind, String) {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Upstream
    };
    // Without the URL: its query may carry a key, and it goes into the log, the body and
    // a header.
    let message = format!(
        "pith: {} upstream failed: {}",
        provider.name(),
        error_chain(&e.without_url())
    );
    (kind, message)
}

/// The upstream's answer as the client's response, with pith's own headers added.
pub(super) fn relay(
    upstream: reqwest::Response,
    pith_headers: Vec<(&'static str, String)>,
) -> Response {
    let status = upstream.status();
    let mut out_headers = forward::response_headers(upstream.headers());
    for (name, value) in pith_headers {
        let clean: String = value
            .chars()
            .filter(|c| !c.is_control())
            .take(1000)
            .collect();
        if let Ok(v) = HeaderValue::from_str(&clean) {
            out_headers.insert(name, v);
        }
    }
    // Dropping this body (the client went away) drops the upstream stream, which closes
    // the upstream connection: nothing keeps generating tokens nobody reads.
    let mut response = Response::new(Body::from_stream(flushed_before_error(
        upstream.bytes_stream(),
    )));
    *response.status_mut() = status;
    *response.headers_mut() = out_headers;
    response
}

/// The upstream's body, with one pause before an error: hyper drops the connection on a
/// body error with whatever it has buffered but not yet written, so chunks that arrived
/// just before the upstream broke off would be lost. Yielding once lets it flush them,
/// and the client gets every byte the upstream sent before the cut.
fn flushed_before_error<S>(body: S) -> impl futures_util::Stream<Item = S::Item> + Send
where
    S: futures_util::Stream<Item = Result<Bytes, reqwest::Error>> + Send + 'static,
{
    futures_util::stream::unfold(Some(Box::pin(body)), |state| async move {
        let mut body = state?;
        match body.next().await? {
            Ok(chunk) => Some((Ok(chunk), Some(body))),
            Err(e) => {
                tokio::task::yield_now().await;
                Some((Err(e), None))
            }
        }
    })
}

/// An error and its sources, `outer: inner: …` (reqwest's own text stops at the first).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
