//! The hub: the only truth of a centre. See `docs/ARCHITECTURE.md` for the map.

pub mod auth;
pub mod config;
pub mod engine;
pub mod frames;
pub mod replies;
pub mod report;
pub mod server;
pub mod simulate;
pub mod store;
pub mod tls;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::watch;

use crate::config::Config;
use crate::engine::{Clock, SystemClock};

/// A running hub: its address, and the switch that stops it.
pub struct Hub {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Turns true if the engine thread ends on its own: the hub can no longer serve.
    engine_gone: watch::Receiver<bool>,
}

impl Hub {
    /// Opens the database, rebuilds the state and starts serving on `listen` (port 0 picks one).
    pub async fn start(config: Config, db: &Path, listen: SocketAddr) -> anyhow::Result<Hub> {
        Hub::start_with_clock(config, db, listen, Arc::new(SystemClock)).await
    }

    pub async fn start_with_clock(
        config: Config,
        db: &Path,
        listen: SocketAddr,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Hub> {
        Hub::start_with(config, db, listen, clock, None).await
    }

    /// The same, with TLS when `tls` is given (`https://`, `wss://`).
    pub async fn start_with(
        config: Config,
        db: &Path,
        listen: SocketAddr,
        clock: Arc<dyn Clock>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> anyhow::Result<Hub> {
        let config = Arc::new(config);
        let engine = engine::start(config.clone(), db, clock)?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let app = server::AppState::new(config.clone(), engine.clone(), shutdown_rx.clone());
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr()?;
        let engine_gone = engine.stopped.clone();
        tokio::spawn(server::run_timer(engine, shutdown_rx.clone()));
        let router = server::router(app);
        let tls = tls.map(tokio_rustls::TlsAcceptor::from);
        let task = tokio::spawn(server::serve(listener, router, tls, shutdown_rx));
        Ok(Hub {
            addr,
            shutdown: shutdown_tx,
            task,
            engine_gone,
        })
    }

    /// Stops accepting, closes every connection with "hub is stopping", and waits.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.task.await??;
        Ok(())
    }

    /// Serves until the process gets SIGTERM or Ctrl-C — or the engine ends, which is an error:
    /// the connections are closed (screens show offline) and the process exits with failure so
    /// the service manager restarts it, rather than living on as a zombie that answers pings.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        let mut gone = self.engine_gone.clone();
        let engine_gone = async move { drop(gone.wait_for(|g| *g).await) };
        tokio::select! {
            _ = shutdown_signal() => {
                tracing::info!("shutting down");
                self.stop().await
            }
            _ = engine_gone => {
                tracing::error!("the engine stopped: closing connections and exiting");
                let _ = self.stop().await;
                anyhow::bail!("the engine stopped (see the log above); exiting so that the hub is restarted")
            }
        }
    }

    /// Whether the engine thread has ended on its own.
    pub fn engine_stopped(&self) -> bool {
        *self.engine_gone.borrow()
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Loads the configuration: the given file, or the built-in demo centre.
pub fn load_config(path: Option<&Path>) -> Result<Config, config::ConfigError> {
    match path {
        Some(p) => Config::load(p),
        None => Config::demo(),
    }
}
