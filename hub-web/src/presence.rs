//! Which configured devices are connected, for the console's alerts ("Kiosk 1 not connected for
//! 3 minutes"). Kept in memory and sent to admin connections only (after the welcome and on
//! every change): it is the hub's view of its sockets, not part of the durable state.
//!
//! A device away longer than `[limits] offline_alert_s` raises an alert, decided here by a timer
//! so that every console shows it at the same moment; a device never connected since the hub
//! started counts as away since the start.

use queue_core::DeviceId;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use protocol::{self as p, Role};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use centre_config::Config;
use hub_engine::clock::Clock;
use hub_engine::frames;

struct Seen {
    role: Role,
    online: bool,
    since: DateTime<Utc>,
    alert: bool,
    /// Bumped on every change, so a timer set for an earlier absence does nothing.
    generation: u64,
}

pub struct Presence {
    devices: BTreeMap<DeviceId, Seen>,
    changes: broadcast::Sender<Utf8Bytes>,
}

pub type SharedPresence = Arc<Mutex<Presence>>;

impl Presence {
    /// Every configured device (but admins), away since `now`.
    pub fn new(config: &Config, now: DateTime<Utc>) -> Presence {
        let devices = config
            .devices
            .iter()
            .filter(|(_, d)| d.role != Role::Admin)
            .map(|(id, d)| {
                let seen = Seen {
                    role: d.role,
                    online: false,
                    since: now,
                    alert: false,
                    generation: 0,
                };
                (DeviceId::from(id.as_str()), seen)
            })
            .collect();
        Presence {
            devices,
            changes: broadcast::channel(64).0,
        }
    }

    /// The current presence as a frame, and the changes to come.
    pub fn subscribe(&self) -> (Utf8Bytes, broadcast::Receiver<Utf8Bytes>) {
        (self.frame(), self.changes.subscribe())
    }

    fn frame(&self) -> Utf8Bytes {
        let devices = self
            .devices
            .iter()
            .map(|(id, s)| p::DevicePresence {
                device: id.to_string(),
                role: s.role,
                online: s.online,
                since: s.since,
                alert: s.alert,
            })
            .collect();
        frames::text(&p::ServerMessage::Presence(p::Presence { devices }))
    }

    fn announce(&self) {
        let _ = self.changes.send(self.frame());
    }

    /// A device connected or went away. Returns the generation to hand to `alert_if_still_away`
    /// when it went away; `None` for devices that are not tracked or did not change.
    pub fn set(&mut self, device: &str, online: bool, now: DateTime<Utc>) -> Option<u64> {
        let seen = self.devices.get_mut(device)?;
        if seen.online == online {
            return None;
        }
        seen.online = online;
        seen.since = now;
        seen.alert = false;
        seen.generation += 1;
        let generation = seen.generation;
        self.announce();
        (!online).then_some(generation)
    }

    /// Raises the alert of a device still away since `generation`; whether it did.
    pub fn alert_if_still_away(&mut self, device: &str, generation: u64) -> bool {
        let Some(seen) = self.devices.get_mut(device) else {
            return false;
        };
        if seen.online || seen.generation != generation || seen.alert {
            return false;
        }
        seen.alert = true;
        self.announce();
        true
    }

    /// Every device with its generation (to arm the first timers at start).
    pub fn generations(&self) -> Vec<(DeviceId, u64)> {
        self.devices
            .iter()
            .map(|(id, s)| (id.clone(), s.generation))
            .collect()
    }
}

/// Raises `device`'s alert after `after` unless it came back meanwhile.
pub fn arm(
    presence: &SharedPresence,
    clock: Arc<dyn Clock>,
    device: DeviceId,
    generation: u64,
    after: std::time::Duration,
) {
    let presence = presence.clone();
    let due = clock.now() + chrono::TimeDelta::from_std(after).unwrap_or(chrono::TimeDelta::MAX);
    tokio::spawn(async move {
        // On the hub's clock, like every other reading that decides something (the sleep
        // returns early now and then, so that a wall clock that was set is noticed).
        while clock.now() < due {
            clock.sleep_until(due).await;
        }
        presence
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .alert_if_still_away(device.as_str(), generation);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_engine::clock::ManualClock;
    use std::time::Duration;

    #[tokio::test]
    async fn the_offline_alert_waits_for_the_hubs_clock_not_the_machines() {
        let config = centre_config::Config::demo().expect("demo");
        let clock = Arc::new(ManualClock::at("2026-11-23T09:00:00+07:00"));
        let presence: SharedPresence = Arc::new(Mutex::new(Presence::new(&config, clock.now())));
        let (_, mut changes) = presence.lock().expect("lock").subscribe();
        let generations = presence.lock().expect("lock").generations();
        let (kiosk, generation) = generations
            .into_iter()
            .find(|(d, _)| d.as_str() == "kiosk-1")
            .expect("the demo has kiosk-1");
        arm(
            &presence,
            clock.clone(),
            kiosk,
            generation,
            Duration::from_secs(180),
        );
        clock.advance(chrono::TimeDelta::seconds(179));
        tokio::task::yield_now().await;
        assert!(changes.try_recv().is_err(), "not yet on the hub's clock");
        clock.advance(chrono::TimeDelta::seconds(1));
        // A timer on the machine's clock would still be sleeping its three minutes.
        let frame = tokio::time::timeout(Duration::from_secs(10), changes.recv())
            .await
            .expect("the alert comes when the hub's clock says so")
            .expect("announced");
        assert!(
            frame.as_str().contains("\"alert\":true"),
            "{}",
            frame.as_str()
        );
    }

    #[test]
    fn an_absence_raises_its_alert_only_if_the_device_did_not_come_back() {
        let config = centre_config::Config::demo().expect("demo");
        let t0 = chrono::Utc::now();
        let mut p = Presence::new(&config, t0);
        let (_, mut changes) = p.subscribe();
        assert_eq!(p.set("kiosk-1", true, t0), None, "connected");
        assert!(changes.try_recv().is_ok(), "announced");
        let away = p.set("kiosk-1", false, t0).expect("went away");
        p.set("kiosk-1", true, t0);
        assert!(!p.alert_if_still_away("kiosk-1", away), "it came back");
        let away = p.set("kiosk-1", false, t0).expect("away again");
        assert!(p.alert_if_still_away("kiosk-1", away));
        assert!(!p.alert_if_still_away("kiosk-1", away), "once");
        assert_eq!(
            p.set("console-ql01", true, t0),
            None,
            "not a configured device"
        );
    }
}
