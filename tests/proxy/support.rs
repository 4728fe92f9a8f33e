//! The proxy under test, shared by the tests/proxy_*.rs files: in this process on
//! 127.0.0.1:0, or the `pith serve` binary as a child process; and the requests a test
//! sends it.

use std::sync::Arc;

use pith::proxy::config::Config;
use pith::proxy::server::{self, AppState, Rewriter};
use tokio::net::TcpListener;

use crate::mock::Mock;

pub fn config(openai: &Mock, anthropic: &Mock) -> Config {
    Config {
        openai_upstream: openai.url(),
        anthropic_upstream: anthropic.url(),
        ..Config::default()
    }
}

/// Serves the proxy on 127.0.0.1:0 in this process and returns its base URL.
pub async fn start_proxy(config: Config, rewriter: Arc<dyn Rewriter>) -> String {
    let state = AppState::new(config, rewriter).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, server::app(state)).await.unwrap() });
    format!("http://{addr}")
}

pub fn client() -> reqwest::Client {
    // reqwest is built without a crypto provider; the proxy installs one, a test that
    // only runs the binary has not.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// What came back for one request: the status, the headers and the whole body.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: axum::body::Bytes,
}

impl Answer {
    /// Reads the whole of `response`.
    pub async fn read(response: reqwest::Response) -> Answer {
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.bytes().await.unwrap(),
        }
    }

    /// The body as JSON; panics if it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).unwrap()
    }
}

/// POSTs `body` to `url` with `headers` on `client` (for its timeout or its pool) and
/// reads the answer; panics if none comes.
pub async fn post_on(
    client: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> Answer {
    let url = url.into_url().unwrap();
    let mut request = client.post(url.clone()).body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e:?}"));
    Answer::read(response).await
}

/// [`post_on`] a fresh [`client`].
pub async fn post(
    url: impl reqwest::IntoUrl,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> Answer {
    post_on(&client(), url, headers, body).await
}

/// The text of the proxy's /metrics.
pub async fn metrics_text(proxy: &str) -> String {
    client()
        .get(format!("{proxy}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub const BODY: &str =
    "{\"model\": \"gpt-test\",\n  \"messages\":[{\"role\":\"user\",\"content\":\"hi\"}] }";

/// `pith serve` as a child process, killed when dropped.
pub struct Served {
    pub child: std::process::Child,
    pub url: String,
    pub log: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Served {
    /// Stops the server and returns what it logged.
    pub fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn pith_serve(openai: &Mock, anthropic: &Mock) -> Served {
    let (openai, anthropic) = (openai.url(), anthropic.url());
    pith_serve_with(
        &[
            "--openai-upstream",
            &openai,
            "--anthropic-upstream",
            &anthropic,
        ],
        &[],
    )
}

/// `pith serve --listen 127.0.0.1:0` with more arguments and environment variables.
pub fn pith_serve_with(args: &[&str], envs: &[(&str, &std::ffi::OsStr)]) -> Served {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pith"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .envs(envs.iter().copied())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_owned();
    // Keep draining the log so the child never blocks on a full pipe; the lines after
    // the first are what the thread returns once the child is gone.
    let log = std::thread::spawn(move || lines.map_while(Result::ok).collect());
    Served {
        child,
        url,
        log: Some(log),
    }
}
