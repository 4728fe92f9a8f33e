//! The HTTP server of `pith serve`: receives a provider-style request, lets the
//! [`Rewriter`] shrink its body on the compressible routes, forwards it to the configured
//! upstream, and relays the answer byte-for-byte as it arrives.
//!
//! Everything that decides *what* to compress lives behind [`Rewriter`]; this file only
//! moves bytes, enforces limits, and reports what happened (headers, metrics, one log
//! line per request).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use futures_util::StreamExt;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::config::{Config, ConfigError};
use super::forward::{self, ErrorKind, Provider};
use super::metrics::{Failure, Metrics};

pub use super::policy::Api;

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

pub use super::engine::Control;

impl Control {
    /// Reads the control headers; a malformed value is the client's mistake (400).
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, String> {
        let get = |name: &str| -> Result<Option<&str>, String> {
            headers
                .get(name)
                .map(|v| {
                    v.to_str()
                        .map(str::trim)
                        .map_err(|_| format!("{name} is not text"))
                })
                .transpose()
        };
        let bypass = match get("x-pith-bypass")? {
            None => false,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => return Err(format!("x-pith-bypass must be true or false, got {v:?}")),
            },
        };
        let budget = get("x-pith-budget")?
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| format!("x-pith-budget must be a token count, got {v:?}"))
            })
            .transpose()?;
        let ratio = get("x-pith-ratio")?
            .map(|v| match v.parse::<f64>() {
                Ok(r) if r >= 1.0 && r.is_finite() => Ok(r),
                _ => Err(format!(
                    "x-pith-ratio must be a number of at least 1, got {v:?}"
                )),
            })
            .transpose()?;
        // Built-in names only: a request must not make the server read files (a preset
        // may otherwise be a path, whose parse errors would quote the file).
        let preset = get("x-pith-preset")?
            .filter(|v| !v.is_empty())
            .map(|v| {
                crate::Preset::builtin_names()
                    .find(|n| *n == v)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        let names: Vec<&str> = crate::Preset::builtin_names().collect();
                        format!("x-pith-preset must be one of {}", names.join(", "))
                    })
            })
            .transpose()?;
        Ok(Control {
            bypass,
            budget,
            ratio,
            preset,
        })
    }
}

/// A rewritten request body and what it saved.
#[derive(Debug, Clone, PartialEq)]
pub struct Rewrite {
    /// The body to forward instead of the original.
    pub body: Bytes,
    /// Tokens of the compressed blocks before and after.
    pub tokens_before: usize,
    pub tokens_after: usize,
    /// Labels of the blocks that were compressed (reported in `x-pith-compressed`).
    pub blocks: Vec<String>,
}

/// Why a body was not rewritten. Either way the original is forwarded unless the proxy
/// runs fail-closed, which answers 400 for [`RewriteError::Invalid`] (retrying cannot
/// help) and 500 for [`RewriteError::Failed`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    /// The body (or a control value) is not a request the rewriter understands.
    #[error("{0}")]
    Invalid(String),
    /// The rewriter itself failed.
    #[error("{0}")]
    Failed(String),
}

impl From<String> for RewriteError {
    fn from(message: String) -> Self {
        RewriteError::Failed(message)
    }
}

impl From<&str> for RewriteError {
    fn from(message: &str) -> Self {
        RewriteError::Failed(message.to_owned())
    }
}

