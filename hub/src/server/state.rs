use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, watch};

use super::limits::TokenBucket;
use super::logins::{LoginThrottle, PinChecker};
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
    /// Rate limits per configured device, kept across its reconnections.
    pub devices: Arc<Mutex<HashMap<String, DeviceLimits>>>,
    /// Wrong PINs per device and per staff code, kept across reconnections.
    pub logins: Arc<Mutex<LoginThrottle>>,
    /// The threads that verify PINs, a few at a time.
    pub pin_checker: Arc<PinChecker>,
}

/// What one device may still send; reconnecting does not refill it.
pub struct DeviceLimits {
    pub messages: TokenBucket,
}

impl AppState {
    pub fn new(
        config: Arc<Config>,
        engine: EngineHandle,
        shutdown: watch::Receiver<bool>,
    ) -> AppState {
        let connections = Arc::new(Semaphore::new(config.limits.max_connections as usize));
        AppState {
            config,
            engine,
            shutdown,
            connections,
            devices: Arc::default(),
            logins: Arc::default(),
            pin_checker: Arc::new(PinChecker::start()),
        }
    }

    /// Runs `f` on a device's limits (created on first use; only configured devices get here).
    pub fn device_limits<T>(&self, device: &str, f: impl FnOnce(&mut DeviceLimits) -> T) -> T {
        let mut devices = self.devices.lock().unwrap_or_else(|e| e.into_inner());
        let limits = devices
            .entry(device.to_string())
            .or_insert_with(|| DeviceLimits {
                messages: TokenBucket::for_messages(self.config.limits),
            });
        f(limits)
    }
}
