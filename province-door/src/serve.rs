//! The door's accept loop. `axum::serve` has no header timeout: a client that opens a
//! connection and sends its request one byte a minute would hold it for ever. Here hyper's
//! HTTP/1 server reads each request's head within [`HEADER_TIMEOUT`]; at shutdown, connections
//! finish what they are answering, for at most [`SHUTDOWN_GRACE`].

use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections the kernel queues before they are accepted. A province's rush — a booking day
/// opening, phones all at once — must not meet a full queue: a dropped SYN is retried by the
/// phone a whole second later. (The kernel caps it at `net.core.somaxconn`.)
const BACKLOG: u32 = 4096;
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A listener on `addr` with the door's backlog.
pub fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Serves `router` on `listener` until `shutdown` turns true.
pub async fn serve(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, most likely: wait rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            _ = async { drop(shutdown.wait_for(|s| *s).await) } => break,
        };
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let mut stop = shutdown.clone();
        connections.spawn(async move {
            let service = router.map_request(move |mut request: hyper::Request<Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service));
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = async { drop(stop.wait_for(|s| *s).await) } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}
