use queue_core::DeviceId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, watch};

use super::console::sessions::Sessions;
use super::limits::{PENDING_SOCKETS, TokenBucket};
use super::logins::{LoginThrottle, PinChecker};
use super::pending::PendingSockets;
use super::presence::{Presence, SharedPresence};
use super::statuses::StatusReports;
use centre_config::Config;
use hub_engine::EngineHandle;

/// What every HTTP and WebSocket handler shares.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The database file, for read-only figures (the console's reports).
    pub db: Arc<std::path::PathBuf>,
    pub engine: EngineHandle,
    /// Flips to true when the hub is shutting down.
    pub shutdown: watch::Receiver<bool>,
    /// WebSocket connections that have not said hello yet.
    pub pending: Arc<Mutex<PendingSockets>>,
    /// Citizens' phones following a ticket (`[limits] max_connections`).
    pub trackers: Arc<Semaphore>,
    /// Phones following each tracking code.
    pub per_code: Arc<Mutex<HashMap<String, usize>>>,
    /// Each device's live connection: a newer one replaces it.
    pub live: Arc<Mutex<HashMap<DeviceId, LiveDevice>>>,
    /// Each configured device's message bucket, kept across its reconnections.
    pub buckets: Arc<Mutex<HashMap<DeviceId, TokenBucket>>>,
    /// Wrong PINs per device and per staff code, kept across reconnections.
    pub logins: Arc<Mutex<LoginThrottle>>,
    /// Status changes waiting for their device's turn.
    pub statuses: Arc<Mutex<StatusReports>>,
    /// The threads that verify PINs, a few at a time.
    pub pin_checker: Arc<PinChecker>,
    /// Supervisors signed in to the console.
    pub console: Arc<Mutex<Sessions>>,
    /// Which configured devices are connected (for admins).
    pub presence: SharedPresence,
    /// Each address's allowance on the booking API.
    pub bookings: super::limits::SharedBookingLimits,
    /// How shipping to the province goes, when the centre ships.
    pub province: Option<watch::Receiver<province::ship::Shipping>>,
}

/// A device's connection as the registry knows it.
pub struct LiveDevice {
    /// Which connection (a number unique in this process).
    pub connection: u64,
    /// Turned true to close it when a newer connection of the device arrives.
    pub replaced: watch::Sender<bool>,
}

impl AppState {
    pub fn new(
        config: Arc<Config>,
        db: &std::path::Path,
        engine: EngineHandle,
        shutdown: watch::Receiver<bool>,
    ) -> AppState {
        let trackers = Arc::new(Semaphore::new(config.limits.max_connections as usize));
        let presence = Presence::new(&config, engine.clock.now());
        AppState {
            config,
            db: Arc::new(db.to_path_buf()),
            engine,
            shutdown,
            pending: Arc::new(Mutex::new(PendingSockets::new(PENDING_SOCKETS))),
            trackers,
            per_code: Arc::default(),
            live: Arc::default(),
            buckets: Arc::default(),
            logins: Arc::default(),
            statuses: Arc::default(),
            pin_checker: Arc::new(PinChecker::start()),
            console: Arc::default(),
            presence: Arc::new(Mutex::new(presence)),
            bookings: Arc::default(),
            province: None,
        }
    }

    /// Arms the alerts of the devices not connected yet (at start: away since the start).
    pub fn arm_presence_alerts(&self) {
        let generations = self
            .presence
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .generations();
        for (device, generation) in generations {
            super::presence::arm(
                &self.presence,
                self.engine.clock.clone(),
                device,
                generation,
                self.config.limits.offline_alert,
            );
        }
    }

    /// Takes one of a device's message tokens; false when it has none left. Reconnecting does
    /// not refill the bucket (only configured devices get here, so the map stays small).
    pub fn take_message_token(&self, device: &str) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets
            .entry(DeviceId::from(device))
            .or_insert_with(|| TokenBucket::for_messages(self.config.limits))
            .take()
    }
}
