//! The proxy under test, shared by tests/proxy_server.rs and tests/proxy_secrets.rs: in
//! this process on 127.0.0.1:0, or the `pith serve` binary as a child process.

use std::sync::Arc;

use pith::proxy::config::Config;
use pith::proxy::server::{self, AppState, Rewriter};
use tokio::net::TcpListener;

use super::mock::Mock;

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
