//! Device statuses, coalesced per device. Every status change is broadcast to every screen, so a
//! device may change its status at most every `STATUS_SPACING`; a change that comes sooner is
//! answered at once and applied when its turn comes — only the latest of those, since a
//! status is a state, not an event worth each step. A device flipping between two words costs
//! the boards one event per `STATUS_SPACING`, and a printer that really goes `paper_out` then
//! `ok` within a second still ends up `ok`.

use queue_core::DeviceId;
use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// The shortest time between two status changes of one device that reach the engine.
pub const STATUS_SPACING: Duration = Duration::from_secs(2);

struct Slot {
    last_sent: Instant,
    /// The latest status that came too soon, waiting for its turn.
    waiting: Option<String>,
    /// A task is waiting to send `waiting`.
    flushing: bool,
}

/// Where a status report goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// To the engine now.
    Now,
    /// Kept; sent at `at` by a task, which the caller starts when `start` is true.
    Later { at: Instant, start: bool },
}

#[derive(Default)]
pub struct StatusReports {
    by_device: HashMap<DeviceId, Slot>,
}

impl StatusReports {
    pub fn route(&mut self, device: &str, status: &str, now: Instant) -> Route {
        let slot = self
            .by_device
            .entry(DeviceId::from(device))
            .or_insert(Slot {
                last_sent: now.checked_sub(STATUS_SPACING).unwrap_or(now),
                waiting: None,
                flushing: false,
            });
        if !slot.flushing && now >= slot.last_sent + STATUS_SPACING {
            slot.last_sent = now;
            return Route::Now;
        }
        slot.waiting = Some(status.to_string());
        let start = !slot.flushing;
        slot.flushing = true;
        Route::Later {
            at: slot.last_sent + STATUS_SPACING,
            start,
        }
    }

    /// The waiting status of `device`, now that its turn has come.
    pub fn take_due(&mut self, device: &str, now: Instant) -> Option<String> {
        let slot = self.by_device.get_mut(device)?;
        slot.flushing = false;
        slot.last_sent = now;
        slot.waiting.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_too_soon_wait_and_only_the_latest_is_sent() {
        let t0 = Instant::now();
        let mut r = StatusReports::default();
        assert_eq!(r.route("kiosk-1", "paper_out", t0), Route::Now);
        let at = t0 + STATUS_SPACING;
        assert_eq!(
            r.route("kiosk-1", "ok", t0),
            Route::Later { at, start: true }
        );
        assert_eq!(
            r.route("kiosk-1", "paper_out", t0),
            Route::Later { at, start: false }
        );
        assert_eq!(
            r.route("kiosk-1", "ok", t0),
            Route::Later { at, start: false }
        );
        assert_eq!(
            r.route("kiosk-2", "ok", t0),
            Route::Now,
            "devices are apart"
        );
        assert_eq!(r.take_due("kiosk-1", at).as_deref(), Some("ok"));
        assert_eq!(
            r.route("kiosk-1", "paper_out", at),
            Route::Later {
                at: at + STATUS_SPACING,
                start: true
            }
        );
        assert_eq!(
            r.route("kiosk-1", "x", at + STATUS_SPACING * 3),
            Route::Later {
                at: at + STATUS_SPACING,
                start: false
            },
            "a flush is pending: it sends the latest"
        );
    }
}
