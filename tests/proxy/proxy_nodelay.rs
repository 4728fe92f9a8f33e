//! Every socket `pith serve` owns has TCP_NODELAY set (issue 20): with Nagle's algorithm
//! on, a response written in two parts (headers, then the body relayed from the upstream)
//! waits for the client's delayed ACK, ~40 ms. Checked by reading the option back from
//! the sockets themselves, never by timing: the proxy runs in this process, and each of
//! the process's TCP sockets is duplicated with pidfd_getfd (safe, unlike borrowing a raw
//! descriptor) and asked with getsockopt.
#![allow(clippy::unwrap_used)]

use crate::{mock, support};

use std::net::SocketAddr;
use std::sync::Arc;

use mock::Mock;
use pith::proxy::server::{self, Identity};
use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};
use socket2::SockRef;
use tokio::net::TcpListener;

/// One connected TCP socket of this process.
#[derive(Debug)]
struct Connection {
    local: SocketAddr,
    peer: SocketAddr,
    nodelay: bool,
}

/// The connected TCP sockets of this process (listeners and other sockets left out).
fn tcp_connections() -> Vec<Connection> {
    let me = pidfd_open(getpid(), PidfdFlags::empty()).unwrap();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let entry = entry.unwrap();
        // A descriptor may close while this runs: skip what cannot be read any more.
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        if !target.to_string_lossy().starts_with("socket:") {
            continue;
        }
        let Ok(raw) = entry.file_name().to_string_lossy().parse() else {
            continue;
        };
        let Ok(fd) = pidfd_getfd(&me, raw, PidfdGetfdFlags::empty()) else {
            continue;
        };
        let socket = SockRef::from(&fd);
        let (Ok(local), Ok(peer)) = (socket.local_addr(), socket.peer_addr()) else {
            continue;
        };
        let (Some(local), Some(peer)) = (local.as_socket(), peer.as_socket()) else {
            continue;
        };
        // The other tests of this binary run in this process too: their sockets are
        // here as well, told apart by address below; one that is not TCP is skipped.
        let Ok(nodelay) = socket.tcp_nodelay() else {
            continue;
        };
        out.push(Connection {
            local,
            peer,
            nodelay,
        });
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn client_and_upstream_connections_have_tcp_nodelay() {
    let upstream = Mock::start().await;
    // `serve_on` is what `pith serve` runs once it has bound its address.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pith = listener.local_addr().unwrap();
    let config = support::config(&upstream, &upstream);
    tokio::spawn(server::serve_on(listener, config, Arc::new(Identity)));

    // Keep-alive on both legs: after the answer, the client's connection to pith and
    // pith's pooled connection to the upstream are both still open.
    let client = support::client();
    for stream in [false, true] {
        let body = format!(
            "{{\"model\":\"gpt-test\",\"stream\":{stream},\"messages\":[{{\"role\":\"user\",\"content\":\"hi\"}}]}}"
        );
        let r = support::post_on(
            &client,
            format!("http://{pith}/v1/chat/completions"),
            &[("content-type", "application/json")],
            body,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }

    let connections = tcp_connections();
    let nodelay_where = |on: &dyn Fn(&Connection) -> bool| -> Vec<bool> {
        connections
            .iter()
            .filter(|c| on(c))
            .map(|c| c.nodelay)
            .collect()
    };
    let accepted = nodelay_where(&|c| c.local == pith);
    let to_upstream = nodelay_where(&|c| c.peer == upstream.addr);
    let at_upstream = nodelay_where(&|c| c.local == upstream.addr);
    // Sequential requests on one connection; pooled upstream connections may be more
    // than one if the next request came before the last was back in the pool.
    let all = |flags: &[bool], want: bool| !flags.is_empty() && flags.iter().all(|&f| f == want);
    assert!(
        all(&accepted, true),
        "pith's side of the client connection: {connections:?}"
    );
    assert!(
        all(&to_upstream, true),
        "pith's upstream connection: {connections:?}"
    );
    // The probe reads each socket's own flag: the mock serves with plain `axum::serve`,
    // which leaves Nagle on.
    assert!(all(&at_upstream, false), "the mock's side: {connections:?}");
}