/// Decides whether and how to rewrite a request body. Called on a blocking thread (it is
/// CPU work); `Ok(None)` forwards the original bytes unchanged, `Err` fails open (the
/// original is forwarded) unless the proxy runs fail-closed.
pub trait Rewriter: Send + Sync {
    fn rewrite(
        &self,
        api: Api,
        control: &Control,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Option<Rewrite>, RewriteError>;
}

/// The rewriter that never rewrites: pith as a transparent proxy.
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity;

impl Rewriter for Identity {
    fn rewrite(
        &self,
        _: Api,
        _: &Control,
        _: &HeaderMap,
        _: &Bytes,
    ) -> Result<Option<Rewrite>, RewriteError> {
        Ok(None)
    }
}

/// The proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("building the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// What every request handler shares: configuration, one pooled upstream client, the
/// rewriter, the compression slots and the metrics. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    config: Arc<Config>,
    client: reqwest::Client,
    rewriter: Arc<dyn Rewriter>,
    /// `max_compressions` permits; a compression holds one until it really ends, even
    /// after its request stopped waiting for it.
    slots: Arc<Semaphore>,
    /// `max_inflight_bytes` permits, one per byte of request body held.
    bodies: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Validates the configuration and builds the upstream client.
    pub fn new(config: Config, rewriter: Arc<dyn Rewriter>) -> Result<Self, ServeError> {
        config.validate()?;
        // reqwest is built without a bundled crypto provider; ring is ours. Installing
        // fails only when a provider is already installed, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout())
            .timeout(config.timeout())
            // reqwest's default too, said here because it matters: the request head and
            // body may leave in separate writes (see `no_delay`).
            .tcp_nodelay(true)
            // Redirects are the client's business: relay them, do not follow them.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(ServeError::Client)?;
        Ok(Self {
            slots: Arc::new(Semaphore::new(
                config.max_compressions.min(Semaphore::MAX_PERMITS),
            )),
            bodies: Arc::new(Semaphore::new(
                config.max_inflight_bytes.min(Semaphore::MAX_PERMITS),
            )),
            config: Arc::new(config),
            client,
            rewriter,
            metrics: Arc::new(Metrics::new()),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// The proxy's routes; serve it with any listener, or call it in tests without one.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .fallback(proxy)
        .with_state(state)
}

/// Binds `config.listen` and serves until Ctrl-C or SIGTERM.
pub async fn serve(config: Config, rewriter: Arc<dyn Rewriter>) -> Result<(), ServeError> {
    let addr = config.listen;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    serve_on(listener, config, rewriter).await
}

/// Serves on a bound listener (port 0 in tests); prints the address it listens on.
pub async fn serve_on(
    listener: TcpListener,
    config: Config,
    rewriter: Arc<dyn Rewriter>,
) -> Result<(), ServeError> {
    let state = AppState::new(config, rewriter)?;
    let local = listener.local_addr()?;
    eprintln!(
        "pith: listening on http://{local} (openai → {}, anthropic → {})",
        state.config.openai_upstream, state.config.anthropic_upstream
    );
    axum::serve(listener.tap_io(no_delay), app(state))
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

/// Turns Nagle's algorithm off on an accepted client connection. pith relays an answer
/// as it arrives, so the head and the body (or one SSE event and the next) often leave in
/// separate writes; with Nagle on, each write after the first waits until the client has
/// acknowledged the one before, and clients delay that ACK by up to 40 ms.
fn no_delay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        eprintln!("pith: could not set TCP_NODELAY on a client connection: {e}");
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// What the log line and metrics need to know about one request.
#[derive(Debug, Default)]
struct Outcome {
    saved: usize,
    error: Option<String>,
    body_log: Option<String>,
    /// The body was refused part-way (too large): the rest of it was drained or dropped.
    body_refused: bool,
}

async fn proxy(State(state): State<AppState>, request: Request) -> Response {
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
        match result {
            Ok(None) => {}
            Ok(Some(rw)) => {
                state.metrics.tokens(rw.tokens_before, rw.tokens_after);
                outcome.saved = rw.tokens_before.saturating_sub(rw.tokens_after);
                pith_headers.push(("x-pith-tokens-before", rw.tokens_before.to_string()));
                pith_headers.push(("x-pith-tokens-after", rw.tokens_after.to_string()));
                pith_headers.push(("x-pith-tokens-saved", outcome.saved.to_string()));
                pith_headers.push(("x-pith-compressed", rw.blocks.join(",")));
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
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |p| p.as_str());
    let mut request = state
        .client
        .request(
            parts.method.clone(),
            forward::upstream_url(base, path_and_query),
        )
        .headers(headers);
    // A bodiless GET stays bodiless; anything that came with a body (even an empty one
    // with Content-Length: 0) is sent with one.
    if !send.is_empty() || parts.headers.contains_key(header::CONTENT_LENGTH) {
        request = request.body(send);
    }
    let upstream = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            state.metrics.upstream_error();
            let kind = if e.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Upstream
            };
            // Without the URL: its query may carry a key, and it goes into the log, the
            // body and a header.
            let message = format!(
                "pith: {} upstream failed: {}",
                provider.name(),
                error_chain(&e.without_url())
            );
            outcome.error = Some(message.clone());
            return forward::error_response(provider, kind, &message);
        }
    };
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

/// Why [`run_rewriter`] produced no rewrite.
#[derive(Debug)]
enum Failed {
    Rewriter(RewriteError),
    /// The rewriter panicked. Its message is not kept: a panic message can quote the
    /// text being worked on, and this one would reach a header, a body and the log.
    Panicked,
    /// Still running past the limit; its slot is freed when it really ends.
    TimedOut,
    /// No slot came free within the limit.
    Busy,
}

impl Failed {
    fn metric(&self) -> Failure {
        match self {
            Failed::Rewriter(RewriteError::Invalid(_)) => Failure::Invalid,
            Failed::Rewriter(RewriteError::Failed(_)) | Failed::Panicked => Failure::Error,
            Failed::TimedOut => Failure::Timeout,
            Failed::Busy => Failure::Busy,
        }
    }

    /// The `x-pith-error` value and log text.
    fn message(&self, limit_ms: u64) -> String {
        match self {
            Failed::Rewriter(RewriteError::Invalid(e)) => format!("request not compressed: {e}"),
            Failed::Rewriter(RewriteError::Failed(e)) => format!("compression failed: {e}"),
            Failed::Panicked => "compression failed: the compressor panicked".to_owned(),
            Failed::TimedOut => format!("compression timed out after {limit_ms} ms"),
            Failed::Busy => {
                format!("compression skipped: no free compression slot within {limit_ms} ms")
            }
        }
    }

    /// What a fail-closed proxy answers instead of forwarding.
    fn fail_closed_kind(&self) -> ErrorKind {
        match self {
            Failed::Rewriter(RewriteError::Invalid(_)) => ErrorKind::InvalidRequest,
            Failed::Rewriter(RewriteError::Failed(_)) | Failed::Panicked => ErrorKind::Internal,
            Failed::TimedOut | Failed::Busy => ErrorKind::Overloaded,
        }
    }
}

/// Runs the rewriter on a blocking thread, within `compress_timeout_ms` counted from the
/// call (waiting for a slot included). A blocking task cannot be stopped, so one that
/// times out keeps its slot until it ends: `max_compressions` bounds the CPU work in
/// flight however many requests gave up on theirs.
async fn run_rewriter(
    state: &AppState,
    api: Api,
    control: Control,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Option<Rewrite>, Failed> {
    let deadline = tokio::time::Instant::now() + state.config.compress_timeout();
    let slot =
        match tokio::time::timeout_at(deadline, Arc::clone(&state.slots).acquire_owned()).await {
            Ok(Ok(slot)) => slot,
            // Elapsed, or the semaphore closed (it never is): no slot either way.
            _ => return Err(Failed::Busy),
        };
    let rewriter = Arc::clone(&state.rewriter);
    let (headers, body) = (headers.clone(), body.clone());
    let task = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        rewriter.rewrite(api, &control, &headers, &body)
    });
    match tokio::time::timeout_at(deadline, task).await {
        Err(_) => Err(Failed::TimedOut),
        Ok(Err(_)) => Err(Failed::Panicked),
        Ok(Ok(result)) => result.map_err(Failed::Rewriter),
    }
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

/// Most bytes read and dropped from a refused body, and for how long: a client still
/// sending when the connection closes would see it reset instead of the answer.
const DRAIN_BYTES: usize = 16 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Reads the whole body, refusing more than `limit` bytes (early when Content-Length
/// already says so) with `TooLarge`, and more than `bodies` has permits for (the bytes
/// all requests hold at once) with `Overloaded`; what is left of a refused body is
/// drained. The permit returned holds one permit per byte read.
async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    bodies: &Arc<Semaphore>,
) -> Result<(Bytes, Option<OwnedSemaphorePermit>), ErrorKind> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut stream = body.into_data_stream();
    let mut held = None;
    let refused = match declared {
        Some(n) if n > limit as u64 => Some(ErrorKind::TooLarge),
        // Reserved before reading, so a client told "retry" has not sent the body yet.
        Some(n) if !reserve(bodies, &mut held, n as usize) => Some(ErrorKind::Overloaded),
        _ => None,
    };
    if let Some(kind) = refused {
        // A client waiting for `100 Continue` has sent nothing yet: let it not send.
        if !expects_continue(headers) {
            drain(stream).await;
        }
        return Err(kind);
    }
    // Capacity from the declared length, but not a promise of memory to a client that
    // has sent nothing yet.
    let mut out = bytes::BytesMut::with_capacity(declared.map_or(0, |n| n.min(8 << 20) as usize));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ErrorKind::InvalidRequest)?;
        let len = out.len() + chunk.len();
        let refused = if len > limit {
            Some(ErrorKind::TooLarge)
        } else if !reserve(bodies, &mut held, len) {
            Some(ErrorKind::Overloaded)
        } else {
            None
        };
        if let Some(kind) = refused {
            // Release what this body held before waiting on the rest of it.
            drop(held);
            drop(out);
            drain(stream).await;
            return Err(kind);
        }
        out.extend_from_slice(&chunk);
    }
    Ok((out.freeze(), held))
}

