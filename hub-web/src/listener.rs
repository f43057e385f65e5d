//! Accepting connections on the lobby's network. axum's own `serve` has no header timeout, so a
//! phone sending half an HTTP request would hold a socket forever; here every connection is
//! served by hyper with a timer:
//!
//! - a request's head must arrive whole within `HEADER_TIMEOUT`;
//! - one address may hold at most `PENDING_PER_ADDRESS` connections that have not said hello
//!   yet (plain HTTP, or a WebSocket before its hello): a phone cannot use up the hub's sockets.
//!   The hub's own machine (127.0.0.1, ::1) and the reverse proxies it trusts (`[limits]
//!   trusted_proxies`, which carry every phone behind them) have no such cap: a proxy's clients
//!   are held to their own allowances by the address it names (`client_address.rs`);
//! - when the process runs out of file descriptors, accepting pauses instead of spinning.
//!
//! WebSocket sessions are counted where they are known (`connection.rs`): devices outside any
//! pool, trackers in theirs.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::limits::{HEADER_TIMEOUT, PENDING_PER_ADDRESS, SEND_BUFFER, SHUTDOWN_GRACE};

/// Open plain-HTTP connections per address.
type PerAddress = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// One address's place among the pending connections; released when dropped.
pub struct Pending {
    counts: PerAddress,
    ip: IpAddr,
    /// False for the hub's own machine, which has no cap.
    counted: bool,
}

impl Pending {
    fn take(counts: &PerAddress, ip: IpAddr, uncapped: &[IpAddr]) -> Option<Pending> {
        // The hub's own machine (the demo's windows, a local proxy, the bench) is not a phone,
        // and neither is a trusted proxy.
        if ip == IpAddr::from([127, 0, 0, 1])
            || ip == IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])
            || uncapped.contains(&ip)
        {
            return Some(Pending {
                counts: counts.clone(),
                ip,
                counted: false,
            });
        }
        let mut map = counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= PENDING_PER_ADDRESS {
            return None;
        }
        *n += 1;
        Some(Pending {
            counts: counts.clone(),
            ip,
            counted: true,
        })
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.counted {
            return;
        }
        let mut map = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// A connection's place among its address's pending ones, handed to the WebSocket handler so
/// that it is held until the hello (an upgraded socket that never says hello is still pending).
#[derive(Clone)]
pub struct AddressSlot(Arc<Mutex<Option<Pending>>>);

impl AddressSlot {
    pub fn take(&self) -> Option<Pending> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Serves `router` on `listener` until `shutdown` turns true, then lets connections finish
/// (bounded by `SHUTDOWN_GRACE`). `trusted_proxies` are not held to one address's cap.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    trusted_proxies: Vec<IpAddr>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let counts = PerAddress::default();
    let mut connections = JoinSet::new();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors (or a passing network error): wait, do not spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            _ = async { drop(shutdown.wait_for(|s| *s).await) } => break,
        };
        let Some(pending) = Pending::take(&counts, peer.ip(), &trusted_proxies) else {
            tracing::debug!(%peer, "connection refused: too many from this address");
            continue;
        };
        // Small JSON frames both ways: send each at once (Nagle's delay would add ~40 ms to a
        // reply waiting for the client's delayed ACK).
        let _ = tcp.set_nodelay(true);
        // Bounded: what a client does not read waits in its outbox, where the hub counts it.
        let _ = socket2::SockRef::from(&tcp).set_send_buffer_size(SEND_BUFFER);
        let (router, shutdown) = (router.clone(), shutdown.clone());
        match tls.clone() {
            None => connections.spawn(serve_one(tcp, peer, router, pending, shutdown)),
            Some(acceptor) => connections.spawn(async move {
                // The TLS handshake is part of the request's head: the same timeout.
                match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => serve_one(stream, peer, router, pending, shutdown).await,
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake too slow"),
                }
            }),
        };
    }
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

async fn serve_one<S>(
    stream: S,
    peer: SocketAddr,
    router: Router,
    pending: Pending,
    mut shutdown: watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let slot = AddressSlot(Arc::new(Mutex::new(Some(pending))));
    let for_requests = slot.clone();
    let service = router.map_request(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(for_requests.clone());
        request
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = async { drop(shutdown.wait_for(|s| *s).await) } => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
    // Unless a WebSocket session took it, the place is given back here.
    drop(slot);
}
