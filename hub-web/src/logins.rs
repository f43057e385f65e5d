//! Staff PINs that resist guessing. A PIN has four digits: what protects it is how few guesses
//! anyone gets, counted per device and per staff code across reconnections.
//!
//! **Exponential back-off, not lockout.** After a few free mistakes, each further attempt must
//! wait twice as long as the last (capped). A lockout would let whoever holds one counter token
//! lock every clerk out for the day by typing wrong PINs on purpose; a back-off only slows them:
//!
//! - per device: 5 free failures, then 1 s, 2 s, 4 s … up to 5 minutes between attempts — one
//!   stolen counter token guesses a 4-digit PIN in weeks, not minutes;
//! - per staff code, from any device: 10 free failures, then up to 60 s — the most an attacker
//!   with several devices can make a clerk wait, and only while they keep failing.
//!
//! A correct PIN clears both. Attempts during a wait are refused without checking the PIN, so
//! they cost no Argon2 time. Failures are kept only for configured staff codes, authenticated
//! devices and the console's client addresses (those at most a few thousand, the ones free to try
//! again forgotten first), so the memory is bounded.

use queue_core::{DeviceId, StaffCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use centre_config::Config;
use centre_config::auth;

/// Free failures per device, then back-off up to `DEVICE_MAX_WAIT`.
pub const DEVICE_FREE_FAILURES: u32 = 5;
pub const DEVICE_MAX_WAIT: Duration = Duration::from_secs(300);
/// Free failures per staff code, then back-off up to `STAFF_MAX_WAIT`.
pub const STAFF_FREE_FAILURES: u32 = 10;
pub const STAFF_MAX_WAIT: Duration = Duration::from_secs(60);
/// PIN checks running at once (each an Argon2 verification of about 19 MiB), on threads of
/// their own: a login storm queues instead of taking the hub's memory. (On tokio's blocking pool
/// every thread that ever ran a check would keep its 19 MiB in its own allocator arena.)
pub const PIN_CHECKERS: usize = 2;
/// Devices and console addresses whose failures are remembered before the harmless ones go.
const MAX_TRACKED_PLACES: usize = 4096;
/// PIN checks that may wait for a checker; past that a login is refused as `rate_limited`.
pub const PIN_QUEUE: usize = 256;

struct PinJob {
    config: Arc<Config>,
    staff: String,
    pin: String,
    respond: oneshot::Sender<bool>,
}

/// A small fixed pool of threads that verify PINs.
pub struct PinChecker {
    jobs: mpsc::SyncSender<PinJob>,
}

impl PinChecker {
    pub fn start() -> PinChecker {
        let (jobs, queue) = mpsc::sync_channel::<PinJob>(PIN_QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..PIN_CHECKERS {
            let queue = queue.clone();
            let started = std::thread::Builder::new()
                .name(format!("pin-check-{n}"))
                .spawn(move || {
                    let mut verifier = auth::PinVerifier;
                    loop {
                        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(job) = job else { return };
                        let ok = verifier.matches(&job.config, &job.staff, &job.pin);
                        let _ = job.respond.send(ok);
                    }
                });
            if let Err(e) = started {
                tracing::error!(error = %e, "cannot start a PIN checker thread");
            }
        }
        PinChecker { jobs }
    }

    /// Whether `pin` is `staff`'s; `None` when too many checks are waiting already.
    pub async fn check(&self, config: Arc<Config>, staff: &str, pin: &str) -> Option<bool> {
        let (respond, answer) = oneshot::channel();
        let job = PinJob {
            config,
            staff: staff.to_string(),
            pin: pin.to_string(),
            respond,
        };
        self.jobs.try_send(job).ok()?;
        answer.await.ok()
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    /// No attempt before this.
    next_allowed: Instant,
}

/// The failures of each device and each staff code.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    by_device: HashMap<DeviceId, Failures>,
    by_staff: HashMap<StaffCode, Failures>,
}

/// The wait after `count` failures.
fn backoff(count: u32, free: u32, max: Duration) -> Duration {
    if count < free {
        return Duration::ZERO;
    }
    let doublings = (count - free).min(16);
    Duration::from_secs(1u64 << doublings).min(max)
}

impl LoginThrottle {
    /// Whether `device` may try a PIN for `staff` now; otherwise how long it must wait.
    pub fn check(&self, device: &str, staff: &str, now: Instant) -> Result<(), Duration> {
        let wait = [self.by_device.get(device), self.by_staff.get(staff)]
            .into_iter()
            .flatten()
            .map(|f| f.next_allowed.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    /// A wrong PIN. `known_staff`: the code is configured (unknown codes count per device only).
    pub fn failed(&mut self, device: &str, staff: &str, known_staff: bool, now: Instant) {
        // The console counts per client address, which the configuration does not bound: past
        // a few thousand, forget those free to try again anyway.
        if self.by_device.len() >= MAX_TRACKED_PLACES {
            self.by_device.retain(|_, f| f.next_allowed > now);
        }
        let count = |f: Option<&Failures>| f.map_or(0, |f| f.count) + 1;
        let n = count(self.by_device.get(device));
        self.by_device.insert(
            DeviceId::from(device),
            Failures {
                count: n,
                next_allowed: now + backoff(n, DEVICE_FREE_FAILURES, DEVICE_MAX_WAIT),
            },
        );
        if known_staff {
            let n = count(self.by_staff.get(staff));
            self.by_staff.insert(
                StaffCode::from(staff),
                Failures {
                    count: n,
                    next_allowed: now + backoff(n, STAFF_FREE_FAILURES, STAFF_MAX_WAIT),
                },
            );
        }
    }

    /// A correct PIN: the device and the clerk start afresh.
    pub fn succeeded(&mut self, device: &str, staff: &str) {
        self.by_device.remove(device);
        self.by_staff.remove(staff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_and_a_success_clears_them() {
        let t0 = Instant::now();
        let mut t = LoginThrottle::default();
        for _ in 0..DEVICE_FREE_FAILURES - 1 {
            t.failed("counter-1", "nv01", true, t0);
            assert!(t.check("counter-1", "nv01", t0).is_ok());
        }
        t.failed("counter-1", "nv01", true, t0);
        assert_eq!(
            t.check("counter-1", "nv01", t0),
            Err(Duration::from_secs(1))
        );
        t.failed("counter-1", "nv01", true, t0);
        assert_eq!(
            t.check("counter-1", "nv02", t0),
            Err(Duration::from_secs(2))
        );
        // Another device, another clerk: not slowed by this device's guessing.
        assert!(t.check("counter-2", "nv02", t0).is_ok());
        // The clerk whose code was guessed, from their own counter: not yet slowed either.
        assert!(t.check("counter-2", "nv01", t0).is_ok());
        t.succeeded("counter-1", "nv01");
        assert!(t.check("counter-1", "nv01", t0).is_ok());
    }

    #[test]
    fn the_waits_are_capped() {
        assert_eq!(backoff(4, 5, DEVICE_MAX_WAIT), Duration::ZERO);
        assert_eq!(backoff(7, 5, DEVICE_MAX_WAIT), Duration::from_secs(4));
        assert_eq!(backoff(50, 5, DEVICE_MAX_WAIT), DEVICE_MAX_WAIT);
        assert_eq!(backoff(50, 10, STAFF_MAX_WAIT), STAFF_MAX_WAIT);
    }
}