/// Grows `held` to `total` permits without waiting; false when `bodies` has too few.
fn reserve(bodies: &Arc<Semaphore>, held: &mut Option<OwnedSemaphorePermit>, total: usize) -> bool {
    loop {
        let have = held.as_ref().map_or(0, OwnedSemaphorePermit::num_permits);
        let Some(more) = total.checked_sub(have).filter(|&m| m > 0) else {
            return true;
        };
        // Permits are taken at most u32::MAX at a time.
        let step = u32::try_from(more).unwrap_or(u32::MAX);
        let Ok(permit) = bodies.clone().try_acquire_many_owned(step) else {
            return false;
        };
        match held {
            Some(h) => h.merge(permit),
            None => *held = Some(permit),
        }
    }
}

/// Whether the client waits for `100 Continue` before sending its body.
fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Reads and drops up to [`DRAIN_BYTES`] for up to [`DRAIN_TIME`].
async fn drain(mut stream: axum::body::BodyDataStream) {
    let mut left = DRAIN_BYTES;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(chunk)) = stream.next().await {
            match left.checked_sub(chunk.len()) {
                Some(l) => left = l,
                None => break,
            }
        }
    })
    .await;
}

/// Compares secrets without an early exit that would leak the matching prefix length.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn control_headers_parse_and_reject_nonsense() {
        let c = Control::from_headers(&headers(&[
            ("x-pith-bypass", "TRUE"),
            ("x-pith-budget", "500"),
            ("x-pith-ratio", " 4 "),
            ("x-pith-preset", "chat"),
        ]))
        .expect("valid");
        assert_eq!(
            c,
            Control {
                bypass: true,
                budget: Some(500),
                ratio: Some(4.0),
                preset: Some("chat".into())
            }
        );
        assert_eq!(
            Control::from_headers(&HeaderMap::new()),
            Ok(Control::default())
        );
        for (k, v) in [
            ("x-pith-bypass", "maybe"),
            ("x-pith-budget", "-1"),
            ("x-pith-ratio", "0.5"),
            ("x-pith-ratio", "NaN"),
            ("x-pith-preset", "/etc/passwd"),
            ("x-pith-preset", "compressors/rag.toml"),
        ] {
            assert!(
                Control::from_headers(&headers(&[(k, v)])).is_err(),
                "{k}: {v}"
            );
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
