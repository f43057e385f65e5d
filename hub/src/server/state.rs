use std::sync::Arc;

use tokio::sync::{Semaphore, watch};

use crate::config::Config;
use crate::engine::EngineHandle;

/// What every HTTP and WebSocket handler shares.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub engine: EngineHandle,
    /// Flips to true when the hub is shutting down.
    pub shutdown: watch::Receiver<bool>,
    /// Caps open WebSocket connections.
    pub connections: Arc<Semaphore>,
}
