//! An address that stays bound while hubs come and go behind it. A test that restarts a hub on
//! "the same port" would otherwise let the port go and bind it again, and a parallel test can
//! take it in between; here the port is never let go: each connection is forwarded to the hub
//! of the moment, and closed at once while there is none (as a stopped hub's would be refused).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};

pub struct StablePort {
    /// Where clients connect, for the whole test.
    pub addr: SocketAddr,
    hub: Arc<Mutex<Option<SocketAddr>>>,
    task: tokio::task::JoinHandle<()>,
}

impl StablePort {
    /// A new loopback port, forwarding nowhere yet. Call inside a Tokio runtime.
    pub async fn open() -> StablePort {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let hub = Arc::new(Mutex::new(None));
        let task = tokio::spawn(forward(listener, hub.clone()));
        StablePort { addr, hub, task }
    }

    /// From now on, new connections go to `hub`.
    pub fn forward_to(&self, hub: SocketAddr) {
        *self.hub.lock().unwrap_or_else(|e| e.into_inner()) = Some(hub);
    }

    /// From now on, new connections are closed at once (the hub is down).
    pub fn refuse(&self) {
        *self.hub.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl Drop for StablePort {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(listener: TcpListener, hub: Arc<Mutex<Option<SocketAddr>>>) {
    while let Ok((mut client, _)) = listener.accept().await {
        let Some(to) = *hub.lock().unwrap_or_else(|e| e.into_inner()) else {
            continue; // dropped: closed
        };
        tokio::spawn(async move {
            // A hub that is gone (killed, not yet told) refuses: the client sees it closed.
            if let Ok(mut server) = TcpStream::connect(to).await {
                let _ = server.set_nodelay(true);
                let _ = client.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            }
        });
    }
}
